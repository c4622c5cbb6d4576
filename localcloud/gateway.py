"""One HTTPS front per region: API Gateway REST APIs and custom domain names.

moto stores REST APIs, resources, methods, integrations, stages, domain names
and base path mappings, but never routes a request to them. This component is
API Gateway's data plane for the local cloud:

* one HTTPS listener per region in use, at ``(cloud.regions.address(region),
  settings.api_port)``, with TLS from the ``certificates`` component (SNI picks
  the execute-api or custom-domain certificate), so a client learns the region
  only through DNS, as on AWS;
* requests are routed as API Gateway routes them: the Host
  ``{api-id}.execute-api.{region}.amazonaws.com`` with the stage as the first
  path segment, or a custom domain name of this region whose base path mapping
  names the API and stage; then the resource whose path template matches
  (literal segments before ``{param}`` before ``{proxy+}``) and its method (or
  ``ANY``). A stage must exist (be deployed) to answer, and it serves the
  routes its deployment froze (edits are live after the next CreateDeployment,
  as on AWS);
* the function must let API Gateway invoke it: its resource policy
  (AddPermission, ``lambda_permissions``) is checked for
  ``apigateway.amazonaws.com`` and the request's execute-api source ARN, and
  without such a permission the answer is 500, as on AWS ("Invalid permissions
  on Lambda function");
* an ``AWS_PROXY`` integration becomes a payload-1.0 Lambda proxy event, sent
  to the ``lambda`` component; the function's answer (statusCode, headers,
  multiValueHeaders, body, isBase64Encoded) becomes the HTTP response.

Errors follow API Gateway's documented answers: an unknown route, method or
stage gives 403 ``{"message":"Missing Authentication Token"}``; a crash or a
malformed proxy response 502 ``{"message": "Internal server error"}``; a
timeout 504 ``{"message": "Endpoint request timed out"}``; a throttled
function 500 ``{"message": "Internal server error"}``: with a Lambda proxy
integration API Gateway does not pass Lambda's 429 on, it is an integration
failure (the INTEGRATION_FAILURE gateway response, 500 by default).

Performance (DESIGN.md, "performance traps"): HTTP/1.1 keep-alive, TCP_NODELAY
on every socket, and every response written in one ``sendall``, so no request
waits on the Nagle / delayed-ACK stall.

Two control-plane overrides live here. ``apigateway:CreateDomainName``: moto
reports a CloudFront hosted zone ID for every domain; we store the region's
real API Gateway ``regionalHostedZoneId`` (``hosted_zone_id_for``) on moto's
model, so ``GetDomainName``/``GetDomainNames`` report it too.
``apigateway:CreateDeployment``: moto keeps no copy of what was deployed; we
freeze the API's resources, methods and integrations for the new deployment.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import random
import re
import socket
import socketserver
import ssl
import string
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from awsfacts.apigateway import published_hosted_zone_id
from awsfacts.regions import partition_of
from localcloud.component import Component
from localcloud.controlplane import moto_backend
from localcloud.certificates import Certificates
from localcloud.lambda_runtime import FunctionNotFound, LambdaRuntime, PermissionDenied, TooManyRequests
from localcloud.regions import execute_api_name

log = logging.getLogger(__name__)


def hosted_zone_id_for(region: str) -> str:
    """The hosted zone ID of API Gateway's regional endpoints in ``region``.

    Regions missing from AWS's published table (the local cloud serves any
    region name) get a stable made-up ID of the same shape.
    """
    known = published_hosted_zone_id(region)
    if known:
        return known
    digest = hashlib.sha256(f"apigateway:{region}".encode()).hexdigest().upper()
    return "Z" + "".join(c for c in digest if c in string.ascii_uppercase + string.digits)[:13]


LAMBDA_URI_RE = re.compile(r"^arn:[^:]+:apigateway:[^:]+:lambda:path/[^/]+/functions/(?P<arn>.+)/invocations$")
PROXY_RESPONSE_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
IDLE_TIMEOUT_S = 60.0  # an idle keep-alive connection is closed after this long
HANDSHAKE_TIMEOUT_S = 10.0  # a client that does not finish its TLS handshake in this time is dropped
IDLE_SWEEP_S = 1.0  # how often the listener looks for idle connections
MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit: 10 MB
SERVICE_PRINCIPAL = "apigateway.amazonaws.com"  # who a Lambda resource policy must let invoke the function


# ------------------------------------------------------------------ routing
@dataclass
class _Node:
    """A node of an API's resource tree, keyed by path segment."""

    literal: dict[str, "_Node"] = field(default_factory=dict)
    param: tuple[str, "_Node"] | None = None
    greedy: tuple[str, Any, str] | None = None  # ({proxy+} name, resource, its path)
    resource: Any = None
    path: str = ""  # the resource's path template, e.g. /item/{item_id}


@dataclass
class _Match:
    api: Any
    stage: Any
    resource: Any
    resource_path: str
    path_parameters: dict[str, str]
    path: str  # the event's "path"
    api_path: str  # the path within the API (without a custom domain's base path)
    execute_api: bool = False  # reached through {api-id}.execute-api.{region}.amazonaws.com (not a custom domain)


def _segments(path: str) -> list[str]:
    return [unquote(s) for s in path.split("/") if s]


def _build_tree(resources: dict[str, Any]) -> _Node:
    """The routing tree of an API's resources (a deployment's frozen copies)."""
    root = _Node()
    paths = {rid: r.get_path() for rid, r in list(resources.items())}
    for rid, path in paths.items():
        node = root
        resource = resources.get(rid)
        parts = [s for s in path.split("/") if s]
        for index, part in enumerate(parts):
            if part.startswith("{") and part.endswith("+}") and index == len(parts) - 1:
                node.greedy = (part[1:-2], resource, path)
                node = None
                break
            if part.startswith("{") and part.endswith("}"):
                if node.param is None:
                    node.param = (part[1:-1], _Node())
                node = node.param[1]
            else:
                node = node.literal.setdefault(part, _Node())
        if node is not None:
            node.resource = resource
            node.path = path
    return root


def _find(node: _Node, segments: list[str], params: dict[str, str]) -> tuple[Any, str] | None:
    """The resource matching ``segments`` and its path: literal before {param} before {proxy+}, as API Gateway prefers."""
    if not segments:
        if node.resource is not None:
            return node.resource, node.path
        return None
    head, rest = segments[0], segments[1:]
    child = node.literal.get(head)
    if child is not None:
        found = _find(child, rest, params)
        if found is not None:
            return found
    if node.param is not None:
        name, child = node.param
        found = _find(child, rest, params)
        if found is not None:
            params[name] = head
            return found
    if node.greedy is not None:
        name, resource, path = node.greedy
        params[name] = "/".join(segments)
        return resource, path
    return None


@dataclass(frozen=True)
class _DeployedIntegration:
    integration_type: str | None
    uri: str | None


@dataclass(frozen=True)
class _DeployedMethod:
    method_integration: _DeployedIntegration | None


@dataclass(frozen=True)
class _DeployedResource:
    """A resource as a deployment froze it: its id, path, and methods with their integrations."""

    id: str
    path: str
    resource_methods: dict[str, _DeployedMethod]

    def get_path(self) -> str:
        return self.path


def _freeze(api: Any) -> _Node:
    """The routing tree of the API as it is now, copied, so later edits do not reach it.

    AWS: "After creating your API, you must deploy it"; a stage serves the
    snapshot its deployment took, and changes to resources, methods or
    integrations are live only after a new deployment (CreateDeployment).
    """
    frozen = {}
    for rid, resource in list(api.resources.items()):
        methods = {}
        for verb, method in list(resource.resource_methods.items()):
            integration = method.method_integration
            methods[verb] = _DeployedMethod(None if integration is None else _DeployedIntegration(
                getattr(integration, "integration_type", None), getattr(integration, "uri", None)))
        frozen[rid] = _DeployedResource(resource.id, resource.get_path(), methods)
    return _build_tree(frozen)


# --------------------------------------------------------------- responses
@dataclass
class _Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _json_error(status: int, message: str, error_type: str | None = None) -> _Response:
    headers = [("Content-Type", "application/json")]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return _Response(status, headers, json.dumps({"message": message}).encode())


def _missing_token() -> _Response:
    return _json_error(403, "Missing Authentication Token", "MissingAuthenticationTokenException")


def _internal_error(status: int = 502) -> _Response:
    return _json_error(status, "Internal server error", "InternalServerErrorException")


# Request, trace and extended request ids only need to be unique, not secret: a
# seeded PRNG spares a getrandom() system call per id on every request.
_ids = random.Random()


def _apigw_id() -> str:
    return base64.b64encode(_ids.getrandbits(96).to_bytes(12, "big")).decode()[:15] + "="


def _request_id() -> str:
    """A random (version 4) UUID, as API Gateway's request ids are."""
    return str(uuid.UUID(int=_ids.getrandbits(128), version=4))


def _trace_id() -> str:
    """An X-Ray trace header: ``Root=1-<epoch seconds, hex>-<96 random bits, hex>``."""
    return f"Root=1-{int(time.time()):08x}-{_ids.getrandbits(96):024x}"


_date_cache: tuple[int, str] = (0, "")


_request_time_cache: tuple[int, str] = (0, "")


def _request_time(epoch: float) -> str:
    """requestContext.requestTime, e.g. ``26/Nov/2026:16:20:44 +0000``, formatted once per second."""
    global _request_time_cache
    second = int(epoch)
    if _request_time_cache[0] != second:
        _request_time_cache = (second, time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(second)))
    return _request_time_cache[1]


def _http_date() -> str:
    """The Date header (RFC 9110 IMF-fixdate), formatted once per second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


def proxy_response(payload: bytes) -> _Response | None:
    """Turn a Lambda proxy response (payload 1.0) into an HTTP response, or None when malformed.

    API Gateway accepts only the keys statusCode, headers, multiValueHeaders,
    body (a string) and isBase64Encoded; anything else is "Malformed Lambda
    proxy response" and the client gets a 502.
    """
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict) or not set(data) <= PROXY_RESPONSE_KEYS:
        return None
    status = data.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return None
    body = data.get("body")
    if body is not None and not isinstance(body, str):
        return None
    headers: list[tuple[str, str]] = []
    single = data.get("headers") or {}
    multi = data.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        return None
    for name, values in multi.items():
        if not isinstance(values, list):
            return None
        headers.extend((str(name), _header_value(v)) for v in values)
    seen = {name.lower() for name, _ in headers}
    for name, value in single.items():
        if name.lower() not in seen:
            headers.append((str(name), _header_value(value)))
    raw = (body or "").encode()
    if data.get("isBase64Encoded") and body:
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError:
            return None
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return _Response(status, headers, raw)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# ------------------------------------------------------------------- server
class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, gateway: "Gateway", region: str, address: tuple[str, int], context: ssl.SSLContext):
        self.gateway = gateway
        self.region = region
        self.context = context
        # Open connections -> when each went idle (None while a request is being answered).
        self.connections: dict[ssl.SSLSocket, float | None] = {}
        self.lock = threading.Lock()
        self.closed = False
        self._swept = time.monotonic()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address

    def track(self, conn: ssl.SSLSocket, open_: bool) -> None:
        with self.lock:
            if open_:
                self.connections[conn] = time.monotonic()
            else:
                self.connections.pop(conn, None)

    def busy(self, conn: ssl.SSLSocket) -> None:
        """A request was read: the connection is not idle until its answer is on the way."""
        self.connections[conn] = None

    def idle(self, conn: ssl.SSLSocket) -> None:
        self.connections[conn] = time.monotonic()

    def service_actions(self) -> None:
        """Close keep-alive connections idle for ``IDLE_TIMEOUT_S`` (``serve_forever`` calls this each poll).

        Client sockets block without a timeout once their TLS handshake is
        done: with a timeout, CPython's ssl module polls before every write and
        after every empty read, and each of those system calls hands the GIL
        over, on the request path of a process that also runs moto.
        """
        now = time.monotonic()
        if now - self._swept < IDLE_SWEEP_S:
            return
        self._swept = now
        with self.lock:
            stale = [conn for conn, since in self.connections.items()
                     if since is not None and now - since > IDLE_TIMEOUT_S]
        for conn in stale:
            _cut(conn)

    def drop_connections(self) -> None:
        """Cut every open connection (a region outage)."""
        with self.lock:
            self.closed = True
            connections = list(self.connections)
        for conn in connections:
            _cut(conn)


def _cut(conn: socket.socket) -> None:
    """End a connection from another thread: its handler's blocked read returns and it closes."""
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Handler(socketserver.BaseRequestHandler):
    """One client connection: TLS handshake, then HTTP/1.1 requests until the client closes."""

    server: _Server

    def handle(self) -> None:
        raw = self.request
        raw.settimeout(HANDSHAKE_TIMEOUT_S)
        try:
            conn = self.server.context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError) as error:
            log.debug("TLS handshake with %s failed: %s", self.client_address, error)
            return
        conn.settimeout(None)  # from here on the idle sweep (service_actions) ends a silent connection
        self.server.track(conn, True)
        reader = conn.makefile("rb", buffering=65536)
        try:
            while not self.server.closed and self._one(conn, reader):
                pass
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            self.server.track(conn, False)
            reader.close()
            try:
                conn.close()
            except OSError:
                pass

    def _one(self, conn: ssl.SSLSocket, reader: Any) -> bool:
        line = reader.readline(65537)
        if not line:
            return False
        try:
            method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        except ValueError:
            conn.sendall(_serialize(_json_error(400, "Bad Request"), "HTTP/1.1", False))
            return False
        headers: list[tuple[str, str]] = []
        while True:
            hline = reader.readline(65537)
            if not hline or hline in (b"\r\n", b"\n"):
                break
            name, _, value = hline.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        lower = {}
        for name, value in headers:
            lower[name.lower()] = value
        if "chunked" in lower.get("transfer-encoding", "").lower():
            body = _read_chunked(reader)
        else:
            length = int(lower.get("content-length") or 0)
            if length > MAX_BODY:
                conn.sendall(_serialize(_json_error(413, "Request Too Long"), version, False))
                return False
            body = reader.read(length) if length else b""
        keep_alive = version == "HTTP/1.1" and lower.get("connection", "").lower() != "close"
        keep_alive = keep_alive or lower.get("connection", "").lower() == "keep-alive"
        self.server.busy(conn)
        response = self.server.gateway.handle(
            self.server.region, method, target, headers, body, self.client_address[0],
        )
        self.server.idle(conn)  # a client that does not read its answer is cut like an idle one
        conn.sendall(_serialize(response, version, keep_alive, head=method == "HEAD"))
        return keep_alive


def _read_chunked(reader: Any) -> bytes:
    chunks = []
    total = 0
    while True:
        size = int(reader.readline(1024).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while reader.readline(65537) not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        total += size
        if total > MAX_BODY:
            raise ValueError("request body too large")
        chunks.append(reader.read(size))
        reader.readline(3)


def _serialize(response: _Response, version: str, keep_alive: bool, head: bool = False) -> bytes:
    """The whole response as one buffer: status line, headers and body go out in ONE send."""
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {response.status} {reason}", f"Date: {_http_date()}"]
    for name, value in response.headers:
        if name.lower() not in ("content-length", "connection", "transfer-encoding", "date"):
            lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(response.body)}")
    lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
    return head_bytes if head else head_bytes + response.body


# ---------------------------------------------------------------- component
class Gateway(Component):
    """One HTTPS front per region: API Gateway REST APIs and custom domain names."""

    name = "gateway"

    def __init__(self, cloud: Any, *, certificates: Certificates, lambda_runtime: LambdaRuntime):
        super().__init__(cloud)
        self._certificates = certificates
        self._lambda = lambda_runtime
        self._servers: dict[str, _Server] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._down: set[str] = set()
        self._deployed: dict[tuple[str, str, str], _Node] = {}  # (region, API id, deployment id) -> routes
        self._lock = threading.RLock()
        self._running = False
        cloud.controlplane.register("apigateway", "CreateDomainName", self._create_domain_name)
        cloud.controlplane.register("apigateway", "CreateDeployment", self._create_deployment)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._running = True
        self.cloud.regions.subscribe(self._region_in_use)

    def stop(self) -> None:
        with self._lock:
            self._running = False
            regions = list(self._servers)
        for region in regions:
            self._close(region)

    def status(self) -> dict[str, Any]:
        with self._lock:
            gateways = {region: f"{server.server_address[0]}:{server.server_address[1]}"
                        for region, server in sorted(self._servers.items())}
            return {"gateways": gateways, "gateway_outages": sorted(self._down)}

    def set_outage(self, region: str, down: bool) -> None:
        """Make ``region``'s gateway unreachable (connections refused, open ones cut) or bring it back."""
        with self._lock:
            if down:
                self._down.add(region)
            else:
                self._down.discard(region)
        if down:
            self._close(region)
        elif region in self.cloud.regions.active:
            self._open(region)

    def _region_in_use(self, region: str) -> None:
        if region not in self._down:
            self._open(region)

    def _open(self, region: str) -> None:
        with self._lock:
            if not self._running or region in self._servers:
                return
            address = (self.cloud.regions.address(region), self.cloud.settings.api_port)
            context = self._certificates.server_context(region)  # the region's own certificates, as on AWS
            server = _Server(self, region, address, context)
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                      name=f"gateway-{region}", daemon=True)
            self._servers[region] = server
            self._threads[region] = thread
            thread.start()
        log.info("gateway for %s listening on https://%s:%s", region, *address)

    def _close(self, region: str) -> None:
        with self._lock:
            server = self._servers.pop(region, None)
            self._threads.pop(region, None)
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.drop_connections()

    # ------------------------------------------------------- control plane
    def _create_domain_name(self, call: Any) -> dict[str, Any]:
        """CreateDomainName with the region's real regionalHostedZoneId (moto reports CloudFront's).

        moto already gives ``regionalDomainName`` ``d-<10 lowercase alnum>.execute-api.{region}.amazonaws.com``;
        the fixed fields are stored on moto's model so Get/GetDomainNames agree.
        """
        created = call.forward_json()
        domain = self.cloud.backend("apigateway", call.region).domain_names[created["domainName"]]
        domain.regional_hosted_zone_id = hosted_zone_id_for(call.region)
        if not domain.endpoint_configuration:
            regional = bool(call.params.get("regionalCertificateArn") or call.params.get("regionalCertificateName"))
            domain.endpoint_configuration = {"types": ["REGIONAL" if regional else "EDGE"]}
        return domain.to_json()

    def _create_deployment(self, call: Any) -> dict[str, Any]:
        """CreateDeployment, plus the snapshot of the API's routes that the deployment serves from now on."""
        api = self.cloud.backend("apigateway", call.region).apis.get(call.params.get("restApiId"))
        routes = _freeze(api) if api is not None else None  # before moto answers: what is deployed is what was there
        created = call.forward_json()
        if routes is not None:
            self._deployed[(call.region, api.id, created["id"])] = routes
        return created

    # --------------------------------------------------------------- routing
    def _routes_of(self, region: str, api: Any, stage: Any) -> _Node:
        """The routes a stage serves: what its deployment froze.

        A deployment made without the gateway seeing it (say, straight in
        moto's backend) is frozen at its first request instead.
        """
        key = (region, api.id, stage.deployment_id or "")
        routes = self._deployed.get(key)
        if routes is None:
            routes = self._deployed[key] = _freeze(api)
        return routes

    def route(self, region: str, host: str, path: str, method: str) -> _Match | _Response:
        """Find the API, stage, resource and path parameters for a request, or API Gateway's error answer."""
        backend = moto_backend("apigateway", region, self.cloud.account_id)
        segments = _segments(path)
        execute_api = execute_api_name(host)
        if execute_api:
            api_id, host_region = execute_api
            api = backend.apis.get(api_id)
            if host_region != region or api is None or api.disableExecuteApiEndpoint:
                return _json_error(403, "Forbidden", "ForbiddenException")
            if not segments or segments[0] not in api.stages:
                return _missing_token()
            stage = api.stages[segments[0]]
            rest = segments[1:]
            event_path = "/" + "/".join(rest)
        else:
            mappings = backend.base_path_mappings.get(host) if host in backend.domain_names else None
            if not mappings:
                return _json_error(403, "Forbidden", "ForbiddenException")
            mapping = None
            if segments and segments[0] in mappings:
                mapping, rest = mappings[segments[0]], segments[1:]
            else:
                mapping = mappings.get("(none)") or mappings.get("/") or mappings.get("")
                rest = segments
            if mapping is None:
                return _missing_token()
            api = backend.apis.get(mapping.rest_api_id)
            stage = api.stages.get(mapping.stage) if api is not None and mapping.stage else None
            if stage is None and api is not None and not mapping.stage and len(api.stages) == 1:
                stage = next(iter(api.stages.values()))  # a mapping without a stage uses the API's only stage
            if api is None or stage is None:
                return _missing_token()
            event_path = "/" + "/".join(segments)  # with a custom domain, "path" keeps the base path
        params: dict[str, str] = {}
        found = _find(self._routes_of(region, api, stage), rest, params)
        if found is None:
            return _missing_token()
        resource, resource_path = found
        if method not in resource.resource_methods and "ANY" not in resource.resource_methods:
            return _missing_token()
        return _Match(api, stage, resource, resource_path, params, event_path, "/" + "/".join(rest),
                      execute_api is not None)

    # -------------------------------------------------------------- requests
    def handle(self, region: str, method: str, target: str, headers: list[tuple[str, str]], body: bytes,
               source_ip: str) -> _Response:
        """Answer one HTTP request as API Gateway would (called by the listener's connection threads)."""
        request_id = _request_id()
        apigw_id = _apigw_id()
        trace_id = _trace_id()  # the same trace id goes to the function and back to the client, as with X-Ray
        try:
            response = self._handle(region, method, target, headers, body, source_ip, request_id, apigw_id, trace_id)
        except Exception:
            log.exception("gateway %s: %s %s failed", region, method, target)
            response = _internal_error(500)
        response.headers.append(("x-amzn-RequestId", request_id))
        response.headers.append(("x-amz-apigw-id", apigw_id))
        response.headers.append(("X-Amzn-Trace-Id", trace_id))
        return response

    def _handle(self, region: str, method: str, target: str, headers: list[tuple[str, str]], body: bytes,
                source_ip: str, request_id: str, apigw_id: str, trace_id: str) -> _Response:
        host = ""
        for name, value in headers:
            if name.lower() == "host":
                host = value.rsplit(":", 1)[0] if not value.endswith("]") else value
                break
        host = host.lower().rstrip(".")
        parts = urlsplit(target)
        routed = self.route(region, host, parts.path or "/", method)
        if isinstance(routed, _Response):
            return routed
        methods = routed.resource.resource_methods
        api_method = methods.get(method) or methods["ANY"]
        integration = api_method.method_integration
        if integration is None or integration.integration_type != "AWS_PROXY":
            log.warning("gateway %s: %s %s has no AWS_PROXY integration (the local cloud runs only Lambda proxy)",
                        region, method, routed.resource_path)
            return _internal_error(500)
        uri = LAMBDA_URI_RE.match(integration.uri or "")
        if uri is None:
            log.warning("gateway %s: integration uri %r is not a Lambda function", region, integration.uri)
            return _internal_error(500)
        function_arn = uri.group("arn")
        arn_parts = function_arn.split(":")
        function_region = arn_parts[3] if len(arn_parts) > 3 and arn_parts[0] == "arn" else region
        event = self._event(region, method, host, parts.query, headers, body, source_ip, request_id, apigw_id, trace_id,
                            routed)
        try:
            result = self._lambda.invoke(
                function_region, function_arn, json.dumps(event).encode(), request_id,
                caller=(SERVICE_PRINCIPAL, self._source_arns(region, method, routed)),
            )
        except PermissionDenied:
            # AWS: 500, "Execution failed due to configuration error: Invalid permissions on Lambda function"
            log.warning("gateway %s: %s %s may not invoke %s (no lambda:InvokeFunction permission for "
                        "apigateway.amazonaws.com: see AddPermission)", region, method, routed.resource_path, function_arn)
            return _internal_error(500)
        except TooManyRequests as error:  # Lambda's 429 is an integration failure to API Gateway: 500
            log.info("gateway %s: %s %s: Lambda throttled %s (%s): 500", region, method, routed.resource_path,
                     function_arn, error.reason)
            return _internal_error(500)
        except FunctionNotFound:  # AWS: 500, "Execution failed due to configuration error"
            log.warning("gateway %s: function %s of %s %s does not exist", region, function_arn, method,
                        routed.resource_path)
            return _internal_error(500)
        if result.timed_out:
            return _json_error(504, "Endpoint request timed out", "InternalServerErrorException")
        if result.function_error:
            return _internal_error(502)
        response = proxy_response(result.payload)
        if response is None:
            log.info("gateway %s: malformed Lambda proxy response from %s: %.200r", region, function_arn, result.payload)
            return _internal_error(502)
        return response

    def _source_arns(self, region: str, method: str, routed: _Match) -> tuple[str, str]:
        """The execute-api ARN API Gateway invokes the function as: ``{api}/{stage}/{METHOD}/{resource path}``.

        AWS documents the last part as the resource path; whether a path parameter appears
        as its template (``/item/{item_id}``) or as the request's value (``/item/abc``) it
        does not say, so a permission may match either. The runbook's (``/item/*``) matches both.
        """
        prefix = f"arn:{partition_of(region)}:execute-api:{region}:{self.cloud.account_id}:{routed.api.id}/{routed.stage.name}/{method}"
        return prefix + routed.resource_path, prefix + routed.api_path

    def _event(self, region: str, method: str, host: str, query: str, headers: list[tuple[str, str]], body: bytes,
               source_ip: str, request_id: str, apigw_id: str, trace_id: str, routed: _Match) -> dict[str, Any]:
        """The payload-1.0 Lambda proxy event of a REST API (AWS docs: "Input format of a Lambda function for proxy integration")."""
        now = time.time()
        single: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        present: set[str] = set()
        content_type = ""
        user_agent = None
        for name, value in headers:
            single[name] = value
            multi.setdefault(name, []).append(value)
            lower = name.lower()
            present.add(lower)
            if lower == "content-type" and not content_type:
                content_type = value
            elif lower == "user-agent" and user_agent is None:
                user_agent = value
        for name, value in (("X-Forwarded-For", source_ip), ("X-Forwarded-Port", str(self.cloud.settings.api_port)),
                            ("X-Forwarded-Proto", "https"), ("X-Amzn-Trace-Id", trace_id)):
            if name.lower() not in present:
                single[name] = value
                multi.setdefault(name, []).append(value)
        qs_single: dict[str, str] = {}
        qs_multi: dict[str, list[str]] = {}
        if query:
            for name, value in parse_qsl(query, keep_blank_values=True):
                qs_single[name] = value
                qs_multi.setdefault(name, []).append(value)
        binary = bool(body) and any(_media_matches(t, content_type) for t in (routed.api.binaryMediaTypes or []))
        if binary:
            event_body: str | None = base64.b64encode(body).decode()
        else:
            event_body = body.decode("utf-8", "replace") if body else None
        stage = routed.stage.name
        return {
            "resource": routed.resource_path,
            "path": routed.path,
            "httpMethod": method,
            "headers": single or None,
            "multiValueHeaders": multi or None,
            "queryStringParameters": qs_single or None,
            "multiValueQueryStringParameters": qs_multi or None,
            "pathParameters": routed.path_parameters or None,
            "stageVariables": dict(routed.stage.variables) or None,
            "requestContext": {
                "accountId": self.cloud.account_id,
                "apiId": routed.api.id,
                "domainName": host,
                "domainPrefix": host.split(".", 1)[0],
                "extendedRequestId": apigw_id,
                "httpMethod": method,
                "path": "/" + stage + routed.path if routed.execute_api else routed.path,
                "protocol": "HTTP/1.1",
                "requestId": request_id,
                "requestTime": _request_time(now),
                "requestTimeEpoch": int(now * 1000),
                "resourceId": routed.resource.id,
                "resourcePath": routed.resource_path,
                "stage": stage,
                "identity": {"sourceIp": source_ip, "userAgent": user_agent},
            },
            "body": event_body,
            "isBase64Encoded": binary,
        }


def _media_matches(pattern: str, content_type: str) -> bool:
    content_type = content_type.split(";", 1)[0].strip().lower()
    pattern = pattern.lower()
    if pattern == "*/*":
        return True
    if pattern.endswith("/*"):
        return content_type.startswith(pattern[:-1])
    return content_type == pattern

