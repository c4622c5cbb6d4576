"""The HTTPS listener of one region: TLS, HTTP/1.1 keep-alive, one request at a time per connection.

It knows the wire and nothing of API Gateway: each request goes to the
``answer(region, method, target, headers, body, source_ip)`` callable it was
built with, and the ``Response`` that comes back is written out.

Performance (docs/design.md, "performance traps"): HTTP/1.1
keep-alive, TCP_NODELAY on every socket, and every response written in one
``sendall``, so no request waits on the Nagle / delayed-ACK stall.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import ssl
import threading
import time
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, Callable

from localcloud.gateway.responses import Response, json_error

log = logging.getLogger(__name__)

IDLE_TIMEOUT_S = 60.0  # an idle keep-alive connection is closed after this long
HANDSHAKE_TIMEOUT_S = 10.0  # a client that does not finish its TLS handshake in this time is dropped
IDLE_SWEEP_S = 1.0  # how often the listener looks for idle connections
MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit: 10 MB

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
    """One client connection: TLS handshake, then HTTP/1.1 requests until the client closes."""

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
            conn.sendall(_serialize(json_error(400, "Bad Request"), "HTTP/1.1", False))
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
                conn.sendall(_serialize(json_error(413, "Request Too Long"), version, False))
                return False
            body = reader.read(length) if length else b""
        keep_alive = version == "HTTP/1.1" and lower.get("connection", "").lower() != "close"
        keep_alive = keep_alive or lower.get("connection", "").lower() == "keep-alive"
        self.server.busy(conn)
        response = self.server.answer(
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


def _serialize(response: Response, version: str, keep_alive: bool, head: bool = False) -> bytes:
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
