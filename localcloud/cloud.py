"""The local cloud: one process holding the control plane and every data-plane component.

Components are listed in ``COMPONENTS`` (one module each, one job each). Each
is built with the ``LocalCloud``, registers its control-plane overrides in its
constructor, and is started in list order and stopped in reverse order.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID

from localcloud.controlplane import ControlPlane, moto_backend
from localcloud.regions import RegionRegistry
from localcloud.settings import Settings, free_port

log = logging.getLogger(__name__)

ROUTE53_PARTITION = "aws"  # moto keeps Route 53, a global service, per partition

# module:Class, in start order. Later components may use earlier ones through ``cloud.component(name)``.
COMPONENTS: list[str] = [
    "localcloud.certificates:Certificates",
    "localcloud.replication:Replication",
    "localcloud.lambda_runtime:LambdaRuntime",
    "localcloud.dns:Dns",
    "localcloud.traffic_policies:TrafficPolicies",
    "localcloud.gateway:Gateway",
    "localcloud.healthchecker:HealthChecker",
    "localcloud.faults:Faults",
]


class Component:
    """Base of a data-plane component: built with the cloud, started and stopped by it."""

    name = "component"

    def __init__(self, cloud: "LocalCloud"):
        self.cloud = cloud

    def start(self) -> None:
        """Start threads or listeners (return quickly)."""

    def stop(self) -> None:
        """Stop everything started; must not raise."""

    def status(self) -> dict[str, Any]:
        """Extra fields for ``localcloud status``."""
        return {}


class LocalCloud:
    """Control plane + data plane, in this process."""

    def __init__(self, settings: Settings, components: list[Any] | None = None):
        """``components``: ``module:Class`` specs or Component classes, in start order (default ``COMPONENTS``)."""
        if not settings.api_port or not settings.dns_port or not settings.control_port:
            from dataclasses import replace

            settings = replace(
                settings,
                control_port=settings.control_port or free_port(settings.host),
                dns_port=settings.dns_port or free_port(settings.host),
                api_port=settings.api_port or free_port(settings.host),
            )
        self.settings = settings
        self.account_id = DEFAULT_ACCOUNT_ID
        self.regions = RegionRegistry()
        self.controlplane = ControlPlane(settings.host, settings.control_port, on_region=self.regions.ensure)
        self.components: list[Component] = []
        for spec in COMPONENTS if components is None else components:
            if isinstance(spec, str):
                module_name, _, class_name = spec.partition(":")
                spec = getattr(importlib.import_module(module_name), class_name)
            self.components.append(spec(self))
        self.started_at: float | None = None
        self._state_files_lock = threading.Lock()  # components write them from their own threads

    # ------------------------------------------------------------- access
    def component(self, name: str) -> Any:
        """The component called ``name`` (e.g. ``"replication"``)."""
        for component in self.components:
            if component.name == name:
                return component
        raise KeyError(f"no local cloud component named {name!r}")

    def backend(self, service: str, region: str) -> Any:
        """moto's in-memory backend of ``service`` in ``region`` (the control-plane state)."""
        return moto_backend(service, region, self.account_id)

    def route53(self) -> Any:
        """moto's Route 53 backend (one for the whole partition: Route 53 is a global service)."""
        return self.backend("route53", ROUTE53_PARTITION)

    def scaled(self, aws_seconds: float) -> float:
        return self.settings.scaled(aws_seconds)

    # ---------------------------------------------------------- lifecycle
    def start(self) -> None:
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        self.controlplane.start()
        started: list[Component] = []
        try:
            for component in self.components:
                component.start()
                started.append(component)
        except Exception:
            for component in reversed(started):
                component.stop()
            self.controlplane.stop()
            raise
        self.started_at = time.time()

    def stop(self) -> None:
        for component in reversed(self.components):
            try:
                component.stop()
            except Exception:
                log.exception("stopping %s failed", component.name)
        self.controlplane.stop()

    # ------------------------------------------------------------- status
    def status(self) -> dict[str, Any]:
        """What ``localcloud status`` prints (docs/design.md, "State directory")."""
        s = self.settings
        data: dict[str, Any] = {
            "aws_endpoint": self.controlplane.endpoint,
            "dns": f"{s.host}:{s.dns_port}",
            "api_port": s.api_port,
            "ca_bundle": str(s.ca_bundle),
            "state_dir": str(s.state_dir),
            "env_file": str(s.env_file),
            "log_file": str(s.log_file),
            "pid": os.getpid(),
            "time_scale": s.time_scale,
            "replication_delay_s": s.replication_delay_s,
            "started_at": self.started_at,
            "regions": {region: self.regions.address(region) for region in self.regions.active},
            "overrides": [f"{svc}:{op}" for svc, op in self.controlplane.overrides],
        }
        for component in self.components:
            data.update(component.status())
        return data

    def write_state_files(self, default_region: str = "us-east-1") -> None:
        """status.json and the shell ``env`` file that points the AWS CLI and boto3 here.

        Safe from any thread (regions coming into use, fault experiments); each file is
        replaced whole, so a reader never sees half of one."""
        s = self.settings
        env = {
            "AWS_ENDPOINT_URL": self.controlplane.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": default_region,
            "AWS_REGION": default_region,
            "AWS_CA_BUNDLE": str(s.ca_bundle),
            "LOCALCLOUD_DNS": f"{s.host}:{s.dns_port}",
            "LOCALCLOUD_DNS_HOST": s.host,
            "LOCALCLOUD_DNS_PORT": str(s.dns_port),
            "LOCALCLOUD_API_PORT": str(s.api_port),
            "LOCALCLOUD_STATE_DIR": str(s.state_dir),
        }
        lines = ["# Generated by `localcloud start`: `. " + str(s.env_file) + "` points the AWS CLI and boto3 at the local cloud."]
        lines += [f"export {key}={_shell_quote(value)}" for key, value in env.items()]
        with self._state_files_lock:
            _atomic_write(s.env_file, "\n".join(lines) + "\n")
            _atomic_write(s.status_file, json.dumps(self.status(), indent=2) + "\n")


def _shell_quote(value: str) -> str:
    import shlex

    return shlex.quote(value)


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as file:
            file.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
