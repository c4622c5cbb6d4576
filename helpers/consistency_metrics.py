"""The consistency lab's numbers, each computed exactly by replaying the log of operations.

Every operation the lab's clients make is one ``Op``: who, where, on which
item, when it began and ended (one monotonic clock), whether DynamoDB
acknowledged it, and, for a read, which updates the item showed. Each update
carries a unique id that it adds to the item's ``applied`` set, so what an
item holds says exactly which acknowledged updates it reflects. The
definitions, one function each (the notebook, ``consistency_metrics.json``,
the index page and the tests all call these):

- **lost update**: an acknowledged update whose id is absent from the item's
  converged state (after healing, once every replica agrees);
- **stale read**: an acknowledged read that misses an update of its item
  acknowledged before the read began (and not lost: a lost update is counted
  once, as lost, not again in every later read);
- **read-your-writes violation**: a stale read by a client that moved Region:
  it misses the client's own last update, acknowledged in another Region;
- **write availability**: acknowledged write attempts / write attempts that
  were not refused as a conflict (a conflict is the service working, not
  unavailable), per Region and phase;
- **conflict exceptions and retries**: attempts refused with
  ``ReplicatedWriteConflictException`` (or a failed conditional write) and
  attempts that were retries;
- **latency**: wall-clock milliseconds from request to answer, median and p95.

This module is pure (no AWS calls), so its tests replay hand-made logs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Iterable

import pandas as pd

WRITE, READ = "write", "read"
CONFLICT_ERRORS = ("ReplicatedWriteConflictException", "ConditionalCheckFailedException")
PHASES = ("normal", "partition", "healed")


@dataclass(frozen=True)
class Op:
    """One request of the lab's workload, as logged."""

    scenario: str  # e.g. "MREC", "MRSC", "MREC + home Region"
    client: str
    kind: str  # WRITE or READ
    region: str  # where the request went
    item: str
    phase: str  # one of PHASES: when the request began
    began: float  # time.monotonic()
    ended: float
    ok: bool  # acknowledged by DynamoDB
    error: str = ""  # the AWS error code when not ok
    update_id: str = ""  # writes: the update's unique id
    attempt: int = 1  # writes: 1, or 2.. for a retry of the same update
    seen: frozenset[str] = frozenset()  # reads: the update ids the item showed
    moved: bool = False  # reads: the client last wrote in another Region

    @property
    def latency_ms(self) -> float:
        return (self.ended - self.began) * 1000.0


@dataclass
class ScenarioCounts:
    """Every number of one scenario (one table and one way of writing)."""

    scenario: str
    acknowledged_updates: int = 0
    lost_updates: int = 0
    lost_by_phase: dict[str, int] = field(default_factory=dict)
    reads: int = 0
    stale_reads: int = 0
    stale_by_phase: dict[str, int] = field(default_factory=dict)
    moved_reads: int = 0
    read_your_writes_violations: int = 0
    write_availability: dict[str, dict[str, float]] = field(default_factory=dict)  # phase -> region -> share
    refused_writes_by_region: dict[str, int] = field(default_factory=dict)  # during the partition
    conflict_exceptions: int = 0
    retries: int = 0
    write_p50_ms: float = 0.0
    write_p95_ms: float = 0.0
    read_p50_ms: float = 0.0
    read_p95_ms: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def lost_updates(ops: Iterable[Op], final: dict[str, frozenset[str]]) -> list[Op]:
    """Acknowledged updates whose id the item's converged state (``final``: item -> ids) does not hold."""
    return [op for op in ops if op.kind == WRITE and op.ok and op.update_id not in final.get(op.item, frozenset())]


def stale_reads(ops: Iterable[Op], final: dict[str, frozenset[str]]) -> list[Op]:
    """Acknowledged reads that miss a surviving update of their item acknowledged before they began."""
    ops = list(ops)
    acked: dict[str, list[tuple[float, str]]] = defaultdict(list)  # item -> (ended, id), sorted by ended
    for op in ops:
        if op.kind == WRITE and op.ok and op.update_id in final.get(op.item, frozenset()):
            acked[op.item].append((op.ended, op.update_id))
    for writes in acked.values():
        writes.sort()
    stale = []
    for op in ops:
        if op.kind != READ or not op.ok:
            continue
        if any(update not in op.seen for ended, update in acked[op.item] if ended < op.began):
            stale.append(op)
    return stale


def read_your_writes_violations(ops: Iterable[Op]) -> list[Op]:
    """Reads by a client that moved Region which miss the client's own last update acknowledged before them."""
    ops = sorted(ops, key=lambda op: op.began)
    own: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)  # (client, item) -> (ended, id)
    for op in ops:
        if op.kind == WRITE and op.ok:
            own[op.client, op.item].append((op.ended, op.update_id))
    violations = []
    for op in ops:
        if op.kind != READ or not op.ok or not op.moved:
            continue
        before = [(ended, update) for ended, update in own[op.client, op.item] if ended < op.began]
        if before and max(before)[1] not in op.seen:
            violations.append(op)
    return violations


def write_availability(ops: Iterable[Op]) -> dict[str, dict[str, float]]:
    """Per phase and Region: the share of write attempts (conflicts aside) DynamoDB acknowledged."""
    tried: dict[tuple[str, str], int] = defaultdict(int)
    done: dict[tuple[str, str], int] = defaultdict(int)
    for op in ops:
        if op.kind == WRITE and op.error not in CONFLICT_ERRORS:
            tried[op.phase, op.region] += 1
            done[op.phase, op.region] += op.ok
    out: dict[str, dict[str, float]] = {}
    for (phase, region), n in sorted(tried.items()):
        out.setdefault(phase, {})[region] = done[phase, region] / n
    return out


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return float(pd.Series(values).quantile(q))


def count(scenario: str, ops: Iterable[Op], final: dict[str, frozenset[str]]) -> ScenarioCounts:
    """Every number of ``scenario`` from its log and its converged state."""
    ops = [op for op in ops if op.scenario == scenario]
    writes = [op for op in ops if op.kind == WRITE]
    reads = [op for op in ops if op.kind == READ]
    lost = lost_updates(ops, final)
    stale = stale_reads(ops, final)
    counts = ScenarioCounts(scenario)
    counts.acknowledged_updates = sum(op.ok for op in writes)
    counts.lost_updates = len(lost)
    counts.lost_by_phase = {phase: sum(op.phase == phase for op in lost) for phase in PHASES}
    counts.reads = sum(op.ok for op in reads)
    counts.stale_reads = len(stale)
    counts.stale_by_phase = {phase: sum(op.phase == phase for op in stale) for phase in PHASES}
    counts.moved_reads = sum(op.ok and op.moved for op in reads)
    counts.read_your_writes_violations = len(read_your_writes_violations(ops))
    counts.write_availability = write_availability(ops)
    refused: dict[str, int] = defaultdict(int)
    for op in writes:
        if op.phase == "partition" and not op.ok and op.error not in CONFLICT_ERRORS:
            refused[op.region] += 1
    counts.refused_writes_by_region = dict(sorted(refused.items()))
    counts.conflict_exceptions = sum(op.error in CONFLICT_ERRORS for op in writes)
    counts.retries = sum(op.attempt > 1 for op in writes)
    ok_writes = [op.latency_ms for op in writes if op.ok]
    ok_reads = [op.latency_ms for op in reads if op.ok]
    counts.write_p50_ms, counts.write_p95_ms = _percentile(ok_writes, 0.5), _percentile(ok_writes, 0.95)
    counts.read_p50_ms, counts.read_p95_ms = _percentile(ok_reads, 0.5), _percentile(ok_reads, 0.95)
    return counts


def count_all(ops: Iterable[Op], finals: dict[str, dict[str, frozenset[str]]]) -> list[ScenarioCounts]:
    """``count`` for every scenario in ``finals`` (scenario -> item -> ids), in that order."""
    ops = list(ops)
    return [count(scenario, ops, final) for scenario, final in finals.items()]


def summary_table(counts: list[ScenarioCounts]) -> pd.DataFrame:
    """One row per scenario: the headline numbers side by side."""
    rows = []
    for c in counts:
        partition = c.write_availability.get("partition", {})
        rows.append({
            "scenario": c.scenario,
            "acknowledged updates": c.acknowledged_updates,
            "lost updates": c.lost_updates,
            "stale reads": c.stale_reads,
            "reads": c.reads,
            "read-your-writes violations": c.read_your_writes_violations,
            "conflict exceptions": c.conflict_exceptions,
            "retries": c.retries,
            "min write availability in partition": min(partition.values()) if partition else None,
            "write p50 ms": round(c.write_p50_ms, 1),
            "read p50 ms": round(c.read_p50_ms, 1),
        })
    return pd.DataFrame(rows).set_index("scenario")


def ops_frame(ops: Iterable[Op]) -> pd.DataFrame:
    """The log as a table (one row per request), e.g. for ``consistency_log.csv``."""
    rows = []
    for op in ops:
        row = asdict(op)
        row["seen"] = " ".join(sorted(op.seen))
        row["latency_ms"] = op.latency_ms
        rows.append(row)
    return pd.DataFrame(rows)
