"""The chaos step's faults: one table, from which validation, injection and the analysis read.

Each row says what the fault is called, which AWS operation breaks the region
(and so how it is undone), whether Route 53 should take the region out of DNS,
whether only the local cloud can do it, and the sentence that explains it to a
reader. ``helpers.faults`` carries the operations out; ``helpers.parameters``
takes the allowed values of ``fault`` from here; ``helpers.chaos`` reads
``failover_expected``. Adding a fault that uses an existing operation is one row.

This module imports nothing from ``helpers``, so the parameter declarations can
read it without an import cycle; the FIS action ids are in ``awsfacts.fis``, which
the local cloud's FIS reads too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from awsfacts.fis import NETWORK_PARTITION, PAUSE_REPLICATION, REGION_OUTAGE
# Every FIS action the runbook starts lasts at most this long (FIS ends it then); the chaos step stops it sooner.
MAX_FAULT_HOURS = 1


@dataclass(frozen=True)
class LambdaEnvironment:
    """Lambda ``UpdateFunctionConfiguration``: set variables on one of the region's functions; undone by removing them."""

    function: str
    variables: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        values = ", ".join(f"{k}={v}" for k, v in self.variables.items())
        return f"Lambda UpdateFunctionConfiguration: {values} on the {self.function} function; undone by removing it"


@dataclass(frozen=True)
class ReservedConcurrency:
    """Lambda ``PutFunctionConcurrency`` on every function of the region; undone by ``DeleteFunctionConcurrency``."""

    value: int = 0

    def describe(self) -> str:
        return (f"Lambda PutFunctionConcurrency {self.value} on every function (429 to callers); "
                "undone by DeleteFunctionConcurrency")


@dataclass(frozen=True)
class FisExperiment:
    """An AWS FIS experiment with one action in the region; undone by ``StopExperiment``.

    ``targets_replica``: the action's target is the region's replica of the global table
    (as AWS's pause-replication action requires); ``region_parameter``: the action takes
    the region as its ``region`` parameter (the local cloud's outage action).
    """

    action_id: str
    targets_replica: bool = False
    region_parameter: bool = False

    def describe(self) -> str:
        return f"FIS StartExperiment with {self.action_id}; undone by StopExperiment"


Operation = LambdaEnvironment | ReservedConcurrency | FisExperiment


@dataclass(frozen=True)
class FaultKind:
    """One fault the chaos step can inject."""

    name: str
    operation: Operation
    failover_expected: bool  # Route 53 should take the region out of DNS
    requests_fail: bool  # the region's API fails requests (else it keeps serving them)
    local_only: bool  # only the local cloud can do it (no AWS equivalent)
    explanation: str

    @property
    def region_wide(self) -> bool:
        """It breaks the region for every stack in it, not only this one (an action that takes the region as its
        parameter); the others target this stack's own functions or table."""
        return isinstance(self.operation, FisExperiment) and self.operation.region_parameter


FAULT_KINDS: tuple[FaultKind, ...] = (
    FaultKind("health_status", LambdaEnvironment("health", {"STATUS": "404"}), failover_expected=True,
              requests_fail=False, local_only=False,
              explanation="the blog's fault: the region's health function answers 404, so Route 53's health check "
                          "fails while the API itself keeps serving"),
    FaultKind("lambda_throttle", ReservedConcurrency(0), failover_expected=True, requests_fail=True,
              local_only=False,
              explanation="every Lambda function of the region is throttled: real errors (API Gateway answers 500) until DNS moves "
                          "clients away"),
    FaultKind("replication_pause", FisExperiment(PAUSE_REPLICATION, targets_replica=True), failover_expected=False,
              requests_fail=False, local_only=False,
              explanation="AWS Fault Injection Service pauses the replication of the stack's table to and from the "
                          "region: the region keeps serving, its writes queue and arrive once replication resumes"),
    FaultKind("region_outage", FisExperiment(REGION_OUTAGE, region_parameter=True), failover_expected=True,
              requests_fail=True, local_only=True,
              explanation="the whole region stops answering (its API refuses connections, its replica stops "
                          "replicating): the local cloud only, AWS offers no such action"),
    FaultKind("partition", FisExperiment(NETWORK_PARTITION, region_parameter=True), failover_expected=False,
              requests_fail=False, local_only=True,
              explanation="the network between the region and the others is cut: its table replicas neither send "
                          "nor receive replicated writes while the region keeps serving its clients (MREC takes "
                          "writes on both sides, MRSC refuses them where there is no quorum): local cloud only"),
)


def fault_kind(name: str) -> FaultKind:
    """The row of ``name`` (a KeyError names the known faults)."""
    for kind in FAULT_KINDS:
        if kind.name == name:
            return kind
    raise KeyError(f"no fault {name!r}; the faults are {', '.join(k.name for k in FAULT_KINDS)}")


def fault_table() -> list[dict[str, object]]:
    """The table as rows a notebook shows (``pandas.DataFrame(fault_table())``)."""
    return [{"fault": k.name, "what it does": k.explanation, "AWS calls": k.operation.describe(),
             "failover expected": k.failover_expected, "where": "local cloud only" if k.local_only else "AWS and local"}
            for k in FAULT_KINDS]
