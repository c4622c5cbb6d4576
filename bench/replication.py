"""Benchmark: global-table replication lag and the write cost of replication, next to raw moto in the same run.

* **Lag:** one writer puts items into the first region of a two-region global
  table at a steady rate while a reader scans the second region; the lag of an
  item is from the start of its put to the first scan that returns it. It
  includes the configured replication delay (``replication_delay_s`` times the
  time scale, reported as ``replication_delay_ms``) and the scan interval.
* **Throughput:** four client threads ``put_item`` for a fixed time into the
  global table (``replicated_put_rps``: every write is captured and applied in
  the other region too) and into a plain table without replicas or stream
  (``moto_put_rps``: raw moto, the ceiling of the local stack).

``run(status)`` takes a running local cloud's status and returns a flat dict.
``python -m bench.replication`` starts a local cloud of its own (time scale
0.1), prints the result as JSON and stops it. Takes about 15 s.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from typing import Any

WRITE_RATE = 50.0  # writes per second for the lag measurement
LAG_SECONDS = 4.0
THROUGHPUT_SECONDS = 3.0
THROUGHPUT_CLIENTS = 4


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _put_rps(client: Any, table: str, seconds: float, threads: int) -> float:
    """Writes per second by ``threads`` clients putting distinct items for ``seconds``."""
    counts = [0] * threads
    stop = threading.Event()

    def worker(index: int) -> None:
        while not stop.is_set():
            client.put_item(TableName=table, Item={"item_id": {"S": f"w{index}-{counts[index]}"}, "pad": {"S": "x" * 100}})
            counts[index] += 1

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    began = time.perf_counter()
    for thread in pool:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in pool:
        thread.join()
    return sum(counts) / (time.perf_counter() - began)


def _lag_ms(source: Any, target: Any, table: str) -> list[float]:
    """Steady writes in ``source``; per item, ms until a scan of ``target`` returns it."""
    started: dict[str, float] = {}
    seen: dict[str, float] = {}
    done = threading.Event()

    def reader() -> None:
        while not (done.is_set() and len(seen) >= len(started)):
            page = target.scan(TableName=table, ConsistentRead=True, ProjectionExpression="item_id")
            now = time.perf_counter()
            for item in page["Items"]:
                seen.setdefault(item["item_id"]["S"], now)
            if done.is_set() and time.perf_counter() - finished[0] > 10:
                return  # something never arrived: report what did

    finished = [float("inf")]
    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    interval = 1.0 / WRITE_RATE
    next_at = time.perf_counter()
    end = next_at + LAG_SECONDS
    n = 0
    while next_at < end:
        time.sleep(max(0.0, next_at - time.perf_counter()))
        item_id = f"lag-{n}"
        started[item_id] = time.perf_counter()
        source.put_item(TableName=table, Item={"item_id": {"S": item_id}})
        n += 1
        next_at += interval
    finished[0] = time.perf_counter()
    done.set()
    thread.join()
    return [(seen[i] - started[i]) * 1000.0 for i in started if i in seen]


def run(status: dict[str, Any]) -> dict[str, Any]:
    """Measure replication lag and replicated vs raw write throughput on the running local cloud ``status``."""
    from helpers import dynamodb
    from helpers.clients import Clients
    from helpers.config import validate, with_backend_settings

    suffix = uuid.uuid4().hex[:8]
    cfg = with_backend_settings(validate({
        "time_scale": status["time_scale"], "localcloud_state_dir": status["state_dir"],
        "stack_name": f"bench{suffix}", "table_name": f"bench-repl-{suffix}",
    }), status)
    clients = Clients(cfg)
    source, target = (clients.client("dynamodb", r) for r in cfg.regions[:2])
    raw_table = f"bench-raw-{suffix}"
    result: dict[str, Any] = {"replication_delay_ms": status["replication_delay_s"] * status["time_scale"] * 1000.0}
    try:
        dynamodb.create_global_table(cfg, clients)
        source.create_table(
            TableName=raw_table, KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        )
        lags = _lag_ms(source, target, cfg.table_name)
        result.update({
            "replication_lag_p50_ms": round(_percentile(lags, 0.50), 1),
            "replication_lag_p99_ms": round(_percentile(lags, 0.99), 1),
            "replication_lag_mean_ms": round(statistics.fmean(lags), 1) if lags else float("nan"),
            "lag_samples": len(lags),
            "lag_write_rate": WRITE_RATE,
        })
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
    from localcloud import daemon

    state_dir = tempfile.mkdtemp(prefix="bench-replication-")
    status = daemon.start(state_dir, time_scale=0.1)
    try:
        print(json.dumps(run(status), indent=2))
    finally:
        daemon.stop(state_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
