"""The chaos step's pre-flight: no fault left from an earlier run, and every region healthy and reachable.

An experiment that starts with a region already broken measures nothing: its
fault changes nothing, and the recovery time comes out as zero. So before
the first request the pre-flight

1. undoes a fault an earlier run left injected (its process was killed while
   holding it: ``helpers.faults.undo_leftover_fault``), and
2. waits until, in every region, Route 53's health check is healthy
   (``GetHealthCheckStatus``: more than 18% of the checkers report success)
   and the regional API answers ``GET /health`` with 200,

and refuses to start, naming each region that is not ready and why, when
that has not happened within one failure threshold of health-check intervals
(the time Route 53 takes to call a repaired endpoint healthy again).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from awsfacts.route53 import aggregate
from helpers.apigateway import regional_endpoints
from helpers.clients import Clients, HttpClient
from helpers.config import Config
from helpers.faults import undo_leftover_fault
from helpers.healthchecks import health_check_ids, health_status
from helpers.waiting import wait_until

# Real seconds added to the wait: a probe in flight, a checker's stagger, a slow machine.
READY_MARGIN_S = 5.0


class RegionNotReady(RuntimeError):
    """A region is unhealthy or unreachable, so the chaos experiment does not start."""


def region_problems(cfg: Config, clients: Clients, http: HttpClient | None = None) -> dict[str, str]:
    """Each region that is not ready, with why (empty when every region is healthy and reachable)."""
    http = http or HttpClient(cfg, timeout=5.0)
    ids = health_check_ids(cfg, clients)
    endpoints = regional_endpoints(cfg, clients)
    status = health_status(cfg, clients)
    problems: dict[str, str] = {}
    for region in cfg.regions:
        why = []
        if region not in ids:
            why.append("it has no Route 53 health check (run 04_health_checks)")
        else:
            seen = status[status["region"] == region]
            if seen.empty:
                why.append(f"no Route 53 checker has reported on health check {ids[region]} yet")
            elif not aggregate(seen["ok"]):
                failing = seen.loc[~seen["ok"], "status"].iloc[0]
                why.append(f"health check {ids[region]} is unhealthy ({int(seen['ok'].sum())} of {len(seen)} "
                           f"checkers report success; one says {failing!r})")
        if region not in endpoints:
            why.append("it has no regional API (run 02_backend)")
        else:
            why += _api_problem(http, endpoints[region])
        if why:
            problems[region] = "; ".join(why)
    return problems


def _api_problem(http: HttpClient, endpoint: str) -> list[str]:
    try:
        response = http.request("GET", f"{endpoint}/health")
    except Exception as error:  # refused, timed out, DNS, TLS: the reason is the answer
        return [f"its regional API {endpoint}/health does not answer ({type(error).__name__}: {error})"]
    if response.status != 200:
        return [f"its regional API {endpoint}/health answers HTTP {response.status} {response.body[:120]!r}"]
    return []


def ready_timeout_s(cfg: Config) -> float:
    """How long a repaired region may take to be healthy again: FailureThreshold x RequestInterval, plus one interval."""
    return cfg.scaled((cfg.health_check_failure_threshold + 1) * cfg.health_check_interval) + READY_MARGIN_S


def check_regions_ready(cfg: Config, clients: Clients, timeout: float | None = None) -> pd.DataFrame:
    """Undo a leftover fault, then wait until every region is healthy and reachable, or raise ``RegionNotReady``.

    Returns one row per region (all ready), with the leftover fault undone, if any.
    """
    leftover = undo_leftover_fault(cfg, clients)
    undone = f"undid {leftover.fault} in {leftover.region}, left by an interrupted run" if leftover else ""
    timeout = ready_timeout_s(cfg) if timeout is None else timeout
    http = HttpClient(cfg, timeout=5.0)
    last: dict[str, Any] = {}

    def check() -> tuple[bool, dict[str, str]]:
        last.update(problems=region_problems(cfg, clients, http))
        return not last["problems"], last["problems"]

    try:
        wait_until("every region healthy and reachable", check, timeout, interval=0.2, max_interval=1.0)
    except TimeoutError:
        lines = "\n".join(f"- {region}: {why}" for region, why in last["problems"].items())
        raise RegionNotReady(
            f"the chaos experiment did not start (nothing was injected): after {timeout:.0f} s "
            f"{len(last['problems'])} region(s) are still not healthy and reachable:\n{lines}\n"
            "An experiment needs every region healthy to measure a failover; repair the region (a fault "
            "left by hand? `localcloud status`? the regional API?) and run 06_chaos again.") from None
    finally:
        http.close()
    return pd.DataFrame([{"region": r, "ready": True, "leftover_fault_undone": undone} for r in cfg.regions]
                        ).set_index("region")
