"""The consistency lab (notebook 07): the same workload on an MREC and an MRSC global table, then MREC's mitigations.

Two lab tables beside the runbook's own (``lab_tables``): ``<table_name>-lab-mrec``
(multi-Region eventual consistency, a replica in every configured Region) and
``<table_name>-lab-mrsc`` (multi-Region strong consistency: the configured
Regions as replicas, plus a witness when there are two; ``mrsc_layout``). The
lab's ``LAB_TABLES`` resource kind puts both in the plan, the inventory, the
teardown and the IAM policy.

Scenarios (``SCENARIOS``), all running at once on the same workload, in three
phases (normal, partition of one Region, healed): every Region has a client
that updates two shared items (a counter and a profile) and reads them back
with strongly consistent reads, and a "mover" client writes in one Region and
reads in the next. Each update adds its unique id to the item's ``applied``
set, so ``helpers.consistency_metrics`` counts every anomaly exactly. The
write modes follow AWS Prescriptive Guidance, "Using Amazon DynamoDB global
tables", write modes (https://docs.aws.amazon.com/prescriptive-guidance/latest/dynamodb-global-tables/write-modes.html):

- ``MREC``: write to any Region (each client in its own), last writer wins;
- ``MRSC``: the same on the MRSC table; conflicts are retried;
- ``MREC + one Region (optimistic concurrency)``: write to one Region, with a
  version attribute and conditional writes, re-read and retried on failure;
- ``MREC + home Region``: write to your Region: each item has a home Region
  that takes all its writes;
- ``MREC + unique inserts``: every update is a new item (idempotent insert), the
  state is the collection.
"""

from __future__ import annotations

import dataclasses
import statistics
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd
from botocore.exceptions import ClientError

from awsfacts.global_tables import (
    ISOLATED_REGION_ERROR,
    MRSC_REGION_SETS,
    PAUSE_REPLICATION_LAG_S,
    mrsc_layout_error,
    region_set_of,
)
from awsfacts.latency import latency_matrix, round_trip_ms
from helpers import dynamodb, faults
from helpers.clients import Clients, error_code, tolerating
from helpers.config import Config
from helpers.consistency_metrics import PHASES, READ, WRITE, Op, ScenarioCounts, count_all
from helpers.resource_kind import GLOBAL, Found, IamScope, Planned, ResourceKind
from helpers.waiting import wait_until

PK, SK = "pk", "sk"
STATE = "state"  # the sort key of an item's one row (the unique-inserts scenario adds a row per update)
ITEMS = ("counter", "profile")
# The partition: AWS FIS's pause-replication action on both lab tables' replicas in one Region, which the
# DynamoDB guide documents as Region isolation for MREC and MRSC tables alike (awsfacts.global_tables); the
# same action on AWS and on the local cloud (helpers.fault_kinds' row of that name).
ISOLATION_FAULT = "replication_pause"
PROBE = "isolation-probe"  # the partition key of the write that tells when the isolation holds (no scenario's)
LATENCY_WRITES = 50  # interleaved MREC/MRSC write pairs of the latency measurement
MAX_ATTEMPTS = 5  # per update, for conflicts and failed conditions


@dataclass(frozen=True)
class Scenario:
    name: str
    table: str  # "mrec" or "mrsc"
    write_mode: str  # "any", "one_region", "home_region", "unique_inserts"
    remedy: str  # what it is meant to fix, for the notebook


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("MREC", "mrec", "any", "nothing: the default"),
    Scenario("MRSC", "mrsc", "any", "strong consistency by the table itself"),
    Scenario("MREC + one Region (optimistic concurrency)", "mrec", "one_region",
             "lost updates: conditional writes on a version, all to one Region"),
    Scenario("MREC + home Region", "mrec", "home_region", "lost updates: each item is written in its home Region"),
    Scenario("MREC + unique inserts", "mrec", "unique_inserts", "lost updates: nothing is ever overwritten"),
)


# ------------------------------------------------------------------ tables
def lab_tables(cfg: Config) -> dict[str, str]:
    """The lab's table names: ``{"mrec": ..., "mrsc": ...}``."""
    return {mode: f"{cfg.table_name}{dynamodb.LAB_TABLE_INFIX}{mode}" for mode in ("mrec", "mrsc")}


def mrsc_layout(regions: list[str] | tuple[str, ...]) -> tuple[list[str], str | None]:
    """The MRSC table's replicas and witness for ``regions``: three Regions as replicas, or two and a witness
    (the first Region of their Region set that is not one of them). ValueError names the allowed sets."""
    replicas, witness = list(regions), None
    if len(replicas) == 2:
        region_set = MRSC_REGION_SETS.get(region_set_of(replicas[0]) or "", ())
        witness = next((r for r in region_set if r not in replicas), None)
    problem = mrsc_layout_error(replicas, [witness] if witness else [])
    if problem:
        raise ValueError(f"the consistency lab's MRSC table cannot use the regions {replicas}: {problem}")
    return replicas, witness


def _table_cfg(cfg: Config, name: str) -> Config:
    return dataclasses.replace(cfg, table_name=name)


def _create_table(cfg: Config, clients: Clients, name: str) -> None:
    ddb = clients.client("dynamodb", cfg.primary_region)
    if dynamodb.is_stack_table(_table_cfg(cfg, name), clients, cfg.primary_region):
        return
    with tolerating("ResourceInUseException"):
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": PK, "KeyType": "HASH"}, {"AttributeName": SK, "KeyType": "RANGE"}],
                         AttributeDefinitions=[{"AttributeName": PK, "AttributeType": "S"},
                                               {"AttributeName": SK, "AttributeType": "S"}],
                         Tags=[{"Key": k, "Value": v} for k, v in cfg.tags.items()])


def _wait_active(cfg: Config, clients: Clients, name: str) -> dict[str, Any]:
    ddb = clients.client("dynamodb", cfg.primary_region)

    def check() -> tuple[bool, str]:
        table = ddb.describe_table(TableName=name)["Table"]
        statuses = [table["TableStatus"], *(r["ReplicaStatus"] for r in table.get("Replicas", [])),
                    *(w["WitnessStatus"] for w in table.get("GlobalTableWitnesses", []))]
        return all(s == "ACTIVE" for s in statuses), f"{name}: {statuses}"

    wait_until(f"lab table {name} to be ACTIVE everywhere", check, cfg.scaled(dynamodb.REPLICA_TIMEOUT_S))
    return ddb.describe_table(TableName=name)["Table"]


def create_lab_tables(cfg: Config, clients: Clients) -> pd.DataFrame:
    """Get or create both lab tables (the MRSC one empty, as AWS requires); one row per table."""
    names = lab_tables(cfg)
    replicas, witness = mrsc_layout(cfg.regions)
    rows = []
    for mode, name in names.items():
        _create_table(cfg, clients, name)
        table = _wait_active(cfg, clients, name)
        if "Replicas" not in table:
            ddb = clients.client("dynamodb", cfg.primary_region)
            if mode == "mrec":
                for region in cfg.regions[1:]:  # one replica change at a time
                    ddb.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": region}}])
                    _wait_active(cfg, clients, name)
            else:
                ddb.update_table(TableName=name, MultiRegionConsistency="STRONG",
                                 ReplicaUpdates=[{"Create": {"RegionName": r}} for r in replicas[1:]],
                                 **({"GlobalTableWitnessUpdates": [{"Create": {"RegionName": witness}}]}
                                    if witness else {}))
            table = _wait_active(cfg, clients, name)
        rows.append({"table": name, "MultiRegionConsistency": table.get("MultiRegionConsistency", "EVENTUAL"),
                     "replicas": ", ".join(r["RegionName"] for r in table.get("Replicas", [])),
                     "witness": ", ".join(w["RegionName"] for w in table.get("GlobalTableWitnesses", [])) or "-"})
    return pd.DataFrame(rows).set_index("table")


def delete_lab_tables(cfg: Config, clients: Clients) -> list[str]:
    """Delete both lab tables, the MRSC table's witness with its first removed replica (as AWS requires)."""
    done = []
    for name in lab_tables(cfg).values():
        table_cfg = _table_cfg(cfg, name)
        if not dynamodb.is_stack_table(table_cfg, clients, cfg.primary_region):
            continue
        table = clients.client("dynamodb", cfg.primary_region).describe_table(TableName=name)["Table"]
        witnesses = [w["RegionName"] for w in table.get("GlobalTableWitnesses", [])]
        others = [r["RegionName"] for r in table.get("Replicas", []) if r["RegionName"] != cfg.primary_region]
        if witnesses and others:
            _wait_active(cfg, clients, name)
            clients.client("dynamodb", cfg.primary_region).update_table(
                TableName=name, ReplicaUpdates=[{"Delete": {"RegionName": others[0]}}],
                GlobalTableWitnessUpdates=[{"Delete": {"RegionName": witnesses[0]}}])
            done.append(f"{name}: replica {others[0]} and witness {witnesses[0]} deleted")
        dynamodb.delete_global_table(table_cfg, clients)
        done.append(f"{name}: deleted")
    return done


def _plan(cfg: Config) -> list[Planned]:
    if not cfg.consistency_lab:
        return []
    names = lab_tables(cfg)
    rows = [Planned("07", r, "DynamoDB replica table, MREC (on-demand)", names["mrec"]) for r in cfg.regions]
    try:
        replicas, witness = mrsc_layout(cfg.regions)
    except ValueError as problem:  # validation refuses this on AWS; on the local cloud 07 stops with it
        return rows + [Planned("07", GLOBAL, f"no MRSC table: {problem}; set consistency_lab to false",
                               names["mrsc"])]
    rows += [Planned("07", r, "DynamoDB replica table, MRSC (on-demand)", names["mrsc"]) for r in replicas]
    if witness:
        rows.append(Planned("07", witness, "DynamoDB MRSC witness (replicated writes billed)", names["mrsc"]))
    rows.append(Planned("07", cfg.regions[-1], "FIS experiment template (pause replication of both lab tables: "
                        "Region isolation) and the FIS role", f"{cfg.stack_name}: {ISOLATION_FAULT}"))
    return rows


def _inventory(cfg: Config, clients: Clients, region: str) -> list[Found]:
    found = []
    for name in lab_tables(cfg).values():
        table_cfg = _table_cfg(cfg, name)
        found += [Found("dynamodb", r, f"table {name}") for r in cfg.regions
                  if dynamodb.is_stack_table(table_cfg, clients, r)]
    return found


def _iam_statements(cfg: Config, scope: IamScope) -> list[dict[str, Any]]:
    """The global table's statement, which names the lab's tables too (``dynamodb.LAB_TABLE_INFIX``)."""
    return [s for s in dynamodb.TABLE.iam_statements(cfg, scope) if s["Sid"] == "GlobalTable"]


LAB_TABLES = ResourceKind("consistency lab tables (MREC and MRSC, witness)", "dynamodb", regional=False,
                          plan=_plan, inventory=_inventory, delete=lambda cfg, clients, _: delete_lab_tables(cfg, clients),
                          iam_statements=_iam_statements)


def billed_units(cfg: Config) -> tuple[int, int]:
    """Write and read units one lab run is billed about: every update is written in each Region of its table
    (an MRSC witness bills replicated writes too), every read once (strongly consistent: one unit up to 4 KB),
    optimistic concurrency reads before it writes, and convergence reads every item in every Region."""
    clients = len(cfg.regions) + 1  # one per Region and the mover
    updates = clients * len(PHASES) * cfg.consistency_updates
    writes = sum(updates * (len(cfg.regions) if s.table == "mrec" else 3) for s in SCENARIOS)
    reads = updates * len(SCENARIOS) + updates * sum(s.write_mode == "one_region" for s in SCENARIOS)
    reads += len(SCENARIOS) * len(ITEMS) * len(cfg.regions) * 2
    writes += LATENCY_WRITES * (len(cfg.regions) + 3)  # the latency measurement's pairs
    return writes, reads


# ---------------------------------------------------------------- workload
def _key(scenario: Scenario, item: str, sk: str = STATE) -> dict[str, Any]:
    return {PK: {"S": f"{scenario.name}#{item}"}, SK: {"S": sk}}


class _Run:
    """One lab run: the log, the phase, the clients (without retries: the lab counts its own)."""

    def __init__(self, cfg: Config, clients: Clients):
        self.cfg = cfg
        self.tables = lab_tables(cfg)
        self.phase = "normal"
        self.log: list[Op] = []
        self._lock = threading.Lock()
        self._ddb = {r: clients.client_without_retries("dynamodb", r) for r in cfg.regions}

    def record(self, op: Op) -> None:
        with self._lock:
            self.log.append(op)

    def call(self, scenario: Scenario, client: str, kind: str, region: str, item: str,
             request: Callable[[Any], Any], **fields: Any) -> tuple[Op, Any]:
        phase, began = self.phase, time.monotonic()
        try:
            answer, ok, error = request(self._ddb[region]), True, ""
        except ClientError as failure:
            answer, ok, error = None, False, error_code(failure)
        if kind == READ and ok:
            fields["seen"] = answer  # a read's request answers the update ids the item shows
        op = Op(scenario.name, client, kind, region, item, phase, began, time.monotonic(), ok, error, **fields)
        self.record(op)
        return op, answer

    # ----------------------------------------------------------- writes
    def update(self, scenario: Scenario, client: str, region: str, item: str) -> str:
        """One update of ``item`` by ``client``, the scenario's way, retried on conflicts; the Region written to."""
        table = self.tables[scenario.table]
        update_id = uuid.uuid4().hex[:12]
        region = {"one_region": self.cfg.primary_region,
                  "home_region": self.cfg.regions[ITEMS.index(item) % len(self.cfg.regions)]}.get(scenario.write_mode,
                                                                                                    region)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if scenario.write_mode == "unique_inserts":
                def request(ddb):
                    return ddb.put_item(TableName=table, Item={**_key(scenario, item, update_id), "by": {"S": client}},
                                        ConditionExpression="attribute_not_exists(pk)")
            elif scenario.write_mode == "one_region":
                current = self._ddb[region].get_item(TableName=table, Key=_key(scenario, item), ConsistentRead=True)
                version = int(current.get("Item", {}).get("version", {}).get("N", "0"))

                def request(ddb, version=version):
                    return ddb.update_item(
                        TableName=table, Key=_key(scenario, item),
                        UpdateExpression="SET version = :next, #by = :by ADD n :one, applied :id",
                        ConditionExpression="attribute_not_exists(version) OR version = :v",
                        ExpressionAttributeNames={"#by": "by"},
                        ExpressionAttributeValues={":next": {"N": str(version + 1)}, ":v": {"N": str(version)},
                                                   ":by": {"S": client}, ":one": {"N": "1"},
                                                   ":id": {"SS": [update_id]}})
            else:
                def request(ddb):
                    return ddb.update_item(TableName=table, Key=_key(scenario, item),
                                           UpdateExpression="SET #by = :by ADD n :one, applied :id",
                                           ExpressionAttributeNames={"#by": "by"},
                                           ExpressionAttributeValues={":by": {"S": client}, ":one": {"N": "1"},
                                                                      ":id": {"SS": [update_id]}})
            op, _ = self.call(scenario, client, WRITE, region, item, request, update_id=update_id, attempt=attempt)
            if op.ok or op.error not in ("ReplicatedWriteConflictException", "ConditionalCheckFailedException"):
                break
            time.sleep(self.cfg.scaled(0.01 * attempt))
        return region

    # ------------------------------------------------------------ reads
    def state(self, scenario: Scenario, region: str, item: str) -> Callable[[Any], frozenset[str]]:
        table = self.tables[scenario.table]
        if scenario.write_mode == "unique_inserts":
            def request(ddb):
                pages = ddb.get_paginator("query").paginate(
                    TableName=table, ConsistentRead=True, KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues={":pk": _key(scenario, item)[PK]})
                return frozenset(i[SK]["S"] for page in pages for i in page["Items"])
        else:
            def request(ddb):
                got = ddb.get_item(TableName=table, Key=_key(scenario, item), ConsistentRead=True).get("Item", {})
                return frozenset(got.get("applied", {}).get("SS", []))
        return request

    def read(self, scenario: Scenario, client: str, region: str, item: str, moved: bool = False) -> None:
        self.call(scenario, client, READ, region, item, self.state(scenario, region, item), moved=moved)


def _client_loop(run: _Run, scenario: Scenario, client: str, regions: list[str], updates: int, moving: bool) -> None:
    for i in range(updates):
        item = ITEMS[i % len(ITEMS)]
        written = run.update(scenario, client, regions[i % len(regions)] if moving else regions[0], item)
        read_region = regions[(i + 1) % len(regions)] if moving else regions[0]
        run.read(scenario, client, read_region, item, moved=moving and read_region != written)


def _phase(run: _Run, name: str, updates: int) -> None:
    """Every scenario's clients at once: one per Region and a mover, ``updates`` updates each."""
    run.phase = name
    regions = list(run.cfg.regions)
    threads = []
    for scenario in SCENARIOS:
        for region in regions:
            threads.append(threading.Thread(target=_client_loop,
                                            args=(run, scenario, f"{region}", [region], updates, False)))
        threads.append(threading.Thread(target=_client_loop, args=(run, scenario, "mover", regions, updates, True)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _converged(run: _Run) -> dict[str, dict[str, frozenset[str]]]:
    """Wait until every replica of every lab item agrees; the converged states (scenario -> item -> ids)."""
    def states() -> dict[tuple[str, str], set[frozenset[str]]]:
        out: dict[tuple[str, str], set[frozenset[str]]] = {}
        for scenario in SCENARIOS:
            for item in ITEMS:
                out[scenario.name, item] = {run.state(scenario, r, item)(run._ddb[r]) for r in run.cfg.regions}
        return out

    def check() -> tuple[bool, list[str]]:
        pending = [f"{s}/{i}" for (s, i), seen in states().items() if len(seen) > 1]
        return not pending, pending

    wait_until("every lab item to converge in every Region", check, run.cfg.scaled(60.0))
    finals: dict[str, dict[str, frozenset[str]]] = {}
    for (scenario, item), seen in states().items():
        finals.setdefault(scenario, {})[item] = next(iter(seen))
    return finals


@dataclass(frozen=True)
class WriteLatency:
    """MRSC against MREC write latency, from one client writing to both tables in turn, in one Region.

    One definition for the lab, its report and the benchmark. The workload's latencies include queueing
    behind every other lab client on a shared machine; this one client alone, its writes interleaved so
    both tables see the same load, isolates what MRSC adds. On the local cloud a write costs the local
    cloud's own overhead (moto, HTTP, the machine: not scaled, not AWS's) plus, under MRSC, the modelled
    round trip to the nearest other Region of the table times the time scale. So the MRSC write minus the
    MREC write just before it, divided by the time scale, is the extra in AWS milliseconds, and the model
    predicts it (``awsfacts.latency``). On AWS (time scale 1) the same subtraction measures AWS itself.
    """

    region: str
    peer: str  # the nearest other Region of the MRSC table (replica or witness)
    writes: int
    time_scale: float
    mrec_wall_ms: float  # median MREC write: the local cloud's own cost of a write (on AWS: DynamoDB's)
    mrsc_wall_ms: float  # median MRSC write
    extra_wall_ms: float  # median of the differences MRSC - MREC, pair by pair
    extra_error_wall_ms: float  # the standard error of that median (from the differences' spread)
    model_extra_ms: float  # the modelled round trip to ``peer`` (AWS ms)

    @property
    def extra_aws_ms(self) -> float:
        """What MRSC adds to a write, in AWS milliseconds (wall / time scale)."""
        return self.extra_wall_ms / self.time_scale

    @property
    def extra_error_aws_ms(self) -> float:
        """The resolution of ``extra_aws_ms``: its standard error, which the time scale magnifies too."""
        return self.extra_error_wall_ms / self.time_scale

    @property
    def local_extra_wall_ms(self) -> float:
        """The part of the MRSC extra that is not the scaled round trip, in wall ms: the local cloud's own
        work for a synchronous write beyond the round trip (the quorum and conflict bookkeeping; applying
        the write to the other replica overlaps the round trip) and this machine's noise. Divided by the
        time scale it shifts ``extra_aws_ms``: at time scale 0.1, tenfold."""
        return self.extra_wall_ms - self.model_extra_ms * self.time_scale

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "extra_aws_ms": self.extra_aws_ms,
                "extra_error_aws_ms": self.extra_error_aws_ms, "local_extra_wall_ms": self.local_extra_wall_ms}


def measure_write_latency(ddb: Any, region: str, mrec_table: str, mrsc_table: str, mrsc_regions: list[str],
                          time_scale: float, writes: int = LATENCY_WRITES,
                          item: Callable[[int], dict[str, Any]] | None = None) -> WriteLatency:
    """``writes`` puts into each table from ``ddb`` (a client in ``region``), MREC then MRSC, pair by pair.

    ``item(i)``: the i-th item written (default: partition key ``latency-probe``, sort key ``i``)."""
    item = item or (lambda i: {PK: {"S": "latency-probe"}, SK: {"S": str(i)}})
    mrec, mrsc = [], []
    for i in range(writes):
        for table, times in ((mrec_table, mrec), (mrsc_table, mrsc)):
            began = time.perf_counter()
            ddb.put_item(TableName=table, Item=item(i))
            times.append((time.perf_counter() - began) * 1000.0)
    peer = min((r for r in mrsc_regions if r != region), key=lambda r: round_trip_ms(region, r))
    differences = [b - a for a, b in zip(mrec, mrsc)]
    return WriteLatency(region, peer, writes, time_scale, statistics.median(mrec), statistics.median(mrsc),
                        statistics.median(differences), median_standard_error(differences),
                        round_trip_ms(region, peer))


def median_standard_error(values: list[float]) -> float:
    """The standard error of the median of ``values``: 1.2533 sigma / sqrt(n), sigma estimated robustly as
    the interquartile range / 1.349 (both for a normal distribution; outliers do not inflate it)."""
    if len(values) < 4:
        return float("nan")
    low, _, high = statistics.quantiles(values, n=4)
    return 1.2533 * (high - low) / 1.349 / len(values) ** 0.5


def lab_write_latency(cfg: Config, clients: Clients) -> WriteLatency:
    """``measure_write_latency`` on the lab's tables from the primary Region (items outside every scenario)."""
    tables = lab_tables(cfg)
    replicas, witness = mrsc_layout(cfg.regions)
    return measure_write_latency(clients.client_without_retries("dynamodb", cfg.primary_region), cfg.primary_region,
                                 tables["mrec"], tables["mrsc"], replicas + ([witness] if witness else []),
                                 cfg.time_scale)


@dataclass
class LabResult:
    """What the lab measured: the log, the converged states, the counts, and the run's facts."""

    log: list[Op]
    finals: dict[str, dict[str, frozenset[str]]]
    counts: list[ScenarioCounts]
    partitioned_region: str
    partition_s: float  # AWS seconds the partition lasted at least
    run_s: float  # wall-clock seconds of the whole lab
    round_trips_ms: dict[str, dict[str, float]]
    write_latency: WriteLatency

    def counts_of(self, scenario: str) -> ScenarioCounts:
        return next(c for c in self.counts if c.scenario == scenario)


def wait_isolated(cfg: Config, clients: Clients, region: str) -> float:
    """Wait until ``region``'s MRSC replica refuses writes (the isolation is in effect); the wait's wall seconds.

    AWS may go on replicating for up to 5 minutes after the pause-replication action starts (FIS actions
    reference), so the partition phase starts only once a write to the MRSC table there is refused with
    the isolated Region's error; the local cloud applies the action at once. The probe item belongs to no
    scenario, so no count sees it."""
    table, began = lab_tables(cfg)["mrsc"], time.monotonic()
    ddb = clients.client_without_retries("dynamodb", region)

    def refused() -> tuple[bool, str]:
        try:
            ddb.put_item(TableName=table, Item={PK: {"S": PROBE}, SK: {"S": STATE}})
        except ClientError as failure:
            return error_code(failure) == ISOLATED_REGION_ERROR, error_code(failure)
        return False, "the write was acknowledged: replication still reaches the other Regions"

    wait_until(f"{region}'s replica of {table} to be isolated (a write there refused with {ISOLATED_REGION_ERROR})",
               refused, cfg.scaled(PAUSE_REPLICATION_LAG_S + 60.0))
    return time.monotonic() - began


def run_lab(cfg: Config, clients: Clients) -> LabResult:
    """The workload in three phases (normal, one Region isolated, healed) on every scenario at once.

    The isolation is ``ISOLATION_FAULT`` on both lab tables: one FIS experiment with AWS's
    pause-replication action, on AWS as on the local cloud."""
    began = time.monotonic()
    run = _Run(cfg, clients)
    region = cfg.regions[-1]  # the primary keeps the majority (with the witness) under MRSC
    updates = cfg.consistency_updates
    _phase(run, "normal", updates)
    # Held like the chaos step's faults: undone however the block is left, and recorded for the teardown.
    isolation = dataclasses.replace(cfg, fault=ISOLATION_FAULT, faulty_region=region)
    with faults.injected_fault(isolation, clients, tables=tuple(run.tables.values())):
        wait_isolated(cfg, clients, region)
        partition_began = time.monotonic()
        _phase(run, "partition", updates)
        time.sleep(max(0.0, cfg.scaled(cfg.partition_s) - (time.monotonic() - partition_began)))
    _phase(run, "healed", updates)
    finals = _converged(run)
    counts = count_all(run.log, finals)
    latency = lab_write_latency(cfg, clients)  # alone, after the workload: no queueing behind other clients
    return LabResult(run.log, finals, counts, region, cfg.partition_s, time.monotonic() - began,
                     latency_matrix(sorted({*cfg.regions, *(w for w in [mrsc_layout(cfg.regions)[1]] if w)})),
                     latency)
