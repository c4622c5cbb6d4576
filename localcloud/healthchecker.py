"""Probes Route 53 health checks from simulated checker regions.

moto stores health checks but never probes them (its ``GetHealthCheckStatus``
is a fixed "Success"). Here every health check in moto's route53 backend is
probed the way Route 53 does it (Route 53 Developer Guide, "How Amazon Route 53
determines whether a health check is healthy"):

* each **checker region** (the check's ``Regions``, else all of Route 53's
  checker regions) sends one request per ``RequestInterval`` (x ``time_scale``),
  the checkers staggered across the interval;
* HTTP/HTTPS: healthy when a TCP connection is made within 4 seconds and the
  endpoint answers with a 2xx or 3xx status within 2 seconds after that (both
  scaled, with a floor so a probe stays meaningful on a busy laptop); the
``_STR_MATCH`` types also need ``SearchString`` in the first 5,120 bytes of the
  body; TCP: the connection within 4 seconds is enough. HTTPS is not verified
  (Route 53 does not validate certificates) and sends SNI only with ``EnableSNI``;
* the endpoint is ``IPAddress`` or else ``FullyQualifiedDomainName`` resolved
  through the local cloud's DNS; the ``Host`` header is the FQDN (with
  ``:Port`` for non-default ports) or the IP address;
* each checker changes its view only after ``FailureThreshold`` consecutive
  observations to the contrary, in both directions; a new check starts healthy;
* the check is healthy while **more than 18%** of its checkers report healthy;
  ``Disabled`` means healthy, ``Inverted`` flips the result (so Disabled plus
  Inverted is the documented way to force a check unhealthy); a CALCULATED
  check is healthy when at least ``HealthThreshold`` children are.

The rules live in small pure functions and classes that the tests exercise
directly (``CheckerState`` and ``aggregate`` in ``awsfacts.route53``,
``judge_http``, ``probe``); ``HealthChecker`` only schedules probes on a small
thread pool and keeps state.

Overrides (control plane): route53 ``GetHealthCheckStatus`` (the per-checker
observations) and ``GetHealthCheckLastFailureReason`` (each checker's last
failure). The ``HealthCheckStatus`` (1/0) and ``HealthCheckPercentageHealthy``
metrics are put into moto's CloudWatch in us-east-1 (namespace AWS/Route53,
dimension HealthCheckId) once per interval, as Route 53 publishes them.
"""

from __future__ import annotations

import dataclasses
import datetime
import heapq
import http.client
import itertools
import logging
import socket
import ssl
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from awsfacts.route53 import (CHECKER_REGIONS, CONNECT_TIMEOUT_S, DEFAULT_FAILURE_THRESHOLD, DEFAULT_REQUEST_INTERVAL_S,
                             RESPONSE_TIMEOUT_S, SEARCH_LIMIT, CheckerState, Observation, aggregate, default_port)
from localcloud.component import Component
from localcloud.controlplane import AwsError, Call, Raw
from localcloud.dns import Dns

log = logging.getLogger(__name__)

MIN_TIMEOUT_S = 1.0  # real-seconds floor for both when time_scale shrinks them
SYNC_PERIOD_S = 0.2  # how often (real seconds) new, changed and deleted checks are picked up
PROBE_WORKERS = 6
HTTP_TYPES = {"HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH"}
PROBED_TYPES = HTTP_TYPES | {"TCP"}
USER_AGENT = "Amazon-Route53-Health-Check-Service (ref {ref}; report http://amzn.to/1vsZADi)"
FIREWALL_HINT = ("The endpoint or the internet connection is down, or requests are being blocked by your firewall. "
                 "See https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-router-firewall-rules.html")


# ------------------------------------------------------------- pure rules
# Observation, CheckerState and aggregate are in awsfacts.route53 (the helpers replay them too).

def judge_http(status: int, reason: str, body: bytes | None = None, search_string: str | None = None) -> tuple[bool, str]:
    """(ok, StatusReport text) for an HTTP answer: 2xx/3xx, and SearchString in the first 5,120 bytes."""
    text = f"HTTP Status Code {status}, {reason}".rstrip(", ")
    if not 200 <= status < 400:
        return False, f"Failure: {text}"
    if search_string is not None:
        if search_string.encode() not in (body or b"")[:SEARCH_LIMIT]:
            return False, f"Failure: Search string not found in the first {SEARCH_LIMIT} bytes of the response body. {text}"
    return True, f"Success: {text}"


@dataclass(frozen=True)
class Target:
    """Where and how to probe (from a HealthCheckConfig)."""

    type: str
    address: str
    port: int
    host_header: str
    path: str = "/"
    search_string: str | None = None
    sni: str | None = None  # server name sent in the TLS client hello


def _client_tls() -> ssl.SSLContext:
    """The checkers' TLS settings: Route 53 does not validate the certificate. One context serves every probe
    (it holds no per-connection state; making one per probe took about 0.5 ms of CPU, a quarter of the
    checker's side of a probe)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


_CLIENT_TLS = _client_tls()


def probe(target: Target, connect_timeout: float, response_timeout: float,
          clock: Callable[[], datetime.datetime] | None = None) -> Observation:
    """Probe ``target`` once as a Route 53 checker would, and say what it saw."""
    now = clock or (lambda: datetime.datetime.now(datetime.timezone.utc))
    try:
        sock = socket.create_connection((target.address, target.port), timeout=connect_timeout)
    except (socket.timeout, TimeoutError):
        return Observation(False, f"Failure: Connection timed out. {FIREWALL_HINT}", now())
    except ConnectionRefusedError:
        return Observation(False, f"Failure: Connection refused. {FIREWALL_HINT}", now())
    except OSError as error:
        return Observation(False, f"Failure: Could not connect to {target.address}:{target.port}: {error.strerror or error}", now())
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if target.type == "TCP":
            return Observation(True, "Success: TCP connection established", now())
        sock.settimeout(response_timeout)
        if target.type.startswith("HTTPS"):
            sock = _CLIENT_TLS.wrap_socket(sock, server_hostname=target.sni)
        request = (
            f"GET {target.path or '/'} HTTP/1.1\r\nHost: {target.host_header}\r\n"
            f"User-Agent: {USER_AGENT.format(ref=uuid.uuid4())}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(request.encode())
        response = http.client.HTTPResponse(sock, method="GET")
        response.begin()
        body = response.read(SEARCH_LIMIT) if target.search_string is not None else None
        ok, text = judge_http(response.status, response.reason, body, target.search_string)
        return Observation(ok, text, now())
    except (socket.timeout, TimeoutError):
        return Observation(False, "Failure: The endpoint did not respond with a status code within the timeout "
                                  f"({RESPONSE_TIMEOUT_S:g} seconds on AWS).", now())
    except ssl.SSLError as error:
        return Observation(False, f"Failure: TLS handshake failed ({error.reason or error}).", now())
    except (http.client.HTTPException, OSError) as error:
        return Observation(False, f"Failure: The endpoint closed the connection or sent an invalid response ({type(error).__name__}).", now())
    finally:
        sock.close()


def target_of(config: Any, resolve: Callable[[str], str]) -> Target:
    """The probe target of a moto HealthCheck (IPAddress, else FQDN resolved with ``resolve``)."""
    type_ = config.type_
    fqdn = (config.fqdn or "").rstrip(".") or None
    address = config.ip_address or (resolve(fqdn) if fqdn else None)
    if not address:
        raise LookupError("the health check has neither IPAddress nor FullyQualifiedDomainName")
    port = int(config.port or default_port(type_))
    host = fqdn or config.ip_address
    host_header = host if port == default_port(type_) else f"{host}:{port}"
    search = config.search_string if type_.endswith("STR_MATCH") else None
    sni = fqdn if (config.enable_sni and type_.startswith("HTTPS")) else None
    return Target(type_, address, port, host_header, config.resource_path or "/", search, sni)


# ---------------------------------------------------------------- component
@dataclass
class _Check:
    """Runtime state of one health check."""

    id: str
    checkers: dict[str, CheckerState] = field(default_factory=dict)
    scheduled: set[str] = field(default_factory=set)  # checker regions with a place in the queue
    in_flight: set[str] = field(default_factory=set)


class HealthChecker(Component):
    """Probes every Route 53 health check and answers for their status."""

    name = "healthchecker"

    def __init__(self, cloud: Any, *, dns: Dns):
        super().__init__(cloud)
        self._lock = threading.RLock()
        self._checks: dict[str, _Check] = {}
        self._queue: list[tuple[float, int, str, str]] = []  # (due, seq, check id, checker region or "")
        self._seq = itertools.count()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._cloudwatch: Any = None
        self._dns = dns
        dns.use_health(self)  # the one cycle: the DNS routes on these verdicts, probes resolve through it
        cloud.controlplane.register("route53", "CreateHealthCheck", self._create_health_check)
        cloud.controlplane.register("route53", "GetHealthCheckStatus", self._get_health_check_status)
        cloud.controlplane.register("route53", "GetHealthCheckLastFailureReason", self._get_last_failure_reason)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._stopping.clear()
        self._pool = ThreadPoolExecutor(max_workers=PROBE_WORKERS, thread_name_prefix="healthcheck")
        self._thread = threading.Thread(target=self._run, name="healthchecker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def status(self) -> dict[str, Any]:
        return {"health_checker_regions": list(CHECKER_REGIONS)}

    # ------------------------------------------------------- public interface
    def is_healthy(self, health_check_id: str) -> bool:
        """The status Route 53 routes on (after Disabled and Inverted); unknown checks count as healthy."""
        return self._is_healthy(health_check_id, depth=0)

    def observations(self, health_check_id: str) -> list[dict[str, Any]]:
        """The latest observation of each checker region that has probed the check (GetHealthCheckStatus shape)."""
        return self._reports(health_check_id, lambda state: state.last)

    def last_failures(self, health_check_id: str) -> list[dict[str, Any]]:
        """Each checker region's most recent failure (GetHealthCheckLastFailureReason shape)."""
        return self._reports(health_check_id, lambda state: state.last_failure)

    @property
    def connect_timeout(self) -> float:
        return max(self.cloud.scaled(CONNECT_TIMEOUT_S), MIN_TIMEOUT_S)

    @property
    def response_timeout(self) -> float:
        return max(self.cloud.scaled(RESPONSE_TIMEOUT_S), MIN_TIMEOUT_S)

    # -------------------------------------------------------------- internals
    def _route53(self) -> Any:
        return self.cloud.route53()

    def _config(self, health_check_id: str) -> Any | None:
        return self._route53().health_checks.get(health_check_id)

    def _checker_regions(self, config: Any) -> list[str]:
        return list(config.regions) if config.regions else list(CHECKER_REGIONS)

    def _is_healthy(self, health_check_id: str, depth: int) -> bool:
        config = self._config(health_check_id)
        if config is None:
            return True
        if config.disabled:
            return aggregate([], inverted=bool(config.inverted), disabled=True)
        if config.type_ == "CALCULATED":
            children = list(config.children or []) if depth < 5 else []
            healthy_children = sum(self._is_healthy(child, depth + 1) for child in children)
            healthy = healthy_children >= int(config.health_threshold or 0)
            return not healthy if config.inverted else healthy
        if config.type_ not in PROBED_TYPES:  # CLOUDWATCH_METRIC, RECOVERY_CONTROL: not simulated
            return aggregate([], inverted=bool(config.inverted))
        with self._lock:
            check = self._checks.get(health_check_id)
            states = check.checkers if check else {}
            # a checker that has not probed yet holds the initial view: healthy
            views = [states[r].healthy if r in states else True for r in self._checker_regions(config)]
        return aggregate(views, inverted=bool(config.inverted))

    def _reports(self, health_check_id: str, pick: Callable[[CheckerState], Observation | None]) -> list[dict[str, Any]]:
        with self._lock:
            check = self._checks.get(health_check_id)
            states = dict(check.checkers) if check else {}
        reports = []
        for region, state in sorted(states.items()):
            observation = pick(state)
            if observation is not None:
                reports.append({
                    "Region": region,
                    "IPAddress": CHECKER_REGIONS.get(region, "127.0.0.1"),
                    "StatusReport": {"Status": observation.status, "CheckedTime": observation.checked_time},
                })
        return reports

    def _sync(self) -> None:
        """Pick up new health checks and checker regions (scheduled, staggered); forget deleted checks."""
        configs = dict(list(self._route53().health_checks.items()))
        now = time.monotonic()
        with self._lock:
            for gone in set(self._checks) - set(configs):
                del self._checks[gone]
            for check_id, config in configs.items():
                check = self._checks.get(check_id)
                if check is None:
                    check = self._checks[check_id] = _Check(check_id)
                    self._push(now, check_id, "")  # metrics: now (a new check is healthy), then once per interval
                regions = self._checker_regions(config)
                missing = [r for r in regions if r not in check.scheduled]
                if not missing:
                    continue
                interval = self.cloud.scaled(config.request_interval or DEFAULT_REQUEST_INTERVAL_S)
                for region in missing:
                    # staggered: the checkers spread over one interval, the first one right away
                    self._push(now + interval * regions.index(region) / len(regions), check_id, region)
                    check.scheduled.add(region)

    def _push(self, due: float, check_id: str, region: str) -> None:
        with self._lock:
            heapq.heappush(self._queue, (due, next(self._seq), check_id, region))
        self._wake.set()

    def _run(self) -> None:
        next_sync = 0.0
        while not self._stopping.is_set():
            now = time.monotonic()
            if now >= next_sync:
                try:
                    self._sync()
                except Exception:
                    log.exception("reading health checks failed")
                next_sync = now + SYNC_PERIOD_S
            due_items = []
            with self._lock:
                while self._queue and self._queue[0][0] <= now:
                    due_items.append(heapq.heappop(self._queue))
                wait = min(next_sync, self._queue[0][0] if self._queue else next_sync) - now
            for _, _, check_id, region in due_items:
                try:
                    self._due(check_id, region, now)
                except Exception:
                    log.exception("health check %s (%s) failed", check_id, region or "metrics")
            self._wake.clear()
            self._wake.wait(max(0.0, wait))

    def _due(self, check_id: str, region: str, now: float) -> None:
        config = self._config(check_id)
        with self._lock:
            check = self._checks.get(check_id)
        if config is None or check is None:
            return  # deleted: drop its schedule
        interval = self.cloud.scaled(config.request_interval or DEFAULT_REQUEST_INTERVAL_S)
        if region == "":
            self._push(now + interval, check_id, region)
            self._publish_metrics(check_id, config)
            return
        if region not in self._checker_regions(config):
            with self._lock:
                check.scheduled.discard(region)
                check.checkers.pop(region, None)
            return  # no longer one of the check's regions: leave the schedule
        self._push(now + interval, check_id, region)
        if config.disabled or config.type_ not in PROBED_TYPES:
            return  # Route 53 stops probing a disabled check
        with self._lock:
            if region in check.in_flight:
                return  # the previous probe of this checker is still running
            check.in_flight.add(region)
        assert self._pool is not None
        self._pool.submit(self._probe, check, region, config)

    def _probe(self, check: _Check, region: str, config: Any) -> None:
        try:
            try:
                target = self._to_gateway_port(target_of(config, self._resolve))
            except Exception as error:
                observation = Observation(False, f"Failure: Could not resolve {config.fqdn}: {error}",
                                          datetime.datetime.now(datetime.timezone.utc))
            else:
                observation = probe(target, self.connect_timeout, self.response_timeout)
            with self._lock:
                state = check.checkers.setdefault(region, CheckerState())
                state.last = observation
                if not observation.ok:
                    state.last_failure = observation
                state.observe(observation.ok, int(config.failure_threshold or DEFAULT_FAILURE_THRESHOLD))
        finally:
            with self._lock:
                check.in_flight.discard(region)

    def _to_gateway_port(self, target: Target) -> Target:
        """A probe of port 443 on a region's gateway address goes to the local cloud's API port.

        On AWS a regional API answers on 443; here every region's gateway listens on ``api_port`` (which
        needs no privileges and lets several local clouds run side by side). So for the local cloud's
        own addresses, and only there, the checker maps HTTPS's default port to ``api_port``, as a
        client does by adding ``:api_port`` to its URLs. The Host header keeps the default port's form.
        """
        if target.port == default_port("HTTPS") and self.cloud.regions.region_of(target.address) is not None:
            return dataclasses.replace(target, port=self.cloud.settings.api_port)
        return target

    def _create_health_check(self, call: Call) -> dict[str, Any]:
        """CreateHealthCheck, storing the type's default port when ``Port`` is omitted (moto stores 80 for all)."""
        status, headers, body = call.forward()
        if status >= 400:
            return Raw(status, headers, body)
        config = call.params["HealthCheckConfig"]
        check = next(hc for hc in self.cloud.route53().health_checks.values()
                     if hc.caller_reference == call.params["CallerReference"])
        if config.get("Port") is None and config["Type"].startswith("HTTP"):  # HTTP(S)[_STR_MATCH]; TCP needs a Port
            check.port = default_port(config["Type"])
        return {"HealthCheck": check}

    def _resolve(self, name: str) -> str:
        """The endpoint's address, through the local cloud's DNS (as a checker's resolver would)."""
        answers = self._dns.resolve(name, "A")
        for rdtype, value, _ttl in answers:
            if rdtype == "A":
                return value
        raise LookupError(f"no A record for {name}")

    def _publish_metrics(self, check_id: str, config: Any) -> None:
        healthy = self.is_healthy(check_id)
        with self._lock:
            check = self._checks.get(check_id)
            views = [s.healthy for s in check.checkers.values()] if check else []
        percentage = 100.0 * sum(views) / len(views) if views else 100.0
        if self._cloudwatch is None:
            self._cloudwatch = self.cloud.backend("cloudwatch", "us-east-1")
        dimensions = [{"Name": "HealthCheckId", "Value": check_id}]
        self._cloudwatch.put_metric_data("AWS/Route53", [
            {"MetricName": "HealthCheckStatus", "Value": 1.0 if healthy else 0.0, "Dimensions": dimensions, "Unit": "None"},
            {"MetricName": "HealthCheckPercentageHealthy", "Value": percentage, "Dimensions": dimensions, "Unit": "Percent"},
        ])

    # ------------------------------------------------------------- overrides
    def _require(self, call: Call) -> str:
        health_check_id = call.params["HealthCheckId"]
        if self._config(health_check_id) is None:
            raise AwsError("NoSuchHealthCheck", f"No health check exists with the specified ID {health_check_id}.", 404)
        return health_check_id

    def _get_health_check_status(self, call: Call) -> dict[str, Any]:
        health_check_id = self._require(call)
        self._sync()
        return {"HealthCheckObservations": self.observations(health_check_id)}

    def _get_last_failure_reason(self, call: Call) -> dict[str, Any]:
        return {"HealthCheckObservations": self.last_failures(self._require(call))}
