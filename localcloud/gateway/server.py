"""The HTTPS listener of one region: TLS, HTTP/1.1 keep-alive, one request at a time per connection.

It knows the wire and API Gateway's quotas on a request, nothing of routing:
h11 (a sans-IO HTTP/1.1 state machine) frames each request, which goes to the
``answer(region, method, target, headers, body, source_ip)`` callable the
listener was built with, and the ``Response`` that comes back is written out
(``_serialize``: one status line, headers and the body, formatted here; h11's
event objects and header normalisation cost the gateway a tenth of its CPU per
request for what is always a complete response with a known length). Each
request is read by an h11 connection of its own, which takes over what the
client already sent after the previous one (pipelining).

A request that breaks HTTP/1.1 (a malformed request line or header, a
negative or non-numeric Content-Length, a bad chunk) is answered 400, a body
over API Gateway's 10 MB payload quota 413 ("Request Too Long", as API Gateway
answers), and a request line plus header values over its 10,240-byte quota 431
(AWS documents that quota, not the status it answers with; 431 is HTTP's own for
it, RFC 6585): at once, and the connection is closed, so no request waits for
the idle sweep.

Performance (docs/design.md, "performance traps"): HTTP/1.1
keep-alive, TCP_NODELAY on every socket, and every response written in one
``sendall``, so no request waits on the Nagle / delayed-ACK stall.
"""

from __future__ import annotations

import logging
import re
import socket
import socketserver
import ssl
import threading
import time
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, Callable

import h11

from awsfacts.apigateway import MAX_PAYLOAD_BYTES, MAX_REQUEST_HEAD_BYTES
from localcloud.gateway.responses import Response, bad_request, headers_too_large, too_large

log = logging.getLogger(__name__)

IDLE_TIMEOUT_S = 60.0  # an idle keep-alive connection is closed after this long
HANDSHAKE_TIMEOUT_S = 10.0  # a client that does not finish its TLS handshake in this time is dropped
IDLE_SWEEP_S = 1.0  # how often the listener looks for idle connections
RECV_BYTES = 65536  # one read from a client socket
LINGER_S = 1.0  # after refusing a request, how long what the client still sends is read and dropped

# API Gateway's quotas on one request (awsfacts.apigateway): a body over MAX_BODY is answered 413,
# a request line and header values over MAX_HEAD_BYTES 431.
MAX_BODY = MAX_PAYLOAD_BYTES
MAX_HEAD_BYTES = MAX_REQUEST_HEAD_BYTES
# What h11 buffers of an unfinished request head (names, values, line ends): room for any head
# within MAX_HEAD_BYTES' values, so a client streaming endless headers is cut off at this size.
MAX_HEAD_BLOCK = 4 * MAX_HEAD_BYTES

# answer(region, method, target, headers, body, source_ip) -> Response
Answer = Callable[[str, str, str, list[tuple[str, str]], bytes, str], Response]


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The Date header (RFC 9110 IMF-fixdate), formatted once per second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


class Listener(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """One region's HTTPS listener: a thread per connection, idle connections swept."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, answer: Answer, region: str, address: tuple[str, int], context: ssl.SSLContext):
        self.answer = answer
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
    """One client connection: TLS handshake, then HTTP/1.1 requests (parsed by h11) until either side closes."""

    server: Listener

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
        http = _reader()
        try:
            while not self.server.closed and self._one(conn, http):
                http = _reader(after=http)
        except (OSError, ssl.SSLError):
            pass
        except _Unsendable as error:  # an answer HTTP/1.1 cannot carry (a header value with a newline)
            log.warning("gateway %s: dropped a response HTTP/1.1 cannot carry: %s", self.server.region, error)
        finally:
            self.server.track(conn, False)
            try:
                conn.close()
            except OSError:
                pass

    def _one(self, conn: ssl.SSLSocket, http: h11.Connection) -> bool:
        """Read one request, answer it; whether the connection stays open for another."""
        try:
            request = _next_event(conn, http)
            if not isinstance(request, h11.Request):  # the client closed (or sent nothing we can use)
                return False
            refused = _refusal(request)
            if refused is not None:
                _refuse(conn, http, refused)
                return False
            if http.they_are_waiting_for_100_continue:
                conn.sendall(http.send(h11.InformationalResponse(status_code=100, headers=[])))
            body = _read_body(conn, http)
        except h11.RemoteProtocolError as error:
            _refuse(conn, http, _protocol_error(error))
            return False
        except _TooLarge:
            _refuse(conn, http, too_large())
            return False
        method = request.method.decode("ascii")
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw_items()]
        self.server.busy(conn)
        response = self.server.answer(
            self.server.region, method, request.target.decode("latin-1"), headers, body, self.client_address[0],
        )
        self.server.idle(conn)  # a client that does not read its answer is cut like an idle one
        keep_alive = _keeps_alive(request)
        conn.sendall(_serialize(response, keep_alive=keep_alive, head=method == "HEAD"))
        return keep_alive


class _TooLarge(Exception):
    """The request body is over API Gateway's payload limit."""


class _Unsendable(ValueError):
    """A response HTTP/1.1 cannot carry: a header name that is not a token, a value with CR, LF or NUL."""


def _reader(after: h11.Connection | None = None) -> h11.Connection:
    """An h11 connection to read the next request, holding what the client sent ``after`` the previous one."""
    http = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BLOCK)
    if after is not None:
        data, closed = after.trailing_data
        if data:
            http.receive_data(data)
        if closed:
            http.receive_data(b"")
    return http


def _keeps_alive(request: h11.Request) -> bool:
    """Whether the connection stays open after this request's answer (h11's rule: HTTP/1.1 without ``close``)."""
    if request.http_version != b"1.1":
        return False
    return not any(name == b"connection" and b"close" in value.lower() for name, value in request.headers)


def _next_event(conn: ssl.SSLSocket, http: h11.Connection) -> Any:
    """The next h11 event of the request, reading from the socket as h11 needs (an empty read is the client's EOF)."""
    while True:
        event = http.next_event()
        if event is not h11.NEED_DATA:
            return event
        http.receive_data(conn.recv(RECV_BYTES))


def _read_body(conn: ssl.SSLSocket, http: h11.Connection) -> bytes:
    """The whole request body (Content-Length or chunked, as h11 frames it), refused past ``MAX_BODY``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        event = _next_event(conn, http)
        if isinstance(event, h11.Data):
            size += len(event.data)
            if size > MAX_BODY:
                raise _TooLarge
            chunks.append(event.data)
        elif isinstance(event, h11.EndOfMessage):
            return b"".join(chunks)
        else:  # ConnectionClosed in the middle of the body
            raise h11.RemoteProtocolError("the connection closed before the request body ended")


def _refusal(request: h11.Request) -> Response | None:
    """API Gateway's answer to a request refused before its body is read: its head or declared length is too large."""
    head = len(request.method) + len(request.target) + len(b" HTTP/1.1") + 1
    head += sum(len(value) for _, value in request.headers)
    if head > MAX_HEAD_BYTES:
        return headers_too_large()
    for name, value in request.headers:
        if name == b"content-length" and int(value) > MAX_BODY:  # h11 has checked it is a decimal number
            return too_large()
    return None


def _protocol_error(error: h11.RemoteProtocolError) -> Response:
    """The answer to a request h11 could not parse: a header block over its buffer is 431, anything else 400."""
    log.debug("malformed request: %s", error)
    if error.error_status_hint == 431:
        return headers_too_large()
    return bad_request()


def _refuse(conn: ssl.SSLSocket, http: h11.Connection, response: Response) -> None:
    """Answer ``response`` and close: the rest of what the client sends is not read as a request.

    The write side is shut first and what the client still sends is read and
    dropped for a moment (``LINGER_S``), so that closing with unread data does
    not reset the connection before the client has read the answer.
    """
    if http.our_state in (h11.IDLE, h11.SEND_RESPONSE):  # nothing of an answer went out yet (a 100 Continue aside)
        conn.sendall(_serialize(response, keep_alive=False))
    try:
        conn.settimeout(LINGER_S)
        conn.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + LINGER_S
        while time.monotonic() < deadline and conn.recv(RECV_BYTES):
            pass
    except (OSError, ssl.SSLError, ValueError):
        pass


# What a handler may not set: the listener frames every response itself.
_FRAMING = frozenset(("content-length", "transfer-encoding", "date", "connection"))
_TOKEN = re.compile(r"[-!#$%&'*+.^_`|~0-9A-Za-z]+")  # a header name (RFC 9110, 5.6.2)
_FORBIDDEN_IN_VALUE = re.compile(r"[\r\n\x00]")
_REASONS = {status.value: status.phrase for status in HTTPStatus}


def _serialize(response: Response, *, keep_alive: bool, head: bool = False) -> bytes:
    """The whole response as one buffer: status line, headers and body go out in ONE send.

    Header values are sent without surrounding whitespace; a header HTTP/1.1
    cannot carry raises ``_Unsendable`` (nothing is sent). A 1xx, 204 or 304
    answer carries no body and no Content-Length (RFC 9110, 8.6), a HEAD
    answer the length of the body it leaves out.
    """
    status = response.status
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}", f"Date: {_http_date()}"]
    for name, value in response.headers:
        if name.lower() in _FRAMING:
            continue
        if _TOKEN.fullmatch(name) is None or _FORBIDDEN_IN_VALUE.search(value) is not None:
            raise _Unsendable(f"header {name!r}: {value[:80]!r}")
        lines.append(f"{name}: {value.strip()}")
    bodiless = status < 200 or status in (204, 304)
    if not bodiless:
        lines.append(f"Content-Length: {len(response.body)}")
    lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    try:
        out = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
    except UnicodeEncodeError as error:
        raise _Unsendable(f"a header that is not ASCII: {error}") from None
    return out if head or bodiless else out + response.body
