"""AWS region names and the partition each belongs to, as botocore's endpoint data lists them."""

from __future__ import annotations

import functools


def known_regions() -> list[str]:
    """Every region name botocore knows, across the commercial, China and GovCloud partitions (sorted)."""
    return list(_known_regions())


@functools.lru_cache(maxsize=1)
def _known_regions() -> tuple[str, ...]:
    import botocore.session

    session = botocore.session.get_session()
    names: set[str] = set()
    for partition in session.get_available_partitions():
        names.update(session.get_available_regions("dynamodb", partition_name=partition))
    return tuple(sorted(names))


@functools.lru_cache(maxsize=None)
def partition_of(region: str) -> str:
    """The ARN partition of ``region`` (``aws``, ``aws-cn``, ``aws-us-gov``, ...), from botocore's endpoint data.

    AWS General Reference, "Amazon Resource Names (ARNs)". A name that matches
    no partition raises ``botocore.exceptions.UnknownRegionError``.
    """
    import botocore.session

    return botocore.session.get_session().get_partition_for_region(region)
