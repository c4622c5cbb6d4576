"""Route 53 health checks: where the checkers are, how they probe, and how their views become a status.

Route 53 Developer Guide, "How Amazon Route 53 determines whether a health
check is healthy": checkers in several regions probe the endpoint every
``RequestInterval`` seconds. An HTTP(S) probe passes when the TCP connection
opens within 4 s and a 2xx/3xx status arrives within 2 s after that (for a
string-match check, the string must be in the first 5,120 bytes of the body).
Each checker changes its view of the endpoint only after ``FailureThreshold``
consecutive observations to the contrary (in both directions; a new check
starts healthy), and the check is healthy while more than 18% of its checkers
say so. ``Disabled`` means healthy and ``Inverted`` flips the result.

The local cloud's health checker (``localcloud.healthchecker``) decides with
these rules; the runbook's helpers (``helpers.healthchecks``) replay
``GetHealthCheckStatus`` observations through the same ones.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Iterable

# Route 53's health checker regions (the default set), each with an address from
# its published ROUTE53_HEALTHCHECKS range (ip-ranges.json), shown as an observation's IPAddress.
CHECKER_REGIONS: dict[str, str] = {
    "us-east-1": "107.23.255.1",
    "us-west-1": "54.183.255.129",
    "us-west-2": "54.244.52.193",
    "eu-west-1": "54.228.16.1",
    "ap-southeast-1": "54.251.31.129",
    "ap-southeast-2": "54.252.79.129",
    "ap-northeast-1": "54.248.220.1",
    "sa-east-1": "54.232.40.65",
}
REQUEST_INTERVALS = (10, 30)  # RequestInterval: 10 (fast) or 30 seconds
DEFAULT_REQUEST_INTERVAL_S = 30
DEFAULT_FAILURE_THRESHOLD = 3


def default_port(check_type: str) -> int:
    """The port Route 53 probes when a HealthCheckConfig has no ``Port``: 443 for HTTPS types, 80 otherwise.

    Route 53 API Reference, HealthCheckConfig ``Port``: "if you don't specify a value for Port, the default
    is 80 if you specify HTTP or HTTP_STR_MATCH for Type, or 443 if you specify HTTPS or HTTPS_STR_MATCH".
    """
    return 443 if check_type.startswith("HTTPS") else 80
CONNECT_TIMEOUT_S = 4.0  # seconds to establish the TCP connection
RESPONSE_TIMEOUT_S = 2.0  # seconds for the status after connecting
SEARCH_LIMIT = 5120  # bytes of the body searched for SearchString
HEALTHY_FRACTION = 0.18  # healthy while MORE than 18% of checkers say so


@dataclass(frozen=True)
class Observation:
    """One probe's outcome, as a StatusReport shows it."""

    ok: bool
    status: str  # e.g. "Success: HTTP Status Code 200, OK"
    checked_time: datetime.datetime


@dataclass
class CheckerState:
    """What one checker region believes about one endpoint (FailureThreshold in both directions)."""

    healthy: bool = True  # a new health check starts healthy
    streak: int = 0  # consecutive observations contradicting ``healthy``
    last: Observation | None = None
    last_failure: Observation | None = None

    def observe(self, ok: bool, failure_threshold: int) -> bool:
        """Record one probe result; flip only after ``failure_threshold`` contrary results in a row."""
        if ok == self.healthy:
            self.streak = 0
        else:
            self.streak += 1
            if self.streak >= max(1, failure_threshold):
                self.healthy = ok
                self.streak = 0
        return self.healthy


def aggregate(checker_views: Iterable[bool], *, inverted: bool = False, disabled: bool = False) -> bool:
    """Route 53's verdict from its checkers' views: healthy while more than 18% say healthy.

    No view yet counts as healthy (a new check starts healthy). Disabled means
    healthy; Inverted flips whatever the result would otherwise be.
    """
    views = list(checker_views)
    if disabled:
        healthy = True
    elif not views:
        healthy = True
    else:
        healthy = sum(views) / len(views) > HEALTHY_FRACTION
    return not healthy if inverted else healthy
