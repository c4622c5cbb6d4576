"""Step 6: break one region under load, measure what clients saw, prove nothing was lost.

The experiment's timeline is steady state, fault, hold, restore, recovery
(durations in AWS seconds, multiplied by ``time_scale``). Virtual clients post
items through the API's custom domain, each with its own caching resolver
that honours DNS TTLs; every request is recorded. A sampler records each
region's Route 53 health status and the DNS answers throughout. RTO, errors,
lost writes and replication lag are computed from those records only.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from helpers.progress import tqdm

from helpers import faults, preflight
from helpers.clients import CachingResolver, Clients, HttpClient, authoritative_server, resolve
from helpers.config import Config
from helpers.domains import custom_domain_targets
from helpers.fault_kinds import fault_kind
from helpers.healthchecks import HealthReplay, health_check_ids, healthy_by_region
from helpers.route53 import custom_domain_url, hosted_zone_id
from helpers.waiting import wait_until

LAG_PROBE_PREFIX = "lag-probe-"
# A client gives up on a request after this many real seconds (handlers run at real speed, so this
# is not scaled); a refused connection or a 429 fails at once anyway.
CLIENT_TIMEOUT_S = 5.0


@dataclass
class ChaosRun:
    """Everything one experiment recorded."""

    cfg: Config
    started_at: float
    fault_at: float
    restore_at: float
    ended_at: float
    requests: pd.DataFrame
    samples: pd.DataFrame
    lag: pd.DataFrame
    injected: list[str] = field(default_factory=list)
    regions: RegionMap | None = None
    events: dict[str, float | None] = field(default_factory=dict)
    replicas: dict[str, Any] = field(default_factory=dict)
    items: pd.DataFrame | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------ observation
@dataclass(frozen=True)
class RegionMap:
    """How to tell which region an answer points at: its custom-domain target name and addresses."""

    targets: dict[str, str]  # region -> regionalDomainName (what the routing records point at)
    addresses: dict[str, list[str]]  # region -> the addresses that name resolves to

    def by_address(self, address: str | None) -> str | None:
        return next((r for r, values in self.addresses.items() if address in values), None)

    def by_target(self, name: str) -> str | None:
        name = name.rstrip(".").lower()
        return next((r for r, target in self.targets.items() if target.lower() == name), None)


def region_map(cfg: Config, clients: Clients) -> RegionMap:
    """Each region's custom-domain target (``d-....execute-api.{region}.amazonaws.com``) and its addresses."""
    targets = {region: target for region, (target, _) in custom_domain_targets(cfg, clients).items()}
    addresses = {region: sorted(set(resolve(cfg, target).addresses)) for region, target in targets.items()}
    return RegionMap(targets, addresses)


def zone_server(cfg: Config, clients: Clients) -> tuple[str, int]:
    """The name server that answers for the API's hosted zone (asked directly: no resolver cache)."""
    zone = clients.client("route53").get_hosted_zone(Id=hosted_zone_id(cfg, clients))
    return authoritative_server(cfg, zone.get("DelegationSet", {}).get("NameServers", []))


def dns_regions(cfg: Config, regions: RegionMap, server: tuple[str, int], queries: int = 16) -> set[str]:
    """The regions Route 53 sends new clients to right now.

    Asked of the zone's own name server, so no resolver cache stands in between, several times
    because weighted answers vary from query to query (16 queries miss a region of weight 1/2
    with a probability of 1 in 65,536).
    """
    seen: set[str] = set()
    for _ in range(queries):
        answer = resolve(cfg, cfg.domain_name, server=server)
        seen.update(r for name in answer.cnames if (r := regions.by_target(name)))
        seen.update(r for address in answer.addresses if (r := regions.by_address(address)))
    return seen


# ------------------------------------------------------------------- load
class _Recorder:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def add(self, row: dict[str, Any]) -> None:
        with self.lock:
            self.rows.append(row)


def _client_loop(cfg: Config, index: int, t0: float, end: float, stop: threading.Event,
                 regions: RegionMap, recorder: _Recorder) -> None:
    """One virtual client: its own resolver cache (TTL honoured) and connections; posts at a steady rate."""
    resolver = CachingResolver(cfg)
    http = HttpClient(cfg, resolver, timeout=CLIENT_TIMEOUT_S)
    url = custom_domain_url(cfg) + "/item"
    period = 1.0 / cfg.request_rate
    n = 0
    next_at = t0 + period * index / max(cfg.load_clients, 1)
    while not stop.is_set():
        now = time.time()
        if next_at > now:
            stop.wait(next_at - now)
            if stop.is_set():
                break
        if time.time() >= end:
            break
        n += 1
        next_at += period
        item_id = f"c{index}-{n}-{uuid.uuid4().hex[:6]}"
        row: dict[str, Any] = {"client": index, "item_id": item_id, "sent_at": time.time() - t0}
        try:
            answer = resolver.lookup(cfg.domain_name)
            row["resolved_region"] = regions.by_address(answer.addresses[0])
            response = http.request("POST", url, json_body={"item_id": item_id, "client": index, "seq": n})
            row["status"] = response.status
            try:
                body = response.json() if response.body else {}
            except ValueError:  # not JSON (an HTML error page, say): keep the status, note the body
                body = {"message": response.body[:200].decode(errors="replace")}
            row["served_region"] = body.get("origin_region") if isinstance(body, dict) else None
            if row["served_region"] is None:
                row["served_region"] = regions.by_address(response.address)
            row["error"] = "" if 200 <= response.status < 300 else (body.get("message", "") if isinstance(body, dict) else "")
        except Exception as error:  # connection refused, timeouts: the client saw an error
            row.update(status=0, served_region=None, error=f"{type(error).__name__}: {error}"[:200])
        row["finished_at"] = time.time() - t0
        row["latency_ms"] = (row["finished_at"] - row["sent_at"]) * 1000
        recorder.add(row)
    http.close()


def _lag_prober(cfg: Config, clients: Clients, t0: float, stop: threading.Event, rows: list[dict[str, Any]]) -> None:
    """Write a probe item in each region in turn and time its arrival in the others."""
    regions = list(cfg.regions)
    i = 0
    timeout = cfg.scaled(cfg.hold_s + cfg.recovery_s) + 5
    while not stop.is_set():
        source = regions[i % len(regions)]
        i += 1
        item_id = f"{LAG_PROBE_PREFIX}{uuid.uuid4().hex[:8]}"
        written = time.time()
        try:
            clients.client("dynamodb", source).put_item(TableName=cfg.table_name, Item={"item_id": {"S": item_id}})
            pending = set(regions) - {source}
            deadline = written + timeout
            while pending and time.time() < deadline and not stop.is_set():
                for region in list(pending):
                    got = clients.client("dynamodb", region).get_item(TableName=cfg.table_name,
                                                                     Key={"item_id": {"S": item_id}})
                    if "Item" in got:
                        pending.discard(region)
                        rows.append({"t": written - t0, "source": source, "target": region,
                                     "lag_ms": (time.time() - written) * 1000})
                time.sleep(0.005)
        except Exception as error:  # a failed probe is a data point, not the end of the measurement
            rows.append({"t": written - t0, "source": source, "target": "", "lag_ms": float("nan"),
                         "error": f"{type(error).__name__}: {error}"[:200]})
        stop.wait(max(0.05, cfg.scaled(2)))


def _sampler(cfg: Config, clients: Clients, ids: dict[str, str], regions: RegionMap, t0: float,
             stop: threading.Event, rows: list[dict[str, Any]]) -> None:
    every = max(0.1, cfg.scaled(cfg.health_check_interval) / 4)  # sees every probe: HealthReplay needs them all
    server = zone_server(cfg, clients)
    replay = HealthReplay(cfg.health_check_failure_threshold)
    while not stop.is_set():
        t = time.time() - t0
        try:
            for region, healthy in healthy_by_region(clients, ids, replay).items():
                rows.append({"t": t, "kind": "health", "region": region, "value": int(healthy)})
            answer = dns_regions(cfg, regions, server)
            for region in cfg.regions:
                rows.append({"t": t, "kind": "dns", "region": region, "value": int(region in answer)})
        except Exception as error:  # a sampling hiccup must not end the experiment
            rows.append({"t": t, "kind": "sampler_error", "region": "", "value": 0, "error": str(error)})
        stop.wait(every)


def run_experiment(cfg: Config, clients: Clients, progress: bool = True) -> ChaosRun:
    """Run the whole timeline (steady, fault, hold, restore, recovery) and return the records."""
    if cfg.dry_run:
        raise ValueError("the chaos experiment sends real traffic and injects a real fault, so it has no dry run: "
                         "build the stack (00-05 without dry_run) and run 06_chaos without dry_run; a dry run "
                         "covers the build notebooks and the teardown (08)")
    preflight.check_regions_ready(cfg, clients)  # no leftover fault, every region healthy and reachable
    ids = health_check_ids(cfg, clients)
    regions = region_map(cfg, clients)
    steady, hold, recovery = cfg.scaled(cfg.steady_s), cfg.scaled(cfg.hold_s), cfg.scaled(cfg.recovery_s)
    t0 = time.time()
    end = t0 + steady + hold + recovery
    stop = threading.Event()
    recorder, samples, lag = _Recorder(), [], []
    threads = [threading.Thread(target=_client_loop, args=(cfg, i, t0, end, stop, regions, recorder), daemon=True)
               for i in range(cfg.load_clients)]
    threads.append(threading.Thread(target=_sampler, args=(cfg, clients, ids, regions, t0, stop, samples), daemon=True))
    threads.append(threading.Thread(target=_lag_prober, args=(cfg, clients, t0, stop, lag), daemon=True))
    for thread in threads:
        thread.start()
    fault_at = restore_at = None
    injected = None
    held = contextlib.ExitStack()  # holds the injected fault: closing it undoes the fault (helpers.faults)
    bar = tqdm(total=round(end - t0, 1), desc="steady state", unit="s", disable=not progress,
               bar_format="{desc}: {bar} {n:.0f}/{total:.0f} s")
    try:
        while (now := time.time()) < end:
            if fault_at is None and now >= t0 + steady:
                injected = held.enter_context(faults.injected_fault(cfg, clients))
                fault_at = time.time() - t0
                bar.set_description(f"fault: {cfg.fault} in {cfg.faulty_region}")
            if fault_at is not None and restore_at is None and now >= t0 + steady + hold:
                held.close()
                restore_at = time.time() - t0
                bar.set_description("restored: recovery")
            bar.n = round(now - t0, 1)
            bar.refresh()
            time.sleep(0.05)
    finally:
        held.close()  # never leave a fault behind (closing it again does nothing)
        if injected is not None and restore_at is None:
            restore_at = time.time() - t0
        stop.set()
        for thread in threads:
            thread.join(timeout=CLIENT_TIMEOUT_S + 10)
        stuck = [t.name for t in threads if t.is_alive()]
        if stuck:
            raise RuntimeError(f"the load generator's threads {stuck} did not stop; the records would be incomplete")
        bar.n = bar.total
        bar.close()
    requests = pd.DataFrame(recorder.rows).sort_values("sent_at").reset_index(drop=True)
    return ChaosRun(cfg=cfg, started_at=t0, fault_at=fault_at, restore_at=restore_at, ended_at=time.time() - t0,
                    requests=requests, samples=pd.DataFrame(samples), lag=pd.DataFrame(lag),
                    injected=injected.calls if injected else [], regions=regions)


# --------------------------------------------------------------- analysis
def _scan_ids(clients: Clients, cfg: Config, region: str) -> dict[str, dict[str, Any]]:
    paginator = clients.client("dynamodb", region).get_paginator("scan")
    items = {}
    for page in paginator.paginate(TableName=cfg.table_name, ConsistentRead=True):
        for item in page["Items"]:
            items[item["item_id"]["S"]] = item
    return items


def verify_replicas(cfg: Config, clients: Clients, acknowledged: list[str], timeout: float | None = None) -> dict[str, Any]:
    """Wait until replication converges, then check every acknowledged write is in every replica."""
    timeout = timeout if timeout is not None else max(10.0, cfg.scaled(60))
    wanted = set(acknowledged)
    last: dict[str, Any] = {}

    def check() -> tuple[bool, dict[str, Any]]:
        scans = {region: _scan_ids(clients, cfg, region) for region in cfg.regions}
        missing = {region: sorted(wanted - set(items)) for region, items in scans.items()}
        identical = all(items == scans[cfg.regions[0]] for items in scans.values())
        last.update(scans=scans, missing=missing, identical=identical)
        return identical and not any(missing.values()), {"identical": identical,
                                                         "missing": {r: len(m) for r, m in missing.items()}}

    try:
        wait_until("replicas identical, with every acknowledged write", check, timeout, interval=0.2, max_interval=1.0)
    except TimeoutError:
        pass  # what is still missing now is lost: the result says so
    scans = last["scans"]
    return {"identical": last["identical"], "lost": sorted(set().union(*last["missing"].values())),
            "counts": {r: len(s) for r, s in scans.items()}, "items": scans[cfg.regions[0]]}


def _items_frame(items: dict[str, dict[str, Any]], t0: float) -> pd.DataFrame:
    rows = []
    for item_id, item in items.items():
        if item_id.startswith(LAG_PROBE_PREFIX) or "written_at" not in item:
            continue
        written = pd.Timestamp(item["written_at"]["S"]).timestamp()
        rows.append({"item_id": item_id, "origin_region": item.get("origin_region", {}).get("S"),
                     "written_at": item["written_at"]["S"], "t": written - t0})
    return pd.DataFrame(rows, columns=["item_id", "origin_region", "written_at", "t"])


def _first_time(samples: pd.DataFrame, kind: str, region: str, value: int, after: float | None,
                before: float | None = None, stays: bool = False) -> float | None:
    """First sample time after ``after`` with ``value`` (optionally: and every later sample until ``before``)."""
    if after is None or samples.empty:
        return None
    s = samples[(samples["kind"] == kind) & (samples["region"] == region) & (samples["t"] >= after)]
    if before is not None:
        s = s[s["t"] < before]
    s = s.sort_values("t")
    if not stays:
        hit = s[s["value"] == value]
        return float(hit["t"].iloc[0]) if not hit.empty else None
    other = s[s["value"] != value]
    tail = s if other.empty else s[s["t"] > other["t"].iloc[-1]]
    return float(tail["t"].iloc[0]) if not tail.empty else None


def expected_rto_s(cfg: Config, ttl_s: float) -> float:
    """Route 53's failover time: FailureThreshold x RequestInterval, plus the TTL clients cache answers for."""
    return cfg.scaled(cfg.health_check_failure_threshold * cfg.health_check_interval) + ttl_s


def analyse(run: ChaosRun, clients: Clients) -> dict[str, Any]:
    """Compute the metrics (and fill ``run.events``, ``run.replicas``, ``run.items``) from the records."""
    cfg, req, samples = run.cfg, run.requests, run.samples
    region = cfg.faulty_region
    ok = req["status"].between(200, 299)
    acknowledged = req.loc[ok, "item_id"].tolist()
    replicas = verify_replicas(cfg, clients, acknowledged)
    run.replicas = {k: v for k, v in replicas.items() if k != "items"}
    run.items = _items_frame(replicas["items"], run.started_at)

    failover = fault_kind(cfg.fault).failover_expected
    window = req[(req["sent_at"] >= run.fault_at) & (req["sent_at"] < run.restore_at)]
    on_broken = window["resolved_region"] == region
    failed = ~window["status"].between(200, 299)
    # RTO: from the fault until the last request that still went to the broken region (served there or
    # failed there). Without failover (e.g. a replication pause) the region keeps serving: only failures count.
    affected = window[on_broken] if failover else window[on_broken & failed]
    rto = float(affected["finished_at"].max() - run.fault_at) if not affected.empty else 0.0
    errors = req[~ok]
    after_restore = req[(req["sent_at"] >= run.restore_at) & (req["served_region"] == region) & ok]
    failback = float(after_restore["finished_at"].min() - run.restore_at) if not after_restore.empty else None
    ttl = max(1, math.ceil(cfg.scaled(cfg.record_ttl)))
    run.events = {
        "fault": run.fault_at,
        "unhealthy": _first_time(samples, "health", region, 0, run.fault_at, run.restore_at),
        "dns_changed": _first_time(samples, "dns", region, 0, run.fault_at, run.restore_at, stays=failover),
        "restore": run.restore_at,
        "healthy_again": _first_time(samples, "health", region, 1, run.restore_at),
        "dns_back": _first_time(samples, "dns", region, 1, run.restore_at),
    }
    lag = run.lag["lag_ms"].dropna() if not run.lag.empty else pd.Series(dtype=float)
    metrics = {
        "fault": cfg.fault,
        "faulty_region": region,
        "regions": list(cfg.regions),
        "time_scale": cfg.time_scale,
        "requests": int(len(req)),
        "acknowledged_writes": len(acknowledged),
        "errors": int(len(errors)),
        "error_window_s": float(errors["finished_at"].max() - errors["sent_at"].min()) if not errors.empty else 0.0,
        "lost_writes": len(replicas["lost"]),
        "replicas_identical": bool(replicas["identical"]),
        "replica_item_counts": replicas["counts"],
        "rto_s": round(rto, 3),
        "expected_rto_s": round(expected_rto_s(cfg, ttl), 3) if failover else 0.0,
        "failover_expected": failover,
        "detection_s": _delta(run.events["unhealthy"], run.fault_at),
        "dns_change_s": _delta(run.events["dns_changed"], run.fault_at),
        "failback_s": None if failback is None else round(failback, 3),
        "dns_ttl_s": ttl,
        "replication_lag_p50_ms": round(float(lag.quantile(0.5)), 1) if len(lag) else None,
        "replication_lag_p99_ms": round(float(lag.quantile(0.99)), 1) if len(lag) else None,
        "replication_lag_max_ms": round(float(lag.max()), 1) if len(lag) else None,
        "served_by_region": {str(k): int(v) for k, v in req.loc[ok, "served_region"].value_counts().items()},
        "fault_calls": run.injected,
    }
    run.metrics = metrics
    return metrics


def _delta(t: float | None, since: float | None) -> float | None:
    return None if t is None or since is None else round(t - since, 3)


def write_artifacts(run: ChaosRun, run_dir: str | Path) -> list[Path]:
    """``chaos_timeline.csv`` (one row per request), ``chaos_samples.csv`` and ``chaos_metrics.json``."""
    out = Path(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    timeline = out / "chaos_timeline.csv"
    run.requests.to_csv(timeline, index=False)
    samples = out / "chaos_samples.csv"
    run.samples.to_csv(samples, index=False)
    metrics = out / "chaos_metrics.json"
    metrics.write_text(json.dumps({**run.metrics, "events": run.events}, indent=2, default=str) + "\n")
    return [timeline, samples, metrics]


def summary(run: ChaosRun) -> pd.DataFrame:
    """The headline numbers as a small table."""
    m = run.metrics
    rows = [
        ("requests", m["requests"]), ("errors", m["errors"]), ("lost writes", m["lost_writes"]),
        ("replicas identical", m["replicas_identical"]), ("RTO (s)", m["rto_s"]),
        ("expected RTO (s)", m["expected_rto_s"]), ("fault to unhealthy (s)", m["detection_s"]),
        ("fault to DNS change (s)", m["dns_change_s"]), ("restore to first request served again (s)", m["failback_s"]),
        ("replication lag p50 (ms)", m["replication_lag_p50_ms"]), ("replication lag p99 (ms)", m["replication_lag_p99_ms"]),
    ]
    return pd.DataFrame(rows, columns=["metric", "value"]).set_index("metric")

