"""A sweep's grid: which parameters vary, their values, and the cells (configurations) they make.

``--grid NAME=V1,V2`` names one parameter and its values (each parsed as YAML, as
``-p`` values are, then checked by the parameter's own declaration in
``helpers.parameters``). The cells are every combination, each validated with
the runbook's own rules, before anything is built. Only parameters a sweep can
change without rebuilding the stack may vary: those declared ``PER_RUN`` (each
chaos run reads them) or ``RECONFIGURE`` (04's health checks and 05's records,
changed in place); a ``FIXED`` one is refused, with the reason.

Cells are ordered so that reconfigurations are few: the ``RECONFIGURE``
parameters vary slowest, in the order of the grid.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any, Mapping

import yaml

from helpers.parameters import FIXED, PARAMETERS, RECONFIGURE, ConfigError, check, check_parameter_names

BY_NAME = {p.name: p for p in PARAMETERS}

# `make sweep`: both Route 53 intervals, a fast and a cautious threshold, a short and a long TTL, under a fault
# that leaves the API answering (health_status) and one that breaks it (lambda_throttle): 16 configurations, the
# same on the local cloud and on AWS (a region outage exists only on the local cloud, and takes the region down
# for every lane's stack at once).
DEFAULT_GRID: dict[str, tuple[Any, ...]] = {
    "health_check_interval": (10, 30),
    "health_check_failure_threshold": (1, 3),
    "record_ttl": (10, 60),
    "fault": ("health_status", "lambda_throttle"),
}

# The blog names no interval, threshold or TTL: its health checks were made in the Route 53 console, whose
# defaults are a 30 s interval and a failure threshold of 3, and its traffic policy's records get the policy
# editor's default TTL of 60 s. The comparison page says what these settings give.
BLOG_SETTINGS: dict[str, Any] = {"health_check_interval": 30, "health_check_failure_threshold": 3, "record_ttl": 60}

# Short names for labels and directory names.
SHORT = {"health_check_interval": "interval", "health_check_failure_threshold": "threshold", "record_ttl": "ttl",
         "routing_policy": "routing", "use_traffic_policy": "policy", "faulty_region": "region",
         "client_dns_cache": "cache", "client_on_failure": "on-failure", "load_clients": "clients",
         "request_rate": "rate", "steady_s": "steady", "hold_s": "hold", "recovery_s": "recovery"}


@dataclass(frozen=True)
class Cell:
    """One configuration of a sweep: the grid's values for it (in the grid's order)."""

    values: tuple[tuple[str, Any], ...]

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.values)

    @property
    def key(self) -> str:
        """The cell's identity across runs of a sweep (resume matches on it)."""
        return json.dumps(self.params, sort_keys=True)

    @property
    def label(self) -> str:
        """``interval 10, threshold 1, ttl 10, health_status``: what a reader sees."""
        return ", ".join(str(v) if k == "fault" else f"{SHORT.get(k, k)} {v}" for k, v in self.values)

    @property
    def slug(self) -> str:
        """A directory name: ``interval10-threshold1-ttl10-health_status``."""
        text = "-".join(str(v) if k == "fault" else f"{SHORT.get(k, k)}{v}" for k, v in self.values)
        return "".join(c if c.isalnum() or c in "-_." else "_" for c in text) or "default"

    def reconfigured(self) -> dict[str, Any]:
        """The values that need the stack changed (health checks, records)."""
        return {k: v for k, v in self.values if BY_NAME[k].sweep == RECONFIGURE}


def parse_grid(specs: list[str]) -> dict[str, tuple[Any, ...]]:
    """``["NAME=V1,V2", ...]`` as {name: values}, each value checked; ConfigError says what is wrong and why."""
    grid: dict[str, tuple[Any, ...]] = {}
    for spec in specs:
        name, sep, listed = spec.partition("=")
        name = name.strip()
        if not sep or not name or not listed.strip():
            raise ConfigError(f"--grid {spec!r}: expected NAME=VALUE[,VALUE...], e.g. record_ttl=10,60")
        if name in grid:
            raise ConfigError(f"--grid names {name!r} twice: give all its values once, e.g. {name}=A,B")
        grid[name] = tuple(_value(name, text) for text in listed.split(","))
    return check_grid(grid)


def _value(name: str, text: str) -> Any:
    try:
        return yaml.safe_load(text.strip())
    except yaml.YAMLError:
        raise ConfigError(f"--grid {name}: the value {text!r} is not valid YAML") from None


def check_grid(grid: Mapping[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    """The grid with every value converted by its parameter's declaration; refuses unknown and fixed parameters."""
    check_parameter_names(list(grid))
    checked: dict[str, tuple[Any, ...]] = {}
    for name, values in grid.items():
        parameter = BY_NAME[name]
        if parameter.sweep == FIXED:
            raise ConfigError(
                f"parameter {name!r} cannot vary within a sweep: it is fixed when the stack is built or the local cloud "
                f"starts, so each value needs a stack of its own. Run one sweep per value and put them on one page "
                f"with `runbook compare`. Parameters a sweep can vary: {', '.join(sweepable())}")
        if not values:
            raise ConfigError(f"--grid {name}: no values")
        converted = tuple(parameter.parse(value) for value in values)
        repeated = sorted({str(v) for v in converted if converted.count(v) > 1})
        if repeated:
            raise ConfigError(f"--grid {name}: the value(s) {', '.join(repeated)} appear twice")
        checked[name] = converted
    return checked


def sweepable() -> list[str]:
    """The parameters a sweep can vary."""
    return [p.name for p in PARAMETERS if p.sweep != FIXED]


def cells(base: Mapping[str, Any], grid: Mapping[str, tuple[Any, ...]]) -> list[Cell]:
    """Every combination of the grid's values, each validated with the runbook's rules over ``base``.

    Reconfigured parameters vary slowest, so consecutive cells share health checks and records.
    """
    names = sorted(grid, key=lambda n: BY_NAME[n].sweep != RECONFIGURE)  # stable: the grid's order otherwise
    found = []
    for combination in itertools.product(*(grid[n] for n in names)):
        cell = Cell(tuple((n, v) for n, v in sorted(zip(names, combination), key=lambda nv: list(grid).index(nv[0]))))
        try:
            check({**base, **cell.params})
        except ConfigError as error:
            raise ConfigError(f"the grid's cell {cell.label} is not a valid run: {error}") from None
        found.append(cell)
    return found
