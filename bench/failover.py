"""Benchmark: does the recovery model (``helpers.recovery_model``) predict what Route 53 and the clients do?

The set-up is the runbook's default failover in miniature, on a local cloud of
its own: an HTTP endpoint this process serves on loopback (``/health`` answers
200, or 503 while "failed"), a Route 53 HTTP health check on it, and a
weighted record pair in a test zone (PRIMARY with the check, SECONDARY
without, weight 1 each, as the runbook's default routing). Six virtual clients
resolve the name before each of their requests (4 a second, wall clock)
through the runbook's own client model (``helpers.virtual_clients``, DNS
cached for its TTL). Each trial waits a random fraction of an interval (so
the fault falls anywhere in the checkers' schedule), fails the endpoint,
watches, restores it and waits until everything is healthy again.

Measured per trial by the chaos step's own functions (``helpers.failover_events``
``detection_s`` and ``recovery_time_s`` on a ``Timeline`` of the trial), in AWS seconds:

* ``detection``: fault to the check's verdict turning unhealthy, replayed from
  the checkers' probes (GetHealthCheckStatus CheckedTime);
* ``dns_convergence``: fault to the first answer of the zone's name server
  without PRIMARY, sampled at every poll (``DNS_QUERIES`` queries, as the chaos
  step's sampler asks): the middle of its sampling interval;
* ``convergence``: fault to the last request a client sent to PRIMARY (the
  recovery time: the endpoint keeps serving, as with the blog's fault).

Predicted by ``recovery_model.predict`` from the same settings, the checkers'
phases measured before the fault, and the TTL the clients received. The
goals: the measured median detection and DNS convergence within ±10% of the
model's medians, the measured median convergence within ±15%, for each
configuration of ``CONFIGS`` (the default, threshold 3, TTL 60).
"""

from __future__ import annotations

import http.server
import json
import random
import socket
import statistics
import sys
import threading
import time
import uuid
from typing import Any

import pandas as pd

from bench import common

INTERVAL_S = 10  # Route 53 RequestInterval (AWS seconds): the fast one, as the runbook uses
CONFIGS = {  # name -> (FailureThreshold, record TTL in AWS seconds)
    "default": (1, 10),
    "threshold 3": (3, 10),
    "TTL 60": (1, 60),
}
TIME_SCALE = 0.1
TRIALS = 10
CLIENTS = 6
REQUEST_RATE = 4.0  # requests per wall second per client, as the runbook's default
POLL_S = 0.05  # GetHealthCheckStatus polls and DNS samples (wall): several per probe, so none is missed
DNS_QUERIES = 8  # per DNS sample: a weighted pair names PRIMARY in one of 8 answers but with probability 1/256
DETECTION_TOLERANCE = 0.10
CONVERGENCE_TOLERANCE = 0.15
PRIMARY, SECONDARY = "192.0.2.1", "192.0.2.2"  # TEST-NET-1 (RFC 5737): never reached, only compared


class _Endpoint:
    """An HTTP endpoint on loopback whose ``/health`` answers 200, or 503 while ``failed``."""

    def __init__(self) -> None:
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                status = 503 if endpoint.failed else 200
                body = b"failed" if endpoint.failed else b"ok"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def server_bind(self) -> None:
                self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                super().server_bind()

        self.failed = False
        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Clients:
    """``CLIENTS`` virtual clients resolving ``name`` before each request; every request's (time, address)."""

    def __init__(self, cfg: Any, name: str):
        from helpers.virtual_clients import ModelResolver, client_model

        self.log: list[tuple[float, str]] = []
        self._stop = threading.Event()
        period = 1.0 / REQUEST_RATE
        self._threads = [threading.Thread(target=self._loop, args=(ModelResolver(cfg, client_model(cfg)), name,
                                                                   period, period * i / CLIENTS), daemon=True)
                         for i in range(CLIENTS)]
        for thread in self._threads:
            thread.start()

    def _loop(self, resolver: Any, name: str, period: float, offset: float) -> None:
        next_at = time.time() + offset
        while not self._stop.is_set():
            self._stop.wait(max(0.0, next_at - time.time()))
            next_at += period
            answer, _ = resolver.lookup(name)
            self.log.append((time.time(), answer.addresses[0]))

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)


def _poll(clients: Any, check_id: str, replay: Any, names_primary: Any, dns: list[dict[str, Any]], until: float) -> None:
    """Until ``until``: feed every GetHealthCheckStatus poll to ``replay`` and record one DNS sample
    (``names_primary()``: is PRIMARY in an answer of the zone's name server?) as the chaos sampler does."""
    while time.time() < until:
        replay.update(check_id, clients.client("route53").get_health_check_status(
            HealthCheckId=check_id)["HealthCheckObservations"])
        asked = time.time()
        present = names_primary()
        dns.append({"t": time.time(), "asked_t": asked, "kind": "dns", "region": "primary", "value": int(present)})
        time.sleep(POLL_S)


def _requests(log: list[tuple[float, str]]) -> pd.DataFrame:
    """The clients' requests as a chaos run's request log (the endpoint behind each address always answers)."""
    region = {PRIMARY: "primary", SECONDARY: "secondary"}
    rows = [{"sent_at": t, "finished_at": t, "status": 200, "resolved_region": region[address],
             "served_region": region[address]} for t, address in list(log)]
    return pd.DataFrame(rows)


def _probes(replay: Any, seen_at: float) -> pd.DataFrame:
    return pd.DataFrame([{"checked_t": p["checked_time"].timestamp(), "t": seen_at, "checker": p["checker"],
                          "value": int(p["ok"])} for p in replay.probes])


def _config(status: dict[str, Any], name: str, threshold: int, ttl: int, trials: int) -> dict[str, Any]:
    """Measure ``trials`` failovers with one configuration and predict them."""
    from helpers import failover_events, recovery_model
    from helpers.client_model import ClientModel
    from helpers.clients import authoritative_server, resolve
    from helpers.healthchecks import HealthReplay

    cfg, clients = common.bench_config(status, record_ttl=ttl, health_check_interval=INTERVAL_S,
                                       health_check_failure_threshold=threshold, client_dns_cache="ttl")
    scale = cfg.time_scale
    route53 = clients.client("route53")
    endpoint = _Endpoint()
    zone_name = f"{cfg.stack_name}.failover.test"
    zone_id = route53.create_hosted_zone(Name=zone_name, CallerReference=uuid.uuid4().hex)["HostedZone"]["Id"]
    dns_name = f"api.{zone_name}"
    interval = INTERVAL_S * scale
    check_id = route53.create_health_check(CallerReference=uuid.uuid4().hex, HealthCheckConfig={
        "Type": "HTTP", "IPAddress": "127.0.0.1", "Port": endpoint.port, "ResourcePath": "/health",
        "RequestInterval": INTERVAL_S, "FailureThreshold": threshold})["HealthCheck"]["Id"]
    records = [{"Name": dns_name, "Type": "A", "TTL": ttl, "SetIdentifier": f"{role}-{name}", "Weight": 1,
                "ResourceRecords": [{"Value": value}], **({"HealthCheckId": check_id} if role == "primary" else {})}
               for role, value in (("primary", PRIMARY), ("secondary", SECONDARY))]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": r} for r in records]})
    ttl_wire = resolve(cfg, dns_name).ttl  # what the clients receive (wall seconds)
    server = authoritative_server(cfg, route53.get_hosted_zone(Id=zone_id).get("DelegationSet", {}).get("NameServers", []))

    def names_primary() -> bool:
        return any(PRIMARY in resolve(cfg, dns_name, server=server).addresses for _ in range(DNS_QUERIES))

    dns: list[dict[str, Any]] = []
    period = 1.0 / REQUEST_RATE
    window = threshold * interval + ttl_wire + 2 * period + 0.5
    replay = HealthReplay(threshold)
    viewers = _Clients(cfg, dns_name)
    measured: list[dict[str, float | None]] = []
    predictions = []
    try:
        _poll(clients, check_id, replay, names_primary, dns, time.time() + 1.5 * interval)  # every checker has probed once
        for _ in range(trials):
            _poll(clients, check_id, replay, names_primary, dns, time.time() + random.uniform(0, interval) + ttl_wire)
            fault = time.time()
            endpoint.failed = True
            _poll(clients, check_id, replay, names_primary, dns, fault + window)
            restore = time.time()
            endpoint.failed = False
            _poll(clients, check_id, replay, names_primary, dns, restore + (threshold + 0.5) * interval + ttl_wire)
            p = _probes(replay, time.time())
            samples = pd.concat([p.assign(kind="probe", region="primary"), pd.DataFrame(dns)], ignore_index=True)
            tl = failover_events.Timeline(
                _requests(viewers.log), samples, fault, restore, time.time(),
                "primary", ("primary", "secondary"), scale, threshold, failover_expected=True,
                interval_s=INTERVAL_S)
            bounds = failover_events.headline_bounds(tl).get("dns_convergence_s")
            measured.append({"detection_s": failover_events.detection_s(tl),
                             "dns_convergence_s": failover_events.dns_convergence_s(tl),
                             "dns_resolution_s": None if bounds is None else (bounds[1] - bounds[0]) / 2,
                             "convergence_s": failover_events.recovery_time_s(tl)})
            setting = recovery_model.Setting(
                interval_s=INTERVAL_S, failure_threshold=threshold, ttl_s=ttl_wire / scale, client=ClientModel("ttl"),
                clients=CLIENTS, request_period_s=period / scale, broken_share=0.5, hold_s=(restore - fault) / scale,
                phases=failover_events.phases(p, fault, interval))
            predictions.append(recovery_model.predict(setting, trials=1000))
    finally:
        viewers.close()
        endpoint.close()
        result_cleanup = _cleanup(route53, zone_id, records, check_id)
    det = [m["detection_s"] for m in measured if m["detection_s"] is not None]
    dns_conv = [m["dns_convergence_s"] for m in measured if m["dns_convergence_s"] is not None]
    resolution = [m["dns_resolution_s"] for m in measured if m["dns_resolution_s"] is not None]
    conv = [m["convergence_s"] for m in measured]
    model_det = statistics.median(p.detection.median for p in predictions)
    model_conv = statistics.median(p.client_convergence.median for p in predictions)
    result = {
        "threshold": threshold, "ttl_s": ttl, "wire_ttl_s": ttl_wire, "time_scale": scale, "trials": trials,
        "detection_s": round(statistics.median(det), 2) if det else None,
        "model_detection_s": round(model_det, 2),
        "model_detection_p95_s": round(statistics.median(p.detection.p95 for p in predictions), 2),
        "dns_convergence_s": round(statistics.median(dns_conv), 2) if dns_conv else None,
        "dns_resolution_s": round(statistics.median(resolution), 2) if resolution else None,
        "model_dns_convergence_s": round(statistics.median(p.dns_convergence.median for p in predictions), 2),
        "model_dns_convergence_p95_s": round(statistics.median(p.dns_convergence.p95 for p in predictions), 2),
        "convergence_s": round(statistics.median(conv), 2) if conv else None,
        "model_convergence_s": round(model_conv, 2),
        "model_convergence_p95_s": round(statistics.median(p.client_convergence.p95 for p in predictions), 2),
        "worst_case_s": round(predictions[0].worst_case_s, 2),
        "detection_all_s": [None if v is None else round(v, 2) for v in (m["detection_s"] for m in measured)],
        "dns_convergence_all_s": [None if v is None else round(v, 2) for v in (m["dns_convergence_s"] for m in measured)],
        "convergence_all_s": [round(v, 2) for v in conv],
        **result_cleanup,
    }
    return result


def _cleanup(route53: Any, zone_id: str, records: list[dict[str, Any]], check_id: str) -> dict[str, str]:
    try:
        route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
            {"Action": "DELETE", "ResourceRecordSet": r} for r in records]})
        route53.delete_health_check(HealthCheckId=check_id)
        route53.delete_hosted_zone(Id=zone_id)
    except Exception as error:  # a benchmark result is still worth reporting
        return {"cleanup_error": f"{type(error).__name__}: {error}"}
    return {}


def run(status: dict[str, Any], configs: dict[str, tuple[int, int]] = CONFIGS, trials: int = TRIALS) -> dict[str, Any]:
    """Every configuration on the running local cloud ``status``: ``{name: {...}}``."""
    return {name: _config(status, name, threshold, ttl, trials) for name, (threshold, ttl) in configs.items()}


def run_local(**kwargs: Any) -> dict[str, Any]:
    """``run`` on a local cloud of its own at ``TIME_SCALE``."""
    with common.local_cloud(TIME_SCALE, prefix="bench-failover-") as status:
        return run(status, **kwargs)


def main() -> int:
    """All configurations on a local cloud of our own; JSON on stdout."""
    common.quiet_progress_bars()
    print(json.dumps(run_local(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
