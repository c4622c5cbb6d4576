"""Benchmark: requests per second through the whole API path, next to raw moto in the same run.

The API path is what a client of the runbook's backend goes through: a DNS
lookup (cached for its TTL), HTTPS to the region's gateway, a payload-1.0
proxy event, a warm Lambda worker, and boto3 from the handler to DynamoDB in
moto. Raw moto is boto3 ``put_item``/``get_item`` straight to the control
plane, the ceiling of the whole local stack (DESIGN.md: about 450 requests/s
on 2 cores). The goal is the API path at half of raw moto or better.

``run(status)`` takes a running local cloud's status and returns a flat dict:
``api_post_rps``, ``api_get_rps``, ``moto_put_rps``, ``moto_get_rps`` (the best
over the concurrencies), the same per concurrency (``..._c1``, ``..._c8``),
latency percentiles and the ratios. ``python -m bench.api`` starts a local
cloud of its own, prints the result as JSON and stops it.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from typing import Any, Callable

CONCURRENCY = (1, 8)
SECONDS_PER_CASE = 2.0


def _measure(call: Callable[[int, int], None], clients: int, seconds: float) -> dict[str, float]:
    """Run ``call(worker, n)`` in ``clients`` threads for ``seconds``; requests/s and latency percentiles."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop = threading.Event()
    start = threading.Barrier(clients + 1)

    def worker(index: int) -> None:
        start.wait()
        n = 0
        while not stop.is_set():
            began = time.perf_counter()
            try:
                call(index, n)
            except Exception:
                errors[index] += 1
            latencies[index].append(time.perf_counter() - began)
            n += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    flat = sorted(x for per in latencies for x in per)
    count = len(flat)
    return {
        "rps": round(count / elapsed, 1),
        "p50_ms": round(flat[count // 2] * 1000, 2) if flat else None,
        "p99_ms": round(flat[min(count - 1, int(count * 0.99))] * 1000, 2) if flat else None,
        "mean_ms": round(statistics.fmean(flat) * 1000, 2) if flat else None,
        "requests": count,
        "errors": sum(errors),
    }


def run(status: dict[str, Any], seconds_per_case: float = SECONDS_PER_CASE) -> dict[str, Any]:
    """Deploy a small stack on the running local cloud ``status`` and measure it (about 30 s in all)."""
    from helpers import apigateway, dynamodb, lambdas
    from helpers.clients import CachingResolver, Clients, HttpClient
    from helpers.config import validate, with_backend_settings

    suffix = uuid.uuid4().hex[:6]
    cfg = with_backend_settings(validate({
        "stack_name": f"bench{suffix}", "table_name": f"bench-{suffix}", "time_scale": status["time_scale"],
        "localcloud_state_dir": status["state_dir"],
    }), status)
    clients = Clients(cfg)
    region = cfg.primary_region
    setup_began = time.perf_counter()
    dynamodb.create_global_table(cfg, clients)
    lambdas.deploy_functions(cfg, clients)
    apigateway.deploy_regional_apis(cfg, clients)
    resolver = CachingResolver(cfg)
    apigateway.wait_for_endpoints(cfg, clients, http=HttpClient(cfg, resolver))
    url = apigateway.regional_endpoints(cfg, clients)[region]
    setup_s = time.perf_counter() - setup_began

    https = [HttpClient(cfg, resolver) for _ in range(max(CONCURRENCY))]
    ddb = clients.client("dynamodb", region)
    seed = f"seed-{suffix}"
    dynamodb.put_item(cfg, clients, {"item_id": seed, "note": "benchmark"}, region=region)

    def api_post(worker: int, n: int) -> None:
        response = https[worker].request("POST", f"{url}/item", json_body={"item_id": f"p-{worker}-{n}", "note": "x"})
        if response.status != 201:
            raise RuntimeError(response.status)

    def api_get(worker: int, n: int) -> None:
        response = https[worker].request("GET", f"{url}/item/{seed}")
        if response.status != 200:
            raise RuntimeError(response.status)

    def moto_put(worker: int, n: int) -> None:
        ddb.put_item(TableName=cfg.table_name, Item={"item_id": {"S": f"m-{worker}-{n}"}, "note": {"S": "x"}})

    def moto_get(worker: int, n: int) -> None:
        ddb.get_item(TableName=cfg.table_name, Key={"item_id": {"S": seed}})

    for call in (api_post, api_get, moto_put, moto_get):  # warm every environment, pool and connection
        _measure(call, max(CONCURRENCY), 0.3)

    result: dict[str, Any] = {"region": region, "seconds_per_case": seconds_per_case, "setup_s": round(setup_s, 1)}
    cases = {"api_post": api_post, "api_get": api_get, "moto_put": moto_put, "moto_get": moto_get}
    for name, call in cases.items():
        best = 0.0
        for clients_count in CONCURRENCY:
            stats = _measure(call, clients_count, seconds_per_case)
            result[f"{name}_rps_c{clients_count}"] = stats["rps"]
            result[f"{name}_detail_c{clients_count}"] = stats
            best = max(best, stats["rps"])
        result[f"{name}_rps"] = best
    for api, moto in (("api_post", "moto_put"), ("api_get", "moto_get")):
        for c in CONCURRENCY:
            result[f"{api}_vs_{moto}_c{c}"] = round(result[f"{api}_rps_c{c}"] / max(result[f"{moto}_rps_c{c}"], 1e-9), 2)
        result[f"{api}_vs_{moto}"] = round(result[f"{api}_rps"] / max(result[f"{moto}_rps"], 1e-9), 2)

    for http in https:
        http.close()
    try:  # leave the local cloud as we found it
        apigateway.delete_regional_apis(cfg, clients)
        lambdas.delete_functions(cfg, clients)
        lambdas.delete_role(cfg, clients)
        dynamodb.delete_global_table(cfg, clients)
    except Exception as error:  # a benchmark result is still worth reporting
        result["cleanup_error"] = f"{type(error).__name__}: {error}"
    return result


def main() -> int:
    """Start a local cloud of our own, run the benchmark, print JSON, stop it."""
    from localcloud import daemon

    state_dir = tempfile.mkdtemp(prefix="bench-api-")
    status = daemon.start(state_dir, time_scale=0.1)
    try:
        print(json.dumps(run(status), indent=2))
    finally:
        daemon.stop(state_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
