"""The virtual clients' model of a real resolver and HTTP client: one declaration of its choices.

Recovery depends on the clients as much as on Route 53: a client that caches
DNS answers longer than their TTL keeps sending requests to a region Route 53
has already taken out of DNS, and a client that re-resolves after a failed
request leaves a broken region before any health check turns. Two parameters
say what the chaos step's clients do:

* ``client_dns_cache``: ``ttl`` caches each answer for its TTL (a stub resolver
  such as systemd-resolved or glibc with nscd); ``fixed`` caches every answer
  for ``FIXED_CACHE_S`` AWS seconds whatever its TTL (the JVM's default
  ``networkaddress.cache.ttl`` of 30 s, see
  https://docs.aws.amazon.com/sdk-for-java/latest/developer-guide/jvm-ttl-dns.html);
  ``none`` resolves before every request.
* ``client_on_failure``: ``none`` reports a failed request and keeps its cached
  answer; ``retry`` forgets the cached answer, resolves again and retries the
  request once (what the AWS SDKs' and most HTTP clients' retry on a
  connection error amounts to when the address changes).

Every request resolves at most once per attempt and connects to the address it
resolved (``helpers.virtual_clients``); ``helpers.recovery_model`` predicts
recovery from the same model. This module imports nothing from ``helpers`` so
the parameter declarations can read it.
"""

from __future__ import annotations

from dataclasses import dataclass

DNS_CACHE_MODES = ("ttl", "fixed", "none")
ON_FAILURE_MODES = ("none", "retry")
FIXED_CACHE_S = 30.0  # AWS seconds a ``fixed`` cache keeps an answer: the JVM's default networkaddress.cache.ttl


@dataclass(frozen=True)
class ClientModel:
    """How a virtual client caches DNS and what it does when a request fails."""

    dns_cache: str = "ttl"
    on_failure: str = "none"

    def __post_init__(self) -> None:
        if self.dns_cache not in DNS_CACHE_MODES:
            raise ValueError(f"client DNS cache {self.dns_cache!r}: allowed values are {', '.join(DNS_CACHE_MODES)}")
        if self.on_failure not in ON_FAILURE_MODES:
            raise ValueError(f"client on-failure {self.on_failure!r}: allowed values are {', '.join(ON_FAILURE_MODES)}")

    def cache_s(self, answer_ttl_s: float) -> float:
        """How long an answer with this TTL is kept (same unit as the TTL: AWS seconds in, AWS seconds out)."""
        return {"ttl": answer_ttl_s, "fixed": FIXED_CACHE_S, "none": 0.0}[self.dns_cache]

    def describe(self) -> str:
        """One sentence for a report: what the clients do."""
        cache = {"ttl": "cache each DNS answer for its TTL",
                 "fixed": f"cache each DNS answer for {FIXED_CACHE_S:g} s whatever its TTL (the JVM's default)",
                 "none": "resolve the name before every request"}[self.dns_cache]
        failure = {"none": "report a failed request and keep their cached answer",
                   "retry": "forget their cached answer after a failed request, resolve again and retry it once"}[
            self.on_failure]
        return f"The clients {cache}, and {failure}."
