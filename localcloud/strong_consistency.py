"""Multi-Region strong consistency (MRSC): the creation rules and the protocol of an MRSC global table.

The facts come from the DynamoDB Developer Guide (see ``awsfacts.global_tables``):
"Consistency modes" (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_HowItWorks.html)
and "Multi-Region strong consistency"
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/multi-region-strong-consistency-gt.html).
``localcloud.replication`` keeps the membership of every global table (replicas,
witnesses, mode) and calls ``check_create`` when ``UpdateTable`` asks for an
MRSC table; this module adds what MRSC does on the data path:

* **Quorum.** An MRSC table lives in three Regions (replicas and witness). A
  Region can take a write or a strongly consistent read only while it reaches
  at least one other of them (two of three: a majority). A Region cut off from
  the others (a partition, or paused replication) answers both with
  ``InternalServerError`` (HTTP 500); its eventually consistent reads still
  answer from its own replica, which may be stale. The other two carry on.
* **Synchronous replication.** A write is applied to every reachable replica
  before it is acknowledged (``Replication`` applies it at once instead of
  queueing it), and the answer waits for the round trip to the nearest other
  Region of the table (``awsfacts.latency``, scaled by the time scale): a
  write is acknowledged once durable in a second Region. A strongly
  consistent read also pays that round trip, and returns the latest
  acknowledged write in every replica Region.
* **Conflicts.** A write to an item that a request from another Region is
  still writing fails with ``ReplicatedWriteConflictException`` (HTTP 400,
  retryable: botocore's model marks it so); a retry after that write is
  acknowledged succeeds. Writes from the same Region are ordered by the Region.
* **Unsupported.** ``TransactWriteItems`` and ``TransactGetItems`` on an MRSC
  table and ``UpdateTimeToLive`` on one answer ``ValidationException``.

How it hooks in: moto's DynamoDB request handler (``DynamoHandler``) methods of
the data-plane operations are wrapped once per process; the wrapper looks the
table up (one dict lookup; a table that is not MRSC costs nothing more) and
either raises the AWS error (moto serialises it) or runs moto's method inside
the protocol's write or read step. This is a data-plane hook like
``Replication``'s write observer, not an answer override: the operation's
answer is moto's own. PartiQL (``ExecuteStatement``) is not guarded.
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
    REPLICATED_WRITE_CONFLICT,
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
    """``InternalServerError`` with HTTP 500, as DynamoDB sends it (moto's serialiser would answer 400:
    botocore's model gives the shape no status)."""

    code = 500

    def __init__(self, message: str):
        super().__init__(ERROR_TYPE_PREFIX + ISOLATED_REGION_ERROR, message)


class StrongConsistency:
    """The MRSC rules and protocol of one local cloud's global tables (owned by ``Replication``)."""

    def __init__(self, cloud: Any, replication: Replication):
        self.cloud = cloud
        self._replication = replication
        self._lock = threading.Lock()
        self._in_flight: dict[tuple[str, str], tuple[str, int]] = {}  # (table, key) -> (writing region, count)
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
    def _strong(self, table: str, region: str) -> "GlobalTable | None":
        gt = self._replication.group(table)
        if gt is None or gt.mode != STRONG or region not in gt.replicas:
            return None
        return gt

    def peers(self, gt: GlobalTable, region: str) -> list[str]:
        """The other Regions of ``gt`` (replicas and witnesses) that ``region`` reaches now."""
        return [r for r in gt.regions if r != region and self._replication.reachable(region, r)]

    def round_trip_s(self, gt: GlobalTable, region: str) -> float:
        """Real seconds of the round trip to the nearest reachable peer (AWS time times the time scale)."""
        peers = self.peers(gt, region)
        return self.cloud.scaled(min(round_trip_ms(region, p) for p in peers) / 1000.0) if peers else 0.0

    def _require_quorum(self, gt: GlobalTable, region: str, what: str) -> list[str]:
        peers = self.peers(gt, region)
        if not peers:
            with self._lock:
                self.refused += 1
            raise IsolatedRegionError(
                f"Internal server error: the replica of {gt.name} in {region} cannot reach the other Regions of "
                f"its multi-Region strongly consistent global table, so it cannot serve {what}; retry, or use "
                "another Region")
        return peers

    # ------------------------------------------------------------ steps
    @contextlib.contextmanager
    def write(self, table: str, region: str, keys: list[str]) -> Iterator[None]:
        """Around one write of ``keys``: quorum, conflict check, then the replication round trip before the answer."""
        gt = self._strong(table, region)
        if gt is None:
            yield
            return
        self._require_quorum(gt, region, "writes")
        marks = [(table, key) for key in keys]
        with self._lock:
            for mark in marks:
                holder = self._in_flight.get(mark)
                if holder is not None and holder[0] != region:
                    self.conflicts += 1
                    raise AwsError(REPLICATED_WRITE_CONFLICT,
                                   "One or more items in this request are being modified by a request in "
                                   f"another Region ({holder[0]}); retry the request", 400)
            for mark in marks:
                holder = self._in_flight.get(mark)
                self._in_flight[mark] = (region, (holder[1] if holder else 0) + 1)
        try:
            yield  # moto writes; Replication applies the write to every reachable replica at once
            time.sleep(self.round_trip_s(gt, region))  # durable in a second Region before the answer
        finally:
            with self._lock:
                for mark in marks:
                    holder_region, count = self._in_flight[mark]
                    if count <= 1:
                        del self._in_flight[mark]
                    else:
                        self._in_flight[mark] = (holder_region, count - 1)

    def strong_read(self, table: str, region: str) -> None:
        """Before a strongly consistent read: quorum, and the round trip that confirms the latest write."""
        gt = self._strong(table, region)
        if gt is None:
            return
        self._require_quorum(gt, region, "strongly consistent reads")
        time.sleep(self.round_trip_s(gt, region))

    def refuse_unsupported(self, table: str, region: str, operation: str) -> None:
        """``operation`` is one MRSC does not support: ValidationException on an MRSC table."""
        if self._strong(table, region) is not None:
            raise AwsError("ValidationException",
                           f"{operation} is not supported for table {table}: it is a multi-Region strongly "
                           "consistent (MRSC) global table")

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"replicated_write_conflicts": self.conflicts, "mrsc_refused": self.refused}


# ------------------------------------------------------------- moto hooks
def _key(handler: DynamoHandler, table_name: str, attrs: dict[str, Any]) -> str:
    table = handler.dynamodb_backend.get_table(table_name)
    key = {table.hash_key_attr: attrs.get(table.hash_key_attr)}
    if table.range_key_attr:
        key[table.range_key_attr] = attrs.get(table.range_key_attr)
    return json.dumps(key, sort_keys=True, default=str)


def _write_keys(handler: DynamoHandler, operation: str) -> list[str]:
    body = handler.body
    attrs = body["Item"] if operation == "put_item" else body["Key"]
    return [_key(handler, body["TableName"], attrs)]


def _install_handler_hooks() -> None:
    """Wrap moto's DynamoDB data-plane handler methods with the MRSC steps (once per process)."""
    global _hooks_installed
    with _hooks_lock:
        if _hooks_installed:
            return

        def single_write(name: str) -> None:
            original = getattr(DynamoHandler, name)

            @functools.wraps(original)
            def wrapper(self: DynamoHandler) -> Any:
                protocol = _protocol
                if protocol is None:
                    return original(self)
                table = self.body.get("TableName", "")
                if protocol._strong(table, self.region) is None:
                    return original(self)
                with protocol.write(table, self.region, _write_keys(self, name)):
                    return original(self)

            setattr(DynamoHandler, name, wrapper)

        def single_read(name: str) -> None:
            original = getattr(DynamoHandler, name)

            @functools.wraps(original)
            def wrapper(self: DynamoHandler) -> Any:
                protocol = _protocol
                if protocol is not None and self.body.get("ConsistentRead"):
                    protocol.strong_read(self.body.get("TableName", ""), self.region)
                return original(self)

            setattr(DynamoHandler, name, wrapper)

        def batch_write(name: str) -> None:
            original = getattr(DynamoHandler, name)

            @functools.wraps(original)
            def wrapper(self: DynamoHandler) -> Any:
                protocol = _protocol
                if protocol is None:
                    return original(self)
                with contextlib.ExitStack() as stack:
                    for table, requests in (self.body.get("RequestItems") or {}).items():
                        if protocol._strong(table, self.region) is None:
                            continue
                        keys = [_key(self, table, (r.get("PutRequest") or {}).get("Item")
                                     or (r.get("DeleteRequest") or {}).get("Key") or {}) for r in requests]
                        stack.enter_context(protocol.write(table, self.region, keys))
                    return original(self)

            setattr(DynamoHandler, name, wrapper)

        def batch_read(name: str) -> None:
            original = getattr(DynamoHandler, name)

            @functools.wraps(original)
            def wrapper(self: DynamoHandler) -> Any:
                protocol = _protocol
                if protocol is not None:
                    for table, request in (self.body.get("RequestItems") or {}).items():
                        if request.get("ConsistentRead"):
                            protocol.strong_read(table, self.region)
                return original(self)

            setattr(DynamoHandler, name, wrapper)

        def unsupported(name: str, operation: str, tables: Callable[[dict[str, Any]], list[str]]) -> None:
            original = getattr(DynamoHandler, name)

            @functools.wraps(original)
            def wrapper(self: DynamoHandler) -> Any:
                protocol = _protocol
                if protocol is not None:
                    for table in tables(self.body):
                        protocol.refuse_unsupported(table, self.region, operation)
                return original(self)

            setattr(DynamoHandler, name, wrapper)

        def transact_tables(body: dict[str, Any]) -> list[str]:
            return [part["TableName"] for entry in body.get("TransactItems") or []
                    for part in entry.values() if isinstance(part, dict) and "TableName" in part]

        for name in ("put_item", "update_item", "delete_item"):
            single_write(name)
        for name in ("get_item", "query", "scan"):
            single_read(name)
        batch_write("batch_write_item")
        batch_read("batch_get_item")
        unsupported("transact_write_items", "TransactWriteItems", transact_tables)
        unsupported("transact_get_items", "TransactGetItems", transact_tables)
        unsupported("update_time_to_live", "UpdateTimeToLive", lambda body: [body.get("TableName", "")])
        _hooks_installed = True
