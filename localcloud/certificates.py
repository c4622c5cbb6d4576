"""A local certificate authority, ACM validation and TLS for the gateways."""

from __future__ import annotations

from localcloud.cloud import Component


class Certificates(Component):
    """A local certificate authority, ACM validation and TLS for the gateways."""

    name = "certificates"
