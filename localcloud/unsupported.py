"""What the local cloud does not emulate, and the fast, well-formed error that says so.

An operation that moto has not implemented used to crash moto's app, and the
crash reached the client as a plain-text HTTP 500, which AWS SDKs and the AWS
CLI retry (about 26 s) before printing an unparseable error. The control plane
now answers such an operation at once with HTTP 501 and the error code
``NotImplemented``, in the service's own wire format (JSON, REST-JSON,
REST-XML or query XML), naming the operation and what to use instead. 501 is
not among the status codes AWS SDKs retry (500, 502, 503, 504), so the CLI prints
the error in well under a second.

``ALTERNATIVES`` is the one list of known gaps with their alternatives;
docs/limits.md shows it, and the conformance suite
(tests/conformance/test_limits.py) checks that each entry answers this error.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from moto.core.utils import get_service_model

UNSUPPORTED_STATUS = 501
UNSUPPORTED_CODE = "NotImplemented"
LIMITS_PAGE = "docs/limits.md"

# (service, operation) -> what to use instead. Operations moto lacks that a user is likely to try.
ALTERNATIVES: dict[tuple[str, str], str] = {
    ("dynamodb", "DescribeContributorInsights"):
        "the table's CloudWatch metrics (GetMetricStatistics; ReplicationLatency for global tables)",
    ("dynamodb", "DescribeTableReplicaAutoScaling"): "DescribeTable (on-demand billing needs no auto scaling)",
    ("lambda", "InvokeWithResponseStream"): "Invoke (the whole response at once)",
    ("route53", "GetHealthCheckCount"): "ListHealthChecks, and count the HealthChecks",
    ("route53", "GetCheckerIpRanges"): "the health checks' own probes (GetHealthCheckStatus lists each checker)",
    ("apigateway", "TestInvokeMethod"): "a request to the stage's invoke URL or the custom domain",
    ("acm", "RenewCertificate"): "RequestCertificate (local certificates do not expire during a run)",
}


def alternative(service: str, operation: str) -> str:
    """What to use instead of ``service``'s ``operation`` (a pointer to the limits page when none is listed)."""
    return ALTERNATIVES.get((service, operation), f"an operation the local cloud emulates (see {LIMITS_PAGE})")


def unsupported_message(service: str, operation: str) -> str:
    return (f"The local cloud does not emulate {service}:{operation}; use {alternative(service, operation)}. "
            f"{LIMITS_PAGE} lists what it does not emulate.")


def operation_of(service: str, environ: dict[str, Any], body: bytes) -> str | None:
    """The operation a request asks for, from the service model's protocol (None when it names none we know)."""
    try:
        model = get_service_model(service)
    except Exception:  # a service botocore does not know
        return None
    if model.protocol == "json":
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        return target.rsplit(".", 1)[-1] or None
    if model.protocol in ("query", "ec2"):
        from urllib.parse import parse_qs

        values = parse_qs(environ.get("QUERY_STRING", "")) or parse_qs(body.decode(errors="replace"))
        return values.get("Action", [None])[0]
    method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
    matches = [(literal, name) for name, verb, regex, literal in _rest_routes(service)
               if verb == method and regex.match(path)]
    return max(matches)[1] if matches else None


@lru_cache(maxsize=None)
def _rest_routes(service: str) -> list[tuple[str, str, re.Pattern[str], int]]:
    """(operation, method, path regex, literal length) of every operation of a REST service; the most literal wins."""
    model = get_service_model(service)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path = http["requestUri"].split("?", 1)[0]
        pattern, literal = "", 0
        for part in re.split(r"(\{[^}]+\})", path):
            if part.startswith("{"):
                pattern += "(.+)" if part.endswith("+}") else "([^/]+)"
            else:
                pattern += re.escape(part)
                literal += len(part)
        routes.append((name, http.get("method", "POST"), re.compile(f"^{pattern}/?$"), literal))
    return routes
