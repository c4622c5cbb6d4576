"""Multi-Region strong consistency (MRSC): the creation rules and the protocol of an MRSC global table.

The facts, and the pages they come from, are in ``awsfacts.global_tables``.
``localcloud.replication`` keeps the membership of every global table (replicas,
witnesses, mode) and calls ``check_create`` when ``UpdateTable`` asks for an
MRSC table; this module adds what MRSC does on the data path:

* **Quorum.** An MRSC table lives in three Regions (replicas and witness). A
  Region can take a write or a strongly consistent read only while it reaches
  at least one other of them (two of three: a majority). A replica cut off from
  the others (FIS pause-replication on that table, which the DynamoDB guide
  calls Region isolation, or the local cloud's partition of the whole Region)
  fails both; its eventually
  consistent reads still answer from its own replica, which may be stale. The
  other two carry on. The error is ``ISOLATED_REGION_ERROR`` (see there why).
* **Synchronous replication.** A write is applied to every reachable replica
  before it is acknowledged (``Replication`` applies it at once instead of
  queueing it), and the answer waits until the round trip to the nearest other
  Region of the table (``awsfacts.latency``, scaled by the time scale) has
  passed since the write left its Region: a write is acknowledged once durable
  in a second Region, the other replica's applying it being part of that
  round trip, as on AWS. A strongly
  consistent read also pays that round trip, and returns the latest
  acknowledged write in every replica Region.
* **Conflicts.** A write to an item that a request from another Region is
  still writing fails with ``ReplicatedWriteConflictException`` (HTTP 400,
  retryable: botocore's model marks it so); a retry after that write is
  acknowledged succeeds. Writes from the same Region are ordered by the Region.
* **Unsupported.** ``TransactWriteItems``, ``TransactGetItems`` and
  ``UpdateTimeToLive`` on an MRSC table answer ``ValidationException``.

How it hooks in: each data-plane method of moto's DynamoDB request handler
(``DynamoHandler``) is wrapped once per process by ``_guarded`` with its guard
from ``GUARDS``. A guard looks the table up (one dict lookup; a table that is
not MRSC costs nothing more) and either raises the AWS error (moto serialises
it) or enters the protocol's write step around moto's method. This is a
data-plane hook like ``Replication``'s write observer, not an answer override:
the operation's answer is moto's own. PartiQL (``ExecuteStatement``) is not
guarded.
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
import time
from typing import Any, Callable, Iterator

from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

from awsfacts.global_tables import (
    ISOLATED_REGION_ERROR,
    ISOLATED_REGION_MESSAGE,
    ISOLATED_REGION_STATUS,
    REPLICATED_WRITE_CONFLICT,
    REPLICATED_WRITE_CONFLICT_MESSAGE,
    STRONG,
    mrsc_layout_error,
)
from awsfacts.latency import round_trip_ms
from localcloud.controlplane import AwsError

# The global tables' membership (localcloud.replication's ``Replication`` and its groups, which
# hold ``name``, ``mode``, ``replicas`` and ``regions``); not imported, replication imports this module.
Replication = Any
GlobalTable = Any

_protocol: "StrongConsistency | None" = None
_hooks_installed = False
_hooks_lock = threading.Lock()


class IsolatedRegionError(DynamodbException):
    """DynamoDB's ``InternalServerError`` with its HTTP status (moto's serialiser would answer 400:
    botocore's model gives the shape no status)."""

    code = ISOLATED_REGION_STATUS

    def __init__(self) -> None:
        super().__init__(ERROR_TYPE_PREFIX + ISOLATED_REGION_ERROR, ISOLATED_REGION_MESSAGE)


class StrongConsistency:
    """The MRSC rules and protocol of one local cloud's global tables (owned by ``Replication``)."""

    def __init__(self, cloud: Any, replication: Replication):
        self.cloud = cloud
        self._replication = replication
        self._lock = threading.Lock()
        self._in_flight: dict[tuple[str, str], tuple[str, int]] = {}  # (table, key) -> (writing region, count)
        self._steps = threading.local()  # per request thread: when the write's replication began
        self.conflicts = 0  # ReplicatedWriteConflictException answers so far
        self.refused = 0  # writes and strongly consistent reads refused for want of a quorum
        _install_handler_hooks()
        global _protocol
        _protocol = self

    # ---------------------------------------------------------- creation
    @staticmethod
    def check_create(source: Table, region: str, replicas: list[str], witnesses: list[str]) -> None:
        """Refuse an ``UpdateTable`` that would make ``source`` an MRSC table against the guide's rules."""
        name = source.name
        problem = mrsc_layout_error([region, *replicas], witnesses)
        if problem:
            raise AwsError("ValidationException", f"Cannot create MRSC global table {name}: {problem}")
        if any(True for _ in source.all_items()):
            raise AwsError("ValidationException",
                           f"Cannot create MRSC global table {name}: the table must be empty; it contains items")
        if source.indexes:
            raise AwsError("ValidationException",
                           f"Cannot create MRSC global table {name}: local secondary indexes are not supported "
                           "with multi-Region strong consistency")
        if (source.ttl or {}).get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            raise AwsError("ValidationException",
                           f"Cannot create MRSC global table {name}: Time to Live is not supported with "
                           "multi-Region strong consistency; disable it first")

    # ----------------------------------------------------------- quorum
    def strong(self, table: str, region: str) -> "GlobalTable | None":
        """The global table ``table`` when it is MRSC and has a replica in ``region`` (else None: no MRSC rule applies)."""
        gt = self._replication.group(table)
        if gt is None or gt.mode != STRONG or region not in gt.replicas:
            return None
        return gt

    def peers(self, gt: GlobalTable, region: str) -> list[str]:
        """The other Regions of ``gt`` (replicas and witnesses) that ``region`` reaches now."""
        return [r for r in gt.regions if r != region and self._replication.reachable(region, r, gt.name)]

    def round_trip_s(self, gt: GlobalTable, region: str) -> float:
        """Real seconds of the round trip to the nearest reachable peer (AWS time times the time scale)."""
        peers = self.peers(gt, region)
        return self.cloud.scaled(min(round_trip_ms(region, p) for p in peers) / 1000.0) if peers else 0.0

    def _require_quorum(self, gt: GlobalTable, region: str) -> None:
        """``region`` reaches another Region of ``gt`` (two of three: a majority), else IsolatedRegionError."""
        if not self.peers(gt, region):
            with self._lock:
                self.refused += 1
            raise IsolatedRegionError()

    # ------------------------------------------------------------ steps
    @contextlib.contextmanager
    def write(self, table: str, region: str, keys: list[str]) -> Iterator[None]:
        """Around one write of ``keys``: quorum, conflict check, then the replication round trip before the answer."""
        gt = self.strong(table, region)
        if gt is None:
            yield
            return
        self._require_quorum(gt, region)
        marks = [(table, key) for key in keys]
        with self._lock:
            for mark in marks:
                holder = self._in_flight.get(mark)
                if holder is not None and holder[0] != region:
                    self.conflicts += 1
                    raise AwsError(REPLICATED_WRITE_CONFLICT, REPLICATED_WRITE_CONFLICT_MESSAGE, 400)
            for mark in marks:
                holder = self._in_flight.get(mark)
                self._in_flight[mark] = (region, (holder[1] if holder else 0) + 1)
        self._steps.replication_began = None
        try:
            yield  # moto writes; Replication applies the write to every reachable replica at once
            # Durable in a second Region before the answer: the round trip began when the write left this
            # Region, and the other replicas' applying it (done here, in this thread) is part of it.
            began = self._steps.replication_began or time.monotonic()
            time.sleep(max(0.0, self.round_trip_s(gt, region) - (time.monotonic() - began)))
        finally:
            with self._lock:
                for mark in marks:
                    holder_region, count = self._in_flight[mark]
                    if count <= 1:
                        del self._in_flight[mark]
                    else:
                        self._in_flight[mark] = (holder_region, count - 1)

    def replication_began(self) -> None:
        """Called by ``Replication`` as it starts sending a write to the other replicas (the round trip's start)."""
        if getattr(self._steps, "replication_began", None) is None:
            self._steps.replication_began = time.monotonic()

    def strong_read(self, table: str, region: str) -> None:
        """Before a strongly consistent read: quorum, and the round trip that confirms the latest write."""
        gt = self.strong(table, region)
        if gt is None:
            return
        self._require_quorum(gt, region)
        time.sleep(self.round_trip_s(gt, region))

    def refuse_unsupported(self, table: str, region: str, operation: str) -> None:
        """``operation`` is one MRSC does not support: ValidationException on an MRSC table."""
        if self.strong(table, region) is not None:
            raise AwsError("ValidationException",
                           f"{operation} is not supported for table {table}: it is a multi-Region strongly "
                           "consistent (MRSC) global table")

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"replicated_write_conflicts": self.conflicts, "mrsc_refused": self.refused}


# ------------------------------------------------------------- moto hooks
# A guard runs before one moto handler method: it raises the AWS error, or enters the protocol's steps on
# ``stack`` (left once moto has answered), or does nothing for a table that is not MRSC.
Guard = Callable[[StrongConsistency, DynamoHandler, contextlib.ExitStack], None]


def _key(handler: DynamoHandler, table_name: str, attrs: dict[str, Any]) -> str:
    table = handler.dynamodb_backend.get_table(table_name)
    key = {table.hash_key_attr: attrs.get(table.hash_key_attr)}
    if table.range_key_attr:
        key[table.range_key_attr] = attrs.get(table.range_key_attr)
    return json.dumps(key, sort_keys=True, default=str)


def _write(protocol: StrongConsistency, handler: DynamoHandler, stack: contextlib.ExitStack) -> None:
    """PutItem (``Item``), UpdateItem and DeleteItem (``Key``): one item of one table."""
    body = handler.body
    table = body.get("TableName", "")
    if protocol.strong(table, handler.region) is not None:
        keys = [_key(handler, table, body["Item"] if "Item" in body else body["Key"])]
        stack.enter_context(protocol.write(table, handler.region, keys))


def _batch_write(protocol: StrongConsistency, handler: DynamoHandler, stack: contextlib.ExitStack) -> None:
    for table, requests in (handler.body.get("RequestItems") or {}).items():
        if protocol.strong(table, handler.region) is not None:
            keys = [_key(handler, table, (r.get("PutRequest") or {}).get("Item")
                         or (r.get("DeleteRequest") or {}).get("Key") or {}) for r in requests]
            stack.enter_context(protocol.write(table, handler.region, keys))


def _read(protocol: StrongConsistency, handler: DynamoHandler, _stack: contextlib.ExitStack) -> None:
    """GetItem, Query, Scan: only a strongly consistent read needs the quorum."""
    if handler.body.get("ConsistentRead"):
        protocol.strong_read(handler.body.get("TableName", ""), handler.region)


def _batch_read(protocol: StrongConsistency, handler: DynamoHandler, _stack: contextlib.ExitStack) -> None:
    for table, request in (handler.body.get("RequestItems") or {}).items():
        if request.get("ConsistentRead"):
            protocol.strong_read(table, handler.region)


def _transact_tables(body: dict[str, Any]) -> list[str]:
    return [part["TableName"] for entry in body.get("TransactItems") or []
            for part in entry.values() if isinstance(part, dict) and "TableName" in part]


def _unsupported(operation: str, tables: Callable[[dict[str, Any]], list[str]]) -> Guard:
    """A guard that refuses ``operation`` on an MRSC table."""
    def guard(protocol: StrongConsistency, handler: DynamoHandler, _stack: contextlib.ExitStack) -> None:
        for table in tables(handler.body):
            protocol.refuse_unsupported(table, handler.region, operation)
    return guard


GUARDS: dict[str, Guard] = {
    "put_item": _write, "update_item": _write, "delete_item": _write, "batch_write_item": _batch_write,
    "get_item": _read, "query": _read, "scan": _read, "batch_get_item": _batch_read,
    "transact_write_items": _unsupported("TransactWriteItems", _transact_tables),
    "transact_get_items": _unsupported("TransactGetItems", _transact_tables),
    "update_time_to_live": _unsupported("UpdateTimeToLive", lambda body: [body.get("TableName", "")]),
}


def _guarded(original: Callable[[DynamoHandler], Any], guard: Guard) -> Callable[[DynamoHandler], Any]:
    """moto's handler method ``original`` with ``guard`` before it (and its steps around it)."""
    @functools.wraps(original)
    def wrapper(self: DynamoHandler) -> Any:
        protocol = _protocol
        if protocol is None:
            return original(self)
        with contextlib.ExitStack() as stack:
            guard(protocol, self, stack)
            return original(self)
    return wrapper


def _install_handler_hooks() -> None:
    """Wrap moto's DynamoDB data-plane handler methods with their guards (once per process)."""
    global _hooks_installed
    with _hooks_lock:
        if not _hooks_installed:
            for name, guard in GUARDS.items():
                setattr(DynamoHandler, name, _guarded(getattr(DynamoHandler, name), guard))
            _hooks_installed = True
