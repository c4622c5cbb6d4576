"""Step 0: check the environment, reach the backend, show the plan and what it costs."""

from __future__ import annotations

import dataclasses
import platform
import sys
from importlib import metadata

import pandas as pd

from helpers import stack
from helpers.aws_account import check_account
from helpers.clients import Clients
from helpers.config import Config, with_backend_settings
from helpers.dryrun import start_dry_run
from helpers.resource_kind import Planned

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
    """Every resource the runbook will create (``helpers.stack.STACK``), per region and step, with its
    approximate fixed monthly cost on AWS."""
    rows = [dataclasses.asdict(row) for kind in stack.STACK for row in kind.plan(cfg)]
    frame = pd.DataFrame(rows, columns=[f.name for f in dataclasses.fields(Planned)])
    return frame.sort_values("step", kind="stable").reset_index(drop=True)


def monthly_cost(plan_frame: pd.DataFrame) -> float:
    """Fixed monthly cost of a plan on AWS; ``helpers.aws_account.cost_estimate`` adds the requests (health-check traffic, a run)."""
    return round(float(plan_frame["usd_per_month"].sum()), 2)
