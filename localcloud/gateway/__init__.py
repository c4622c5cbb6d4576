"""API Gateway's data plane: one HTTPS listener per region, REST API routing, Lambda proxy integrations.

One job per module: ``server`` (TLS listener, HTTP/1.1 by h11, API Gateway's request quotas),
``handler`` (one request: route, invoke, answer), ``routes`` (resource trees
and deployment snapshots), ``proxy`` (the payload-1.0 event and response),
``responses`` (API Gateway's answers), ``overrides`` (its control-plane
operations), ``component`` (the listeners per region, and the wiring).
"""

from localcloud.gateway.component import Gateway
from localcloud.gateway.overrides import hosted_zone_id_for

__all__ = ["Gateway", "hosted_zone_id_for"]
