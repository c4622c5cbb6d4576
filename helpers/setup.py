"""Step 0: check the environment, reach the backend, show the plan and what it costs."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

import pandas as pd

from helpers import apigateway, healthchecks, lambdas
from helpers.aws_account import PRICES, check_account, health_check_monthly_usd
from helpers.clients import Clients
from helpers.config import Config, with_backend_settings
from helpers.dryrun import start_dry_run

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
    """Start the local cloud with the run's time scale, or find the one already running.

    Its status, with ``"started": True`` when this call started it.
    """
    from localcloud import daemon

    status = daemon.status(cfg.localcloud_state_dir)
    if status["running"]:
        return {**status, "started": False}
    return {**daemon.start(cfg.localcloud_state_dir, time_scale=cfg.time_scale), "started": True}


def connect(cfg: Config) -> Config:
    """The config with the backend's endpoint, DNS server, CA bundle and API port filled in.

    A dry run starts here with an empty record (``helpers.dryrun.start_dry_run``).
    """
    if cfg.dry_run:
        start_dry_run(cfg)
    return with_backend_settings(cfg)


def check_identity(cfg: Config, clients: Clients) -> pd.DataFrame:
    """Identity, regions and hosted zone, before anything is created (``helpers.aws_account.check_account``)."""
    return check_account(cfg, clients)


def plan(cfg: Config) -> pd.DataFrame:
    """Every resource the runbook will create, per region, with its approximate monthly cost on AWS."""
    rows = []

    def add(step: str, region: str, resource: str, name: str, usd: float = 0.0) -> None:
        rows.append({"step": step, "region": region, "resource": resource, "name": name, "usd_per_month": usd})

    for i, region in enumerate(cfg.regions):
        add("01", region, "DynamoDB replica table (on-demand)", cfg.table_name)
        for spec in lambdas.FUNCTIONS:
            add("02", region, "Lambda function", lambdas.function_name(cfg, spec.key))
        add("02", region, "API Gateway REST API (REGIONAL)", apigateway.api_name(cfg))
        add("03", region, "ACM certificate (DNS validated)", cfg.domain_name)
        add("03", region, "API Gateway custom domain name", cfg.domain_name)
        add("04", region, "Route 53 health check (HTTPS" + (", fast interval)" if cfg.health_check_interval == 10 else ")"),
            healthchecks.check_name(cfg, region), health_check_monthly_usd(cfg))
        add("05", region, f"Route 53 {cfg.routing_policy} record", cfg.domain_name)
    add("02", "global", "IAM role (least privilege)", lambdas.role_name(cfg))
    if cfg.create_hosted_zone:
        add("03", "global", "Route 53 hosted zone", cfg.hosted_zone, PRICES["hosted_zone_month"])
    if cfg.use_traffic_policy:
        add("05", "global", "Route 53 traffic policy record", cfg.domain_name, PRICES["traffic_policy_record_month"])
    return pd.DataFrame(rows)


def monthly_cost(plan_frame: pd.DataFrame) -> float:
    """Fixed monthly cost of a plan on AWS; ``helpers.aws_account.cost_estimate`` adds the requests (health-check traffic, a run)."""
    return round(float(plan_frame["usd_per_month"].sum()), 2)
