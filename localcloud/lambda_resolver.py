"""Name resolution for Lambda functions: through the local cloud's DNS, as functions on AWS use public DNS.

Loaded by ``lambda_worker.py`` before the handler, when the runtime sets ``LOCALCLOUD_DNS`` (host:port).
``socket.getaddrinfo`` (what urllib, requests, urllib3 and botocore use) first asks the local cloud's DNS
server for the name's A records (Route 53 hosted zones, execute-api and custom-domain names); a name it
does not answer resolves as before, through the host's resolver, as public names do on AWS. A connection
to port 443 of one of the local cloud's gateway addresses (``LOCALCLOUD_GATEWAY_NETWORK``) goes to the
gateways' port (``LOCALCLOUD_API_PORT``), so code written for AWS (``https://name/``, no port) reaches the
API unchanged. Answers are cached for their TTL. dnspython is imported at the first lookup only, so a
function that resolves nothing starts as fast as before.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from typing import Any

HTTPS_PORT = 443


class LocalResolver:
    """``getaddrinfo`` in front of the system's, answering from the local cloud's DNS where it can."""

    def __init__(self, dns: str, api_port: int, gateway_network: str):
        host, _, port = dns.rpartition(":")
        self._server = (host, int(port))
        self._api_port = api_port
        self._gateways = ipaddress.IPv4Network(gateway_network)
        self._cache: dict[str, tuple[float, list[str]]] = {}
        self._lock = threading.Lock()
        self._resolver: Any = None
        self._system = socket.getaddrinfo

    def install(self) -> None:
        socket.getaddrinfo = self.getaddrinfo  # type: ignore[assignment]

    def getaddrinfo(self, host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0,
                    flags: int = 0) -> list[tuple[Any, ...]]:
        name = host.decode() if isinstance(host, bytes) else host
        addresses = self.lookup(name) if name and family in (0, socket.AF_INET) else []
        if not addresses:
            return self._system(host, port, family, type, proto, flags)
        number = socket.getservbyname(port) if isinstance(port, str) and not port.isdigit() else int(port or 0)
        if number == HTTPS_PORT and all(ipaddress.IPv4Address(a) in self._gateways for a in addresses):
            number = self._api_port
        kind = type or socket.SOCK_STREAM
        return [(socket.AF_INET, kind, proto or (socket.IPPROTO_TCP if kind == socket.SOCK_STREAM else 0), "",
                 (address, number)) for address in addresses]

    def lookup(self, name: str) -> list[str]:
        """The A records the local cloud's DNS answers for ``name`` ([] for an address or a name it does not know)."""
        name = name.rstrip(".").lower()
        try:
            ipaddress.ip_address(name)
            return []
        except ValueError:
            pass
        if name == "localhost" or "." not in name:
            return []
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(name)
        if cached is not None and cached[0] > now:
            return cached[1]
        addresses, ttl = self._query(name)
        with self._lock:
            self._cache[name] = (now + ttl, addresses)
        return addresses

    def _query(self, name: str) -> tuple[list[str], float]:
        import dns.exception
        import dns.resolver

        if self._resolver is None:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [self._server[0]]
            resolver.port = self._server[1]
            resolver.lifetime = 2.0
            self._resolver = resolver
        try:
            answer = self._resolver.resolve(name, "A", search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
            return [], 5.0  # not a name of the local cloud: the system resolves it
        except dns.exception.Timeout as error:
            raise socket.gaierror(socket.EAI_AGAIN, f"the local cloud's DNS did not answer for {name}") from error
        return [r.address for r in answer], float(answer.rrset.ttl if answer.rrset is not None else 0)


def install_from_environment(environ: dict[str, str]) -> LocalResolver | None:
    """Install the resolver when the runtime configured one (``LOCALCLOUD_DNS``); None otherwise."""
    dns = environ.get("LOCALCLOUD_DNS")
    if not dns:
        return None
    resolver = LocalResolver(dns, int(environ["LOCALCLOUD_API_PORT"]), environ["LOCALCLOUD_GATEWAY_NETWORK"])
    resolver.install()
    return resolver
