"""DynamoDB Time to Live: expired items are deleted, and a global table's deletions replicate.

moto stores ``UpdateTimeToLive`` but never deletes anything. Here every ``TTL_SWEEP_S`` (scaled) the
tables with TTL ``ENABLED`` are swept: an item whose TTL attribute is a Number (epoch seconds) in the
past is deleted, as DynamoDB does (Developer Guide, "Using time to live (TTL) in DynamoDB": items
expired more than five years ago, and items whose attribute is not a Number, are left alone). The
deletion's stream record names the service as its actor (``userIdentity`` Type ``Service``, PrincipalId
``dynamodb.amazonaws.com``). A global table is swept in one replica only (``Replication.expiry_region``)
and the deletion reaches the other replicas through replication, as on AWS ("TTL deletes are replicated").
AWS deletes expired items within a few days; here within one sweep.
"""

from __future__ import annotations

import time
from typing import Any

from localcloud.component import PeriodicComponent
from localcloud.replication import WRITE_LOCK, Replication


TTL_SWEEP_S = 10.0  # AWS seconds between two sweeps (scaled)
MAX_AGE_S = 5 * 365 * 24 * 3600  # DynamoDB leaves items that expired more than five years ago
SERVICE_IDENTITY = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}  # the Streams API's Identity shape


class TtlExpiry(PeriodicComponent):
    """Deletes expired items of tables with TTL enabled."""

    name = "ttl_expiry"

    def __init__(self, cloud: Any, *, replication: Replication):
        super().__init__(cloud)
        self._replication = replication

    def period_s(self) -> float:
        return max(0.05, self.cloud.scaled(TTL_SWEEP_S))

    def sweep(self, now: float | None = None) -> int:
        """Delete every expired item now; the number deleted."""
        now = time.time() if now is None else now
        deleted = 0
        for region in list(self.cloud.regions.active):
            backend = self.cloud.backend("dynamodb", region)
            for table in list(backend.tables.values()):
                if table.ttl.get("TimeToLiveStatus") != "ENABLED":
                    continue
                if self._replication.expiry_region(table.name) not in (None, region):
                    continue
                deleted += self._sweep_table(backend, table, table.ttl["AttributeName"], now)
        return deleted

    @staticmethod
    def _sweep_table(backend: Any, table: Any, attribute: str, now: float) -> int:
        deleted = 0
        for item in list(table.all_items()):
            value = item.attrs.get(attribute)
            if value is None or value.type != "N":
                continue
            expires = float(value.value)
            if not now - MAX_AGE_S <= expires < now:
                continue
            key = {table.hash_key_attr: item.hash_key.to_json()}
            if table.range_key_attr and item.range_key is not None:
                key[table.range_key_attr] = item.range_key.to_json()
            with WRITE_LOCK:  # the delete and its stream record's identity in one step
                before = len(table.stream_shard.items) if table.stream_shard is not None else 0
                backend.delete_item(table.name, key)
                if table.stream_shard is not None and len(table.stream_shard.items) > before:
                    table.stream_shard.items[-1].record["userIdentity"] = dict(SERVICE_IDENTITY)
            deleted += 1
        return deleted
