"""One HTTPS front per region: API Gateway REST APIs and custom domain names."""

from __future__ import annotations

from localcloud.cloud import Component


class Gateway(Component):
    """One HTTPS front per region: API Gateway REST APIs and custom domain names."""

    name = "gateway"
