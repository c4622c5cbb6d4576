"""Benchmark: global-table replication lag and the write cost of replication, next to raw moto in the same run.

* **Lag:** one writer puts items into the first region of a two-region global
  table at a steady rate (``WRITE_RATE`` a second); a reader polls the second
  region with one ``BatchGetItem`` (consistent reads) of every item not seen
  there yet, every ``POLL_EVERY_S`` (or back to back when a poll takes longer). An item's lag runs from the moment its ``PutItem``
  returned (the write is durable in its own region) to the first poll that
  returned it in the other one, so it includes the configured replication
  delay (``replication_delay_s`` times the time scale, reported as
  ``replication_delay_ms``) and at most one poll period (the measurement's
  resolution: ``POLL_EVERY_S`` or ``lag_poll_ms``, the median round trip of a
  poll, whichever is longer). Only the unseen items are read, so a poll's cost
  does not grow with the table.
  ``replication_lag_max_server_ms`` is the largest ``ReplicationLatency`` the
  local cloud published to CloudWatch for the same writes, a cross-check
  measured on the server's own clock.
* **Throughput:** four client threads ``put_item`` for a fixed time into the
  global table (``replicated_put_rps``: every write is captured and applied in
  the other region too) and into a plain table without replicas or stream
  (``moto_put_rps``: raw moto, the ceiling of the local stack).

``run(status)`` takes a running local cloud's status and returns a flat dict.
``python -m bench.replication`` starts a local cloud of its own (time scale
0.1), prints the result as JSON and stops it. Takes about 15 s.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import threading
import time
import uuid
from typing import Any

from bench import common

WRITE_RATE = 50.0  # writes per second for the lag measurement
LAG_SECONDS = 4.0
THROUGHPUT_SECONDS = 3.0
THROUGHPUT_CLIENTS = 4
BATCH_GET_LIMIT = 100  # BatchGetItem reads at most 100 keys a call
POLL_EVERY_S = 0.005  # the reader's cadence: fine enough, and it leaves the server time to replicate


def _put_rps(client: Any, table: str, seconds: float, threads: int) -> float:
    """Writes per second by ``threads`` clients putting distinct items for ``seconds``."""
    def put(worker: int, n: int) -> None:
        client.put_item(TableName=table, Item={"item_id": {"S": f"w{worker}-{n}"}, "pad": {"S": "x" * 100}})

    return common.measure_rps(put, threads, seconds)["rps"]


def _lag(source: Any, target: Any, table: str) -> tuple[list[float], list[float]]:
    """Steady writes in ``source``; per item, ms until ``target`` returns it. Also each poll's round trip (ms)."""
    written: dict[str, float] = {}  # item id -> when its PutItem returned
    seen: dict[str, float] = {}
    polls: list[float] = []
    lock = threading.Lock()
    writing = threading.Event()
    writing.set()

    def reader() -> None:
        give_up = None
        while True:
            with lock:
                pending = [i for i in written if i not in seen][:BATCH_GET_LIMIT]
            if not pending:
                if not writing.is_set():
                    return
                time.sleep(0.001)
                continue
            began = time.perf_counter()
            page = target.batch_get_item(RequestItems={table: {
                "Keys": [{"item_id": {"S": i}} for i in pending], "ConsistentRead": True,
                "ProjectionExpression": "item_id"}})
            now = time.perf_counter()
            polls.append((now - began) * 1000.0)
            with lock:
                for item in page["Responses"].get(table, []):
                    seen.setdefault(item["item_id"]["S"], now)
            time.sleep(max(0.0, began + POLL_EVERY_S - time.perf_counter()))
            if not writing.is_set():
                give_up = give_up or now + 10.0
                if now > give_up:
                    return  # something never arrived: report what did

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    interval = 1.0 / WRITE_RATE
    next_at = time.perf_counter()
    end = next_at + LAG_SECONDS
    n = 0
    prefix = f"lag-{uuid.uuid4().hex[:6]}-"  # distinct per call: a repeated id would be "seen" at once
    while next_at < end:
        time.sleep(max(0.0, next_at - time.perf_counter()))
        item_id = f"{prefix}{n}"
        source.put_item(TableName=table, Item={"item_id": {"S": item_id}})
        with lock:
            written[item_id] = time.perf_counter()
        n += 1
        next_at += interval
    writing.clear()
    thread.join()
    return [(seen[i] - t) * 1000.0 for i, t in written.items() if i in seen], polls


def _server_max_lag_ms(cloudwatch: Any, table: str, receiving_region: str, since: dt.datetime) -> float | None:
    """The largest ReplicationLatency the local cloud published for ``table`` since ``since`` (CloudWatch)."""
    stats = cloudwatch.get_metric_statistics(
        Namespace="AWS/DynamoDB", MetricName="ReplicationLatency",
        Dimensions=[{"Name": "TableName", "Value": table}, {"Name": "ReceivingRegion", "Value": receiving_region}],
        StartTime=since, EndTime=dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1),
        Period=60, Statistics=["Maximum"])
    values = [p["Maximum"] for p in stats["Datapoints"]]
    return max(values) if values else None


def run(status: dict[str, Any]) -> dict[str, Any]:
    """Measure replication lag and replicated vs raw write throughput on the running local cloud ``status``."""
    from helpers import dynamodb

    cfg, clients = common.bench_config(status)
    source_region, target_region = cfg.regions[:2]
    source, target = clients.client("dynamodb", source_region), clients.client("dynamodb", target_region)
    raw_table = f"{cfg.table_name}-raw"
    result: dict[str, Any] = {"replication_delay_ms": status["replication_delay_s"] * status["time_scale"] * 1000.0}
    try:
        dynamodb.create_global_table(cfg, clients)
        source.create_table(
            TableName=raw_table, KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        )
        since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
        lags, polls = _lag(source, target, cfg.table_name)
        result.update({
            "replication_lag_p50_ms": common.rounded(common.percentile(lags, 0.50)),
            "replication_lag_p99_ms": common.rounded(common.percentile(lags, 0.99)),
            "replication_lag_max_ms": common.rounded(max(lags, default=None)),
            "replication_lag_mean_ms": round(statistics.fmean(lags), 1) if lags else None,
            "lag_samples": len(lags),
            "lag_write_rate": WRITE_RATE,
            "lag_poll_ms": common.rounded(common.percentile(polls, 0.50), 2),
        })
        time.sleep(1.2)  # the local cloud publishes ReplicationLatency once a second
        result["replication_lag_max_server_ms"] = common.rounded(_server_max_lag_ms(
            clients.client("cloudwatch", source_region), cfg.table_name, target_region, since))
        result["moto_put_rps"] = round(_put_rps(source, raw_table, THROUGHPUT_SECONDS, THROUGHPUT_CLIENTS), 1)
        result["replicated_put_rps"] = round(_put_rps(source, cfg.table_name, THROUGHPUT_SECONDS, THROUGHPUT_CLIENTS), 1)
        result["replicated_to_moto_ratio"] = round(result["replicated_put_rps"] / result["moto_put_rps"], 2)
    finally:
        try:
            source.delete_table(TableName=raw_table)
        except Exception:
            pass
        try:
            dynamodb.delete_global_table(cfg, clients)
        except Exception as error:  # a benchmark result is still worth reporting
            result["cleanup_error"] = f"{type(error).__name__}: {error}"
    return result


def main() -> int:
    """Start a local cloud of our own, run the benchmark, print JSON, stop it."""
    return common.main(run, prefix="bench-replication-")


if __name__ == "__main__":
    sys.exit(main())
