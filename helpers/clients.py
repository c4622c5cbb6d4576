"""Clients with one code path: boto3 per service and region, DNS, HTTPS.

Everything the runbook sends goes through these three, configured only by the
``Config``: the AWS endpoint URL (none on AWS), the DNS server to ask (the
system's on AWS), the CA bundle to trust (the system's on AWS) and the port of
the regional APIs (443 on AWS). In a dry run all three are behind the one
boundary of ``helpers.dryrun``: changes are recorded, not made.

AWS errors have one idiom here: ``tolerating(*codes)`` around the call that may
fail with one of those codes (``error_code`` reads a ``ClientError``'s code).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import urlsplit

import boto3
import botocore.config
from botocore.exceptions import ClientError
import dns.edns
import dns.exception
import dns.message
import dns.query
import dns.rdatatype
import dns.resolver
import urllib3

from helpers.config import Config
from helpers.dryrun import PRETEND_ADDRESS, DryRun, dry_run_log, is_placeholder

LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def error_code(error: ClientError) -> str:
    """The AWS error code of a botocore ``ClientError`` (e.g. ``ResourceNotFoundException``), or ''."""
    return error.response.get("Error", {}).get("Code", "")


@dataclass
class Tolerated:
    """What ``tolerating`` caught: the error code, or '' when the block ran through."""

    code: str = ""


@contextlib.contextmanager
def tolerating(*codes: str) -> Iterator[Tolerated]:
    """Let the AWS calls in the block fail with one of ``codes``; any other error is raised.

    The block stops at the failing call and the code goes on after it, so a
    lookup reads ``with tolerating("ResourceNotFoundException"): return
    describe(...)`` followed by ``return None``. ``as caught`` tells which code
    stopped the block (``caught.code``), '' when none did.
    """
    caught = Tolerated()
    try:
        yield caught
    except ClientError as error:
        if error_code(error) not in codes:
            raise
        caught.code = error_code(error)


class Clients:
    """boto3 clients per (service, region), built once and reused (they are thread-safe)."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        if cfg.endpoint_url:
            self._session = boto3.session.Session(**LOCAL_CREDENTIALS)
        else:
            self._session = boto3.session.Session(profile_name=cfg.aws_profile or None)
        self._botocore_config = botocore.config.Config(
            retries={"mode": "adaptive", "max_attempts": 10},
            max_pool_connections=32,
            tcp_keepalive=True,
            connect_timeout=5,
            read_timeout=30,
        )
        # A dry run records mutating calls instead of sending them (helpers.dryrun); None otherwise.
        self.dry_run: DryRun | None = dry_run_log(cfg, fresh=True)
        if self.dry_run is not None:
            self.dry_run.account_source = lambda: self.client("sts").get_caller_identity()["Account"]

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client for ``service`` in ``region`` (default: the first region)."""
        region = region or self.cfg.primary_region
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._session.client(
                    service,
                    region_name=region,
                    endpoint_url=self.cfg.endpoint_url,
                    config=self._botocore_config,
                )
                if self.dry_run is not None:
                    self.dry_run.instrument(self._clients[key])
            return self._clients[key]

    def client_without_retries(self, service: str, region: str) -> Any:
        """A new client that makes exactly one attempt per call (for measurements that count retries themselves)."""
        config = self._botocore_config.merge(botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1}))
        client = self._session.client(service, region_name=region, endpoint_url=self.cfg.endpoint_url, config=config)
        if self.dry_run is not None:
            self.dry_run.instrument(client)
        return client

    def __call__(self, service: str, region: str | None = None) -> Any:
        return self.client(service, region)


# --------------------------------------------------------------------- DNS
@dataclass(frozen=True)
class Answer:
    """One DNS answer: the addresses and the TTL the server gave."""

    name: str
    addresses: tuple[str, ...]
    ttl: int
    cnames: tuple[str, ...] = ()
    would_be: bool = False  # a dry run's answer for a name only it would have created (nothing is sent there)


def _nameserver(cfg: Config) -> tuple[str, int] | None:
    if not cfg.dns_server:
        return None
    host, _, port = cfg.dns_server.rpartition(":")
    return host, int(port or 53)


def authoritative_server(cfg: Config, name_servers: list[str]) -> tuple[str, int]:
    """The server that answers for a hosted zone itself, with no resolver cache in between.

    That is the configured DNS server when there is one (the local cloud's), else
    the first of the zone's Route 53 name servers (``name_servers``, from
    GetHostedZone's DelegationSet), on port 53.
    """
    configured = _nameserver(cfg)
    if configured is not None:
        return configured
    return resolve(cfg, name_servers[0]).addresses[0], 53


def resolve(cfg: Config, name: str, rdtype: str = "A", *, tcp: bool = False, client_subnet: str | None = None,
            server: tuple[str, int] | None = None) -> Answer:
    """Ask the configured DNS server (the system's on AWS), or ``server``, for ``name``.

    The answer lists the addresses and the CNAMEs on the way to them (an
    authoritative server may answer with the CNAME alone).

    ``client_subnet`` sends an EDNS Client Subnet option, which latency routing
    uses to place the client (RFC 7871, as Route 53 honours it). In a dry run
    a name that does not resolve because only the dry run would have created
    it answers ``PRETEND_ADDRESS``, marked ``would_be`` (``helpers.dryrun``).
    """
    log = dry_run_log(cfg)
    if log is not None and is_placeholder(name):  # made up by the dry run: not a name to ask DNS about
        return Answer(name, (PRETEND_ADDRESS,), 0, would_be=True)
    try:
        return _resolve(cfg, name, rdtype, tcp=tcp, client_subnet=client_subnet, server=server)
    except (LookupError, dns.exception.DNSException):
        if log is not None and log.would_create(name):
            return Answer(name, (PRETEND_ADDRESS,), 0, would_be=True)
        raise


def _resolve(cfg: Config, name: str, rdtype: str, *, tcp: bool, client_subnet: str | None,
             server: tuple[str, int] | None) -> Answer:
    server = server or _nameserver(cfg)
    if server is None:
        answer = dns.resolver.resolve(name, rdtype)
        addresses = tuple(r.to_text() for r in answer)
        return Answer(name, addresses, answer.rrset.ttl)
    options = []
    if client_subnet:
        address, _, prefix = client_subnet.partition("/")
        options.append(dns.edns.ECSOption(address, int(prefix or 24)))
    query = dns.message.make_query(name, rdtype, use_edns=0 if options else None, options=options or None)
    send = dns.query.tcp if tcp else dns.query.udp
    response = send(query, server[0], port=server[1], timeout=3)
    addresses, cnames, ttls = [], [], []
    for rrset in response.answer:
        ttls.append(rrset.ttl)
        for rdata in rrset:
            if rrset.rdtype == dns.rdatatype.CNAME:
                cnames.append(rdata.to_text().rstrip("."))
            elif rrset.rdtype == dns.rdatatype.from_text(rdtype):
                addresses.append(rdata.to_text())
    if not addresses and not cnames:
        raise LookupError(f"{name} {rdtype}: no answer from DNS server {server[0]}:{server[1]} (rcode {dns.rcode.to_text(response.rcode())})")
    return Answer(name, tuple(addresses), min(ttls), tuple(cnames))


class CachingResolver:
    """A stub resolver that caches answers for their TTL, as a client's resolver would."""

    def __init__(self, cfg: Config, clock=time.monotonic):
        self.cfg = cfg
        self._clock = clock
        self._cache: dict[str, tuple[float, Answer]] = {}

    def lookup(self, name: str) -> Answer:
        now = self._clock()
        hit = self._cache.get(name)
        if hit and hit[0] > now:
            return hit[1]
        answer = resolve(self.cfg, name)
        self._cache[name] = (now + answer.ttl, answer)
        return answer

    def flush(self) -> None:
        self._cache.clear()


# -------------------------------------------------------------------- HTTPS
@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    address: str  # the IP address that answered ('' when a dry run answered instead)
    elapsed_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    certificate: dict[str, Any] = field(default_factory=dict)  # the server's, as ssl's getpeercert() gives it

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class HttpClient:
    """HTTPS with names resolved only through the configured DNS server.

    Connections are kept alive per (address, port, host name) and verified
    against the configured CA bundle (the system's on AWS), with SNI and
    certificate host-name checks on the requested name.

    In a dry run it is behind the dry run's boundary: a request that would
    change something (POST, PUT, PATCH, DELETE) is recorded and not sent, and
    one to a name only the dry run would have created is answered, not sent.
    """

    def __init__(self, cfg: Config, resolver: CachingResolver | None = None, timeout: float = 10.0):
        self.cfg = cfg
        self.resolver = resolver or CachingResolver(cfg)
        self.timeout = timeout
        self._pools: dict[tuple[str, int, str], urllib3.HTTPConnectionPool] = {}
        self._lock = threading.Lock()

    def _pool(self, scheme: str, address: str, port: int, host: str) -> urllib3.HTTPConnectionPool:
        key = (address, port, host)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                options = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
                if scheme == "https":
                    pool = urllib3.HTTPSConnectionPool(
                        address, port, maxsize=4, block=False, retries=False,
                        timeout=urllib3.Timeout(connect=4, read=self.timeout),
                        server_hostname=host, assert_hostname=host,
                        cert_reqs="CERT_REQUIRED", ca_certs=self.cfg.ca_bundle,  # None: the system trust store
                        socket_options=options,
                    )
                else:
                    pool = urllib3.HTTPConnectionPool(
                        address, port, maxsize=4, block=False, retries=False,
                        timeout=urllib3.Timeout(connect=4, read=self.timeout), socket_options=options,
                    )
                self._pools[key] = pool
            return pool

    def request(self, method: str, url: str, *, json_body: Any = None, body: bytes | None = None,
                headers: dict[str, str] | None = None, connect_to: str | None = None,
                with_certificate: bool = False) -> HttpResponse:
        """Send one request; the URL's host is resolved through the configured DNS server.

        ``connect_to`` sends it to that name's address instead, with the URL's
        host still as TLS server name and Host header (``curl --connect-to``).
        ``with_certificate`` keeps the server's certificate in the answer.
        """
        host = urlsplit(url).hostname or ""
        answer = self.resolver.lookup(connect_to or host)
        if answer.would_be:
            return HttpResponse(200, {}, b"{}", "", extra={"dry_run": f"{answer.name} exists only in the dry run"})
        if not answer.addresses:
            raise LookupError(f"{answer.name} resolves to {', '.join(answer.cnames)} but to no address")
        return self.request_to(answer.addresses[0], method, url, json_body=json_body, body=body, headers=headers,
                               with_certificate=with_certificate)

    def request_to(self, address: str, method: str, url: str, *, json_body: Any = None, body: bytes | None = None,
                   headers: dict[str, str] | None = None, with_certificate: bool = False) -> HttpResponse:
        """Send one request to ``address`` (already resolved by the caller), with the URL's host as Host and SNI.

        Every request of the runbook leaves through here, so this is where a dry run
        records a mutating request instead of sending it (``helpers.dryrun``).
        """
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if json_body is not None:
            body = json.dumps(json_body).encode()
        log = dry_run_log(self.cfg)  # the current one: a later Clients of the same run may have started it anew
        if log is not None:
            recorded = log.http_request(method, url, body)
            if recorded is not None:
                return HttpResponse(200, {}, recorded, "", extra={"dry_run": "recorded, not sent"})
        send_headers = {"Host": host if parts.port in (None, 443, 80) else f"{host}:{port}"}
        if json_body is not None:
            send_headers["Content-Type"] = "application/json"
        send_headers.update(headers or {})
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        started = time.monotonic()
        response = self._pool(parts.scheme, address, port, host).urlopen(
            method, path, body=body, headers=send_headers, redirect=False, assert_same_host=False,
            preload_content=not with_certificate,
        )
        certificate: dict[str, Any] = {}
        if with_certificate:  # read while the connection (and its TLS socket) still belongs to the response
            certificate = response.connection.sock.getpeercert() or {}
            response.read(cache_content=True)
            response.release_conn()
        return HttpResponse(response.status, dict(response.headers), response.data, address, time.monotonic() - started,
                            certificate=certificate)

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()
