"""Global-table replication between replica tables (the 2019.11.21 version's behaviour).

moto stores ``UpdateTable`` ``ReplicaUpdates`` and ignores them. This component
makes them real, the way the current version of DynamoDB global tables works:

* **Membership.** ``UpdateTable`` with ``ReplicaUpdates`` ``Create`` creates the
  replica table in the target region (same key schema, billing mode, indexes,
  a NEW_AND_OLD_IMAGES stream) and copies every item the table already holds;
  the replica is ``CREATING`` and the table ``UPDATING`` for a short, scaled
  while (``REPLICA_CREATION_S``), then both are ``ACTIVE``. ``Delete`` removes
  the replica table. ``DescribeTable`` in every replica region shows
  ``Replicas`` (every region of the global table, this one included) and
  ``GlobalTableVersion`` ``2019.11.21``. ``DeleteTable`` on a replica deletes
  that region's replica only; the other replicas stay a global table (as
  ``DeleteTable`` behaves on AWS for version 2019.11.21).

* **Replication.** Every write moto makes to a table goes through
  ``moto.dynamodb.models.table.StreamShard.add(old, new)`` (``PutItem``,
  ``UpdateItem``, ``DeleteItem``, ``BatchWriteItem``, ``TransactWriteItems``,
  PartiQL): that is **the one place where we observe writes** (a test pins
  this moto behaviour). A write to a replica is captured there with its write
  timestamp and origin region, and applied to every other replica after the
  replication delay (``settings.replication_delay_s`` times the time scale).

* **Conflicts.** Last writer wins per item on the version ``(timestamp, origin
  region)``, the region name breaking ties deterministically. Deletes leave a
  tombstone version, so an older put that arrives later never resurrects the
  item. A local write always gets a version newer than the one its replica
  holds, because it is applied on top of it.

* **No echo loops.** Applying a replicated write marks the thread as applying;
  the observer ignores such writes (they still appear in the receiving
  replica's own stream, as on AWS, but are never replicated again).

* **Atomicity.** moto is not thread-safe and a client write in region B could
  interleave with applying a replicated write into B (the write lands, the
  replicated one overwrites it, and the bookkeeping says the opposite). So
  moto's DynamoDB write methods and the applier take one lock,
  ``WRITE_LOCK``: a write and its version bookkeeping are one step.
  A failed ``TransactWriteItems`` (which moto rolls back by restoring a copy
  of the table) replicates nothing.

* **Pause / resume** (the FIS ``aws:dynamodb:global-table-pause-replication``
  action, which targets replica tables by ARN:
  https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html#dynamodb-actions-reference):
  replication of one table is paused in one Region, ``pause(region, table)``,
  or of every table of a Region, ``pause(region)`` (what a Region outage
  does). Deliveries of a paused replica, from and to it, stay queued and
  arrive on resume; the table's other replicas, and every other table, keep
  replicating. Queues are FIFO per (table, source, target), so a paused
  table's deliveries never hold up another table's. The queues belong to the
  component, not to its worker thread, so ``stop()``/``start()`` while writes
  continue loses nothing.

* **Observability.** ``ReplicationLatency`` (milliseconds, namespace
  ``AWS/DynamoDB``, dimensions ``TableName`` and ``ReceivingRegion``) is
  published in the source region's CloudWatch (moto's backend), aggregated
  per second as statistic sets; ``lag_samples()`` returns recent samples.

* **Settings.** GSI changes (``UpdateTable`` ``GlobalSecondaryIndexUpdates``) and ``UpdateTimeToLive``
  reach every replica; a new replica starts with the table's TTL setting. Stream records carry their own
  table's region in ``awsRegion``.

* **Partition** (the local cloud's network-partition fault): a partitioned
  region's replicas, every table's (a network cut is a Region's), are cut off
  from replication in both directions, like a pause, while the region keeps
  serving its clients. Under MREC both sides keep accepting writes (and last
  writer wins once healed); under MRSC the cut-off side cannot reach a quorum
  (``localcloud.strong_consistency``).

* **Consistency modes.** ``UpdateTable`` with ``MultiRegionConsistency`` ``STRONG``
  and ``GlobalTableWitnessUpdates`` creates an MRSC global table (three
  replicas, or two and a witness); ``localcloud.strong_consistency`` holds its
  rules and protocol. ``DescribeTable`` shows ``MultiRegionConsistency`` and
  ``GlobalTableWitnesses``. An MRSC write is applied to every reachable
  replica before it is acknowledged; what an unreachable one misses is
  queued and arrives when it is reachable again.

TTL expiry itself is the ``ttl_expiry`` component's (it deletes in ``expiry_region``; replication carries
the deletion). Not emulated: propagation of later billing changes to existing replicas, and the 24-hour
expiry of tombstones (ours live as long as the process).
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from moto.core.utils import utcnow
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import StreamShard, Table

from awsfacts.dynamodb import TABLE_CREATION_S
from awsfacts.global_tables import EVENTUAL, STRONG
from localcloud.component import Component
from localcloud.controlplane import AwsError, Call
from localcloud.strong_consistency import StrongConsistency

log = logging.getLogger(__name__)

GLOBAL_TABLE_VERSION = "2019.11.21"
# AWS seconds a new replica stays CREATING (and a removed one DELETING). On AWS
# this takes minutes for an empty table; we keep it short so runs stay quick.
REPLICA_CREATION_S = 10.0
STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"
METRIC_NAMESPACE = "AWS/DynamoDB"
METRIC_NAME = "ReplicationLatency"
METRIC_FLUSH_S = 1.0  # real seconds between CloudWatch publications (batched)
MAX_APPLY_BATCH = 200  # deliveries applied per lock hold, so client writes are not starved

# The one lock of the DynamoDB write path: held by moto's write methods (see
# _install_moto_hooks) and by the applier, so that a write and its version
# bookkeeping are one atomic step. Re-entrant: moto's write methods call each other.
WRITE_LOCK = threading.RLock()

Version = tuple[float, str]  # (write timestamp, origin region): compared as a tuple


@dataclass(frozen=True)
class Write:
    """One captured write to a replica: the new item image, or ``None`` for a delete."""

    table: str
    origin: str
    key: str  # canonical form of the key attributes
    key_attrs: dict[str, Any]  # the key attributes in DynamoDB JSON
    image: dict[str, Any] | None
    version: Version
    captured_at: float  # wall clock (time.time()), for the replication latency


@dataclass
class Delivery:
    """A write on its way from its origin region to one other replica."""

    write: Write
    target: str
    due: float  # time.monotonic() at which it may be applied


@dataclass(frozen=True)
class LagSample:
    """One replicated write: how long it took from its origin to ``target``."""

    at: float  # wall clock when applied
    table: str
    source: str
    target: str
    lag_ms: float


@dataclass
class _Replica:
    status: str  # CREATING, ACTIVE or DELETING
    until: float = 0.0  # monotonic time at which CREATING/DELETING ends


@dataclass
class _GlobalTable:
    name: str
    replicas: dict[str, _Replica] = field(default_factory=dict)
    mode: str = EVENTUAL  # MultiRegionConsistency, fixed when the global table is created
    witnesses: dict[str, _Replica] = field(default_factory=dict)  # MRSC only: Regions that vote but hold no table

    def settle(self, now: float) -> None:
        """Finish replicas and witnesses whose CREATING or DELETING time has passed."""
        for members in (self.replicas, self.witnesses):
            for region, replica in list(members.items()):
                if replica.status != "ACTIVE" and now >= replica.until:
                    if replica.status == "DELETING":
                        del members[region]
                    else:
                        replica.status = "ACTIVE"

    @property
    def regions(self) -> list[str]:
        """Every Region of the table that takes part in its quorum: replicas and witnesses."""
        return sorted({*self.members, *(r for r, w in self.witnesses.items() if w.status != "DELETING")})

    @property
    def members(self) -> list[str]:
        """Regions that send and receive replicated writes."""
        return sorted(r for r, rep in self.replicas.items() if rep.status != "DELETING")

    @property
    def busy(self) -> bool:
        return any(rep.status != "ACTIVE" for rep in (*self.replicas.values(), *self.witnesses.values()))


# ----------------------------------------------------------------- moto hooks
_observer: "Replication | None" = None
_local = threading.local()  # .applying: this thread applies a replicated write; .transaction: buffered writes
_hooks_installed = False


def _install_moto_hooks() -> None:
    """Observe writes at StreamShard.add and make moto's write methods take WRITE_LOCK (once per process)."""
    global _hooks_installed
    with WRITE_LOCK:
        if _hooks_installed:
            return
        original_add = StreamShard.add

        @functools.wraps(original_add)
        def add(self: StreamShard, old: Any, new: Any) -> None:
            original_add(self, old, new)
            if self.items:  # moto writes "us-east-1" into every record: a record names its own table's region
                self.items[-1].record["awsRegion"] = self.table.region_name
            observer = _observer
            if observer is not None and not getattr(_local, "applying", False):
                observer._observe(self.table, old, new)

        StreamShard.add = add  # type: ignore[method-assign]

        def locked(method: Callable) -> Callable:
            @functools.wraps(method)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                with WRITE_LOCK:
                    return method(*args, **kwargs)

            return wrapper

        for name in ("put_item", "update_item", "delete_item", "execute_statement"):
            setattr(DynamoDBBackend, name, locked(getattr(DynamoDBBackend, name)))

        original_transact = DynamoDBBackend.transact_write_items

        @functools.wraps(original_transact)
        def transact_write_items(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
            # moto rolls a failed transaction back by restoring copies of the
            # tables: buffer its writes and replicate them only if it commits.
            with WRITE_LOCK:
                outer = getattr(_local, "transaction", None)
                _local.transaction = buffer = []
                try:
                    result = original_transact(self, *args, **kwargs)
                finally:
                    _local.transaction = outer
                observer = _observer
                if observer is not None:
                    for table, old, new in buffer:
                        observer._observe(table, old, new)
                return result

        DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
        _hooks_installed = True


def _key_of(table: Table, item: Any) -> tuple[str, dict[str, Any]]:
    attrs = {table.hash_key_attr: item.hash_key.to_json()}
    if table.range_key_attr and item.range_key is not None:
        attrs[table.range_key_attr] = item.range_key.to_json()
    return json.dumps(attrs, sort_keys=True, default=str), attrs


# ------------------------------------------------------------------ component
class Replication(Component):
    """Global-table replication between replica tables (the 2019.11.21 version's behaviour)."""

    name = "replication"

    def __init__(self, cloud: Any):
        super().__init__(cloud)
        self._tables: dict[str, _GlobalTable] = {}
        self._versions: dict[tuple[str, str], dict[str, Version]] = {}  # (table, region) -> key -> version
        # (table, source, target) -> FIFO of deliveries; only non-empty queues are kept
        self._queues: dict[tuple[str, str, str], deque[Delivery]] = {}
        self._cond = threading.Condition()
        self._paused: set[tuple[str, str | None]] = set()  # (region, table), table None for every table there
        self.partitioned: set[str] = set()
        self._samples: deque[LagSample] = deque(maxlen=50_000)
        self._metrics: dict[tuple[str, str, str], list[float]] = {}  # (source, table, target) -> sum, min, max, n
        self._thread: threading.Thread | None = None
        self._stopping = False
        # When the worker's wait ends (monotonic), while it waits; -inf while it is awake (it looks at every
        # queue again before it waits). A new delivery wakes it only when due before that: with a steady
        # stream of writes each one is due after the one the worker already waits for, and waking it
        # for each write only to wait again is a thread switch per write for nothing.
        self._sleeping_until = -math.inf
        cp = cloud.controlplane
        self._creating: dict[tuple[str, str], float] = {}  # (region, table) -> monotonic time it turns ACTIVE
        cp.register("dynamodb", "CreateTable", self._create_table)
        cp.register("dynamodb", "UpdateTable", self._update_table)
        cp.register("dynamodb", "DescribeTable", self._describe_table)
        cp.register("dynamodb", "DeleteTable", self._delete_table)
        cp.register("dynamodb", "UpdateTimeToLive", self._update_time_to_live)
        _install_moto_hooks()
        self.strong = StrongConsistency(cloud, self)
        global _observer
        _observer = self  # capture starts now and goes on while the worker is stopped

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="replication", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            thread, self._thread = self._thread, None
            self._stopping = True
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout=5)
        self._flush_metrics()

    def status(self) -> dict[str, Any]:
        """``replication_paused``: "REGION" for every table of a Region, "REGION TABLE" for one replica."""
        with self._cond:
            paused = sorted(region if table is None else f"{region} {table}" for region, table in self._paused)
            partitioned = sorted(self.partitioned)
        return {"replication_paused": paused, "partitioned": partitioned, **self.strong.stats()}

    def group(self, name: str) -> _GlobalTable | None:
        """The global table ``name`` (membership, mode, witnesses), or None for a single-Region table."""
        return self._tables.get(name)

    def reachable(self, a: str, b: str, table: str) -> bool:
        """Can replication of ``table`` pass between Regions ``a`` and ``b`` now (neither side partitioned,
        nor paused for ``table``)?"""
        return not any(region in self.partitioned or (region, None) in self._paused or (region, table) in self._paused
                       for region in (a, b))

    @property
    def delay_s(self) -> float:
        """Real seconds between a write and its arrival in the other replicas."""
        return self.cloud.scaled(self.cloud.settings.replication_delay_s)

    # --------------------------------------------------------- pause/resume
    def pause(self, region: str, table: str | None = None) -> None:
        """Hold replication of ``table`` (None: of every table) from and to ``region`` (queued, nothing is dropped)."""
        with self._cond:
            self._paused.add((region, table))
        log.info("replication paused for %s", region if table is None else f"{table} in {region}")

    def resume(self, region: str, table: str | None = None) -> None:
        """End the pause ``pause(region, table)`` began: what it held arrives (unless another pause holds it)."""
        with self._cond:
            self._paused.discard((region, table))
            self._cond.notify_all()
        log.info("replication resumed for %s", region if table is None else f"{table} in {region}")

    def partition(self, region: str) -> None:
        """Cut ``region``'s replicas off from the others in both directions; the region keeps serving."""
        with self._cond:
            self.partitioned.add(region)
        log.info("replication partitioned: %s", region)

    def heal(self, region: str) -> None:
        """End ``region``'s partition: what was held arrives."""
        with self._cond:
            self.partitioned.discard(region)
            self._cond.notify_all()
        log.info("replication partition healed: %s", region)

    def pending(self, table: str | None = None) -> int:
        """Deliveries not applied yet (held by a pause or waiting for the delay)."""
        with self._cond:
            return sum(len(q) for (name, _, _), q in self._queues.items() if table in (None, name))

    def expiry_region(self, table: str) -> str | None:
        """Where TTL expiry of a global table happens (its first replica; the others get the delete
        replicated), or None for a table with no replicas."""
        with WRITE_LOCK:
            gt = self._tables.get(table)
            return min(gt.replicas) if gt is not None and len(gt.replicas) > 1 else None

    # ---------------------------------------------------------- observability
    def lag_samples(self, table: str | None = None, since: float = 0.0) -> list[LagSample]:
        """Recent replication latencies (newest last), optionally of one table and after ``since`` (epoch s)."""
        with self._cond:
            return [s for s in self._samples if s.at >= since and table in (None, s.table)]

    def _flush_metrics(self) -> None:
        with self._cond:
            metrics, self._metrics = self._metrics, {}
        by_region: dict[str, list[dict[str, Any]]] = {}
        now = utcnow()
        for (source, table, target), (total, low, high, count) in metrics.items():
            by_region.setdefault(source, []).append({
                "MetricName": METRIC_NAME,
                "Dimensions": [{"Name": "TableName", "Value": table}, {"Name": "ReceivingRegion", "Value": target}],
                "StatisticValues": {"Sum": total, "Minimum": low, "Maximum": high, "SampleCount": count},
                "Unit": "Milliseconds",
                "Timestamp": now,
            })
        for source, data in by_region.items():
            try:
                self.cloud.backend("cloudwatch", source).put_metric_data(METRIC_NAMESPACE, data)
            except Exception:  # metrics must never stop replication
                log.exception("publishing %s in %s failed", METRIC_NAME, source)

    # --------------------------------------------------------------- capture
    def _observe(self, table: Table, old: Any, new: Any) -> None:
        """Called from StreamShard.add, with WRITE_LOCK held by moto's write method."""
        gt = self._tables.get(table.name)
        region = table.region_name
        if gt is None or region not in gt.members:
            return
        buffer = getattr(_local, "transaction", None)
        if buffer is not None:
            buffer.append((table, old, new))
            return
        item = new if new is not None else old
        key, key_attrs = _key_of(table, item)
        image = copy.deepcopy(new.to_json()["Attributes"]) if new is not None else None
        versions = self._versions.setdefault((table.name, region), {})
        now = time.time()
        current = versions.get(key)
        ts = now if current is None or now > current[0] else current[0] + 1e-6
        write = Write(table.name, region, key, key_attrs, image, (ts, region), now)
        versions[key] = write.version
        if gt.mode == STRONG:
            self._replicate_synchronously(gt, write)
            return
        due = time.monotonic() + self.delay_s
        with self._cond:
            for target in gt.members:
                if target != region:
                    self._queues.setdefault((table.name, region, target), deque()).append(Delivery(write, target, due))
            if due < self._sleeping_until:
                self._cond.notify_all()

    def _replicate_synchronously(self, gt: _GlobalTable, write: Write) -> None:
        """MRSC: apply ``write`` to every reachable replica now (WRITE_LOCK held); queue it for the others."""
        self.strong.replication_began()
        now = time.monotonic()
        held: list[Delivery] = []
        for target in gt.members:
            if target == write.origin:
                continue
            delivery = Delivery(write, target, now)
            if self.reachable(write.origin, target, write.table):
                self._apply(delivery)
            else:
                held.append(delivery)
        if held:
            with self._cond:
                for delivery in held:
                    self._queues.setdefault((write.table, write.origin, delivery.target), deque()).append(delivery)
                self._cond.notify_all()

    # ----------------------------------------------------------------- apply
    def _run(self) -> None:
        next_flush = time.monotonic() + METRIC_FLUSH_S
        while True:
            with self._cond:
                if self._stopping:
                    return
                wake_at = min(self._next_due_locked(), next_flush)
                wait = wake_at - time.monotonic()
                if wait > 0:
                    self._sleeping_until = wake_at
                    self._cond.wait(wait)
                    self._sleeping_until = -math.inf
                    if self._stopping:
                        return
            try:
                while self._apply_due():
                    pass
                if time.monotonic() >= next_flush:
                    self._flush_metrics()
                    next_flush = time.monotonic() + METRIC_FLUSH_S
            except Exception:  # keep replicating whatever one bad write did
                log.exception("replication worker error")
                time.sleep(0.05)

    def _next_due_locked(self) -> float:
        heads = [q[0].due for (table, source, target), q in self._queues.items()
                 if self.reachable(source, target, table)]
        return min(heads, default=time.monotonic() + 3600)

    def _apply_due(self) -> bool:
        """Apply a batch of due deliveries; True if there may be more right now."""
        applied: list[tuple[Delivery, float]] = []
        with WRITE_LOCK:
            now = time.monotonic()
            batch: list[Delivery] = []
            with self._cond:
                for (table, source, target), queue in list(self._queues.items()):
                    if not self.reachable(source, target, table):
                        continue
                    while queue and queue[0].due <= now and len(batch) < MAX_APPLY_BATCH:
                        batch.append(queue.popleft())
                    if not queue:
                        del self._queues[table, source, target]
            for delivery in batch:
                self._apply(delivery)
                applied.append((delivery, time.time()))
        if applied:
            with self._cond:
                for delivery, at in applied:
                    w = delivery.write
                    lag = (at - w.captured_at) * 1000.0
                    self._samples.append(LagSample(at, w.table, w.origin, delivery.target, lag))
                    acc = self._metrics.get((w.origin, w.table, delivery.target))
                    if acc is None:
                        self._metrics[(w.origin, w.table, delivery.target)] = [lag, lag, lag, 1]
                    else:
                        acc[0] += lag
                        acc[1] = min(acc[1], lag)
                        acc[2] = max(acc[2], lag)
                        acc[3] += 1
        return len(applied) >= MAX_APPLY_BATCH

    def _apply(self, delivery: Delivery) -> None:
        """Apply one replicated write into its target replica if it is newer (WRITE_LOCK held)."""
        w = delivery.write
        gt = self._tables.get(w.table)
        if gt is None or delivery.target not in gt.members:
            return  # the replica was removed meanwhile
        table = self.cloud.backend("dynamodb", delivery.target).tables.get(w.table)
        if table is None:
            return
        versions = self._versions.setdefault((w.table, delivery.target), {})
        current = versions.get(w.key)
        if current is not None and current >= w.version:
            return  # the replica holds a later write (or the tombstone of one)
        self._write_replicated(table, w.key_attrs, w.image)
        versions[w.key] = w.version

    @staticmethod
    def _write_replicated(table: Table, key_attrs: dict[str, Any], image: dict[str, Any] | None) -> None:
        _local.applying = True
        try:
            if image is not None:
                table.put_item(copy.deepcopy(image))
            else:
                hash_key = DynamoType(key_attrs[table.hash_key_attr])
                range_key = DynamoType(key_attrs[table.range_key_attr]) if table.range_key_attr else None
                table.delete_item(hash_key, range_key)
        finally:
            _local.applying = False

    # ------------------------------------------------------------ membership
    def _table(self, region: str, name: str) -> Table:
        table = self.cloud.backend("dynamodb", region).tables.get(name)
        if table is None:
            raise AwsError("ResourceNotFoundException", f"Requested resource not found: Table: {name} not found")
        return table

    def _global(self, name: str, region: str) -> _GlobalTable | None:
        """The global table ``name`` if ``region`` holds one of its replicas (settled to now)."""
        gt = self._tables.get(name)
        if gt is None:
            return None
        gt.settle(time.monotonic())
        if len(gt.replicas) <= 1 and not gt.busy:
            # Every other replica was removed: a single-Region table again.
            del self._tables[name]
            return None
        return gt if region in gt.replicas else None

    def _add_replica(self, gt: _GlobalTable, source: Table, target: str) -> None:
        """Create the replica table in ``target`` and fill it (WRITE_LOCK held)."""
        stream = {"StreamEnabled": True, "StreamViewType": STREAM_VIEW_TYPE}
        backend = self.cloud.backend("dynamodb", target)
        backend.create_table(
            name=source.name,
            schema=copy.deepcopy(source.schema),
            throughput=None if source.billing_mode == "PAY_PER_REQUEST" else {
                k: v for k, v in source.throughput.items() if k in ("ReadCapacityUnits", "WriteCapacityUnits")},
            attr=copy.deepcopy(source.attr),
            global_indexes=[
                {k: copy.deepcopy(v) for k, v in gsi.describe().items()
                 if k in ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput") and v}
                for gsi in source.global_indexes
            ] or None,
            indexes=[lsi.describe() for lsi in source.indexes] or None,
            streams=stream,
            billing_mode=source.billing_mode or "PROVISIONED",
            sse_specification=None,
            tags=[],  # AWS does not copy tags to new replicas; tag them yourself
            deletion_protection_enabled=False,
            warm_throughput=None,
        )
        replica = backend.tables[source.name]
        replica.ttl = copy.deepcopy(source.ttl)  # TTL settings are replicated
        for item in list(source.all_items()):
            key, key_attrs = _key_of(source, item)
            self._write_replicated(replica, key_attrs, item.to_json()["Attributes"])
        # The new replica starts from the source's state and versions (tombstones
        # included), and receives everything still on its way to the source.
        self._versions[(source.name, target)] = dict(self._versions.get((source.name, source.region_name), {}))
        with self._cond:
            for (name, origin, to), queue in list(self._queues.items()):
                if name == source.name and to == source.region_name and origin != target:
                    clones = [Delivery(d.write, target, d.due) for d in queue]
                    self._queues.setdefault((name, origin, target), deque()).extend(clones)
            self._cond.notify_all()  # a clone may be due before anything the worker waits for (its source paused)
        gt.replicas[target] = _Replica("CREATING", time.monotonic() + self.cloud.scaled(REPLICA_CREATION_S))

    def _forget_replica(self, gt: _GlobalTable, region: str, status: str = "DELETING") -> None:
        """Stop replicating to ``region`` (what is queued from it still goes out)."""
        gt.replicas[region] = _Replica(status, time.monotonic() + self.cloud.scaled(REPLICA_CREATION_S))
        self._versions.pop((gt.name, region), None)
        with self._cond:
            for name, origin, to in list(self._queues):
                if name == gt.name and to == region:
                    del self._queues[name, origin, to]

    # ------------------------------------------------------------- overrides
    def _create_table(self, call: Call) -> dict[str, Any]:
        """CreateTable answers CREATING; DescribeTable says ACTIVE a short (scaled) while later, as on AWS."""
        result = call.forward_json()
        ready_at = time.monotonic() + self.cloud.scaled(TABLE_CREATION_S)
        self._creating[(call.region, call.params["TableName"])] = ready_at
        result["TableDescription"]["TableStatus"] = "CREATING"
        return result

    def _decorate(self, description: dict[str, Any], name: str, region: str) -> dict[str, Any]:
        """Add Replicas and GlobalTableVersion to a TableDescription, as DynamoDB does for a global table."""
        ready_at = self._creating.get((region, name))
        if ready_at is not None:
            if time.monotonic() < ready_at:
                description["TableStatus"] = "CREATING"
            else:
                del self._creating[(region, name)]
        gt = self._global(name, region)
        if gt is None:
            return description
        description["Replicas"] = [
            {"RegionName": r, "ReplicaStatus": rep.status} for r, rep in sorted(gt.replicas.items())
        ]
        description["GlobalTableVersion"] = GLOBAL_TABLE_VERSION
        description["MultiRegionConsistency"] = gt.mode
        if gt.witnesses:
            description["GlobalTableWitnesses"] = [
                {"RegionName": r, "WitnessStatus": w.status} for r, w in sorted(gt.witnesses.items())
            ]
        own = gt.replicas[region].status
        if own == "CREATING":
            description["TableStatus"] = "CREATING"
        elif own == "DELETING":
            description["TableStatus"] = "DELETING"
        elif gt.busy:
            description["TableStatus"] = "UPDATING"
        return description

    def _describe_table(self, call: Call) -> dict[str, Any]:
        result = call.forward_json()
        with WRITE_LOCK:
            self._decorate(result["Table"], call.params["TableName"], call.region)
        return result

    def _update_table(self, call: Call) -> dict[str, Any]:
        """UpdateTable: ReplicaUpdates Create/Delete here, every other parameter by moto."""
        name = call.params["TableName"]
        updates = call.params.get("ReplicaUpdates") or []
        with WRITE_LOCK:
            source = self._table(call.region, name)
            gt = self._global(name, call.region)
            if updates:
                self._check_replica_updates(call, source, gt, updates)
            mode = call.params.get("MultiRegionConsistency")
            witness_updates = call.params.get("GlobalTableWitnessUpdates") or []
            if mode is not None or witness_updates or (gt is not None and gt.mode == STRONG and updates):
                self._check_consistency(call.region, source, gt, mode, updates, witness_updates)
            stream = call.params.get("StreamSpecification")
            if gt is not None and stream is not None and not stream.get("StreamEnabled", True):
                raise AwsError("ValidationException",
                               f"Table {name} has global table replicas: its stream cannot be disabled; "
                               "remove the replicas first")
            result = call.forward_json()
            for update in updates:
                if gt is None:
                    gt = self._tables[name] = _GlobalTable(name, {call.region: _Replica("ACTIVE")},
                                                           mode=mode or EVENTUAL)
                    if not source.stream_specification or not source.stream_specification.get("StreamEnabled"):
                        source.set_stream_specification({"StreamEnabled": True, "StreamViewType": STREAM_VIEW_TYPE})
                if "Create" in update:
                    self._add_replica(gt, source, update["Create"]["RegionName"])
                elif "Delete" in update:
                    target = update["Delete"]["RegionName"]
                    self._forget_replica(gt, target)
                    self.cloud.backend("dynamodb", target).tables.pop(name, None)
            if gt is not None and call.params.get("GlobalSecondaryIndexUpdates"):
                self._propagate_indexes(gt, call)
            for update in witness_updates:
                until = time.monotonic() + self.cloud.scaled(REPLICA_CREATION_S)
                if "Create" in update:
                    gt.witnesses[update["Create"]["RegionName"]] = _Replica("CREATING", until)
                else:
                    gt.witnesses[update["Delete"]["RegionName"]] = _Replica("DELETING", until)
            if updates:
                # The table object may have changed (stream enabled): describe it afresh.
                result["TableDescription"] = self._table(call.region, name).describe()["TableDescription"]
            self._decorate(result["TableDescription"], name, call.region)
        return result

    def _propagate_indexes(self, gt: _GlobalTable, call: Call) -> None:
        """GSI changes reach every other replica ("Global tables: how it works": GSIs are kept in sync)."""
        for region in gt.replicas:
            if region != call.region:
                self.cloud.backend("dynamodb", region).update_table(
                    gt.name, attr_definitions=call.params.get("AttributeDefinitions") or [],
                    global_index=call.params["GlobalSecondaryIndexUpdates"], throughput=None, billing_mode=None,
                    stream_spec=None, deletion_protection_enabled=None, warm_throughput=None)

    def _update_time_to_live(self, call: Call) -> dict[str, Any]:
        """UpdateTimeToLive on a replica applies to every replica (TTL settings are replicated)."""
        name = call.params["TableName"]
        with WRITE_LOCK:
            result = call.forward_json()
            gt = self._global(name, call.region)
            for region in (gt.replicas if gt is not None else ()):
                if region != call.region:
                    self.cloud.backend("dynamodb", region).update_time_to_live(name, call.params["TimeToLiveSpecification"])
        return result

    def _check_replica_updates(self, call: Call, source: Table, gt: _GlobalTable | None,
                               updates: list[dict[str, Any]]) -> None:
        name = source.name
        if gt is not None and gt.busy:
            raise AwsError("ResourceInUseException",
                           f"Attempt to change a resource which is still in use: Table is being updated: {name}")
        spec = source.stream_specification or {}
        if spec.get("StreamEnabled") and spec.get("StreamViewType") != STREAM_VIEW_TYPE:
            raise AwsError("ValidationException",
                           f"Table {name} has a stream with StreamViewType {spec.get('StreamViewType')}: "
                           f"global tables need {STREAM_VIEW_TYPE}")
        members = set(gt.replicas) if gt else {call.region}
        for update in updates:
            if "Update" in update:
                raise AwsError("ValidationException", "ReplicaUpdates Update is not supported by the local cloud")
            if "Create" in update:
                region = update["Create"]["RegionName"]
                if region in members:
                    raise AwsError("ValidationException",
                                   f"Cannot add replica: table {name} already has a replica in region {region}")
                if name in self.cloud.backend("dynamodb", region).tables:
                    raise AwsError("ValidationException",
                                   f"Failed to create a the new replica of table with name: '{name}' because "
                                   "one or more replicas already existed as tables.")
                members.add(region)
            elif "Delete" in update:
                region = update["Delete"]["RegionName"]
                if region not in members:
                    raise AwsError("ValidationException",
                                   f"Cannot delete replica: table {name} has no replica in region {region}")
                members.discard(region)

    def _check_consistency(self, region: str, source: Table, gt: _GlobalTable | None, mode: str | None,
                           updates: list[dict[str, Any]], witness_updates: list[dict[str, Any]]) -> None:
        """The consistency-mode rules of ``UpdateTable`` (``awsfacts.global_tables`` cites the guide)."""
        name = source.name
        creates = [u["Create"]["RegionName"] for u in updates if "Create" in u]
        deletes = [u["Delete"]["RegionName"] for u in updates if "Delete" in u]
        if mode is not None and not creates:
            raise AwsError("ValidationException",
                           "MultiRegionConsistency is only valid when you create a global table by specifying "
                           "one or more Create actions in ReplicaUpdates")
        if gt is not None and mode is not None and mode != gt.mode:
            raise AwsError("ValidationException",
                           f"Table {name} is a global table with MultiRegionConsistency {gt.mode}: "
                           "a global table's consistency mode cannot be changed")
        if gt is not None and gt.mode == STRONG and creates:
            raise AwsError("ValidationException",
                           f"Cannot add replicas to {name}: a multi-Region strongly consistent global table "
                           "keeps the Regions it was created with")
        if len(witness_updates) > 1:
            raise AwsError("ValidationException", "You can create or delete only one witness per UpdateTable operation")
        witness_creates = [u["Create"]["RegionName"] for u in witness_updates if "Create" in u]
        witness_deletes = [u["Delete"]["RegionName"] for u in witness_updates if "Delete" in u]
        if witness_creates and (gt is not None or mode != STRONG):
            raise AwsError("ValidationException",
                           "A witness can only be added when the global table is created with "
                           "MultiRegionConsistency STRONG")
        if witness_deletes:
            if gt is None or witness_deletes[0] not in gt.witnesses:
                raise AwsError("ValidationException",
                               f"Cannot delete witness: table {name} has no witness in {witness_deletes[0]}")
            if not deletes:
                raise AwsError("ValidationException",
                               "A witness cannot be deleted on its own: delete it together with a replica")
        if gt is None and mode == STRONG:
            self.strong.check_create(source, region, creates, witness_creates)

    def _delete_table(self, call: Call) -> dict[str, Any]:
        """DeleteTable on a replica deletes that region's replica only; the others stay a global table."""
        name = call.params["TableName"]
        with WRITE_LOCK:
            gt = self._global(name, call.region)
            if gt is not None:
                if gt.busy:
                    raise AwsError("ResourceInUseException",
                                   f"Attempt to change a resource which is still in use: Table is being updated: {name}")
            result = call.forward_json()
            self._creating.pop((call.region, name), None)
            if gt is not None:
                self._forget_replica(gt, call.region)
        return result
