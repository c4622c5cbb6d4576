"""One kind of resource the runbook builds, as one unit: what it plans, what exists, how it goes, what it needs.

Each helper module that creates a kind of resource declares it as a
``ResourceKind`` beside the calls that create it (``dynamodb.TABLE``,
``lambdas.FUNCTIONS_KIND``, ...); ``helpers.stack.STACK`` puts them in
creation order. The plan of notebook 00, the inventory and teardown of 08 and
the IAM policy a user needs are loops over that list, so adding a kind is one
unit here and one line there.

A kind is either **regional** (its ``inventory`` and ``delete`` run once per
configured region, so one region's failing API cannot stop the others) or
**global** (they run once, with the region ``"global"``: IAM, Route 53, and the
global table, whose replicas are removed through one region).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable

from awsfacts.regions import partition_of
from helpers.config import Config

GLOBAL = "global"


@dataclass(frozen=True)
class Planned:
    """One resource the runbook plans to create: a row of notebook 00's plan."""

    step: str  # the notebook that creates it, e.g. "02"
    region: str  # a configured region or "global"
    resource: str  # what it is, in AWS's words
    name: str
    usd_per_month: float = 0.0  # its fixed monthly cost on AWS (requests are counted by aws_account.cost_estimate)


@dataclass(frozen=True)
class Found:
    """One resource of this stack that exists: a row of the inventory."""

    service: str
    region: str
    resource: str


@dataclass(frozen=True)
class IamScope:
    """What the IAM statements are scoped to: the account, the hosted zone and the regions' partition."""

    partition: str  # of the configured regions (``partition``)
    account: str = "*"
    hosted_zone_id: str = "*"

    def arn(self, service: str, region: str, resource: str) -> str:
        """``arn:{partition}:{service}:{region}:{account}:{resource}``."""
        return f"arn:{self.partition}:{service}:{region}:{self.account}:{resource}"


@dataclass(frozen=True)
class ResourceKind:
    """A kind of resource: its plan, its inventory, its deletion and the IAM statements of every call made on it.

    ``inventory`` and ``delete`` take ``(cfg, clients, region)``: a configured
    region for a regional kind, ``"global"`` for a global one. ``delete``
    tolerates what is already gone and returns what it did (shown in 08).
    ``iam_statements`` takes ``(cfg, IamScope)`` and returns policy statements
    with unique ``Sid`` s.
    """

    name: str
    service: str
    regional: bool
    plan: Callable[[Config], list[Planned]]
    inventory: Callable[[Config, Any, str], list[Found]]
    delete: Callable[[Config, Any, str], Any]
    iam_statements: Callable[[Config, IamScope], list[dict[str, Any]]]

    def regions(self, cfg: Config) -> tuple[str, ...]:
        """Where ``inventory`` and ``delete`` run: every configured region, or once, globally."""
        return tuple(cfg.regions) if self.regional else (GLOBAL,)


@functools.lru_cache(maxsize=None)
def partition(cfg: Config) -> str:
    """The partition of the configured regions; they must share one (an ARN names exactly one)."""
    found = {region: partition_of(region) for region in cfg.regions}
    if len(set(found.values())) != 1:
        raise ValueError(f"the regions {list(cfg.regions)} are in different AWS partitions ({found}): "
                         "one stack lives in one partition (parameter 'regions')")
    return next(iter(found.values()))


def unscoped(*actions: str) -> dict[str, Any]:
    """A statement for calls IAM cannot scope to a resource (lists, some creates); ``required_policy`` gathers
    every kind's into one statement."""
    return {"Effect": "Allow", "Action": list(actions), "Resource": "*"}


def tag_condition(cfg: Config, key: str = "ResourceTag") -> dict[str, Any]:
    """An IAM condition: the resource (``aws:ResourceTag``) or the request (``aws:RequestTag``) carries the stack's tag.

    Which services and actions support these keys is listed per service in the
    Service Authorization Reference:
    https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
    """
    return {"StringEquals": {f"aws:{key}/runbook:stack": cfg.stack_name}}
