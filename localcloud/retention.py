"""What the local cloud keeps, and for how long: AWS's own retention where it has one, a cap where it has none.

moto keeps everything it is given for the life of the process. On AWS, time
bounds most of it; a long JupyterLab session or a sweep of runs must not run the
local cloud out of memory (every health probe invokes a function, and each
invocation writes log events). Every ``SWEEP_S`` this component drops, in every
region moto holds state for:

* **DynamoDB stream records** older than 24 hours of AWS time ("All data in
  DynamoDB Streams is subject to a 24-hour lifetime", Developer Guide, "Change
  data capture for DynamoDB Streams"), scaled by the time scale, and the oldest
  past ``MAX_STREAM_RECORDS`` per table (a shard iterator taken before its
  records were dropped is not supported: AWS answers TrimmedDataAccessException,
  moto fails; nothing in the runbook reads streams);
* **CloudWatch Logs events** older than their log group's retention
  (PutRetentionPolicy's ``retentionInDays``, scaled; a group without one keeps
  events forever on AWS), and the oldest past ``MAX_LOG_EVENTS_PER_GROUP``;
* **CloudWatch metric data points** older than 15 days of AWS time ("Data
  points with a period of 60 seconds (1 minute) are available for 15 days",
  CloudWatch User Guide, "Metrics retention"), scaled, and the oldest past
  ``MAX_METRIC_DATA_POINTS`` per region.

What is dropped is freed because the control plane stops moto from tracking
every model instance it makes (``localcloud.controlplane.MODEL_CORRECTIONS``).
Elsewhere, bounded where they are kept: the gateway's deployment snapshots
(``localcloud.gateway.routes``: a deleted API's are dropped), the Lambda
permission decisions (``localcloud.lambda_runtime.permission_cache``) and function
configurations (``localcloud.lambda_runtime.functions``), the replication lag
samples (``localcloud.replication``). docs/design.md, "What the local cloud
keeps, and for how long", lists them all.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from moto.backends import get_backend

from localcloud.component import PeriodicComponent
from localcloud.replication import WRITE_LOCK


SWEEP_S = 5.0
"""How often (real seconds) expired and surplus records are dropped: a bound is exceeded at most this long."""

STREAM_RECORD_LIFETIME_S = 24 * 3600.0
"""AWS seconds a DynamoDB stream record lives (DynamoDB Streams' 24-hour lifetime), times the time scale."""

MAX_STREAM_RECORDS = 10_000
"""Stream records kept per table at most. AWS has no count limit, only the lifetime; at the local default
time scale (0.1) the lifetime is 2.4 real hours, and steady writes would keep millions. Nothing in the
runbook reads streams (replication observes writes directly), so the last 10,000 are plenty to inspect."""

MAX_LOG_EVENTS_PER_GROUP = 2_000
"""Log events kept per log group at most, the oldest dropped first. AWS stores log events without a limit
until a retention policy expires them; here every health probe writes four (START, the handler's line, END,
REPORT), about 1,900 a minute per region at the local time scale, so a group without a retention policy
would grow for ever. 2,000 events are the last 500 or so invocations of a function."""

METRIC_LIFETIME_S = 15 * 24 * 3600.0
"""AWS seconds a CloudWatch data point is kept at one-minute resolution (15 days), times the time scale."""

MAX_METRIC_DATA_POINTS = 50_000
"""CloudWatch data points kept per region at most, the oldest dropped first. The health checker publishes
two per health check and evaluation, so at the local time scale 15 scaled days are still millions."""


def _epoch_s(when: datetime) -> float:
    """Seconds since the epoch of a moto timestamp (moto keeps naive UTC datetimes)."""
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def expire_stream_records(shard: Any, now_s: float, lifetime_s: float, cap: int) -> int:
    """Drop a DynamoDB stream shard's records older than ``lifetime_s``, and the oldest past ``cap``.

    moto numbers a record ``starting_sequence_number + its index``; the start
    moves on by the records dropped, so later records keep rising numbers. Called
    with ``WRITE_LOCK`` held, as every write that appends a record holds it.
    """
    items = shard.items
    drop = max(0, len(items) - cap)
    cutoff = now_s - lifetime_s
    while drop < len(items) and _epoch_s(items[drop].record["dynamodb"]["ApproximateCreationDateTime"]) < cutoff:
        drop += 1
    if drop:
        del items[:drop]
        shard.starting_sequence_number += drop
    return drop


def expire_log_events(group: Any, now_ms: int, time_scale: float, cap: int) -> int:
    """Drop a log group's events past its retention (scaled), then the oldest past ``cap``, across its streams.

    A stream's events are in the order they were put; each ``del`` of a list's
    head is one step, so a writer appending at the same time loses nothing.
    """
    dropped = 0
    streams = list(group.streams.values())
    days = group.retention_in_days
    if days:
        cutoff = now_ms - float(days) * 86400 * 1000 * time_scale
        for stream in streams:
            events, n = stream.events, 0
            while n < len(events) and events[n].timestamp < cutoff:
                n += 1
            if n:
                del events[:n]
                dropped += n
    surplus = sum(len(stream.events) for stream in streams) - cap
    if surplus > 0:  # the oldest first: streams by their oldest event
        for stream in sorted((s for s in streams if s.events), key=lambda s: s.events[0].timestamp):
            n = min(surplus, len(stream.events))
            del stream.events[:n]
            dropped += n
            surplus -= n
            if surplus <= 0:
                break
    return dropped


def expire_metric_data(backend: Any, now_s: float, lifetime_s: float, cap: int) -> int:
    """Drop a CloudWatch backend's data points older than ``lifetime_s`` and the oldest past ``cap`` (put order)."""
    data = backend.metric_data
    drop = max(0, len(data) - cap)
    cutoff = now_s - lifetime_s
    while drop < len(data) and _epoch_s(data[drop].timestamp) < cutoff:
        drop += 1
    if drop:
        del data[:drop]
    return drop


class Retention(PeriodicComponent):
    """Drops what AWS would have expired, and what exceeds the local cloud's caps, every ``SWEEP_S``."""

    name = "retention"

    def __init__(self, cloud: Any):
        super().__init__(cloud)
        self.dropped: dict[str, int] = {"stream_records": 0, "log_events": 0, "metric_data_points": 0}

    def period_s(self) -> float:
        return SWEEP_S

    def status(self) -> dict[str, Any]:
        return {"retention_dropped": dict(self.dropped)}

    def sweep(self) -> None:
        """One pass over every region moto holds state for (the health checker's metrics live in us-east-1,
        whether or not a client used that region)."""
        scale = self.cloud.settings.time_scale
        now = time.time()
        for table in (t for backend in _backends("dynamodb", self.cloud.account_id) for t in list(backend.tables.values())):
            if table.stream_shard is not None:
                with WRITE_LOCK:
                    self.dropped["stream_records"] += expire_stream_records(
                        table.stream_shard, now, STREAM_RECORD_LIFETIME_S * scale, MAX_STREAM_RECORDS)
        for backend in _backends("logs", self.cloud.account_id):
            for group in list(backend.groups.values()):
                self.dropped["log_events"] += expire_log_events(group, int(now * 1000), scale, MAX_LOG_EVENTS_PER_GROUP)
        for backend in _backends("cloudwatch", self.cloud.account_id):
            self.dropped["metric_data_points"] += expire_metric_data(
                backend, now, METRIC_LIFETIME_S * scale, MAX_METRIC_DATA_POINTS)


def _backends(service: str, account_id: str) -> list[Any]:
    """moto's backends of ``service`` that exist for ``account_id``, without creating any (moto makes them on use)."""
    account = dict.get(get_backend(service), account_id)  # type: ignore[call-overload]
    return list(dict.values(account)) if account is not None else []
