"""A DNS server on loopback for the Route 53 hosted zones."""

from __future__ import annotations

from localcloud.cloud import Component


class Dns(Component):
    """A DNS server on loopback for the Route 53 hosted zones."""

    name = "dns"
