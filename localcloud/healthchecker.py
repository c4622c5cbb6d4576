"""Probes Route 53 health checks from simulated checker regions."""

from __future__ import annotations

from localcloud.cloud import Component


class HealthChecker(Component):
    """Probes Route 53 health checks from simulated checker regions."""

    name = "healthchecker"
