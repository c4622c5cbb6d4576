"""Route 53's health-check rules, as pure code: what a checker believes and what the check is.

Route 53 Developer Guide, "How Amazon Route 53 determines whether a health
check is healthy": each checker region changes its view of an endpoint only
after ``FailureThreshold`` consecutive observations to the contrary (in both
directions; a new check starts healthy), and the check is healthy while more
than 18% of its checkers say so. ``Disabled`` means healthy and ``Inverted``
flips the result.

Used by the local cloud's health checker (``localcloud.healthchecker``) to
decide, and by the runbook's helpers (``helpers.healthchecks``) to replay
``GetHealthCheckStatus`` observations the way Route 53 judges them; standard
library only, so the helpers import it on AWS too.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Iterable

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
