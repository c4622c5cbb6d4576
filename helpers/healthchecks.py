"""Step 4: one Route 53 health check per region on the regional API's ``/health``.

A Route 53 health check is a set of probes sent from several AWS regions (the
*checker regions*) to an endpoint every ``RequestInterval`` seconds (10 or 30).
Each checker needs ``FailureThreshold`` consecutive results to change its
mind, and Route 53 calls the endpoint healthy while more than 18% of the
checkers do. An HTTPS check passes when the TCP connection opens within 4
seconds and a 2xx/3xx status arrives within 2 seconds; Route 53 does not
check the certificate, and sends the host name in the TLS handshake (SNI)
only with ``EnableSNI``.

Each region's check probes that region's own regional endpoint
(``{api-id}.execute-api.{region}.amazonaws.com``) rather than the shared
custom domain name, so it measures exactly one region. Step 5 attaches these
checks to the routing records.

Health checks are found by their ``CallerReference`` prefix
(``{stack}-{region}-health-``): Route 53 refuses a CallerReference that was
ever used, even by a deleted check, so each creation appends a fresh suffix.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from helpers.apigateway import regional_endpoints
from helpers.clients import Clients, tolerating
from helpers.config import Config
from helpers.prices import health_check_monthly_usd
from helpers.resource_kind import GLOBAL, Found, IamScope, Planned, ResourceKind, unscoped
from helpers.waiting import wait_until
from awsfacts.route53 import CheckerState, aggregate

# AWS seconds for a new check's first observations (Route 53 takes a minute or two), on top of interval x threshold.
FIRST_OBSERVATIONS_S = 120.0



def _prefix(cfg: Config, region: str) -> str:
    return f"{cfg.stack_name}-{region}-health-"


def check_name(cfg: Config, region: str) -> str:
    """The Name tag of the region's health check (what the Route 53 console shows)."""
    return cfg.resource_name(f"{region}-health")


def _desired(cfg: Config, host: str) -> dict[str, Any]:
    return {
        "Type": "HTTPS", "FullyQualifiedDomainName": host, "Port": cfg.api_port,
        "ResourcePath": f"/{cfg.stage}/health", "RequestInterval": cfg.health_check_interval,
        "FailureThreshold": cfg.health_check_failure_threshold, "EnableSNI": True,
    }


def _all_checks(clients: Clients) -> list[dict[str, Any]]:
    route53 = clients.client("route53")
    checks = []
    for page in route53.get_paginator("list_health_checks").paginate():
        checks.extend(page.get("HealthChecks", []))
    return checks


def _ours(cfg: Config, clients: Clients) -> dict[str, list[dict[str, Any]]]:
    """{region: [health checks of this stack for that region]} (oldest first)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for check in _all_checks(clients):
        for region in cfg.regions:
            if check.get("CallerReference", "").startswith(_prefix(cfg, region)):
                found.setdefault(region, []).append(check)
    for checks in found.values():
        checks.sort(key=lambda c: c["CallerReference"])
    return found


def health_check_ids(cfg: Config, clients: Clients) -> dict[str, str]:
    """{region: health check id} for every region that has one."""
    return {region: checks[0]["Id"] for region, checks in _ours(cfg, clients).items()}


def create_health_checks(cfg: Config, clients: Clients) -> pd.DataFrame:
    """Get or create an HTTPS health check per region on ``/{stage}/health`` of the regional endpoint.

    An existing check is brought in line with the parameters (UpdateHealthCheck);
    RequestInterval cannot be changed on AWS, so a check with another interval is replaced.
    """
    endpoints = regional_endpoints(cfg, clients)
    missing = [r for r in cfg.regions if r not in endpoints]
    if missing:
        raise LookupError(f"no regional API in {', '.join(missing)}: run the 02_backend notebook first")
    route53 = clients.client("route53")
    existing = _ours(cfg, clients)
    rows = []
    for region in cfg.regions:
        host = urlsplit(endpoints[region]).hostname or ""
        desired = _desired(cfg, host)
        check = (existing.get(region) or [None])[0]
        action = "unchanged"
        if check is not None and check["HealthCheckConfig"].get("RequestInterval") != desired["RequestInterval"]:
            route53.delete_health_check(HealthCheckId=check["Id"])
            check, action = None, "replaced"
        if check is None:
            check = route53.create_health_check(
                CallerReference=f"{_prefix(cfg, region)}{uuid.uuid4().hex[:12]}", HealthCheckConfig=desired,
            )["HealthCheck"]
            action = "created" if action == "unchanged" else action
        else:
            current = check["HealthCheckConfig"]
            updates = {k: v for k, v in desired.items()
                       if k not in ("Type", "RequestInterval") and current.get(k) != v}
            if updates:
                check = route53.update_health_check(HealthCheckId=check["Id"], **updates)["HealthCheck"]
                action = "updated"
        route53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=check["Id"], AddTags=[
            {"Key": k, "Value": v} for k, v in {**cfg.tags, "Name": check_name(cfg, region), "runbook:region": region}.items()])
        rows.append({"region": region, "health_check_id": check["Id"], "action": action,
                     "endpoint": f"https://{host}:{cfg.api_port}{desired['ResourcePath']}",
                     "interval_s": desired["RequestInterval"], "failure_threshold": desired["FailureThreshold"]})
    return pd.DataFrame(rows).set_index("region")


def _observations(clients: Clients, check_id: str) -> list[dict[str, Any]]:
    return clients.client("route53").get_health_check_status(HealthCheckId=check_id)["HealthCheckObservations"]


def _healthy(observations: list[dict[str, Any]]) -> bool:
    """Route 53's rule on the checkers' reports (more than 18% say Success); no report yet is not
    taken as healthy here: a wait for health wants a checker to have seen the endpoint answer."""
    return bool(observations) and aggregate(o["StatusReport"]["Status"].startswith("Success") for o in observations)


class HealthReplay:
    """Route 53's verdict from repeated GetHealthCheckStatus polls, with FailureThreshold applied.

    GetHealthCheckStatus shows each checker's latest probe only; Route 53 changes
    a checker's view after ``failure_threshold`` probes in a row disagree with
    it, and calls the check healthy while more than 18% of the views say so.
    Polled at least once per RequestInterval, each probe is seen (told apart by
    its CheckedTime) and replayed through those rules (``awsfacts.route53``),
    so the verdict turns when Route 53's routing does, whatever the threshold.
    """

    def __init__(self, failure_threshold: int):
        self.failure_threshold = failure_threshold
        self._views: dict[tuple[str, str, str], CheckerState] = {}
        self._checked: dict[tuple[str, str, str], Any] = {}

    def update(self, check_id: str, observations: list[dict[str, Any]]) -> bool:
        """Feed one poll of ``check_id``'s observations; the check's verdict afterwards."""
        views = []
        for observation in observations:
            key = (check_id, observation.get("Region", ""), observation.get("IPAddress", ""))
            view = self._views.setdefault(key, CheckerState())  # a new check starts healthy
            report = observation["StatusReport"]
            if report.get("CheckedTime") != self._checked.get(key):  # a probe not seen yet
                self._checked[key] = report.get("CheckedTime")
                view.observe(report["Status"].startswith("Success"), self.failure_threshold)
            views.append(view.healthy)
        return aggregate(views)


def healthy_by_region(clients: Clients, ids: dict[str, str], replay: HealthReplay | None = None) -> dict[str, bool]:
    """Each region's health from Route 53's checkers now (GetHealthCheckStatus, the >18% rule).

    Without ``replay`` the observations are each checker's latest probe: with a
    FailureThreshold above 1 this turns before Route 53's routing does (which
    waits for that many in a row). A ``HealthReplay`` fed by every poll applies
    the threshold, as Route 53 does.
    """
    if replay is not None:
        return {region: replay.update(check_id, _observations(clients, check_id)) for region, check_id in ids.items()}
    return {region: _healthy(_observations(clients, check_id)) for region, check_id in ids.items()}


def health_status(cfg: Config, clients: Clients) -> pd.DataFrame:
    """One row per region and checker: what each Route 53 checker region last saw."""
    rows = []
    for region, check_id in health_check_ids(cfg, clients).items():
        for observation in _observations(clients, check_id):
            report = observation["StatusReport"]
            rows.append({"region": region, "checker": observation["Region"], "checker_ip": observation.get("IPAddress"),
                         "status": report["Status"], "ok": report["Status"].startswith("Success"),
                         "checked_time": report.get("CheckedTime"), "health_check_id": check_id})
    columns = ["region", "checker", "checker_ip", "status", "ok", "checked_time", "health_check_id"]
    return pd.DataFrame(rows, columns=columns)


def health_summary(cfg: Config, clients: Clients) -> pd.DataFrame:
    """One row per region: how many checkers report healthy, and Route 53's verdict (the >18% rule)."""
    rows = []
    ids = health_check_ids(cfg, clients)
    for region in cfg.regions:
        observations = _observations(clients, ids[region]) if region in ids else []
        ok = sum(o["StatusReport"]["Status"].startswith("Success") for o in observations)
        rows.append({"region": region, "health_check_id": ids.get(region), "checkers": len(observations),
                     "healthy_checkers": ok, "percent_healthy": round(100.0 * ok / len(observations), 1) if observations else None,
                     "healthy": _healthy(observations)})
    return pd.DataFrame(rows).set_index("region")


def health_check_metric(cfg: Config, clients: Clients, minutes: int = 10) -> pd.DataFrame:
    """The ``HealthCheckStatus`` metric (1 healthy, 0 unhealthy) per region and minute, from CloudWatch.

    Route 53 publishes its health-check metrics in us-east-1 whatever the
    endpoints' regions, in namespace ``AWS/Route53`` with dimension ``HealthCheckId``;
    CloudWatch alarms on it are how you get paged when a region fails.
    """
    cloudwatch = clients.client("cloudwatch", "us-east-1")
    end = datetime.datetime.now(datetime.timezone.utc)
    rows = []
    for region, check_id in health_check_ids(cfg, clients).items():
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Route53", MetricName="HealthCheckStatus",
            Dimensions=[{"Name": "HealthCheckId", "Value": check_id}],
            StartTime=end - datetime.timedelta(minutes=minutes), EndTime=end + datetime.timedelta(minutes=1),
            Period=60, Statistics=["Minimum", "Average", "SampleCount"],
        )["Datapoints"]
        for point in points:
            rows.append({"region": region, "minute": point["Timestamp"], "minimum": point["Minimum"],
                         "average": round(point["Average"], 3), "samples": int(point["SampleCount"])})
    columns = ["region", "minute", "minimum", "average", "samples"]
    return pd.DataFrame(rows, columns=columns).sort_values(["region", "minute"]).reset_index(drop=True)


def wait_until_healthy(cfg: Config, clients: Clients, timeout: float | None = None) -> pd.DataFrame:
    """Wait until every region's health check is healthy by the checkers' reports; returns ``health_summary``."""
    ids = health_check_ids(cfg, clients)
    missing = [r for r in cfg.regions if r not in ids]
    if missing:
        raise LookupError(f"no health check for {', '.join(missing)}: run create_health_checks first")
    if timeout is None:
        aws_seconds = FIRST_OBSERVATIONS_S + 2 * cfg.health_check_interval * cfg.health_check_failure_threshold
        timeout = max(10.0, cfg.scaled(aws_seconds))
    last: dict[str, list[dict[str, Any]]] = {}

    def check() -> tuple[bool, list[str]]:
        last.update({region: _observations(clients, check_id) for region, check_id in ids.items()})
        healthy = [region for region, observations in last.items() if _healthy(observations)]
        return len(healthy) == len(ids), healthy

    try:
        wait_until("health checks healthy", check, timeout, total=len(ids), progress=len,
              interval=max(0.05, cfg.scaled(cfg.health_check_interval) / 4))
    except TimeoutError:
        unhealthy = {region: observations for region, observations in last.items() if not _healthy(observations)}
        raise TimeoutError(
            f"timed out after {timeout:.0f} s waiting for the health checks of {', '.join(unhealthy)} to report "
            "healthy; last observations: " + "; ".join(
                f"{region} ({ids[region]}): " + (", ".join(f"{o['Region']}: {o['StatusReport']['Status']}"
                                                           for o in observations) or "none yet")
                for region, observations in unhealthy.items())
        ) from None
    return health_summary(cfg, clients)


def delete_health_checks(cfg: Config, clients: Clients) -> pd.DataFrame:
    """Delete the stack's health checks (after the routing records that use them); tolerates a re-run."""
    route53 = clients.client("route53")
    rows = []
    for region, checks in _ours(cfg, clients).items():
        for check in checks:
            with tolerating("NoSuchHealthCheck", "HealthCheckInUse") as caught:
                route53.delete_health_check(HealthCheckId=check["Id"])
            if caught.code == "HealthCheckInUse":
                raise RuntimeError(f"health check {check['Id']} ({region}) is still used by a DNS record: "
                                   "delete the routing records (step 5 teardown) first")
            rows.append({"region": region, "health_check_id": check["Id"], "deleted": True})
    return pd.DataFrame(rows, columns=["region", "health_check_id", "deleted"])


# ------------------------------------------------------------------ the unit
def _plan(cfg: Config) -> list[Planned]:
    kind = "Route 53 health check (HTTPS" + (", fast interval)" if cfg.health_check_interval == 10 else ")")
    return [Planned("04", region, kind, check_name(cfg, region), health_check_monthly_usd(cfg)) for region in cfg.regions]


def _inventory(cfg: Config, clients: Clients, _region: str) -> list[Found]:
    return [Found("route53", GLOBAL, f"health check {check['Id']} ({region})")
            for region, checks in _ours(cfg, clients).items() for check in checks]


def _iam_statements(cfg: Config, scope: IamScope) -> list[dict[str, Any]]:
    """Route 53 health checks, and their metric in CloudWatch.

    IAM cannot narrow these to the stack: Route 53 offers no ``aws:ResourceTag``
    or ``aws:RequestTag`` condition key (its only keys are about record changes
    and VPCs), and a health check's ARN holds only its random id, known after
    creation. The runbook itself touches only the checks whose CallerReference
    starts with ``{stack}-{region}-health-``.
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonroute53.html
    """
    return [
        unscoped("route53:CreateHealthCheck", "route53:ListHealthChecks", "cloudwatch:GetMetricStatistics"),
        {"Sid": "HealthChecks", "Effect": "Allow", "Resource": f"arn:{scope.partition}:route53:::healthcheck/*",
         "Action": ["route53:GetHealthCheck", "route53:UpdateHealthCheck", "route53:DeleteHealthCheck",
                    "route53:GetHealthCheckStatus", "route53:ChangeTagsForResource", "route53:ListTagsForResource"]},
    ]


HEALTH_CHECKS = ResourceKind(
    "health checks", "route53", regional=False, plan=_plan, inventory=_inventory,
    delete=lambda cfg, clients, _: delete_health_checks(cfg, clients), iam_statements=_iam_statements,
)
