"""DynamoDB global tables' consistency modes: the rules of multi-Region strong consistency (MRSC).

Amazon DynamoDB Developer Guide, "Global tables - multi-active, multi-Region
replication", section "Consistency modes"
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_HowItWorks.html#V2globaltables_HowItWorks.consistency-modes),
"Multi-Region strong consistency"
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/multi-region-strong-consistency-gt.html)
and the API reference of ``UpdateTable`` and ``CreateGlobalTableWitnessGroupMemberAction``
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateGlobalTableWitnessGroupMemberAction.html):

* a global table's mode is ``EVENTUAL`` (MREC, the default) or ``STRONG`` (MRSC),
  chosen when the global table is created (``UpdateTable`` with ``Create``
  replica updates and ``MultiRegionConsistency``) and never changed;
* an MRSC table lives in exactly three Regions: three replicas, or two replicas
  and one witness (``GlobalTableWitnessUpdates``), all within one Region set;
* the table must be empty when it becomes MRSC;
* MRSC does not support Time to Live, local secondary indexes, or the
  transaction APIs (``TransactWriteItems``, ``TransactGetItems``);
* a write is acknowledged once it is durable in a second Region; strongly
  consistent reads return the latest write in every replica Region; a write to
  an item being modified in another Region fails with
  ``ReplicatedWriteConflictException`` (retryable); a Region cut off from the
  others can serve neither writes nor strongly consistent reads.

Both the runbook (parameter validation before anything is created on AWS) and
the local cloud (``localcloud.strong_consistency``) check with these functions.
"""

from __future__ import annotations

EVENTUAL = "EVENTUAL"
STRONG = "STRONG"
MRSC_REGION_COUNT = 3  # replicas + witnesses
MAX_WITNESSES = 1

# The Region sets an MRSC global table must stay within (every replica and the witness in one set).
MRSC_REGION_SETS: dict[str, tuple[str, ...]] = {
    "US": ("us-east-1", "us-east-2", "us-west-2"),
    "EU": ("eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1"),
    "AP": ("ap-northeast-1", "ap-northeast-2", "ap-northeast-3"),
}

# Errors DynamoDB answers under MRSC (botocore's service model names them).
REPLICATED_WRITE_CONFLICT = "ReplicatedWriteConflictException"
# The guide says an isolated Region fails writes and strongly consistent reads but
# names no dedicated error; DynamoDB's generic server-side error (HTTP 500) is what a client sees.
ISOLATED_REGION_ERROR = "InternalServerError"


def region_set_of(region: str) -> str | None:
    """The name of the MRSC Region set ``region`` belongs to (None: MRSC is not offered there)."""
    for name, regions in MRSC_REGION_SETS.items():
        if region in regions:
            return name
    return None


def describe_region_sets() -> str:
    """The allowed sets as one sentence, for error messages."""
    return "; ".join(f"{name}: {', '.join(regions)}" for name, regions in MRSC_REGION_SETS.items())


def mrsc_layout_error(replicas: list[str], witnesses: list[str]) -> str | None:
    """Why these replica and witness Regions cannot form an MRSC global table (None: they can).

    ``replicas`` includes the Region of the table being converted.
    """
    regions = replicas + witnesses
    sets = {region_set_of(r) for r in regions}
    if None in sets or len(sets) != 1:
        return (f"the Regions {', '.join(regions)} are not within one MRSC Region set "
                f"(the sets are {describe_region_sets()})")
    if len(witnesses) > MAX_WITNESSES:
        return f"an MRSC global table has at most {MAX_WITNESSES} witness; got {len(witnesses)}"
    if len(set(regions)) != len(regions):
        return "every replica and witness of an MRSC global table must be in a different Region"
    if len(regions) != MRSC_REGION_COUNT:
        return (f"an MRSC global table has three replicas, or two replicas and one witness; "
                f"got {len(replicas)} replica(s) and {len(witnesses)} witness(es)")
    return None
