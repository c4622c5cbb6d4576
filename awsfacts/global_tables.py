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
  and one witness (``GlobalTableWitnessUpdates``), all within one Region set,
  the witness in a Region other than the replicas' (the Region sets below are
  the API reference's); one witness per table; a witness is deleted only
  together with a replica, which leaves a single-Region table
  (``DeleteGlobalTableWitnessGroupMemberAction``); ``MultiRegionConsistency``
  is valid only in the ``UpdateTable`` that creates the global table with
  ``Create`` replica updates (``UpdateTable``'s parameter documentation);
* the table must be empty when it becomes MRSC (the guide's MRSC tutorial,
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables.tutorial.html#create-gt-mrsc);
* MRSC does not support Time to Live, local secondary indexes, or the
  transaction APIs (``TransactWriteItems``, ``TransactGetItems``): from the
  MRSC page above, which could not be re-read when these rules were last
  checked (the Region sets and the witness rules were, in the API reference);
* a write is acknowledged once it is durable in a second Region; strongly
  consistent reads return the latest write in every replica Region; a write to
  an item being modified in another Region fails with
  ``ReplicatedWriteConflictException`` (retryable); a Region cut off from the
  others can serve neither writes nor strongly consistent reads, while its
  eventually consistent reads still answer ("Global tables core concepts",
  section "Fault injection testing":
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/globaltables-CoreConcepts.html).
* **Region isolation on AWS** is AWS FIS's ``aws:dynamodb:global-table-pause-replication``
  action on the Region's replica: the same "Fault injection testing" section
  says that MREC and MRSC global tables both integrate with FIS, which
  simulates Region isolation by pausing replication to and from the selected
  replica, the other Regions carrying on; during such an experiment on an
  MRSC table eventually consistent reads are allowed. The FIS actions
  reference adds that replication may go on for up to 5 minutes after the
  action starts (https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html#dynamodb-actions-reference).

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

# Errors DynamoDB answers under MRSC. ReplicatedWriteConflictException is in botocore's service model
# (PutItem, UpdateItem, DeleteItem, BatchWriteItem), retryable, with this documentation string as its text.
REPLICATED_WRITE_CONFLICT = "ReplicatedWriteConflictException"
REPLICATED_WRITE_CONFLICT_MESSAGE = ("The request was rejected because one or more items in the request are being "
                                     "modified by a request in another Region.")
# An isolated Region's refusal. The pages above say that writes and strongly consistent reads fail there but
# name no error, and the service model has no MRSC-specific one: the only server-side error it lists for
# GetItem, Query, Scan, PutItem, UpdateItem, DeleteItem and the batch operations is InternalServerError
# ("An error occurred on the server side"), which the guide's "Error handling with DynamoDB" page documents
# as HTTP 500, safe to retry (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html#Programming.Errors.MessagesAndCodes).
# So it is that error, with DynamoDB's own message for it; a client tells it from other 500s only by the
# Region being isolated (the FIS experiment it runs).
ISOLATED_REGION_ERROR = "InternalServerError"
ISOLATED_REGION_STATUS = 500
ISOLATED_REGION_MESSAGE = "Internal server error"
# How long AWS may take to apply the FIS action that isolates a Region's replica (both modes;
# ``awsfacts.fis.PAUSE_REPLICATION``).
PAUSE_REPLICATION_LAG_S = 300.0


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
