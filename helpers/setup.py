"""Step 0: check the environment, reach the backend, show the plan and what it costs."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

import pandas as pd

from helpers.clients import Clients
from helpers.config import Config, ConfigError, with_backend_settings

PACKAGES = ("boto3", "botocore", "moto", "papermill", "pandas", "matplotlib", "dnspython", "dnslib", "cryptography")


def environment_report() -> pd.DataFrame:
    """Python and the versions of the packages the runbook relies on."""
    rows = [{"component": "python", "version": platform.python_version(), "where": sys.executable}]
    for name in PACKAGES:
        try:
            rows.append({"component": name, "version": metadata.version(name), "where": "installed"})
        except metadata.PackageNotFoundError:
            rows.append({"component": name, "version": "missing", "where": "pip install -e '.[dev]'"})
    return pd.DataFrame(rows)


def start_local_cloud(cfg: Config) -> dict:
    """Start the local cloud with the run's time scale, or find the one already running."""
    from localcloud import daemon

    status = daemon.status(cfg.localcloud_state_dir)
    if not status["running"]:
        status = daemon.start(cfg.localcloud_state_dir, time_scale=cfg.time_scale)
    return status


def connect(cfg: Config) -> Config:
    """The config with the backend's endpoint, DNS server, CA bundle and API port filled in."""
    return with_backend_settings(cfg)


def check_identity(cfg: Config, clients: Clients) -> pd.DataFrame:
    """Who we are (STS GetCallerIdentity) and whether every configured region answers."""
    identity = clients.client("sts").get_caller_identity()
    rows = [{"check": "identity", "value": identity["Arn"], "ok": True},
            {"check": "account", "value": identity["Account"], "ok": True}]
    enabled = _enabled_regions(clients)
    for region in cfg.regions:
        ok = enabled is None or region in enabled
        rows.append({"check": f"region {region}", "value": "enabled" if ok else "not enabled for this account", "ok": ok})
    frame = pd.DataFrame(rows)
    disabled = frame[~frame["ok"]]
    if not disabled.empty:
        raise ConfigError(f"parameter 'regions': {', '.join(disabled['check'])} not enabled for account "
                          f"{identity['Account']}; enable it in the account settings or choose another region")
    return frame


def _enabled_regions(clients: Clients) -> set[str] | None:
    """Regions enabled for the account (EC2 DescribeRegions), or None when that cannot be asked."""
    try:
        answer = clients.client("ec2").describe_regions(AllRegions=False)
    except Exception:
        return None
    return {r["RegionName"] for r in answer["Regions"]}


# Approximate list prices in USD (us-east-1, 2026); the point is the order of magnitude.
MONTHLY_PRICES = {
    "hosted zone": 0.50,
    "health check (HTTPS, fast interval)": 0.75 + 2.00 + 2.00,
    "traffic policy record": 50.00,
}


def plan(cfg: Config) -> pd.DataFrame:
    """Every resource the runbook will create, per region, with its approximate monthly cost on AWS."""
    rows = []

    def add(step: str, region: str, resource: str, name: str, usd: float = 0.0) -> None:
        rows.append({"step": step, "region": region, "resource": resource, "name": name, "usd_per_month": usd})

    for i, region in enumerate(cfg.regions):
        add("01", region, "DynamoDB replica table (on-demand)", cfg.table_name)
        for fn in ("post-item", "get-item", "health"):
            add("02", region, "Lambda function", cfg.resource_name(fn))
        add("02", region, "API Gateway REST API (REGIONAL)", cfg.resource_name("api"))
        add("03", region, "ACM certificate (DNS validated)", cfg.domain_name)
        add("03", region, "API Gateway custom domain name", cfg.domain_name)
        add("04", region, "Route 53 health check", f"{cfg.stack_name}-{region}",
            MONTHLY_PRICES["health check (HTTPS, fast interval)"] if cfg.health_check_interval == 10 else 0.75 + 2.00)
        add("05", region, f"Route 53 {cfg.routing_policy} record", cfg.domain_name)
    add("02", "global", "IAM role (least privilege)", cfg.resource_name("lambda-role"))
    if cfg.create_hosted_zone:
        add("03", "global", "Route 53 hosted zone", cfg.hosted_zone, MONTHLY_PRICES["hosted zone"])
    if cfg.use_traffic_policy:
        add("05", "global", "Route 53 traffic policy record", cfg.domain_name, MONTHLY_PRICES["traffic policy record"])
    return pd.DataFrame(rows)


def monthly_cost(plan_frame: pd.DataFrame) -> float:
    """Fixed monthly cost of a plan on AWS (requests, storage and data transfer come on top, cents at runbook scale)."""
    return round(float(plan_frame["usd_per_month"].sum()), 2)
