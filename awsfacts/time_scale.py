"""What a time scale may be: one check shared by the runbook's parameters and the local cloud's CLI.

A time scale multiplies every duration AWS defines (health-check intervals, DNS
TTLs, replication delay): 1.0 is AWS's own real time, 0.1 makes a 10-second
interval last one second. The local cloud exists to run AWS's timing at real
speed or faster, so a scale above 1.0 (slower than AWS) has no use and only
stretches every wait; below 0.01 a 10-second health-check interval would be
shorter than 100 ms, about one probe's own round trip, and the failover the run
measures would no longer follow AWS's timing. NaN and infinity are refused.

It imports nothing, so ``helpers`` (the ``time_scale`` parameter) and
``localcloud`` (``localcloud start --time-scale``) apply the same rule.
"""

from __future__ import annotations

import math

MIN_TIME_SCALE = 0.01
MAX_TIME_SCALE = 1.0
ALLOWED = f"a number from {MIN_TIME_SCALE} to {MAX_TIME_SCALE} (1.0 is AWS's real time, 0.1 ten times faster)"


def check_time_scale(value: object) -> float:
    """``value`` as a float if it is an allowed time scale, else ``ValueError`` saying what is allowed."""
    if isinstance(value, bool):
        raise ValueError(f"time scale {value!r}: expected {ALLOWED}")
    try:
        scale = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"time scale {value!r}: expected {ALLOWED}") from None
    if not math.isfinite(scale) or not MIN_TIME_SCALE <= scale <= MAX_TIME_SCALE:
        raise ValueError(f"time scale {value!r}: expected {ALLOWED}")
    return scale
