"""Benchmark: requests per second through the whole API path, next to raw moto in the same run.

The API path is what a client of the runbook's backend goes through: a DNS
lookup (cached for its TTL), HTTPS to the region's gateway, a payload-1.0
proxy event, a warm Lambda worker, and boto3 from the handler to DynamoDB in
moto. Raw moto is boto3 ``put_item``/``get_item`` straight to the control
plane, the ceiling of the whole local stack (docs/design.md, "Performance"):
every API request ends in such a call from the handler. The goal is the API
path at half of raw moto or better.

Both sides do the same DynamoDB work: raw moto writes the item the POST
function stores (``item_id``, ``note``, ``origin_region``, ``written_at``),
and both GETs read one item written through the API.

``run(status)`` takes a running local cloud's status and returns a flat dict:
``api_post_rps``, ``api_get_rps``, ``moto_put_rps``, ``moto_get_rps`` (the best
over the concurrencies), the same per concurrency (``..._c1``, ``..._c8``),
latency percentiles and the ratios. ``python -m bench.api`` starts a local
cloud of its own, prints the result as JSON and stops it.
"""

from __future__ import annotations

import itertools
import statistics
import sys
import time
from typing import Any

from bench import common

CONCURRENCY = (1, 8)
SECONDS_PER_CASE = 4.0
ROUNDS = 8  # each case's seconds are taken in this many slices, alternating with the other cases


def run(status: dict[str, Any], seconds_per_case: float = SECONDS_PER_CASE) -> dict[str, Any]:
    """Deploy a small stack on the running local cloud ``status`` and measure it (about 45 s in all)."""
    from helpers.teardown import teardown
    from helpers import apigateway, dynamodb, lambdas
    from helpers.clients import CachingResolver, HttpClient

    cfg, clients = common.bench_config(status)
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
    seed = f"seed-{cfg.stack_name}"
    seeded = https[0].request("POST", f"{url}/item", json_body={"item_id": seed, "note": "x"})
    if seeded.status != 201:
        raise RuntimeError(f"POST /item answered {seeded.status}: {seeded.body[:200]!r}")
    stored = seeded.json()
    # What the POST function writes for {"item_id", "note"}: the same item shape for raw moto.
    extra = {"origin_region": {"S": stored["origin_region"]}, "written_at": {"S": stored["written_at"]}}

    new_ids = itertools.count()  # every write a new item, on both sides, across all slices and rounds

    def api_post(worker: int, n: int) -> None:
        response = https[worker].request("POST", f"{url}/item", json_body={"item_id": f"p-{next(new_ids)}", "note": "x"})
        if response.status != 201:
            raise RuntimeError(response.status)

    def api_get(worker: int, n: int) -> None:
        response = https[worker].request("GET", f"{url}/item/{seed}")
        if response.status != 200:
            raise RuntimeError(response.status)

    def moto_put(worker: int, n: int) -> None:
        ddb.put_item(TableName=cfg.table_name, Item={"item_id": {"S": f"m-{next(new_ids)}"}, "note": {"S": "x"}, **extra})

    def moto_get(worker: int, n: int) -> None:
        ddb.get_item(TableName=cfg.table_name, Key={"item_id": {"S": seed}})

    for call in (api_post, api_get, moto_put, moto_get):  # warm every environment, pool and connection
        common.measure_rps(call, max(CONCURRENCY), 0.3)

    result: dict[str, Any] = {"region": region, "seconds_per_case": seconds_per_case, "setup_s": round(setup_s, 1)}
    cases = {"api_post": api_post, "api_get": api_get, "moto_put": moto_put, "moto_get": moto_get}
    for clients_count in CONCURRENCY:
        # Interleaved slices: a busy moment of the machine weighs on the API and on raw moto alike.
        measured = common.measure_interleaved(cases, clients_count, seconds_per_case, rounds=ROUNDS,
                                              server_pid=status.get("pid"))
        for name, stats in measured.items():
            result[f"{name}_rps_c{clients_count}"] = stats["rps"]
            result[f"{name}_detail_c{clients_count}"] = stats
    for name in cases:
        result[f"{name}_rps"] = max(result[f"{name}_rps_c{c}"] for c in CONCURRENCY)
    for api, moto in (("api_post", "moto_put"), ("api_get", "moto_get")):
        for c in CONCURRENCY:
            result[f"{api}_vs_{moto}_c{c}"] = round(result[f"{api}_rps_c{c}"] / max(result[f"{moto}_rps_c{c}"], 1e-9), 2)
        result[f"{api}_vs_{moto}"] = round(result[f"{api}_rps"] / max(result[f"{moto}_rps"], 1e-9), 2)
        for c in CONCURRENCY:  # the spread within the run: each round's API slice over its raw moto slice
            pairs = zip(result[f"{api}_detail_c{c}"]["rps_per_slice"], result[f"{moto}_detail_c{c}"]["rps_per_slice"])
            per_round = sorted(a / m for a, m in pairs if m)
            result[f"{api}_vs_{moto}_c{c}_per_round"] = {
                "min": round(per_round[0], 2), "median": round(statistics.median(per_round), 2),
                "max": round(per_round[-1], 2)} if per_round else None

    for http in https:
        http.close()
    steps = teardown(cfg, clients)  # leave the local cloud as we found it (the runbook's own teardown)
    if not steps["ok"].all():  # a benchmark result is still worth reporting
        result["cleanup_error"] = "; ".join(steps.loc[~steps["ok"], "detail"])
    return result


def main() -> int:
    """Start a local cloud of our own, run the benchmark, print JSON, stop it."""
    return common.main(run, prefix="bench-api-")


if __name__ == "__main__":
    sys.exit(main())
