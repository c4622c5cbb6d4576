"""Typed, validated runbook parameters.

Every notebook starts with ``cfg = load_config(globals())``: the values of its
``parameters`` cell (as papermill injected them) become one frozen ``Config``.
Validation happens here, before any resource is created; a bad value raises
``ConfigError`` naming the parameter, the value and what is allowed.

This module is also the one place where the local cloud and AWS differ: for
``backend: local`` the endpoint, DNS server, CA bundle and API port come from
the running local cloud's ``status.json``; for ``backend: aws`` they are the
real ones (no endpoint override, the system resolver, the system CA store,
port 443).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from localcloud.regions import known_regions

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = PROJECT_ROOT / ".localcloud"

BACKENDS = ("local", "aws")
ROUTING_POLICIES = ("weighted", "latency", "failover")
FAULTS = ("health_status", "lambda_throttle", "replication_pause", "region_outage")
HEALTH_CHECK_INTERVALS = (10, 30)  # Route 53 RequestInterval: 10 (fast) or 30 seconds.

# DynamoDB table names: 3-255 characters of a-z, A-Z, 0-9, '_', '-', '.'.
TABLE_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
# Used in resource names (Lambda, IAM, API Gateway) and in tags, so keep it short and plain.
STACK_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,22}[a-z0-9]$")
STAGE_RE = re.compile(r"^[A-Za-z0-9_]{1,128}$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class ConfigError(ValueError):
    """A parameter has a value the runbook cannot use; the message says which and why."""


@dataclass(frozen=True)
class Config:
    """The runbook's parameters, validated. Durations are in AWS seconds (before time_scale)."""

    backend: str = "local"
    regions: tuple[str, ...] = ("eu-west-1", "eu-central-1")
    stack_name: str = "mraa"
    table_name: str = "MyGlobalTable"
    hosted_zone: str = "runbook.test"
    domain_name: str = "api.runbook.test"
    create_hosted_zone: bool = True  # False on AWS: use an existing public zone (never deleted by teardown)
    stage: str = "dev"
    time_scale: float = 0.1
    routing_policy: str = "weighted"
    use_traffic_policy: bool = False
    record_ttl: int = 10
    health_check_interval: int = 10
    health_check_failure_threshold: int = 1
    fault: str = "health_status"
    faulty_region: str = ""  # empty: the first region
    steady_s: float = 60.0
    hold_s: float = 90.0
    recovery_s: float = 90.0
    load_clients: int = 6
    request_rate: float = 4.0  # requests per second per client (in scaled time)
    dry_run: bool = False
    acknowledge_costs: bool = False
    aws_profile: str = ""
    localcloud_state_dir: str = str(DEFAULT_STATE_DIR)
    run_dir: str = str(PROJECT_ROOT / "reports" / "interactive")
    # Filled in from the local cloud's status (backend local) or left at AWS's values.
    endpoint_url: str | None = field(default=None, compare=False)
    dns_server: str | None = field(default=None, compare=False)
    ca_bundle: str | None = field(default=None, compare=False)
    api_port: int = field(default=443, compare=False)

    # ----------------------------------------------------------------- derived
    @property
    def uses_local_cloud(self) -> bool:
        """True when the backend is the local cloud (which the runner and 00_setup start)."""
        return self.backend == "local"

    @property
    def primary_region(self) -> str:
        return self.regions[0]

    @property
    def fault_region(self) -> str:
        return self.faulty_region or self.regions[0]

    @property
    def healthy_regions(self) -> tuple[str, ...]:
        return tuple(r for r in self.regions if r != self.fault_region)

    def scaled(self, seconds: float) -> float:
        """A duration AWS defines, as it passes on this backend (real seconds)."""
        return seconds * self.time_scale

    @property
    def tags(self) -> dict[str, str]:
        """Tags put on every resource the runbook creates; teardown finds resources by them."""
        return {"runbook:stack": self.stack_name, "runbook:project": "multi-region-active-active"}

    @property
    def port_suffix(self) -> str:
        """``:port`` for HTTPS URLs of the APIs, or '' on 443 (AWS)."""
        return "" if self.api_port == 443 else f":{self.api_port}"

    def resource_name(self, suffix: str) -> str:
        """A name for a stack resource, e.g. ``mraa-post-item``."""
        return f"{self.stack_name}-{suffix}"

    def public_params(self) -> dict[str, Any]:
        """The parameters as a plain dict (what a report shows)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name in PARAMETER_NAMES}


_RUNTIME_FIELDS = {"endpoint_url", "dns_server", "ca_bundle", "api_port"}
PARAMETER_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Config) if f.name not in _RUNTIME_FIELDS)
DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(Config) if f.name in PARAMETER_NAMES}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _fail(name: str, value: Any, allowed: str) -> None:
    raise ConfigError(f"parameter {name!r} has value {value!r}: {allowed}")


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
        return value.lower() in ("true", "yes")
    _fail(name, value, "expected true or false")
    raise AssertionError  # unreachable


def _as_number(name: str, value: Any, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        _fail(name, value, f"expected a {kind.__name__}")
    try:
        number = kind(value)
    except (TypeError, ValueError):
        _fail(name, value, f"expected a {kind.__name__}")
    if kind is int and float(value) != number:
        _fail(name, value, "expected a whole number")
    return number


def check_parameter_names(names: Mapping[str, Any] | list[str]) -> None:
    """Reject names that are not runbook parameters (a typo must not be silently ignored)."""
    unknown = sorted(set(names) - set(PARAMETER_NAMES))
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, PARAMETER_NAMES, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError(
            f"unknown parameter(s) {', '.join(hints)}; known parameters: {', '.join(PARAMETER_NAMES)}"
        )


def validate(params: Mapping[str, Any]) -> Config:
    """Build a Config from parameter values (missing ones take their defaults), checking every value."""
    check_parameter_names(params)
    values = {**DEFAULTS, **params}

    backend = values["backend"]
    if backend not in BACKENDS:
        _fail("backend", backend, f"allowed values are {', '.join(BACKENDS)}")

    regions = values["regions"]
    if isinstance(regions, str):
        regions = [r.strip() for r in regions.split(",") if r.strip()]
    if not isinstance(regions, (list, tuple)) or not all(isinstance(r, str) for r in regions):
        _fail("regions", regions, "expected a list of AWS region names, e.g. [eu-west-1, eu-central-1]")
    if len(regions) < 2:
        _fail("regions", list(regions), "an active-active backend needs two or more regions")
    duplicates = sorted({r for r in regions if list(regions).count(r) > 1})
    if duplicates:
        _fail("regions", list(regions), f"regions must be distinct, {', '.join(duplicates)} appears twice")
    valid = known_regions()
    for region in regions:
        if region not in valid:
            close = difflib.get_close_matches(region, valid, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            _fail("regions", list(regions), f"{region!r} is not an AWS region name{hint}")

    stack_name = values["stack_name"]
    if not isinstance(stack_name, str) or not STACK_NAME_RE.match(stack_name):
        _fail("stack_name", stack_name, "2-24 characters: lowercase letters, digits and '-', starting with a letter")

    table_name = values["table_name"]
    if not isinstance(table_name, str) or not TABLE_NAME_RE.match(table_name):
        _fail("table_name", table_name, "DynamoDB table names are 3-255 characters of a-z, A-Z, 0-9, '_', '-' and '.'")

    hosted_zone = str(values["hosted_zone"]).rstrip(".").lower()
    if not DOMAIN_RE.match(hosted_zone):
        _fail("hosted_zone", values["hosted_zone"], "expected a DNS domain name such as example.com")
    domain_name = str(values["domain_name"]).rstrip(".").lower()
    if not DOMAIN_RE.match(domain_name) or not domain_name.endswith("." + hosted_zone):
        _fail("domain_name", values["domain_name"], f"expected a name inside the hosted zone {hosted_zone!r}, such as api.{hosted_zone}")

    stage = values["stage"]
    if not isinstance(stage, str) or not STAGE_RE.match(stage):
        _fail("stage", stage, "API Gateway stage names are 1-128 characters of letters, digits and '_'")

    time_scale = _as_number("time_scale", values["time_scale"], float)
    if not time_scale > 0:
        _fail("time_scale", values["time_scale"], "must be greater than 0 (1.0 is real time)")
    if backend == "aws" and time_scale != 1.0:
        _fail("time_scale", values["time_scale"], "AWS runs in real time: use 1.0 with backend 'aws'")

    routing_policy = values["routing_policy"]
    if routing_policy not in ROUTING_POLICIES:
        _fail("routing_policy", routing_policy, f"allowed values are {', '.join(ROUTING_POLICIES)}")

    record_ttl = _as_number("record_ttl", values["record_ttl"], int)
    if not 0 <= record_ttl <= 86400:
        _fail("record_ttl", record_ttl, "a DNS TTL between 0 and 86400 seconds (60 or less is recommended with health checks)")

    interval = _as_number("health_check_interval", values["health_check_interval"], int)
    if interval not in HEALTH_CHECK_INTERVALS:
        _fail("health_check_interval", interval, "Route 53 allows 10 or 30 seconds")
    threshold = _as_number("health_check_failure_threshold", values["health_check_failure_threshold"], int)
    if not 1 <= threshold <= 10:
        _fail("health_check_failure_threshold", threshold, "Route 53 allows 1 to 10")

    fault = values["fault"]
    if fault not in FAULTS:
        _fail("fault", fault, f"allowed values are {', '.join(FAULTS)}")
    if fault == "region_outage" and backend != "local":
        _fail("fault", fault, "a whole-region outage can only be simulated on the local cloud; on AWS use health_status, lambda_throttle or replication_pause")
    faulty_region = values["faulty_region"] or ""
    if faulty_region and faulty_region not in regions:
        _fail("faulty_region", faulty_region, f"must be one of the configured regions: {', '.join(regions)}")

    durations = {}
    for name in ("steady_s", "hold_s", "recovery_s"):
        durations[name] = _as_number(name, values[name], float)
        if durations[name] <= 0:
            _fail(name, values[name], "a duration in seconds greater than 0")
    load_clients = _as_number("load_clients", values["load_clients"], int)
    if not 1 <= load_clients <= 64:
        _fail("load_clients", load_clients, "between 1 and 64 virtual clients")
    request_rate = _as_number("request_rate", values["request_rate"], float)
    if not 0 < request_rate <= 50:
        _fail("request_rate", request_rate, "requests per second per client, greater than 0 and at most 50")

    dry_run = _as_bool("dry_run", values["dry_run"])
    acknowledge_costs = _as_bool("acknowledge_costs", values["acknowledge_costs"])
    if backend == "aws" and not acknowledge_costs and not dry_run:
        _fail("acknowledge_costs", acknowledge_costs, "backend 'aws' creates billable resources: set acknowledge_costs to true (or dry_run to true to only list the calls)")
    use_traffic_policy = _as_bool("use_traffic_policy", values["use_traffic_policy"])
    create_hosted_zone = _as_bool("create_hosted_zone", values["create_hosted_zone"])

    return Config(
        backend=backend,
        regions=tuple(regions),
        stack_name=stack_name,
        table_name=table_name,
        hosted_zone=hosted_zone,
        domain_name=domain_name,
        create_hosted_zone=create_hosted_zone,
        stage=stage,
        time_scale=time_scale,
        routing_policy=routing_policy,
        use_traffic_policy=use_traffic_policy,
        record_ttl=record_ttl,
        health_check_interval=interval,
        health_check_failure_threshold=threshold,
        fault=fault,
        faulty_region=faulty_region,
        dry_run=dry_run,
        acknowledge_costs=acknowledge_costs,
        aws_profile=str(values["aws_profile"] or ""),
        localcloud_state_dir=str(values["localcloud_state_dir"]),
        run_dir=str(values["run_dir"]),
        load_clients=load_clients,
        request_rate=request_rate,
        **durations,
    )


def with_backend_settings(cfg: Config, status: Mapping[str, Any] | None = None) -> Config:
    """Fill in endpoint, DNS server, CA bundle and API port.

    For ``local`` they come from the local cloud's status (read from its state
    directory unless given); for ``aws`` they stay at AWS's own values.
    """
    if cfg.backend == "aws":
        return cfg
    if status is None:
        status = read_localcloud_status(cfg.localcloud_state_dir, cfg.time_scale)
    if float(status["time_scale"]) != cfg.time_scale:
        raise ConfigError(
            f"parameter 'time_scale' has value {cfg.time_scale!r} but the running local cloud "
            f"was started with {status['time_scale']}: run `localcloud stop` (it restarts with the "
            f"parameter's scale) or set time_scale to {status['time_scale']}"
        )
    return dataclasses.replace(
        cfg,
        endpoint_url=status["aws_endpoint"],
        dns_server=status["dns"],
        ca_bundle=status["ca_bundle"],
        api_port=int(status["api_port"]),
    )


def config_for_local_cloud(status: Mapping[str, Any], **params: Any) -> Config:
    """A validated Config for the running local cloud ``status`` (its time scale and state directory
    unless ``params`` say otherwise), with its endpoints filled in: for tests and benchmarks."""
    params.setdefault("time_scale", status["time_scale"])
    params.setdefault("localcloud_state_dir", status["state_dir"])
    return with_backend_settings(validate(params), status)


def read_localcloud_status(state_dir: str | Path, time_scale: float = 1.0) -> dict[str, Any]:
    """The running local cloud's status.json, or a ConfigError that says how to start it."""
    path = Path(state_dir) / "status.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"the local cloud is not running (no {path}): run the 00_setup notebook, or "
            f"`.venv/bin/localcloud start --state-dir {state_dir} --time-scale {time_scale}`"
        ) from None


def load_config(namespace: Mapping[str, Any], *, connect: bool = True) -> Config:
    """Validate the runbook parameters found in a notebook's namespace (``globals()``).

    Names in the namespace that are not parameters are ignored here (a notebook
    has many variables); the runner rejects unknown names in parameter files
    and ``-p`` options before any notebook runs. With ``connect`` the backend
    settings are filled in (the local cloud must then be running).
    """
    cfg = validate({name: namespace[name] for name in PARAMETER_NAMES if name in namespace})
    return with_backend_settings(cfg) if connect else cfg
