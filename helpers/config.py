"""Typed, validated runbook parameters.

Every notebook starts with ``cfg = load_config(globals())``: the values of its
``parameters`` cell (as papermill injected them) become one frozen ``Config``.
Validation happens here, before any resource is created; a bad value raises
``ConfigError`` naming the parameter, the value and what is allowed. The
parameters themselves (names, types, defaults, checks) are declared once, in
``helpers.parameters``; ``Config`` has one field per declaration.

This module is also the one place where the local cloud and AWS differ: for
``backend: local`` the endpoint, DNS server, CA bundle and API port come from
the running local cloud's ``status.json``; for ``backend: aws`` they are the
real ones (no endpoint override, the system resolver, the system CA store,
port 443).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import field
from pathlib import Path
from typing import Any, Mapping

from helpers.parameters import (  # noqa: F401  (re-exported: the rest of the project imports them from here)
    DEFAULTS,
    PARAMETER_NAMES,
    PARAMETERS,
    PROJECT_ROOT,
    ConfigError,
    check,
    check_parameter_names,
)


class _Derived:
    """What Config computes from its parameters (the fields themselves come from the declarations)."""

    @property
    def uses_local_cloud(self) -> bool:
        """True when the backend is the local cloud (which the runner and 00_setup start)."""
        return self.backend == "local"

    @property
    def primary_region(self) -> str:
        return self.regions[0]

    @property
    def healthy_regions(self) -> tuple[str, ...]:
        return tuple(r for r in self.regions if r != self.faulty_region)

    def scaled(self, seconds: float) -> float:
        """A duration AWS defines, as it passes on this backend (real seconds)."""
        return seconds * self.time_scale

    def received_ttl_s(self, ttl_s: float) -> float:
        """The TTL clients receive for a record of ``ttl_s``, in AWS seconds. DNS carries whole seconds: the local
        cloud sends ``ttl_s`` x time scale rounded up, at least 1 (``localcloud.routing.scale_ttl``), so below a
        time scale of 0.1 a 10 s TTL stands for more AWS seconds than the record says."""
        if not self.uses_local_cloud:
            return float(ttl_s)
        return max(1, math.ceil(ttl_s * self.time_scale - 1e-9)) / self.time_scale

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
        """The parameters as a plain dict (what a report shows, and what the runner passes to each notebook)."""
        return {name: _plain(getattr(self, name)) for name in PARAMETER_NAMES}


_VALUE_TYPES = {list: tuple[str, ...]}  # a list parameter is held as a tuple: Config is frozen and hashable

Config = dataclasses.make_dataclass(
    "Config",
    [(p.name, _VALUE_TYPES.get(p.type, p.type)) for p in PARAMETERS] + [
        # Filled in from the local cloud's status (backend local) or left at AWS's values.
        ("endpoint_url", "str | None", field(default=None, compare=False)),
        ("dns_server", "str | None", field(default=None, compare=False)),
        ("ca_bundle", "str | None", field(default=None, compare=False)),
        ("api_port", int, field(default=443, compare=False)),
    ],
    bases=(_Derived,),
    frozen=True,
)
Config.__module__ = __name__  # make_dataclass's own `module=` needs Python 3.12
Config.__doc__ = """The runbook's parameters, validated: build one with ``validate`` or ``load_config``.

One field per ``helpers.parameters.PARAMETERS`` (durations in AWS seconds, before
time_scale; ``faulty_region`` already settled to a region), then the backend
settings ``endpoint_url``, ``dns_server``, ``ca_bundle`` and ``api_port``.
"""


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def validate(params: Mapping[str, Any]) -> Config:
    """Build a Config from parameter values (missing ones take their defaults), checking every value."""
    return Config(**check(params))


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
