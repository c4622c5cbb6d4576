"""CloudWatch ``ListMetrics`` lists each metric once, as CloudWatch does.

A metric is a namespace, a name and a set of dimensions (CloudWatch User Guide, "Metrics concepts");
``ListMetrics`` returns each such metric once, however many data points it has. moto lists one entry per
batch of statistic sets, so ``ReplicationLatency``, published once a second per (table, receiving Region),
appeared many times. Here moto's list is reduced to one entry per metric, keeping its order.

Overrides (control plane): cloudwatch ``ListMetrics``.
"""

from __future__ import annotations

from typing import Any

from localcloud.component import Component
from localcloud.controlplane import Call


class CloudWatchMetrics(Component):
    """ListMetrics without duplicates."""

    name = "cloudwatch_metrics"

    def __init__(self, cloud: Any):
        super().__init__(cloud)
        cloud.controlplane.register("cloudwatch", "ListMetrics", self._list_metrics)

    def _list_metrics(self, call: Call) -> dict[str, Any]:
        backend = self.cloud.backend("cloudwatch", call.region)
        params = call.params
        next_token, metrics = backend.list_metrics(params.get("NextToken"), params.get("Namespace"),
                                                   params.get("MetricName"), params.get("Dimensions") or [])
        seen: set[tuple[Any, ...]] = set()
        unique = []
        for metric in metrics:
            key = (metric.namespace, metric.name, tuple(sorted((d.name, d.value) for d in metric.dimensions)))
            if key not in seen:
                seen.add(key)
                unique.append(metric)
        return {"Metrics": unique, "NextToken": next_token}
