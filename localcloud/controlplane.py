"""The control plane: moto's server, plus the one mechanism that overrides its answers.

Every AWS API call of the runbook (boto3, the AWS CLI) reaches this WSGI app.
It reads the service and region from the SigV4 credential scope, as AWS's
front door does, tells the region registry that the region is in use, and then:

* if a data-plane component registered an **override** for the operation, the
  request is parsed with moto's botocore-model parser, the component's handler
  returns a plain result dict (or raises ``AwsError``), and moto's serializer
  writes the wire format (JSON, REST-JSON or REST-XML) from botocore's service
  model, so no handler writes XML or JSON by hand;
* otherwise the request goes to moto's own WSGI app unchanged.

This thin dispatcher in front of moto is the only way the local cloud changes
moto's answers. ``ControlPlane.overrides`` lists them (docs/design.md has the
table, and a test keeps the two in step). A handler may call ``call.forward()``
to get moto's own answer first and amend it.

Where moto decides inside its models, below every operation, what AWS would
refuse, the decision is corrected here too, once per process
(``MODEL_CORRECTIONS``, installed when a ``ControlPlane`` is built).
"""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qs, unquote

from moto.backends import get_backend
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import ServiceException
from moto.core.parse import PROTOCOL_PARSERS
from moto.core.serialize import XFormedAttributePicker, get_serializer_class
from moto.core.utils import get_service_model
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.datastructures import MultiDict
from werkzeug.serving import make_server

from awsfacts import dynamodb as ddb_facts

log = logging.getLogger(__name__)

_SCOPE_RE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


_BACKEND_DICTS: dict[str, Any] = {}


def moto_backend(service: str, region: str, account_id: str = DEFAULT_ACCOUNT_ID) -> Any:
    """moto's in-memory backend of ``service`` in ``region``: what ``LocalCloud.backend`` returns, for hot paths.

    ``get_backend(service)[account][region]`` imports the service's module
    again and, in ``BackendDict.__getitem__``, takes moto's global backend
    lock and compares the dict with every registered one (about 25 µs). The
    service's ``BackendDict`` never changes, so it is remembered; an account
    moto has not created yet, or dropped in a reset, takes moto's own path.
    """
    backends = _BACKEND_DICTS.get(service)
    if backends is None:
        backends = _BACKEND_DICTS[service] = get_backend(service)  # type: ignore[call-overload]
    account = dict.get(backends, account_id)
    if account is None:
        return backends[account_id][region]
    return account[region]


def _dynamodb_item_limits() -> None:
    """DynamoDB's item size and nesting quotas, exactly at AWS's boundary, for every write (put, update, batch,
    transaction, PartiQL).

    moto checks the size of each item as it is built (``LimitedSizeDict.__setitem__``) against 405,000
    bytes of its own count (lists and maps without their overhead), so it refuses items of 405 to 409.6 KB
    that DynamoDB stores, and accepts any nesting. The check below counts as DynamoDB counts
    (``awsfacts.dynamodb.item_bytes``) against 400 KB, and refuses more than 32 levels of nesting, with
    DynamoDB's ValidationException messages.
    """
    from moto.dynamodb.exceptions import ItemSizeTooLarge, MockValidationException
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    def attribute_bytes(name: str, value: Any) -> int:
        size = ddb_facts.value_bytes(value) if isinstance(value, DynamoType) else len(str(value).encode())
        return len(name.encode()) + size

    def setitem(self: LimitedSizeDict, key: str, value: Any) -> None:
        if isinstance(value, DynamoType) and ddb_facts.nesting_levels(value) > ddb_facts.MAX_NESTING_LEVELS:
            raise MockValidationException(ddb_facts.NESTING_TOO_DEEP)
        size = attribute_bytes(key, value) + sum(attribute_bytes(k, v) for k, v in self.items() if k != key)
        if size > ddb_facts.MAX_ITEM_BYTES:
            raise ItemSizeTooLarge()  # "Item size has exceeded the maximum allowed size" (UpdateItem: "... to update ...")
        dict.__setitem__(self, key, value)

    LimitedSizeDict.__setitem__ = setitem  # type: ignore[method-assign]


def _untracked_models() -> None:
    """Let moto's model objects be freed when moto drops them.

    Every moto model (``BaseModel``) appends each instance it creates to its
    class's ``instances_tracked`` list, for the ``/moto-api/data.json`` listing,
    and nothing removes them: every log event, stream record, metric data point
    and item version ever made stays in memory, whatever moto or the retention
    component (``localcloud.retention``) drops. That listing is not AWS's and the
    local cloud does not use it, so instances are no longer tracked.
    """
    from moto.core.common_models import BaseModel

    def untracked_new(cls: type, *args: Any, **kwargs: Any) -> Any:
        return super(BaseModel, cls).__new__(cls)

    BaseModel.__new__ = staticmethod(untracked_new)  # type: ignore[assignment]


# moto model decisions the local cloud corrects, (service, what, how): installed once per process.
MODEL_CORRECTIONS: tuple[tuple[str, str, Callable[[], None]], ...] = (
    ("dynamodb", "item size (400 KB, counted as AWS counts) and nesting (32 levels) quotas", _dynamodb_item_limits),
    ("all", "model instances freed when dropped (moto tracks every instance it ever made)", _untracked_models),
)
_corrected = False


def correct_moto_models() -> None:
    """Install ``MODEL_CORRECTIONS`` (once per process; a second local cloud in the same process shares them)."""
    global _corrected
    if not _corrected:
        for _, _, install in MODEL_CORRECTIONS:
            install()
        _corrected = True


class AwsError(ServiceException):
    """An AWS error answer: ``raise AwsError("ResourceNotFoundException", "Table not found")``.

    The HTTP status comes from the service model's error shape, or ``status``.
    """

    def __init__(self, code: str, message: str, status: int | None = None):
        super().__init__(code, message)
        if status is not None:
            self.http_status = status


@dataclass
class Call:
    """One overridden API call, as its handler sees it."""

    service: str
    operation: str
    region: str
    account_id: str
    params: dict[str, Any]
    environ: dict[str, Any]
    body: bytes
    _forward: Callable[[], tuple[int, dict[str, str], bytes]] = field(repr=False, default=None)  # type: ignore[assignment]

    def forward(self) -> tuple[int, dict[str, str], bytes]:
        """moto's own answer to this request: (status, headers, body)."""
        return self._forward()

    def forward_json(self) -> dict[str, Any]:
        """moto's answer parsed as JSON; an error answer is re-raised as ``AwsError``."""
        status, _, body = self.forward()
        data = json.loads(body or b"{}")
        if status >= 400:
            code = str(data.get("__type", "InternalFailure")).split("#")[-1]
            raise AwsError(code, data.get("message") or data.get("Message") or "", status)
        return data


@dataclass(frozen=True)
class Raw:
    """A handler result sent as-is (for answers the model cannot express)."""

    status: int
    headers: dict[str, str]
    body: bytes


Handler = Callable[[Call], "dict[str, Any] | Raw"]


@dataclass
class _Operation:
    service: str
    name: str
    protocol: str
    method: str
    path_re: re.Pattern[str] | None
    handler: Handler


def _uri_regex(request_uri: str) -> re.Pattern[str]:
    """Compile a botocore requestUri template such as ``/2013-04-01/healthcheck/{HealthCheckId}/status``."""
    path = request_uri.split("?", 1)[0]
    pattern = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{"):
            name = part.strip("{}")
            greedy = name.endswith("+")
            name = name.rstrip("+")
            pattern += f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(f"^{pattern}/?$")


class ControlPlane:
    """moto's WSGI app behind the override dispatcher, served on one loopback port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, on_region: Callable[[str], None] | None = None):
        self.host = host
        self.port = port
        self.on_region = on_region or (lambda region: None)
        self.moto_app = _Dispatcher(create_backend_app)
        self._ops: dict[str, list[_Operation]] = {}  # by SigV4 signing name
        self._signing: dict[str, str] = {}
        self._server = None
        self._thread: threading.Thread | None = None
        correct_moto_models()

    # ------------------------------------------------------------ overrides
    def register(self, service: str, operation: str, handler: Handler) -> None:
        """Answer ``service``'s ``operation`` with ``handler`` instead of moto."""
        model = get_service_model(service)
        op_model = model.operation_model(operation)
        http = op_model.http
        protocol = model.protocol
        path_re = _uri_regex(http["requestUri"]) if protocol.startswith("rest") else None
        signing = model.signing_name or service
        self._signing[signing] = service
        self._ops.setdefault(signing, []).append(
            _Operation(service, operation, protocol, http.get("method", "POST"), path_re, handler)
        )

    @property
    def overrides(self) -> list[tuple[str, str]]:
        """Every (service, operation) whose answer the local cloud gives instead of moto."""
        return sorted((op.service, op.name) for ops in self._ops.values() for op in ops)

    def _match(self, signing: str, environ: dict[str, Any], body: Callable[[], bytes]) -> tuple[_Operation, dict[str, str]] | None:
        for op in self._ops.get(signing, ()):
            if op.protocol == "json":
                target = environ.get("HTTP_X_AMZ_TARGET", "")
                if target.rsplit(".", 1)[-1] == op.name:
                    return op, {}
            elif op.protocol == "query":
                values = parse_qs(environ.get("QUERY_STRING", "")) or parse_qs(body().decode())
                if values.get("Action", [""])[0] == op.name:
                    return op, {}
            elif environ["REQUEST_METHOD"] == op.method and op.path_re is not None:
                m = op.path_re.match(environ.get("PATH_INFO", ""))
                if m:
                    return op, {k: unquote(v) for k, v in m.groupdict().items()}
        return None

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        scope = _SCOPE_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if scope is None:
            return self.moto_app(environ, start_response)
        region, signing = scope.group(1), scope.group(2)
        self.on_region(region)
        if signing not in self._ops:
            return self.moto_app(environ, start_response)

        cached: list[bytes] = []

        def body() -> bytes:
            if not cached:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                cached.append(environ["wsgi.input"].read(length) if length else b"")
                environ["wsgi.input"] = io.BytesIO(cached[0])
            return cached[0]

        matched = self._match(signing, environ, body)
        if matched is None:
            body()  # make sure moto can still read what we may have read
            return self.moto_app(environ, start_response)
        op, url_params = matched
        status, headers, payload = self._handle(op, url_params, region, environ, body())
        start_response(f"{status} {_reason(status)}", list(headers.items()))
        return [payload]

    def _handle(self, op: _Operation, url_params: dict[str, str], region: str, environ: dict[str, Any],
                body: bytes) -> tuple[int, dict[str, str], bytes]:
        op_model = get_service_model(op.service).operation_model(op.name)
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        request = {
            "body": body,
            "headers": headers,
            "method": environ["REQUEST_METHOD"],
            "url_params": url_params,
            "url_path": environ.get("PATH_INFO", ""),
            "values": MultiDict([(k, v) for k, vs in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items() for v in vs]),
        }

        def forward() -> tuple[int, dict[str, str], bytes]:
            environ["wsgi.input"] = io.BytesIO(body)
            captured: dict[str, Any] = {}

            def capture(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
                captured["status"] = int(status.split()[0])
                captured["headers"] = dict(response_headers)

            chunks = self.moto_app(environ, capture)
            data = b"".join(chunks)
            if hasattr(chunks, "close"):
                chunks.close()
            return captured["status"], captured["headers"], data

        serializer = get_serializer_class(op.service, op.protocol)(
            operation_model=op_model, value_picker=XFormedAttributePicker()
        )
        try:
            params = PROTOCOL_PARSERS[op.protocol](op_model).parse(request)
            call = Call(op.service, op.name, region, DEFAULT_ACCOUNT_ID, params, environ, body, forward)
            result = op.handler(call)
            if isinstance(result, Raw):
                return result.status, result.headers, result.body
            response = serializer.serialize(result)
        except ServiceException as error:
            response = serializer.serialize(error)
            if getattr(error, "http_status", None):
                response["status_code"] = error.http_status
        except Exception as error:  # a bug of ours must still look like an AWS 500
            log.exception("override %s.%s failed", op.service, op.name)
            response = serializer.serialize(AwsError("InternalFailure", f"local cloud error: {error}", 500))
            response["status_code"] = 500
        out_headers = dict(response["headers"])
        out_headers.setdefault("x-amzn-RequestId", str(uuid.uuid4()))
        payload = response["body"]
        if isinstance(payload, str):
            payload = payload.encode()
        out_headers["Content-Length"] = str(len(payload))
        return response["status_code"], out_headers, payload

    # --------------------------------------------------------------- serving
    def start(self) -> None:
        self._server = make_server(self.host, self.port, self, threaded=True, request_handler=_KeepAliveHandler)
        self._server.daemon_threads = True
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="controlplane", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering which backend serves which host.

    moto maps every request to a backend under one global lock and, on the
    way, lists its own package directory (a ``stat`` per service, about
    0.25 ms a request on a 2-core machine); the answer for a host never changes.
    """

    def __init__(self, create_app: Callable) -> None:
        super().__init__(create_app)
        self._backends: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        try:
            return self._backends[host]
        except KeyError:
            backend = self._backends[host] = super().get_backend_for_host(host)
            return backend


class _KeepAliveHandler(MotoRequestHandler):
    """HTTP/1.1 keep-alive and TCP_NODELAY (without it, Nagle + delayed ACK cost ~40 ms a request).

    werkzeug's server (2.1 and later) answers every request with ``Connection:
    close`` and then waits up to 10 ms to drain the socket, so each boto3 call
    would pay for a new TCP connection and a new server thread. ``run_wsgi`` here reads
    the request body in full before the app runs (nothing is left to drain
    before the next request line), sends status, headers and body in one write,
    and leaves the connection open as HTTP/1.1 allows. Chunked request bodies
    take werkzeug's own path (and close the connection).
    """

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, code: Any = "-", size: Any = "-") -> None:  # quiet: one line per call is noise
        pass

    def run_wsgi(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return super().run_wsgi()
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        length = int(environ.get("CONTENT_LENGTH") or 0)
        environ["wsgi.input"] = io.BytesIO(self.rfile.read(length) if length > 0 else b"")
        started: list[Any] = []
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            if exc_info is not None and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return chunks.append

        try:
            result = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception:
            log.exception("control plane error on %s %s", self.command, self.path)
            started[:] = ["500 Internal Server Error", [("Content-Type", "text/plain")]]
            chunks[:] = [b"local cloud control plane error (see its log)"]
            self.close_connection = True
        status, headers = started
        body = b"".join(chunks)
        code = int(status.split(None, 1)[0])
        names = {name.lower() for name, _ in headers}
        lines = [f"{self.protocol_version} {status}", f"Server: {self.version_string()}",
                 f"Date: {self.date_time_string()}"]
        lines += [f"{name}: {value}" for name, value in headers]
        no_body = self.command == "HEAD" or 100 <= code < 200 or code in (204, 304)
        if "content-length" not in names and not no_body:
            lines.append(f"Content-Length: {len(body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head if no_body else head + body)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
