"""Benchmark: how fast Route 53 (the local cloud's health checker and DNS) notices a failed endpoint.

The set-up is the smallest failover there is: an HTTP endpoint this process
serves on loopback (``/health`` answers 200, or 503 while "failed"), a Route 53
HTTP health check on it (``RequestInterval`` 10 s, a ``FailureThreshold``
under test) and a failover record pair in a private test zone: PRIMARY with
the health check, SECONDARY without. Each trial waits a random fraction of an
interval (so the fault falls anywhere in the checkers' schedule), fails the
endpoint, and polls until it sees, measured from the fault:

* ``detection_s`` = ``dns_change_s``: the DNS server answers SECONDARY (a
  fresh query each poll). Failover records answer from the health check's
  status as Route 53 uses it (FailureThreshold applied, healthy while more
  than 18% of the checkers say so), so this is the moment the check turned
  unhealthy;
* ``observations_failed_s``: more than 82% of the per-checker observations of
  ``GetHealthCheckStatus`` report a failure. Those are each checker's latest
  probe, before FailureThreshold, so with a threshold above 1 this comes
  about (T - 1) intervals before the check is unhealthy;
* ``client_dns_change_s``: a client that resolves all along and caches
  answers for their TTL (the runbook's ``CachingResolver``) gets SECONDARY;

then restores the endpoint and waits until DNS answers PRIMARY again
(``recovery_s``). Polls run every ``POLL_S``, the measurement's resolution.

Theory (``expected_s``): Route 53's failover time is FailureThreshold x
RequestInterval (scaled), plus the TTL for a caching client
(``expected_client_s``; on average a client's cache has half the TTL left).
That is an upper bound for the health check: Route 53
staggers its checkers across the interval, and with threshold T and N
checkers the check turns unhealthy when all but ``floor(0.18 N)`` of them have
seen T failures, on average ``(T - 1) I + (k - 1/2) I / N`` after the fault
with ``k = N - floor(0.18 N)`` (``model_s``: 0.81 I for T = 1 and 8 checkers).

``run(status)`` measures at the local cloud's time scale. ``python -m
bench.failover`` runs two time scales (0.1 and 0.05) on local clouds of its own.
"""

from __future__ import annotations

import http.server
import json
import math
import random
import socket
import statistics
import sys
import threading
import time
import uuid
from typing import Any

from bench import common
from awsfacts.route53 import HEALTHY_FRACTION

INTERVAL_S = 10  # Route 53 RequestInterval (AWS seconds): the fast one, as the runbook uses
TTL_S = 10  # the runbook's record_ttl (AWS seconds)
THRESHOLDS = (1, 3)  # the runbook's FailureThreshold and Route 53's default
TRIALS = 3
POLL_S = 0.01
CHECKERS = 8  # Route 53's default checker regions, as the local cloud simulates them
PRIMARY, SECONDARY = "192.0.2.1", "192.0.2.2"  # TEST-NET-1 (RFC 5737): never reached, only compared
TIME_SCALES = (0.1, 0.05)


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


def model_s(threshold: int, interval_s: float, checkers: int = CHECKERS) -> float:
    """Mean time to unhealthy with staggered checkers (see the module docstring)."""
    k = checkers - math.floor(HEALTHY_FRACTION * checkers)
    return (threshold - 1) * interval_s + (k - 0.5) * interval_s / checkers


def _trial(cfg: Any, clients: Any, endpoint: _Endpoint, check_id: str, name: str, threshold: int,
           timeout: float) -> dict[str, float | None]:
    """Fail the endpoint, time detection and DNS changes, restore it, time the way back."""
    from helpers.healthchecks import healthy_by_region
    from helpers.clients import CachingResolver, resolve

    interval = cfg.scaled(INTERVAL_S)
    client = CachingResolver(cfg)

    def authoritative() -> str:
        return resolve(cfg, name).addresses[0]

    # The client resolves all along, so its cached answer is at a random age when the fault comes;
    # the fault falls at a random point of the checkers' schedule.
    until = time.perf_counter() + random.uniform(1, 2) * client.lookup(name).ttl + random.uniform(0, interval)
    while time.perf_counter() < until:
        client.lookup(name)
        time.sleep(POLL_S)
    times: dict[str, float | None] = {
        "detection_s": None, "dns_change_s": None, "client_dns_change_s": None, "observations_failed_s": None}
    fault = time.perf_counter()
    endpoint.failed = True
    while None in times.values() and time.perf_counter() - fault < timeout:
        if times["observations_failed_s"] is None and not healthy_by_region(clients, {"p": check_id})["p"]:
            times["observations_failed_s"] = time.perf_counter() - fault
        if times["dns_change_s"] is None and authoritative() == SECONDARY:
            # Failover records answer from the health check's status as Route 53 uses it
            # (FailureThreshold applied): this is the moment the check is unhealthy.
            times["dns_change_s"] = times["detection_s"] = time.perf_counter() - fault
        if times["client_dns_change_s"] is None and client.lookup(name).addresses[0] == SECONDARY:
            times["client_dns_change_s"] = time.perf_counter() - fault
        time.sleep(POLL_S)
    restore = time.perf_counter()
    endpoint.failed = False
    times["recovery_s"] = None
    while time.perf_counter() - restore < timeout:
        if authoritative() == PRIMARY:
            times["recovery_s"] = time.perf_counter() - restore
            break
        time.sleep(POLL_S)
    # Every checker needs FailureThreshold successes before it is healthy again: wait for all of them.
    time.sleep(max(0.0, restore + (threshold + 0.25) * interval - time.perf_counter()))
    return times


def run(status: dict[str, Any], thresholds: tuple[int, ...] = THRESHOLDS, trials: int = TRIALS) -> dict[str, Any]:
    """Measure detection and DNS change times on the running local cloud ``status`` (at its time scale)."""
    from helpers.clients import resolve

    cfg, clients = common.bench_config(status, record_ttl=TTL_S, health_check_interval=INTERVAL_S)
    scale = cfg.time_scale
    route53 = clients.client("route53")
    endpoint = _Endpoint()
    zone_name = f"{cfg.stack_name}.failover.test"
    zone_id = route53.create_hosted_zone(Name=zone_name, CallerReference=uuid.uuid4().hex)["HostedZone"]["Id"]
    name = f"api.{zone_name}"
    ttl_wire = max(1, math.ceil(TTL_S * scale))  # what the DNS server puts on the wire
    result: dict[str, Any] = {"time_scale": scale, "interval_s": INTERVAL_S * scale, "ttl_s": ttl_wire,
                              "trials": trials, "poll_s": POLL_S}
    checks: list[str] = []
    try:
        for threshold in thresholds:
            check_id = route53.create_health_check(CallerReference=uuid.uuid4().hex, HealthCheckConfig={
                "Type": "HTTP", "IPAddress": "127.0.0.1", "Port": endpoint.port, "ResourcePath": "/health",
                "RequestInterval": INTERVAL_S, "FailureThreshold": threshold})["HealthCheck"]["Id"]
            checks.append(check_id)
            records = [
                {"Name": name, "Type": "A", "TTL": TTL_S, "SetIdentifier": f"{role}-{threshold}", "Failover": role,
                 "ResourceRecords": [{"Value": value}], **({"HealthCheckId": check_id} if role == "PRIMARY" else {})}
                for role, value in (("PRIMARY", PRIMARY), ("SECONDARY", SECONDARY))
            ]
            route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
                {"Action": "UPSERT", "ResourceRecordSet": r} for r in records]})
            interval = INTERVAL_S * scale
            timeout = 3 * threshold * interval + ttl_wire + 5
            # Every checker has probed the (healthy) endpoint at least once before the first fault.
            time.sleep(interval * 1.2)
            if resolve(cfg, name).addresses[0] != PRIMARY:
                raise RuntimeError(f"{name} does not answer PRIMARY before the fault: the health check "
                                   f"{check_id} is not healthy; is the endpoint on port {endpoint.port} reachable?")
            samples = [_trial(cfg, clients, endpoint, check_id, name, threshold, timeout) for _ in range(trials)]
            prefix = f"t{threshold}"
            result[f"{prefix}_expected_s"] = round(threshold * interval, 3)
            result[f"{prefix}_expected_client_s"] = round(threshold * interval + ttl_wire, 3)
            result[f"{prefix}_model_s"] = round(model_s(threshold, interval), 3)
            for key in ("detection_s", "dns_change_s", "client_dns_change_s", "observations_failed_s", "recovery_s"):
                values = [s[key] for s in samples if s[key] is not None]
                result[f"{prefix}_{key}"] = round(statistics.fmean(values), 3) if values else None
                result[f"{prefix}_{key}_all"] = [None if s[key] is None else round(s[key], 3) for s in samples]
            if result[f"{prefix}_detection_s"] is not None:
                result[f"{prefix}_detection_vs_expected"] = round(
                    result[f"{prefix}_detection_s"] / result[f"{prefix}_expected_s"], 2)
            if result[f"{prefix}_client_dns_change_s"] is not None:
                result[f"{prefix}_client_dns_change_vs_expected"] = round(
                    result[f"{prefix}_client_dns_change_s"] / result[f"{prefix}_expected_client_s"], 2)
            route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
                {"Action": "DELETE", "ResourceRecordSet": r} for r in records]})
    finally:
        endpoint.close()
        for check_id in checks:
            try:
                route53.delete_health_check(HealthCheckId=check_id)
            except Exception:
                pass
        try:
            route53.delete_hosted_zone(Id=zone_id)
        except Exception as error:  # a benchmark result is still worth reporting
            result["cleanup_error"] = f"{type(error).__name__}: {error}"
    return result


def run_scales(time_scales: tuple[float, ...] = TIME_SCALES, **kwargs: Any) -> dict[str, Any]:
    """``run`` on a local cloud of its own for each time scale: ``{"0.1": {...}, "0.05": {...}}``."""
    results = {}
    for scale in time_scales:
        with common.local_cloud(scale, prefix="bench-failover-") as status:
            results[str(scale)] = run(status, **kwargs)
    return results


def main() -> int:
    """Both time scales on local clouds of our own; JSON on stdout."""
    common.quiet_progress_bars()
    print(json.dumps(run_scales(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
