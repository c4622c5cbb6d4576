"""The local cloud's API Gateway data plane: routing, proxy events, error mapping, outages.

An in-process local cloud with the real gateway, a small fake Lambda runtime
(handlers are Python callables here) and a throwaway TLS certificate, so each
answer of the gateway can be provoked on purpose. APIs are created through
boto3 against the control plane, requests are sent over HTTPS.
"""

from __future__ import annotations

import datetime
import http.client
import json
import re
import socket
import ssl
import time
from pathlib import Path

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import in_process_cloud
from localcloud.gateway import server as gateway_server
from localcloud.component import Component
from localcloud.gateway import Gateway, hosted_zone_id_for
from localcloud.lambda_runtime import FunctionNotFound, InvokeResult, PermissionDenied, TooManyRequests

REGION = "eu-west-1"
OTHER_REGION = "eu-central-1"
ACCOUNT = "123456789012"


# ------------------------------------------------------------------ fakes
def _echo(event):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}


HANDLERS = {
    "echo": lambda e: InvokeResult(payload=json.dumps(_echo(e)).encode()),
    "crash": lambda e: InvokeResult(payload=b'{"errorMessage": "boom", "errorType": "Exception"}', function_error="Unhandled"),
    "malformed": lambda e: InvokeResult(payload=json.dumps({"statusCode": 200, "body": {"not": "a string"}}).encode()),
    "slow": lambda e: InvokeResult(payload=b'{"errorMessage": "Task timed out after 3.00 seconds"}',
                                   function_error="Unhandled", timed_out=True),
    "forbidden": lambda e: InvokeResult(payload=json.dumps(_echo(e)).encode()),
    "sleep": lambda e: time.sleep(0.6) or InvokeResult(payload=json.dumps(_echo(e)).encode()),
    "injected": lambda e: InvokeResult(payload=json.dumps({
        "statusCode": 200, "headers": {"X-Note": "a\r\nSet-Cookie: stolen=1"}, "body": "x"}).encode()),
    "multi": lambda e: InvokeResult(payload=json.dumps({
        "statusCode": 201, "headers": {"X-One": "1"}, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": "created"}).encode()),
}


class FakeLambda(Component):
    """A Lambda runtime whose functions are the Python callables in HANDLERS."""

    name = "lambda_runtime"

    def __init__(self, cloud):
        super().__init__(cloud)
        self.calls: list[tuple[str, str, dict]] = []
        self.permission_checks: list[tuple[str, str, tuple]] = []

    def invoke(self, region, function, payload, request_id=None, caller=None):
        """Every function lets API Gateway invoke it, except one called "forbidden"."""
        name = function.rsplit(":", 1)[-1]
        service, source_arns = caller
        self.permission_checks.append((function, service, tuple(source_arns)))
        if name == "forbidden":
            raise PermissionDenied(f"{service} may not invoke {function}")
        self.calls.append((region, function, json.loads(payload)))
        if name == "throttled":
            raise TooManyRequests("Rate Exceeded.", "ReservedFunctionConcurrentInvocationLimitExceeded")
        if name not in HANDLERS:
            raise FunctionNotFound(function)
        return HANDLERS[name](json.loads(payload))


class FakeCertificates(Component):
    """One self-signed certificate for every name (clients in these tests do not verify it)."""

    name = "certificates"

    def start(self):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gateway test")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
        self.path = Path(self.cloud.settings.state_dir) / "test-cert.pem"
        self.path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()) + cert.public_bytes(serialization.Encoding.PEM))

    def server_context(self, region=None):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.path)
        return context

    def refresh_region(self, region):
        """Nothing to validate: the tests import their certificates (ISSUED at once)."""


def _issued_certificate(cloud, region, domain):
    """An ACM certificate of ``region`` for ``domain``, imported (so ISSUED), as CreateDomainName requires."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
            .sign(key, hashes.SHA256()))
    return _client(cloud, "acm", region).import_certificate(
        Certificate=cert.public_bytes(serialization.Encoding.PEM),
        PrivateKey=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))["CertificateArn"]


# --------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    with in_process_cloud(tmp_path_factory.mktemp("gateway"), FakeCertificates, FakeLambda, Gateway) as cloud:
        yield cloud


def _client(cloud, service, region=REGION):
    return boto3.client(service, region_name=region, endpoint_url=cloud.controlplane.endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _uri(region, name):
    arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"


def make_api(cloud, region=REGION, stage="test", routes=None):
    """A REST API with AWS_PROXY routes {path: (method, function)}, deployed to ``stage``."""
    apigw = _client(cloud, "apigateway", region)
    api_id = apigw.create_rest_api(name="gateway-test", endpointConfiguration={"types": ["REGIONAL"]})["id"]
    ids = {"/": next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")}
    routes = routes or {
        "/echo": ("ANY", "echo"), "/echo/{id}": ("GET", "echo"), "/files/{proxy+}": ("GET", "echo"),
        "/echo/fixed": ("GET", "echo"), "/crash": ("GET", "crash"), "/malformed": ("GET", "malformed"),
        "/slow": ("GET", "slow"), "/throttled": ("GET", "throttled"), "/multi": ("POST", "multi"),
        "/missing": ("GET", "nosuchfunction"), "/forbidden/{id}": ("GET", "forbidden"),
        "/injected": ("GET", "injected"),
    }
    def resource_id(path):
        if path not in ids:
            parent, _, part = path.rpartition("/")
            ids[path] = apigw.create_resource(restApiId=api_id, parentId=resource_id(parent or "/"), pathPart=part)["id"]
        return ids[path]

    for path in routes:
        resource_id(path)
        method, function = routes[path]
        apigw.put_method(restApiId=api_id, resourceId=ids[path], httpMethod=method, authorizationType="NONE")
        apigw.put_integration(restApiId=api_id, resourceId=ids[path], httpMethod=method, type="AWS_PROXY",
                              integrationHttpMethod="POST", uri=_uri(region, function))
    apigw.create_deployment(restApiId=api_id, stageName=stage)
    return api_id


@pytest.fixture(scope="module")
def api(cloud):
    return make_api(cloud)


def _connect(cloud, region=REGION):
    context = ssl._create_unverified_context()
    return http.client.HTTPSConnection(cloud.regions.address(region), cloud.settings.api_port, context=context, timeout=5)


def request(cloud, host, method, path, body=None, headers=None, region=REGION, conn=None):
    own = conn is None
    conn = conn or _connect(cloud, region)
    conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
    response = conn.getresponse()
    data = response.read()
    if own:
        conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def api_host(api_id, region=REGION):
    return f"{api_id}.execute-api.{region}.amazonaws.com"


# ------------------------------------------------------------------ tests
def test_proxy_event_has_the_payload_1_0_shape(cloud, api):
    status, headers, body = request(cloud, api_host(api), "GET", "/test/echo/abc?a=1&a=2&b=x",
                                    headers={"X-Custom": "yes"})
    assert status == 200
    event = json.loads(body)
    assert set(event) == {"resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
                          "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext",
                          "body", "isBase64Encoded"}
    assert event["resource"] == "/echo/{id}"
    assert event["path"] == "/echo/abc"
    assert event["httpMethod"] == "GET"
    assert event["headers"]["X-Custom"] == "yes"
    assert event["multiValueHeaders"]["X-Custom"] == ["yes"]
    assert event["queryStringParameters"] == {"a": "2", "b": "x"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x"]}
    assert event["pathParameters"] == {"id": "abc"}
    assert event["stageVariables"] is None
    assert event["body"] is None and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert {"accountId", "apiId", "domainName", "httpMethod", "path", "protocol", "requestId", "requestTime",
            "requestTimeEpoch", "resourceId", "resourcePath", "stage", "identity"} <= set(context)
    assert context["apiId"] == api and context["stage"] == "test" and context["path"] == "/test/echo/abc"
    assert context["resourcePath"] == "/echo/{id}" and context["domainName"] == api_host(api)
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["requestId"] == headers["x-amzn-requestid"]
    assert re.match(r"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$", context["requestTime"])
    assert headers["x-amz-apigw-id"]


def test_post_body_reaches_the_function_as_a_string(cloud, api):
    status, _, body = request(cloud, api_host(api), "POST", "/test/echo", body=b'{"k": "v"}',
                              headers={"Content-Type": "application/json"})
    assert status == 200
    event = json.loads(body)
    assert event["body"] == '{"k": "v"}' and event["httpMethod"] == "POST" and event["pathParameters"] is None


def test_literal_resource_wins_over_path_parameter_and_proxy_takes_the_rest(cloud, api):
    _, _, body = request(cloud, api_host(api), "GET", "/test/echo/fixed")
    assert json.loads(body)["resource"] == "/echo/fixed"
    _, _, body = request(cloud, api_host(api), "GET", "/test/files/a/b/c.txt")
    event = json.loads(body)
    assert event["resource"] == "/files/{proxy+}" and event["pathParameters"] == {"proxy": "a/b/c.txt"}


def test_function_response_becomes_status_headers_and_body(cloud, api):
    status, headers, body = request(cloud, api_host(api), "POST", "/test/multi", body=b"")
    assert (status, body) == (201, b"created")
    assert headers["x-one"] == "1"


@pytest.mark.parametrize("path, status, message", [
    ("/test/crash", 502, "Internal server error"),  # the handler raised
    ("/test/malformed", 502, "Internal server error"),  # not a proxy response
    ("/test/slow", 504, "Endpoint request timed out"),  # the function timed out
    # API Gateway does not forward Lambda's 429 through a proxy integration: INTEGRATION_FAILURE, 500.
    ("/test/throttled", 500, "Internal server error"),
    ("/test/missing", 500, "Internal server error"),  # the function does not exist
], ids=["crash-502", "malformed-502", "timeout-504", "throttled-500", "missing-function-500"])
def test_function_failures_give_api_gateways_answers(cloud, api, path, status, message):
    answered, _, body = request(cloud, api_host(api), "GET", path)
    assert (answered, json.loads(body)) == (status, {"message": message})


@pytest.mark.parametrize("method, path", [
    ("GET", "/test/nowhere"), ("GET", "/nostage/echo"), ("DELETE", "/test/echo/abc"), ("GET", "/"),
    ("GET", "/test/files"),
])
def test_unknown_route_method_or_stage_gives_403_missing_authentication_token(cloud, api, method, path):
    status, headers, body = request(cloud, api_host(api), method, path)
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


def test_api_of_another_region_is_not_served_here(cloud, api):
    status, _, _ = request(cloud, api_host(api, OTHER_REGION), "GET", "/test/echo", region=REGION)
    assert status == 403


def test_new_deployment_and_stage_are_served_at_once(cloud, api):
    apigw = _client(cloud, "apigateway")
    apigw.create_deployment(restApiId=api, stageName="fresh", variables={"color": "blue"})
    status, _, body = request(cloud, api_host(api), "GET", "/fresh/echo/x")
    assert status == 200
    assert json.loads(body)["stageVariables"] == {"color": "blue"}


def test_a_stage_serves_its_deployments_snapshot_until_the_next_deployment(cloud):
    api_id = make_api(cloud, stage="snap", routes={"/item": ("GET", "echo")})
    apigw = _client(cloud, "apigateway")
    item = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/item")
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    # Edits without a deployment: the integration points elsewhere and a new resource appears.
    apigw.put_integration(restApiId=api_id, resourceId=item, httpMethod="GET", type="AWS_PROXY",
                          integrationHttpMethod="POST", uri=_uri(REGION, "crash"))
    fresh = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="fresh")["id"]
    apigw.put_method(restApiId=api_id, resourceId=fresh, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api_id, resourceId=fresh, httpMethod="GET", type="AWS_PROXY",
                          integrationHttpMethod="POST", uri=_uri(REGION, "echo"))

    assert request(cloud, api_host(api_id), "GET", "/snap/item")[0] == 200, "still the deployed echo function"
    assert request(cloud, api_host(api_id), "GET", "/snap/fresh")[0] == 403, "not deployed yet"

    apigw.create_deployment(restApiId=api_id, stageName="snap")
    assert request(cloud, api_host(api_id), "GET", "/snap/item")[0] == 502, "now the crashing function"
    assert request(cloud, api_host(api_id), "GET", "/snap/fresh")[0] == 200


def test_a_function_without_permission_for_api_gateway_is_not_invoked_and_the_answer_is_500(cloud, api):
    fake = cloud.get(FakeLambda)
    invoked = len(fake.calls)
    status, _, body = request(cloud, api_host(api), "GET", "/test/forbidden/42")
    assert (status, json.loads(body)) == (500, {"message": "Internal server error"})
    assert len(fake.calls) == invoked, "API Gateway never invokes a function that does not allow it"
    function, service, source_arns = fake.permission_checks[-1]
    prefix = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/test/GET"
    assert function.endswith(":function:forbidden") and service == "apigateway.amazonaws.com"
    assert source_arns == (f"{prefix}/forbidden/{{id}}", f"{prefix}/forbidden/42")  # the template, the request


def test_keep_alive_serves_many_requests_on_one_connection(cloud, api):
    conn = _connect(cloud)
    request(cloud, api_host(api), "GET", "/test/echo/1", conn=conn)
    sock = conn.sock
    for i in range(5):
        status, headers, _ = request(cloud, api_host(api), "GET", f"/test/echo/{i}", conn=conn)
        assert status == 200 and headers["connection"] == "keep-alive"
    assert conn.sock is sock, "the connection was reopened between requests"
    conn.close()


def test_idle_connections_are_closed_and_a_long_request_is_not_idle(cloud, monkeypatch):
    monkeypatch.setattr(gateway_server, "IDLE_TIMEOUT_S", 0.3)
    monkeypatch.setattr(gateway_server, "IDLE_SWEEP_S", 0.05)
    api_id = make_api(cloud, stage="idle", routes={"/sleep": ("GET", "sleep")})
    conn = _connect(cloud)
    silent = _connect(cloud)
    silent.connect()  # TLS is up, and no request ever comes
    assert request(cloud, api_host(api_id), "GET", "/idle/sleep", conn=conn)[0] == 200  # 0.6 s, twice the idle limit
    for client in (conn, silent):
        client.sock.settimeout(3)  # a sweep that never comes fails the test instead of hanging it
        assert client.sock.recv(1) == b"", "the server should close an idle connection"
        client.close()


def test_custom_domain_routes_by_host_and_base_path_mapping(cloud, api):
    apigw = _client(cloud, "apigateway")
    other = make_api(cloud, stage="prod", routes={"/echo": ("ANY", "echo")})
    domain = "api.gateway-test.example"
    apigw.create_domain_name(domainName=domain, regionalCertificateArn=_issued_certificate(cloud, REGION, domain),
                             endpointConfiguration={"types": ["REGIONAL"]})
    apigw.create_base_path_mapping(domainName=domain, restApiId=api, stage="test")  # (none): the root
    apigw.create_base_path_mapping(domainName=domain, restApiId=other, stage="prod", basePath="v2")

    status, _, body = request(cloud, domain, "GET", "/echo/abc")
    event = json.loads(body)
    assert status == 200 and event["requestContext"]["apiId"] == api and event["pathParameters"] == {"id": "abc"}
    assert event["requestContext"]["domainName"] == domain and event["path"] == "/echo/abc"

    status, _, body = request(cloud, domain, "GET", "/v2/echo")
    event = json.loads(body)
    assert status == 200 and event["requestContext"]["apiId"] == other and event["requestContext"]["stage"] == "prod"
    assert event["path"] == "/v2/echo" and event["resource"] == "/echo"
    source_arns = cloud.get(FakeLambda).permission_checks[-1][2]
    assert source_arns[1].endswith(f":{other}/prod/GET/echo"), "the source ARN's path is the API's, without the base path"


def test_unknown_host_is_forbidden(cloud, api):
    status, _, body = request(cloud, "unknown.example", "GET", "/echo")
    assert (status, json.loads(body)) == (403, {"message": "Forbidden"})


def test_domain_names_report_the_regions_api_gateway_hosted_zone(cloud):
    for region, zone in ((REGION, "ZLY8HYME6SFDD"), (OTHER_REGION, "Z1U9ULNL0V5AJ3")):
        apigw = _client(cloud, "apigateway", region)
        name = f"zone-{region}.gateway-test.example"
        created = apigw.create_domain_name(domainName=name, endpointConfiguration={"types": ["REGIONAL"]},
                                           regionalCertificateArn=_issued_certificate(cloud, region, name))
        got = apigw.get_domain_name(domainName=name)
        listed = next(d for d in apigw.get_domain_names()["items"] if d["domainName"] == name)
        for answer in (created, got, listed):
            assert answer["regionalHostedZoneId"] == zone == hosted_zone_id_for(region)
            assert answer["endpointConfiguration"]["types"] == ["REGIONAL"]
            assert re.match(rf"^d-[a-z0-9]{{10}}\.execute-api\.{region}\.amazonaws\.com$", answer["regionalDomainName"])
        assert created["regionalDomainName"] == got["regionalDomainName"] == listed["regionalDomainName"]


def test_region_outage_refuses_connections_and_recovers(cloud, api):
    gateway = cloud.get(Gateway)
    conn = _connect(cloud)
    assert request(cloud, api_host(api), "GET", "/test/echo/1", conn=conn)[0] == 200
    gateway.set_outage(REGION, True)
    try:
        with pytest.raises((ConnectionRefusedError, ConnectionResetError)):
            socket.create_connection((cloud.regions.address(REGION), cloud.settings.api_port), timeout=2).close()
        with pytest.raises((OSError, http.client.HTTPException)):
            request(cloud, api_host(api), "GET", "/test/echo/2", conn=conn)
        assert REGION not in gateway.status()["gateways"]
    finally:
        gateway.set_outage(REGION, False)
    assert request(cloud, api_host(api), "GET", "/test/echo/3")[0] == 200
    assert gateway.status()["gateways"][REGION] == f"{cloud.regions.address(REGION)}:{cloud.settings.api_port}"


# ------------------------------------------------- malformed and oversized requests
def _exchange(cloud, head: bytes, body: bytes = b"", wait_s: float = 1.0) -> tuple[int | None, bytes, float, bool]:
    """Send raw bytes over TLS and read for at most ``wait_s``: (status, answer, seconds to it, connection closed)."""
    raw = socket.create_connection((cloud.regions.address(REGION), cloud.settings.api_port), timeout=5)
    sock = ssl._create_unverified_context().wrap_socket(raw)
    began = time.monotonic()
    try:
        sock.sendall(head + body)
    except OSError:
        pass  # the server may answer and close before it has read everything
    sock.settimeout(wait_s)
    answer, closed = b"", False
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                closed = True
                break
            answer += data
    except (TimeoutError, socket.timeout):
        pass
    except OSError:
        closed = True
    elapsed = time.monotonic() - began
    sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None
    return status, answer, elapsed, closed


def _head(api_id, method="GET", path="/test/echo/1", extra=b"") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: {api_host(api_id)}\r\n".encode() + extra + b"\r\n"


def _answers(data: bytes) -> list[tuple[bytes, dict[str, str], bytes]]:
    """The HTTP/1.1 answers in ``data``, one after the other: (status line, headers, body by Content-Length)."""
    answers = []
    while data:
        head, data = data.split(b"\r\n\r\n", 1)
        line, *fields = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value for name, _, value in (f.partition(": ") for f in fields)}
        length = int(headers.get("content-length", 0))
        answers.append((line.encode(), headers, data[:length]))
        data = data[length:]
    return answers


def test_pipelined_requests_are_answered_in_order_on_the_same_connection(cloud, api):
    both = _head(api, "GET", "/test/echo/1") + _head(api, "GET", "/test/echo/2")
    _, answer, _, closed = _exchange(cloud, both)
    answers = _answers(answer)
    assert [line for line, _, _ in answers] == [b"HTTP/1.1 200 OK"] * 2 and not closed
    assert [json.loads(body)["pathParameters"]["id"] for _, _, body in answers] == ["1", "2"]
    assert [headers["connection"] for _, headers, _ in answers] == ["keep-alive"] * 2


def test_an_http_1_0_request_is_answered_and_its_connection_closed(cloud, api):
    status, answer, elapsed, closed = _exchange(cloud, f"GET /test/echo/1 HTTP/1.0\r\nHost: {api_host(api)}\r\n\r\n".encode())
    [(_, headers, body)] = _answers(answer)
    assert status == 200 and headers["connection"] == "close" and json.loads(body)["pathParameters"] == {"id": "1"}
    assert closed and elapsed < 1.0


def test_head_is_answered_with_the_length_of_the_body_it_leaves_out(cloud, api):
    _, answer, _, closed = _exchange(cloud, _head(api, "HEAD", "/test/echo"))
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and rest == b"" and not closed
    assert int(re.search(rb"\r\nContent-Length: (\d+)\r\n", head).group(1)) > 100, "the event the echo would send"


def test_a_response_header_with_a_line_break_is_never_sent(cloud, api):
    """No header injection: a function's header value with CR LF ends the connection with nothing sent."""
    status, answer, _, closed = _exchange(cloud, _head(api, "GET", "/test/injected"))
    assert (status, answer, closed) == (None, b"", True)


@pytest.mark.parametrize("framing, body", [
    (b"Content-Length: -1\r\n", b""),
    (b"Content-Length: abc\r\n", b""),
    (b"Content-Length: 1e3\r\n", b""),
    (b"Transfer-Encoding: chunked\r\n", b"-5\r\nhello\r\n0\r\n\r\n"),
    (b"Transfer-Encoding: chunked\r\n", b"zz\r\nhello\r\n0\r\n\r\n"),
    (b"Transfer-Encoding: chunked\r\n", b"5\r\nhello-and-more-than-five\r\n0\r\n\r\n"),
], ids=["negative length", "non-numeric length", "exponent length", "negative chunk", "non-hex chunk",
        "chunk longer than its size"])
def test_malformed_lengths_are_answered_400_at_once_and_the_connection_closed(cloud, api, framing, body):
    status, answer, elapsed, closed = _exchange(cloud, _head(api, "POST", "/test/echo", framing), body)
    assert status == 400, answer[:300]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"message": "Bad Request"}
    assert elapsed < 1.0 and closed


def test_a_malformed_request_line_is_answered_400(cloud):
    status, _, elapsed, closed = _exchange(cloud, b"NOT HTTP AT ALL\r\n\r\n")
    assert status == 400 and elapsed < 1.0 and closed


def _filler(api_id, head_bytes: int, path="/test/echo/1") -> bytes:
    """A header that brings the request line plus header values to ``head_bytes`` (API Gateway's count)."""
    line = f"GET {path} HTTP/1.1"
    used = len(line) + len(api_host(api_id))
    return b"X-Filler: " + b"f" * (head_bytes - used) + b"\r\n"


def test_request_line_and_header_values_up_to_10240_bytes_are_served_and_one_more_is_431(cloud, api):
    from awsfacts.apigateway import MAX_REQUEST_HEAD_BYTES

    at_limit = _exchange(cloud, _head(api, extra=_filler(api, MAX_REQUEST_HEAD_BYTES)))
    assert at_limit[0] == 200
    status, answer, elapsed, closed = _exchange(cloud, _head(api, extra=_filler(api, MAX_REQUEST_HEAD_BYTES + 1)))
    assert status == 431 and elapsed < 1.0 and closed
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"message": "Request Header Fields Too Large"}


def test_endless_headers_are_cut_off_with_431_without_being_buffered(cloud, api):
    headers = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 1000) for i in range(5000))  # 5 MB of headers
    status, _, elapsed, closed = _exchange(cloud, _head(api, extra=headers))
    assert status == 431 and elapsed < 1.0 and closed


def test_a_declared_body_over_10_mb_is_answered_413_before_it_is_sent(cloud, api):
    from awsfacts.apigateway import MAX_PAYLOAD_BYTES

    head = _head(api, "POST", "/test/echo", b"Content-Length: %d\r\n" % (MAX_PAYLOAD_BYTES + 1))
    status, answer, elapsed, closed = _exchange(cloud, head)  # the body never comes
    assert status == 413 and elapsed < 1.0 and closed
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"message": "Request Too Long"}


def test_a_chunked_body_over_10_mb_is_answered_413(cloud, api):
    from awsfacts.apigateway import MAX_PAYLOAD_BYTES

    chunk = b"x" * (1024 * 1024)
    body = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * (MAX_PAYLOAD_BYTES // len(chunk) + 1) + b"0\r\n\r\n"
    status, _, _, closed = _exchange(cloud, _head(api, "POST", "/test/echo", b"Transfer-Encoding: chunked\r\n"), body,
                                     wait_s=3.0)
    assert status == 413 and closed


def test_a_proxy_event_over_lambdas_6_mb_is_not_invoked_and_the_answer_is_500(cloud, api):
    from awsfacts.awslambda import MAX_SYNC_PAYLOAD_BYTES

    fake = cloud.get(FakeLambda)
    before = len(fake.calls)
    status, _, body = request(cloud, api_host(api), "POST", "/test/echo", body=b"x" * MAX_SYNC_PAYLOAD_BYTES)
    assert status == 500 and json.loads(body) == {"message": "Internal server error"}
    assert len(fake.calls) == before, "Lambda refuses a request over 6 MB: the function must not run"
    status, _, _ = request(cloud, api_host(api), "POST", "/test/echo", body=b"x" * (MAX_SYNC_PAYLOAD_BYTES // 2))
    assert status == 200 and len(fake.calls) == before + 1


def test_a_chunked_body_reaches_the_function_whole(cloud, api):
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    status, answer, _, _ = _exchange(cloud, _head(api, "POST", "/test/echo", b"Transfer-Encoding: chunked\r\n"), body)
    assert status == 200
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["body"] == "hello world"


def test_a_deleted_apis_deployment_snapshots_are_dropped_at_the_next_deployment(cloud):
    snapshots = cloud.get(Gateway)._handler._routes._deployed
    doomed = make_api(cloud, stage="doomed", routes={"/echo": ("GET", "echo")})
    assert any(api_id == doomed for _, api_id, _ in snapshots)
    _client(cloud, "apigateway").delete_rest_api(restApiId=doomed)
    make_api(cloud, stage="after", routes={"/echo": ("GET", "echo")})
    assert not any(api_id == doomed for _, api_id, _ in snapshots)
