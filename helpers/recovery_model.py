"""What recovery should take: detection, DNS convergence and client convergence as distributions.

Pure functions (no AWS call), so the chaos notebook, ``chaos_metrics.json``
and the failover benchmark predict with the same code. Everything is in AWS
seconds. The model follows what Route 53 and the clients do:

* **Health checkers.** Each of the ``checkers`` probes the endpoint once per
  ``RequestInterval`` at its own phase; a checker changes its view after
  ``FailureThreshold`` consecutive contrary probes, and the check is healthy
  while more than 18% of the checkers say so (Route 53 Developer Guide, "How
  Amazon Route 53 determines whether a health check is healthy",
  https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html).
  So the check turns unhealthy when the ``n - floor(0.18 n)``-th checker has
  seen its ``FailureThreshold``-th failure, and healthy again when the
  ``floor(0.18 n) + 1``-th has seen its ``FailureThreshold``-th success.
  The checkers' phases are an input: a run measures them from the
  ``CheckedTime`` of each checker's probes (the local cloud spreads its 8
  checkers evenly over the interval; AWS's checkers do not coordinate, which
  ``phases=None`` models as independent uniform phases). The fault falls at a
  uniformly random point of that schedule.
* **DNS.** Route 53 answers from the check's status as soon as it changes
  (``dns_delay_s`` adds propagation to its name servers, 0 by default: the
  local cloud has none, and on AWS it is usually seconds).
* **Clients** (``helpers.client_model``): each sends one request every
  ``request_period_s`` at its own phase, and resolves when its cached answer
  has expired (at the first request after expiry: with a cache that is a
  whole number of request periods, that request or the next, as timing
  jitter falls). An answer names the broken region with probability
  ``broken_share`` before DNS changes, and never after. A client whose
  requests fail there and that retries re-resolves at once.

``client convergence`` is the recovery time: from the fault to the last
request that failed on, or was served by, the broken region (0 when none
did). The worst case Route 53 documents, threshold x interval + TTL, is given
beside the distributions.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from awsfacts.route53 import CHECKER_REGIONS, HEALTHY_FRACTION
from helpers.client_model import ClientModel

DEFAULT_CHECKERS = len(CHECKER_REGIONS)  # Route 53's default health-checker regions (HealthCheckConfig.Regions left empty)
TRIALS = 4000


@dataclass(frozen=True)
class Band:
    """A predicted distribution, summarised."""

    median: float
    p95: float
    p5: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {"p5": round(self.p5, 3), "median": round(self.median, 3), "p95": round(self.p95, 3)}


@dataclass(frozen=True)
class Setting:
    """One experiment's inputs, in AWS seconds."""

    interval_s: float
    failure_threshold: int
    ttl_s: float  # the TTL the clients receive (on the local cloud: the wire TTL / time_scale)
    client: ClientModel = field(default_factory=ClientModel)
    clients: int = 6
    request_period_s: float = 2.5  # AWS seconds between two requests of one client
    broken_share: float = 0.5  # share of DNS answers naming the broken region before the change
    requests_fail: bool = False  # requests to the broken region fail (throttling, outage) or it keeps serving
    hold_s: float = 90.0  # the fault's duration: nothing is measured past the restore
    checkers: int = DEFAULT_CHECKERS
    phases: tuple[float, ...] | None = None  # each checker's phase, a fraction of the interval; None: random
    dns_delay_s: float = 0.0

    @property
    def worst_case_s(self) -> float:
        """Route 53's documented failover time: FailureThreshold x RequestInterval, plus the TTL."""
        return self.failure_threshold * self.interval_s + self.ttl_s


@dataclass(frozen=True)
class Prediction:
    detection: Band
    dns_convergence: Band
    client_convergence: Band
    healthy_again: Band  # from the restore
    worst_case_s: float

    def as_dict(self) -> dict[str, object]:
        return {"detection_s": self.detection.as_dict(), "dns_convergence_s": self.dns_convergence.as_dict(),
                "recovery_time_s": self.client_convergence.as_dict(), "healthy_again_s": self.healthy_again.as_dict(),
                "worst_case_s": round(self.worst_case_s, 3)}


def checkers_to_turn(checkers: int) -> tuple[int, int]:
    """(checkers that must see the failure for unhealthy, checkers that must see success for healthy again)."""
    healthy_at_most = math.floor(HEALTHY_FRACTION * checkers)  # unhealthy while at most this many say healthy
    return checkers - healthy_at_most, healthy_at_most + 1


def _turn_time(rng: random.Random, s: Setting, needed: int) -> float:
    """Seconds from a change at a random point of the schedule until ``needed`` checkers have turned."""
    offset = rng.random()
    n = len(s.phases) if s.phases else s.checkers
    phases = s.phases or [rng.random() for _ in range(n)]
    firsts = sorted(((p - offset) % 1.0) * s.interval_s for p in phases)
    return firsts[needed - 1] + (s.failure_threshold - 1) * s.interval_s


def _cache_steps(s: Setting) -> tuple[int, int]:
    """How many request periods an answer lasts: (k, k) or, when the cache is a whole number k of periods, (k, k+1)."""
    cache = s.client.cache_s(s.ttl_s)
    if cache <= 0:
        return 1, 1
    ratio = cache / s.request_period_s
    k = round(ratio)
    if abs(ratio - k) < 1e-6 and k >= 1:
        return k, k + 1
    return math.ceil(ratio), math.ceil(ratio)


def _last_broken_request(rng: random.Random, s: Setting, dns_change: float) -> float | None:
    """One client: the time of its last request that went to the broken region during the fault."""
    low, high = _cache_steps(s)

    def steps() -> int:
        return low if low == high or rng.random() < 0.5 else high

    def answer_broken(t: float) -> bool:
        return t < dns_change and rng.random() < s.broken_share

    start = rng.random() * s.request_period_s
    next_resolution = rng.randrange(steps())  # the cached answer's age at the fault is random
    broken = rng.random() < s.broken_share
    last = None
    j = 0
    while (t := start + j * s.request_period_s) < s.hold_s:
        if j >= next_resolution:
            broken = answer_broken(t)
            next_resolution = j + steps()
        if broken:
            last = t
            if s.requests_fail and s.client.on_failure == "retry":
                broken = answer_broken(t)
                next_resolution = j + steps()
        if not broken and t >= dns_change:
            break  # converged: no answer after the change names the broken region
        j += 1
    return last


def _band(values: list[float]) -> Band:
    ordered = sorted(values)
    return Band(_quantile(ordered, 0.5), _quantile(ordered, 0.95), _quantile(ordered, 0.05))


def _quantile(ordered: list[float], q: float) -> float:
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def predict(s: Setting, trials: int = TRIALS, seed: int = 14) -> Prediction:
    """Monte Carlo over the fault's point in the checkers' schedule, the clients' phases and DNS answers."""
    rng = random.Random(seed)
    n = len(s.phases) if s.phases else s.checkers
    to_unhealthy, to_healthy = checkers_to_turn(n)
    detection, dns, clients, healthy_again = [], [], [], []
    for _ in range(trials):
        d = _turn_time(rng, s, to_unhealthy)
        change = d + s.dns_delay_s
        lasts = [_last_broken_request(rng, s, change) for _ in range(s.clients)]
        detection.append(d)
        dns.append(change)
        clients.append(max((t for t in lasts if t is not None), default=0.0))
        healthy_again.append(_turn_time(rng, s, to_healthy))
    return Prediction(_band(detection), _band(dns), _band(clients), _band(healthy_again), s.worst_case_s)
