"""Benchmark: does the local cloud's memory stay flat? Its RSS under steady API load, then at idle with health checks.

A stack as the runbook builds it (table, functions, a regional API per region,
a Route 53 health check per region on ``/health``) on a local cloud of its
own, at the runbook's time scale. After ``WARMUP_S`` of load (Lambda
environments started, pools and caches filled, every log group at its cap:
the health function's fills in about a minute), two phases of ``PHASE_S`` each:

* **load**: ``CLIENTS`` clients send ``GET /item/{id}`` back to back through
  the whole API path (the health checks go on meanwhile);
* **idle**: no client, only the health checkers probing every region's
  ``/health`` (each probe a Lambda invocation and its log events).

The server's resident set size (VmRSS) is sampled every ``SAMPLE_S``; the
growth of a phase is the least-squares slope of its samples, in MiB per hour.
Memory is **bounded** when both slopes are within ``TOLERANCE_MB_PER_H``: what a
phase keeps is dropped as fast as it comes (``localcloud.retention``). Before
those bounds, the idle cloud grew about 1.3 MB a minute (78 MB an hour) from
health-probe log events alone. GETs write nothing, so the load keeps no data
of its own that a user would expect to keep (POSTs would store items).

``run(status)`` measures on a running local cloud; ``run_own()`` (what
``python -m bench`` calls) and ``python -m bench.soak`` start one of their own.
"""

from __future__ import annotations

import statistics
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from bench import common

WARMUP_S = 90.0
PHASE_S = 60.0
SAMPLE_S = 1.0
CLIENTS = 4
TOLERANCE_MB_PER_H = 40.0
"""What "flat" allows: a slope within this many MiB an hour (two thirds of a MiB over a 60 s phase). Under
load the allocator still settles for a few minutes after the caps are reached, more slowly each minute
(three successive 45 s load phases after a 60 s warm-up: 34, 27, 16 MiB/h, about 35 bytes a GET); the
cloud without bounds grew 90 MiB/h idle and 1,700 MiB/h under this load."""
VERDICT_BOUNDED = "bounded: flat after warm-up"
VERDICT_GROWING = "growing"


def rss_mb(pid: int) -> float | None:
    """The resident set size (VmRSS) of one process in MiB; None if it is gone."""
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


def growth_mb_per_h(samples: list[tuple[float, float]]) -> float:
    """The least-squares slope of ``(seconds, MiB)`` samples, in MiB per hour."""
    if len(samples) < 2:
        raise ValueError("a growth needs at least two samples")
    slope, _ = statistics.linear_regression([t for t, _ in samples], [mb for _, mb in samples])
    return slope * 3600


def verdict(load_growth: float, idle_growth: float, tolerance: float = TOLERANCE_MB_PER_H) -> str:
    """``VERDICT_BOUNDED`` when both phases' growth is within ``tolerance`` MiB/h, else ``VERDICT_GROWING``."""
    return VERDICT_BOUNDED if max(load_growth, idle_growth) <= tolerance else VERDICT_GROWING


class _Sampler(common.Periodic):
    """Samples one process's RSS every ``SAMPLE_S`` in the background: ``(seconds since start, MiB)``."""

    name = "rss-sampler"

    def __init__(self, pid: int):
        super().__init__(SAMPLE_S)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self._began = time.monotonic()

    def sample(self) -> None:
        mb = rss_mb(self.pid)
        if mb is not None:
            self.samples.append((time.monotonic() - self._began, mb))


def _phase(pid: int, seconds: float, load: Any = None) -> dict[str, Any]:
    """Sample the server's RSS for ``seconds``, with ``load()`` running meanwhile if given: growth and range."""
    with _Sampler(pid) as sampler:
        result = load() if load is not None else time.sleep(seconds)
    samples = sampler.samples
    figures = {"rss_start_mb": round(samples[0][1], 1), "rss_end_mb": round(samples[-1][1], 1),
               "rss_max_mb": round(max(mb for _, mb in samples), 1), "samples": len(samples),
               "growth_mb_per_h": round(growth_mb_per_h(samples), 1)}
    if isinstance(result, dict):
        figures.update({"rps": result["rps"], "requests": result["requests"], "errors": result["errors"]})
    return figures


def run(status: dict[str, Any], warmup_s: float = WARMUP_S, phase_s: float = PHASE_S) -> dict[str, Any]:
    """Deploy the stack with health checks on the running local cloud ``status``, warm up, then load and idle."""
    from helpers import apigateway, dynamodb, healthchecks, lambdas
    from helpers.clients import CachingResolver, HttpClient
    from helpers.teardown import teardown

    cfg, clients = common.bench_config(status)
    pid = int(status["pid"])
    dynamodb.create_global_table(cfg, clients)
    lambdas.deploy_functions(cfg, clients)
    apigateway.deploy_regional_apis(cfg, clients)
    resolver = CachingResolver(cfg)
    apigateway.wait_for_endpoints(cfg, clients, http=HttpClient(cfg, resolver))
    healthchecks.create_health_checks(cfg, clients)
    url = apigateway.regional_endpoints(cfg, clients)[cfg.primary_region]
    https = [HttpClient(cfg, resolver) for _ in range(CLIENTS)]
    seed = f"soak-{cfg.stack_name}"
    if https[0].request("POST", f"{url}/item", json_body={"item_id": seed, "note": "x"}).status != 201:
        raise RuntimeError("POST /item failed: the stack is not serving")

    def get(worker: int, n: int) -> None:
        response = https[worker].request("GET", f"{url}/item/{seed}")
        if response.status != 200:
            raise RuntimeError(response.status)

    result: dict[str, Any] = {"time_scale": cfg.time_scale, "clients": CLIENTS, "warmup_s": warmup_s,
                              "phase_s": phase_s, "sample_s": SAMPLE_S, "tolerance_mb_per_h": TOLERANCE_MB_PER_H,
                              "regions": list(cfg.regions)}
    try:
        common.measure_rps(get, CLIENTS, warmup_s)
        result["load"] = _phase(pid, phase_s, lambda: common.measure_rps(get, CLIENTS, phase_s))
        result["idle"] = _phase(pid, phase_s)
    finally:
        for http in https:
            http.close()
        steps = teardown(cfg, clients)
        if not steps["ok"].all():
            result["cleanup_error"] = "; ".join(steps.loc[~steps["ok"], "detail"])
    result["soak_load_growth_mb_per_h"] = result["load"]["growth_mb_per_h"]
    result["soak_idle_growth_mb_per_h"] = result["idle"]["growth_mb_per_h"]
    result["soak_verdict"] = verdict(result["soak_load_growth_mb_per_h"], result["soak_idle_growth_mb_per_h"])
    return result


def run_own() -> dict[str, Any]:
    """``run`` on a local cloud of its own (memory growth is measured from a clean start)."""
    with common.local_cloud(prefix="bench-soak-") as status:
        return run(status)


def main() -> int:
    """Start a local cloud of our own, run the soak, print JSON, stop it."""
    return common.main(run, prefix="bench-soak-")


if __name__ == "__main__":
    sys.exit(main())
