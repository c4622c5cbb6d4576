"""Step 6: break one region under load, measure what clients saw, prove nothing was lost.

The experiment's timeline is steady state, fault, hold, restore, recovery
(durations in AWS seconds, multiplied by ``time_scale``). Virtual clients
(``helpers.virtual_clients``, as ``helpers.client_model`` describes them) post
items through the API's custom domain; every request is recorded with the
address it connected to. A sampler records every health-checker probe
GetHealthCheckStatus shows and the DNS answers throughout, a prober the
replication lag in each direction. The events and headline numbers
(``helpers.failover_events``) and the prediction (``helpers.recovery_model``)
are computed from those records only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from helpers.progress import tqdm

from helpers import failover_events, faults, preflight, recovery_model
from helpers.clients import Clients, authoritative_server, resolve
from helpers.config import Config
from helpers.domains import custom_domain_targets
from helpers.failover_events import Timeline
from helpers.fault_kinds import fault_kind
from helpers.healthchecks import HealthReplay, health_check_ids, healthy_by_region
from helpers.route53 import custom_domain_url, hosted_zone_id
from helpers.virtual_clients import CLIENT_TIMEOUT_S, VirtualClient, client_model, new_item_id
from helpers.waiting import wait_until

LAG_PROBE_PREFIX = "lag-probe-"
CLOCK_MARGIN_S = 5.0  # items written this long before the experiment began are checked too (clocks differ a little)
LAG_POLL_S = 0.02  # wall seconds between the lag prober's looks for its probes (the lag's resolution)


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
    fault_started_at: float | None = None
    restore_started_at: float | None = None
    answer_ttl_s: float | None = None  # the TTL (wall seconds) the clients received for the API's name
    prediction: recovery_model.Prediction | None = None

    def timeline(self) -> Timeline:
        """The records as ``helpers.failover_events`` reads them."""
        return Timeline(self.requests, self.samples, self.fault_at, self.restore_at, self.ended_at,
                        self.cfg.faulty_region, tuple(self.cfg.regions), self.cfg.time_scale,
                        self.cfg.health_check_failure_threshold, fault_kind(self.cfg.fault).failover_expected,
                        self.fault_started_at, self.restore_started_at, self.cfg.health_check_interval)

    def aws(self, wall_s: float | None) -> float | None:
        """A wall duration in AWS seconds."""
        return None if wall_s is None else wall_s / self.cfg.time_scale


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

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.rows)


def _client_loop(cfg: Config, index: int, t0: float, end: float, stop: threading.Event,
                 regions: RegionMap, recorder: _Recorder) -> None:
    """One virtual client (``helpers.virtual_clients``) posting at a steady rate; one row per request."""
    client = VirtualClient(cfg, client_model(cfg), regions.by_address, index)
    url = custom_domain_url(cfg) + "/item"
    period = 1.0 / cfg.request_rate
    n = 0
    next_at = t0 + period * index / max(cfg.load_clients, 1)
    try:
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
            item_id = new_item_id(index, n)
            sent = time.time() - t0
            row = {"client": index, "item_id": item_id, "sent_at": sent, **client.post(url, item_id, n)}
            row["finished_at"] = time.time() - t0
            row["latency_ms"] = (row["finished_at"] - sent) * 1000
            recorder.add(row)
    finally:
        client.close()


def _lag_prober(cfg: Config, clients: Clients, t0: float, stop: threading.Event, rows: list[dict[str, Any]]) -> None:
    """Write a probe item in each region in turn and time its arrival in every other region.

    Probes keep being written while earlier ones are still on their way, so a paused
    replication shows as a growing backlog of probes and their arrival when it resumes.
    Arrivals are polled with one BatchGetItem per region (at most 100 keys).
    """
    regions = list(cfg.regions)
    every = max(0.05, cfg.scaled(2))
    pending: dict[str, tuple[float, str, set[str]]] = {}  # item id -> (written, source, regions still waiting)
    i, next_write = 0, time.time()
    while not stop.is_set():
        if time.time() >= next_write:
            source = regions[i % len(regions)]
            i += 1
            item_id = f"{LAG_PROBE_PREFIX}{uuid.uuid4().hex[:8]}"
            written = time.time()
            try:
                clients.client("dynamodb", source).put_item(TableName=cfg.table_name, Item={"item_id": {"S": item_id}})
                pending[item_id] = (written, source, set(regions) - {source})
            except Exception as error:  # a failed probe is a data point, not the end of the measurement
                rows.append({"t": written - t0, "source": source, "target": "", "lag_ms": float("nan"),
                             "error": f"{type(error).__name__}: {error}"[:200]})
            next_write = written + every
        for region in regions:
            keys = [k for k, (_, _, waiting) in pending.items() if region in waiting][:100]
            if not keys:
                continue
            try:
                got = clients.client("dynamodb", region).batch_get_item(RequestItems={cfg.table_name: {
                    "Keys": [{"item_id": {"S": k}} for k in keys], "ProjectionExpression": "item_id"}})
            except Exception:  # the region is out (an outage): try again on the next round
                continue
            arrived = time.time()
            for item in got.get("Responses", {}).get(cfg.table_name, []):
                key = item["item_id"]["S"]
                written, source, waiting = pending[key]
                waiting.discard(region)
                rows.append({"t": written - t0, "source": source, "target": region,
                             "lag_ms": (arrived - written) * 1000, "arrived": arrived - t0})
                if not waiting:
                    del pending[key]
        stop.wait(LAG_POLL_S)


def _sampler(cfg: Config, clients: Clients, ids: dict[str, str], regions: RegionMap, t0: float,
             stop: threading.Event, rows: list[dict[str, Any]]) -> None:
    every = max(0.1, cfg.scaled(cfg.health_check_interval) / 4)  # sees every probe: HealthReplay needs them all
    server = zone_server(cfg, clients)
    replay = HealthReplay(cfg.health_check_failure_threshold)
    while not stop.is_set():
        t = time.time() - t0
        try:
            seen = len(replay.probes)
            verdicts = healthy_by_region(clients, ids, replay)
            t = time.time() - t0  # what the poll showed was true by now
            for region, healthy in verdicts.items():
                rows.append({"t": t, "kind": "health", "region": region, "value": int(healthy)})
            region_of = {check_id: region for region, check_id in ids.items()}
            for probe in replay.probes[seen:]:
                checked = probe["checked_time"]
                rows.append({"t": t, "kind": "probe", "region": region_of[probe["check_id"]], "value": int(probe["ok"]),
                             "checker": probe["checker"],
                             "checked_t": checked.timestamp() - t0 if checked is not None else t})
            asked = time.time() - t0  # a region named by one of the queries was still in DNS after this
            answer = dns_regions(cfg, regions, server)
            t = time.time() - t0  # the answers were true by now (a change between the queries shows here)
            for region in cfg.regions:
                rows.append({"t": t, "asked_t": asked, "kind": "dns", "region": region, "value": int(region in answer)})
        except Exception as error:  # a sampling hiccup must not end the experiment
            rows.append({"t": t, "kind": "sampler_error", "region": "", "value": 0, "error": str(error)})
        stop.wait(every)


def run_experiment(cfg: Config, clients: Clients, progress: bool = True, live: Any = None) -> ChaosRun:
    """Run the whole timeline (steady, fault, hold, restore, recovery) and return the records.

    ``live`` (a ``helpers.chaos_live.LiveView``, or None) is redrawn from the records as they grow.
    """
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
    fault_at = restore_at = fault_started_at = restore_started_at = None
    injected = None
    held = contextlib.ExitStack()  # holds the injected fault: closing it undoes the fault (helpers.faults)
    answer_ttl = resolve(cfg, cfg.domain_name).ttl
    bar = tqdm(total=round(end - t0, 1), desc="steady state", unit="s", disable=not progress,
               bar_format="{desc}: {bar} {n:.0f}/{total:.0f} s")
    try:
        while (now := time.time()) < end:
            if fault_at is None and now >= t0 + steady:
                fault_started_at = time.time() - t0
                injected = held.enter_context(faults.injected_fault(cfg, clients))
                fault_at = time.time() - t0
                bar.set_description(f"fault: {cfg.fault} in {cfg.faulty_region}")
            if fault_at is not None and restore_at is None and now >= t0 + steady + hold:
                restore_started_at = time.time() - t0
                held.close()
                restore_at = time.time() - t0
                bar.set_description("restored: recovery")
            bar.n = round(now - t0, 1)
            bar.refresh()
            if live is not None:
                live.update(recorder.snapshot(), samples, now - t0, fault_at, restore_at)
            time.sleep(0.05)
    finally:
        if injected is not None and restore_at is None:  # an error or an interrupt during the hold
            restore_started_at = time.time() - t0
            held.close()
            restore_at = time.time() - t0
        held.close()  # never leave a fault behind, even one whose injection was cut short (a second close does nothing)
        stop.set()
        for thread in threads:
            thread.join(timeout=CLIENT_TIMEOUT_S + 10)
        stuck = [t.name for t in threads if t.is_alive()]
        if stuck:
            raise RuntimeError(f"the load generator's threads {stuck} did not stop; the records would be incomplete")
        bar.n = bar.total
        bar.close()
        if live is not None:
            live.close()
    requests = pd.DataFrame(recorder.rows).sort_values("sent_at").reset_index(drop=True)
    return ChaosRun(cfg=cfg, started_at=t0, fault_at=fault_at, restore_at=restore_at, ended_at=time.time() - t0,
                    requests=requests, samples=pd.DataFrame(samples), lag=pd.DataFrame(lag),
                    injected=injected.calls if injected else [], regions=regions,
                    fault_started_at=fault_started_at, restore_started_at=restore_started_at, answer_ttl_s=answer_ttl)


# --------------------------------------------------------------- analysis
def _scan_ids(clients: Clients, cfg: Config, region: str, since: float | None = None) -> dict[str, dict[str, Any]]:
    """The region's items by id (strongly consistent); with ``since`` (epoch seconds) only those written after it."""
    paginator = clients.client("dynamodb", region).get_paginator("scan")
    written_since = {} if since is None else {
        "FilterExpression": "written_at >= :since",
        "ExpressionAttributeValues": {":since": {"S": dt.datetime.fromtimestamp(since, dt.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}}}  # the post function's written_at: UTC, milliseconds, a Z
    items = {}
    for page in paginator.paginate(TableName=cfg.table_name, ConsistentRead=True, **written_since):
        for item in page["Items"]:
            items[item["item_id"]["S"]] = item
    return items


def verify_replicas(cfg: Config, clients: Clients, acknowledged: list[str], timeout: float | None = None,
                    since: float | None = None) -> dict[str, Any]:
    """Wait until replication converges, then check every acknowledged write is in every replica.

    With ``since`` (epoch seconds) only the items written after it are compared: a stack that ran
    many experiments (a sweep) keeps every earlier run's items, and scanning them all again would
    make each run slower than the last.
    """
    timeout = timeout if timeout is not None else max(10.0, cfg.scaled(60))
    wanted = set(acknowledged)
    last: dict[str, Any] = {}

    def check() -> tuple[bool, dict[str, Any]]:
        scans = {region: _scan_ids(clients, cfg, region, since) for region in cfg.regions}
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


def predict(run: ChaosRun) -> recovery_model.Prediction:
    """The recovery model's prediction for this run's settings (AWS seconds).

    Its inputs are the parameters plus three things the run measured before the fault,
    the same way on AWS: the checkers' phases (from their probes' CheckedTime), the TTL
    the clients received, and the share of DNS answers that named the faulty region.
    """
    cfg, tl = run.cfg, run.timeline()
    r = run.requests
    before = r[(r["sent_at"] < run.fault_at) & r.get("resolved", pd.Series(True, index=r.index)).fillna(False).astype(bool)]
    share = float((before["resolved_region"] == cfg.faulty_region).mean()) if not before.empty else 1 / len(cfg.regions)
    return recovery_model.predict(model_setting(cfg, ttl_s=(run.answer_ttl_s or 0) / cfg.time_scale, broken_share=share,
                                                phases=failover_events.checker_phases(tl, cfg.health_check_interval)))


def model_setting(cfg: Config, *, ttl_s: float, broken_share: float, hold_s: float | None = None,
                  phases: tuple[float, ...] | None = None) -> recovery_model.Setting:
    """The recovery model's inputs: the parameters, plus what a run measures (the TTL the clients received, the
    share of answers naming the faulty region, the checkers' phases) or a plan assumes instead."""
    return recovery_model.Setting(
        interval_s=cfg.health_check_interval, failure_threshold=cfg.health_check_failure_threshold, ttl_s=ttl_s,
        client=client_model(cfg), clients=cfg.load_clients, request_period_s=1 / (cfg.request_rate * cfg.time_scale),
        broken_share=broken_share, requests_fail=fault_kind(cfg.fault).requests_fail,
        hold_s=cfg.hold_s if hold_s is None else hold_s, phases=phases)


def replication_backlog(run: ChaosRun) -> dict[str, float | int | None]:
    """Lag probes written in the faulty region during the fault and delivered only after the restore.

    ``queued``: how many; ``drain_s``: AWS seconds from the start of the repair call (replication
    may resume before the call returns) until the last arrived; ``max_lag_s``: the largest lag seen
    in any direction (AWS seconds).
    """
    lag = run.lag
    if lag.empty or "arrived" not in lag:
        return {"queued": 0, "drain_s": None, "max_lag_s": None}
    repair = run.timeline().repair_begins
    source = lag[(lag["source"] == run.cfg.faulty_region) & lag["t"].between(run.fault_at, repair)]
    late = source[source["arrived"] >= repair]
    drain = run.aws(float(late["arrived"].max() - repair)) if not late.empty else None
    longest = run.aws(float(lag["lag_ms"].max()) / 1000) if lag["lag_ms"].notna().any() else None
    return {"queued": int(late["t"].nunique()), "drain_s": None if drain is None else round(drain, 2),
            "max_lag_s": None if longest is None else round(longest, 2)}


def definitions(cfg: Config) -> dict[str, str]:
    """One sentence per number of ``chaos_metrics.json`` a reader sees: ``failover_events.DEFINITIONS`` and
    the two this module measures itself."""
    poll_ms = LAG_POLL_S / cfg.time_scale * 1000
    return {**failover_events.DEFINITIONS,
            "failback_s": "the repair call returned to the first successful request served by the repaired region",
            "replication_lag_ms": f"a probe item written in one region until a read in another finds it, over the "
                                  f"whole run, so a fault that stops replication raises the top percentiles (looked "
                                  f"for every {poll_ms:g} AWS ms plus one BatchGetItem, so known to about that)"}


def analyse(run: ChaosRun, clients: Clients) -> dict[str, Any]:
    """Compute the metrics (and fill ``run.events``, ``run.replicas``, ``run.items``, ``run.prediction``).

    Every duration is in AWS seconds (wall seconds / time_scale); ``wall_s`` repeats them in wall seconds.
    """
    cfg, req = run.cfg, run.requests
    ok = req["status"].between(200, 299)
    acknowledged = req.loc[ok, "item_id"].tolist()
    replicas = verify_replicas(cfg, clients, acknowledged, since=run.started_at - CLOCK_MARGIN_S)
    run.replicas = {k: v for k, v in replicas.items() if k != "items"}
    run.items = _items_frame(replicas["items"], run.started_at)
    tl = run.timeline()
    failover = tl.failover_expected
    run.events = {e.name: e.t for e in failover_events.events(tl)}
    run.prediction = predict(run) if failover else None
    headline = failover_events.headline(tl)
    lag = run.lag["lag_ms"].dropna() if not run.lag.empty else pd.Series(dtype=float)
    lag_aws = lag / cfg.time_scale
    after_restore = req[(req["sent_at"] >= run.restore_at) & (req["served_region"] == cfg.faulty_region) & ok]
    failback = float(after_restore["sent_at"].min() - run.restore_at) if not after_restore.empty else None
    metrics = {
        "fault": cfg.fault,
        "faulty_region": cfg.faulty_region,
        "regions": list(cfg.regions),
        "time_scale": cfg.time_scale,
        "units": "AWS seconds (what the same experiment takes on AWS: wall seconds / time_scale)",
        "health_check_interval": cfg.health_check_interval,
        "health_check_failure_threshold": cfg.health_check_failure_threshold,
        "record_ttl": cfg.record_ttl,
        "client_dns_cache": cfg.client_dns_cache,
        "client_on_failure": cfg.client_on_failure,
        "requests": int(len(req)),
        "acknowledged_writes": len(acknowledged),
        "errors": int((~ok).sum()),
        "lost_writes": len(replicas["lost"]),
        "replicas_identical": bool(replicas["identical"]),
        "replica_item_counts": replicas["counts"],
        "failover_expected": failover,
        **headline,
        "bounds_s": failover_events.headline_bounds(tl),
        "expected_rto_s": run.prediction.worst_case_s if run.prediction else None,
        "predicted": run.prediction.as_dict() if run.prediction else None,
        "definitions": definitions(cfg),
        "failback_s": None if failback is None else round(run.aws(failback), 3),
        "dns_ttl_s": None if run.answer_ttl_s is None else round(run.aws(run.answer_ttl_s), 3),
        "replication_lag_p50_ms": round(float(lag_aws.quantile(0.5)), 1) if len(lag) else None,
        "replication_lag_p99_ms": round(float(lag_aws.quantile(0.99)), 1) if len(lag) else None,
        "replication_lag_max_ms": round(float(lag_aws.max()), 1) if len(lag) else None,
        "replication_backlog": replication_backlog(run),
        "served_by_region": {str(k): int(v) for k, v in req.loc[ok, "served_region"].value_counts().items()},
        "fault_calls": run.injected,
    }
    metrics["wall_s"] = {k: (None if metrics[k] is None else round(metrics[k] * cfg.time_scale, 3))
                         for k in ("detection_s", "dns_convergence_s", "rto_s", "error_window_s", "failback_s")}
    run.metrics = metrics
    return metrics


def write_artifacts(run: ChaosRun, run_dir: str | Path) -> list[Path]:
    """``chaos_timeline.csv`` (one row per request), ``chaos_samples.csv``, ``chaos_lag.csv`` and ``chaos_metrics.json``."""
    out = Path(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    timeline = out / "chaos_timeline.csv"
    run.requests.to_csv(timeline, index=False)
    samples = out / "chaos_samples.csv"
    run.samples.to_csv(samples, index=False)
    lag = out / "chaos_lag.csv"
    run.lag.to_csv(lag, index=False)
    metrics = out / "chaos_metrics.json"
    events = failover_events.events_table(run.timeline()).to_dict(orient="records")
    metrics.write_text(json.dumps({**run.metrics, "clock": run.timeline().clock(), "events": events},
                                  indent=2, default=str) + "\n")
    return [timeline, samples, lag, metrics]


def summary(run: ChaosRun) -> pd.DataFrame:
    """The headline numbers, measured beside predicted, in AWS seconds first and wall seconds second.

    A sampled number shows the interval it is known to lie in (``failover_events.with_resolution``).
    """
    m, p, scale = run.metrics, run.prediction, run.cfg.time_scale
    rows = [("requests", m["requests"], "", ""), ("errors", m["errors"], "", ""),
            ("lost writes", m["lost_writes"], "", ""), ("replicas identical", m["replicas_identical"], "", "")]
    bands = {"detection_s": p.detection, "dns_convergence_s": p.dns_convergence, "rto_s": p.client_convergence} if p else {}
    for key, label in (("detection_s", "detection"), ("dns_convergence_s", "DNS convergence"),
                       ("rto_s", "recovery time (RTO)"), ("error_window_s", "error window")):
        value = m[key]
        if key == "rto_s" and not m["failover_expected"]:
            rows.append((f"{label} (AWS s)", failover_events.NO_FAILOVER, "", ""))
            continue
        band = bands.get(key)
        rows.append((f"{label} (AWS s)", failover_events.with_resolution(value, m["bounds_s"].get(key)),
                     f"{band.median:.1f} (p95 {band.p95:.1f})" if band else "", "" if value is None else round(value * scale, 3)))
    if p:
        rows.append(("worst case: threshold x interval + TTL (AWS s)", "", f"{p.worst_case_s:.1f}",
                     round(p.worst_case_s * scale, 3)))
    lag = m["replication_lag_p99_ms"]
    rows.append(("replication lag p99 (AWS ms)", "-" if lag is None else lag, "", "" if lag is None else round(lag * scale, 1)))
    return pd.DataFrame(rows, columns=["metric", "measured", "predicted (median, p95)", "wall clock (s or ms)"]
                        ).set_index("metric").astype(str)
