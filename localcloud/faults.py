"""Fault injection: FIS experiments and the local-only region outage."""

from __future__ import annotations

from localcloud.cloud import Component


class Faults(Component):
    """Fault injection: FIS experiments and the local-only region outage."""

    name = "faults"
