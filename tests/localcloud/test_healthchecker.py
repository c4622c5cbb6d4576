"""Route 53 health checks that really probe (localcloud.healthchecker)."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from conftest import eventually, in_process_cloud
from awsfacts.route53 import CheckerState, aggregate
from localcloud.healthchecker import HealthChecker, Target, judge_http, probe
from localcloud.regions import RegionRegistry

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


# ------------------------------------------------------------ pure rules
def test_a_checker_turns_unhealthy_only_after_failure_threshold_consecutive_failures():
    state = CheckerState()
    assert state.healthy, "a new health check starts healthy"
    assert state.observe(False, 3) and state.observe(False, 3)
    assert state.observe(True, 3), "a success in between resets the count"
    assert state.observe(False, 3) and state.observe(False, 3)
    assert not state.observe(False, 3)


def test_a_checker_turns_healthy_again_only_after_failure_threshold_consecutive_successes():
    state = CheckerState(healthy=False)
    assert not state.observe(True, 2)
    assert not state.observe(False, 2)
    assert not state.observe(True, 2)
    assert state.observe(True, 2)


def test_threshold_one_follows_every_observation():
    state = CheckerState()
    assert [state.observe(ok, 1) for ok in (False, True, False)] == [False, True, False]


def test_aggregate_is_healthy_while_more_than_18_percent_of_checkers_say_healthy():
    assert aggregate([True, True] + [False] * 6)  # 25%
    assert not aggregate([True] + [False] * 7)  # 12.5%
    assert aggregate([True, False, False])  # 33% with three checker regions
    assert not aggregate([False, False, False])
    assert not aggregate([True] + [False] * 10)  # 9%, and exactly 18% is not "more than"
    assert not aggregate([True] * 9 + [False] * 41)  # 18%


def test_a_new_check_without_observations_is_healthy():
    assert aggregate([])


def test_inverted_flips_the_status():
    assert not aggregate([True] * 8, inverted=True)
    assert aggregate([False] * 8, inverted=True)


def test_disabled_is_healthy_whatever_the_checkers_see_and_inverted_then_forces_unhealthy():
    assert aggregate([False] * 8, disabled=True)
    assert not aggregate([True] * 8, disabled=True, inverted=True)


@pytest.mark.parametrize("status,ok", [(200, True), (204, True), (301, True), (399, True),
                                       (199, False), (404, False), (500, False), (503, False)])
def test_only_2xx_and_3xx_statuses_are_healthy(status, ok):
    healthy, text = judge_http(status, "Reason")
    assert healthy is ok
    assert text.startswith("Success: HTTP Status Code" if ok else "Failure: HTTP Status Code")


def test_status_reports_read_like_route53():
    assert judge_http(200, "OK") == (True, "Success: HTTP Status Code 200, OK")
    assert judge_http(404, "Not Found") == (False, "Failure: HTTP Status Code 404, Not Found")


def test_search_string_must_be_in_the_first_5120_bytes():
    assert judge_http(200, "OK", b"x" * 5000 + b"healthy", "healthy")[0]
    assert not judge_http(200, "OK", b"x" * 5120 + b"healthy", "healthy")[0]
    assert not judge_http(500, "Internal Server Error", b"healthy", "healthy")[0]


# ----------------------------------------------- real probes, tiny servers
class Endpoint:
    """A tiny HTTP server whose answer the test controls (status, body, delay)."""

    def __init__(self, host: str = "127.0.0.1", status: int = 200, body: bytes = b'{"status": "healthy"}'):
        self.status, self.body, self.delay = status, body, 0.0
        self.requests: list[dict[str, str]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                endpoint.requests.append({"path": self.path, **dict(self.headers)})
                time.sleep(endpoint.delay)
                self.send_response(endpoint.status)
                self.send_header("Content-Length", str(len(endpoint.body)))
                self.end_headers()
                self.wfile.write(endpoint.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.host, self.port = host, self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    server = Endpoint()
    yield server
    server.close()


def _target(server: Endpoint, type_: str = "HTTP", search: str | None = None) -> Target:
    return Target(type_, server.host, server.port, f"{server.host}:{server.port}", "/dev/health", search)


def test_probe_reports_the_status_code(endpoint):
    assert probe(_target(endpoint), 1, 1).status == "Success: HTTP Status Code 200, OK"
    endpoint.status = 404
    observation = probe(_target(endpoint), 1, 1)
    assert not observation.ok and observation.status == "Failure: HTTP Status Code 404, Not Found"
    assert endpoint.requests[-1]["path"] == "/dev/health"
    assert endpoint.requests[-1]["User-Agent"].startswith("Amazon-Route53-Health-Check-Service")


def test_probe_matches_the_search_string(endpoint):
    assert probe(_target(endpoint, "HTTP_STR_MATCH", "healthy"), 1, 1).ok
    assert not probe(_target(endpoint, "HTTP_STR_MATCH", "unhealthy"), 1, 1).ok


def test_probe_fails_when_the_status_comes_after_the_response_timeout(endpoint):
    endpoint.delay = 0.6
    observation = probe(_target(endpoint), 1, 0.2)
    assert not observation.ok and "timeout" in observation.status


def test_probe_fails_when_nothing_listens():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    observation = probe(Target("HTTP", "127.0.0.1", port, "x", "/"), 1, 1)
    assert not observation.ok and "Connection refused" in observation.status


def test_tcp_probe_needs_only_the_connection(endpoint):
    endpoint.status = 500
    assert probe(Target("TCP", endpoint.host, endpoint.port, "x"), 1, 1).ok


def test_https_probe_ignores_the_certificate_and_sends_sni_only_when_asked(tmp_path):
    from localcloud.certificates import LocalCA

    leaf = LocalCA(tmp_path).issue(["other-name.test"])
    (tmp_path / "leaf.pem").write_bytes(leaf.key_pem + leaf.cert_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "leaf.pem")
    seen: list[str | None] = []
    context.sni_callback = lambda sslobj, name, ctx: seen.append(name)
    server = Endpoint()
    server.server.socket = context.wrap_socket(server.server.socket, server_side=True)
    try:
        assert probe(Target("HTTPS", server.host, server.port, "api.example.test", "/"), 1, 1).ok
        assert probe(Target("HTTPS", server.host, server.port, "api.example.test", "/", sni="api.example.test"), 1, 1).ok
    finally:
        server.close()
    assert seen == [None, "api.example.test"]


# ------------------------------------------- the component, in process
class FakeDns:
    """Stands in for the DNS component: every name resolves to one address."""

    name = "dns"

    def __init__(self, address: str):
        self.address = address

    def resolve(self, name, rdtype="A", client_ip=None):
        return [("A", self.address, 60)]

    def use_health(self, health):
        self.health = health

    def start(self):
        pass

    def stop(self):
        pass

    def status(self):
        return {}


@pytest.fixture
def cloud(tmp_path):
    with in_process_cloud(tmp_path, lambda cloud: FakeDns("127.0.0.1"), HealthChecker,
                          time_scale=0.02) as local:
        yield local


def _route53(endpoint_url: str):
    return boto3.client("route53", region_name="us-east-1", endpoint_url=endpoint_url, **CREDENTIALS)


def _wait(predicate, timeout=15.0, what="condition"):
    if not eventually(predicate, timeout):
        raise AssertionError(f"timed out waiting for {what}")


def _create_check(route53, endpoint: Endpoint, **config) -> str:
    base = {"Type": "HTTP", "FullyQualifiedDomainName": "api.example.test", "Port": endpoint.port,
            "ResourcePath": "/dev/health", "RequestInterval": 10, "FailureThreshold": 1}
    return route53.create_health_check(CallerReference=str(time.time_ns()),
                                       HealthCheckConfig={**base, **config})["HealthCheck"]["Id"]


def test_component_follows_the_endpoint_down_and_up_and_publishes_the_metric(cloud, endpoint):
    checker = cloud.get(HealthChecker)
    route53 = _route53(cloud.controlplane.endpoint)
    check_id = _create_check(route53, endpoint, FailureThreshold=2)
    assert checker.is_healthy(check_id), "a new check starts healthy"
    _wait(lambda: len(checker.observations(check_id)) == 8, what="all 8 checkers to observe")
    assert all(o["StatusReport"]["Status"].startswith("Success") for o in checker.observations(check_id))
    assert endpoint.requests[-1]["Host"] == f"api.example.test:{endpoint.port}"

    endpoint.status = 503
    _wait(lambda: not checker.is_healthy(check_id), what="the check to turn unhealthy")
    failures = route53.get_health_check_last_failure_reason(HealthCheckId=check_id)["HealthCheckObservations"]
    assert failures and "503" in failures[0]["StatusReport"]["Status"]

    endpoint.status = 200
    _wait(lambda: checker.is_healthy(check_id), what="the check to turn healthy again")

    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1", endpoint_url=cloud.controlplane.endpoint, **CREDENTIALS)
    _wait(lambda: cloudwatch.list_metrics(Namespace="AWS/Route53", MetricName="HealthCheckStatus",
                                          Dimensions=[{"Name": "HealthCheckId", "Value": check_id}])["Metrics"],
          what="the HealthCheckStatus metric")


def test_component_applies_inverted_and_disabled_from_update_health_check(cloud, endpoint):
    checker = cloud.get(HealthChecker)
    route53 = _route53(cloud.controlplane.endpoint)
    check_id = _create_check(route53, endpoint)
    _wait(lambda: len(checker.observations(check_id)) == 8, what="all 8 checkers to observe")
    route53.update_health_check(HealthCheckId=check_id, Inverted=True)
    assert not checker.is_healthy(check_id)
    route53.update_health_check(HealthCheckId=check_id, Inverted=False)
    endpoint.status = 500
    _wait(lambda: not checker.is_healthy(check_id), what="the failing endpoint to make the check unhealthy")
    route53.update_health_check(HealthCheckId=check_id, Disabled=True)
    # a disabled check is healthy, whatever its checkers last saw (the change is picked up within 0.2 s)
    _wait(lambda: checker.is_healthy(check_id), what="the disabled check to count as healthy")
    failures = [o for o in checker.observations(check_id) if o["StatusReport"]["Status"].startswith("Failure")]
    assert len(failures) >= 7, "the checkers' last word was failure (all but at most 18% of 8)"


def test_component_uses_the_check_regions_and_forgets_deleted_checks(cloud, endpoint):
    checker = cloud.get(HealthChecker)
    route53 = _route53(cloud.controlplane.endpoint)
    regions = ["us-east-1", "eu-west-1", "ap-southeast-2"]
    check_id = _create_check(route53, endpoint, Regions=regions)
    _wait(lambda: len(checker.observations(check_id)) == 3, what="the three checker regions to observe")
    assert [o["Region"] for o in checker.observations(check_id)] == sorted(regions)
    route53.delete_health_check(HealthCheckId=check_id)
    _wait(lambda: not checker.observations(check_id), what="the deleted check to be forgotten")


# ------------------------------------- the session's local cloud, AWS CLI
@pytest.fixture
def three_region_endpoints():
    """One tiny health endpoint per region, each on its region's loopback address (as the gateways are)."""
    registry = RegionRegistry()
    servers = {region: Endpoint(host=registry.address(region)) for region in ("eu-west-1", "eu-central-1", "us-east-1")}
    yield servers
    for server in servers.values():
        server.close()


def test_get_health_check_status_reports_real_observations_for_three_regions(localcloud_status, aws_env, unique, three_region_endpoints):
    route53 = _route53(localcloud_status["aws_endpoint"])
    checks = {}
    for region, server in three_region_endpoints.items():
        checks[region] = route53.create_health_check(
            CallerReference=f"{unique}-{region}",
            HealthCheckConfig={"Type": "HTTP", "IPAddress": server.host, "Port": server.port,
                               "ResourcePath": "/dev/health", "RequestInterval": 10, "FailureThreshold": 1,
                               "Regions": ["us-east-1", "us-west-2", "eu-west-1"]},
        )["HealthCheck"]["Id"]
    three_region_endpoints["eu-west-1"].status = 404

    def statuses(check_id):
        result = subprocess.run(["aws", "route53", "get-health-check-status", "--health-check-id", check_id],
                                env=aws_env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return [o["StatusReport"]["Status"] for o in json.loads(result.stdout)["HealthCheckObservations"]]

    def settled():
        return all(len(route53.get_health_check_status(HealthCheckId=check_id)["HealthCheckObservations"]) == 3
                   for check_id in checks.values())

    _wait(settled, timeout=30, what="three observations per health check")
    assert all(s == "Failure: HTTP Status Code 404, Not Found" for s in statuses(checks["eu-west-1"]))
    for region in ("eu-central-1", "us-east-1"):
        assert all(s == "Success: HTTP Status Code 200, OK" for s in statuses(checks[region]))
    observations = route53.get_health_check_status(HealthCheckId=checks["us-east-1"])["HealthCheckObservations"]
    assert {o["Region"] for o in observations} == {"us-east-1", "us-west-2", "eu-west-1"}
    for check_id in checks.values():
        route53.delete_health_check(HealthCheckId=check_id)


def test_get_health_check_status_of_an_unknown_check_is_no_such_health_check(localcloud_status):
    route53 = _route53(localcloud_status["aws_endpoint"])
    with pytest.raises(route53.exceptions.NoSuchHealthCheck):
        route53.get_health_check_status(HealthCheckId="00000000-0000-0000-0000-000000000000")
