"""Global-table replication between replica tables (the 2019.11.21 version's behaviour)."""

from __future__ import annotations

from localcloud.cloud import Component


class Replication(Component):
    """Global-table replication between replica tables (the 2019.11.21 version's behaviour)."""

    name = "replication"
