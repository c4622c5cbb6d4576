"""AWS region names and the partition each belongs to, as botocore's endpoint data lists them."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1)
def _partitions() -> dict[str, str]:
    """Every region botocore knows, mapped to its partition (``aws``, ``aws-cn``, ``aws-us-gov``, ...)."""
    import botocore.session

    session = botocore.session.get_session()
    return {region: partition
            for partition in session.get_available_partitions()
            for region in session.get_available_regions("dynamodb", partition_name=partition)}


def known_regions() -> list[str]:
    """Every region name botocore knows, across the commercial, China and GovCloud partitions."""
    return sorted(_partitions())


def partition_of(region: str) -> str:
    """The partition of ``region`` as used in ARNs (``aws`` for a region botocore does not know).

    AWS General Reference, "Amazon Resource Names (ARNs)": the partition is
    ``aws`` for commercial regions, ``aws-cn`` for China, ``aws-us-gov`` for GovCloud.
    """
    return _partitions().get(region, "aws")
