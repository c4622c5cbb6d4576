"""The local cloud: one process holding the control plane and every data-plane component.

This module is the composition root. ``COMPONENTS`` lists the components in
start order (one module each, one job each); ``build_components`` builds them,
handing each the collaborators its constructor names (keyword-only parameters
called after the component they need, e.g. ``Gateway(cloud, *, certificates,
lambda_runtime)``), and fails with a clear message when one is missing. Nothing
looks a peer up at run time. Components are started in list order and stopped in
reverse order.
"""

from __future__ import annotations

import inspect
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from moto.core import DEFAULT_ACCOUNT_ID

from localcloud.certificates import Certificates
from localcloud.component import Component, MissingComponent
from localcloud.controlplane import ControlPlane, moto_backend
from localcloud.dns import Dns
from localcloud.faults import Faults
from localcloud.gateway import Gateway
from localcloud.healthchecker import HealthChecker
from localcloud.lambda_runtime import LambdaRuntime
from localcloud.regions import RegionRegistry
from localcloud.replication import Replication
from localcloud.retention import Retention
from localcloud.settings import Settings, free_port
from localcloud.status import CloudStatus
from localcloud.traffic_policies import TrafficPolicies

log = logging.getLogger(__name__)

ROUTE53_PARTITION = "aws"  # moto keeps Route 53, a global service, per partition

ComponentFactory = Callable[..., Component]  # a Component class, or any callable taking (cloud, **collaborators)
C = TypeVar("C")

# In start order: a component comes after every one it needs (the health checker registers
# itself with the DNS, the one pair that needs each other).
COMPONENTS: tuple[ComponentFactory, ...] = (
    Certificates,
    Replication,
    LambdaRuntime,
    Dns,
    TrafficPolicies,
    Gateway,
    HealthChecker,
    Faults,
    Retention,
)


def collaborators(factory: ComponentFactory) -> list[str]:
    """The components ``factory`` needs: its required keyword-only parameters."""
    return [p.name for p in inspect.signature(factory).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty]


def build_components(cloud: Any, factories: Iterable[ComponentFactory]) -> list[Component]:
    """Build each component with the earlier ones it names as collaborators; MissingComponent if one is absent."""
    built: dict[str, Component] = {}
    for factory in factories:
        needs = collaborators(factory)
        missing = [name for name in needs if name not in built]
        if missing:
            label = getattr(factory, "__qualname__", repr(factory))
            raise MissingComponent(
                f"the local cloud cannot start: {label} needs the {', '.join(missing)} component(s), which "
                f"{'are' if len(missing) > 1 else 'is'} not among those built before it "
                f"({', '.join(built) or 'none'}); add it earlier in the component list")
        component = factory(cloud, **{name: built[name] for name in needs})
        if component.name in built:
            raise MissingComponent(f"two components are called {component.name!r}: a local cloud has one of each")
        built[component.name] = component
    return list(built.values())


class LocalCloud:
    """Control plane + data plane, in this process."""

    def __init__(self, settings: Settings, components: Iterable[ComponentFactory] = COMPONENTS):
        """``components``: Component classes or factories ``(cloud, **collaborators)``, in start order."""
        self.regions = RegionRegistry()
        if not settings.api_port or not settings.dns_port or not settings.control_port:
            from dataclasses import replace

            settings = replace(
                settings,
                control_port=settings.control_port or free_port(settings.host),
                dns_port=settings.dns_port or free_port(settings.host),
                # free where the gateways listen, each region on its own address (not only on settings.host)
                api_port=settings.api_port or free_port(settings.host, also=self.regions.gateway_addresses().values()),
            )
        self.settings = settings
        self.account_id = DEFAULT_ACCOUNT_ID
        self.controlplane = ControlPlane(settings.host, settings.control_port, on_region=self.regions.ensure)
        self.components = build_components(self, components)
        self.started_at: float | None = None
        self._state_files_lock = threading.Lock()  # components write them from their own threads

    # ------------------------------------------------------------- access
    def get(self, kind: type[C]) -> C:
        """The component of class ``kind`` (for tests and diagnostics; components get theirs at construction)."""
        for component in self.components:
            if isinstance(component, kind):
                return component
        raise MissingComponent(f"this local cloud has no {kind.__qualname__}")

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
    def status(self) -> CloudStatus:
        """What ``localcloud status`` prints (docs/design.md, "State directory")."""
        s = self.settings
        components: dict[str, Any] = {}
        for component in self.components:
            components.update(component.status())
        return CloudStatus(
            aws_endpoint=self.controlplane.endpoint,
            dns=f"{s.host}:{s.dns_port}",
            api_port=s.api_port,
            ca_bundle=str(s.ca_bundle),
            state_dir=str(s.state_dir),
            env_file=str(s.env_file),
            log_file=str(s.log_file),
            pid=os.getpid(),
            time_scale=s.time_scale,
            replication_delay_s=s.replication_delay_s,
            started_at=self.started_at,
            regions={region: self.regions.address(region) for region in self.regions.active},
            overrides=[f"{svc}:{op}" for svc, op in self.controlplane.overrides],
            components=components,
        )

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
            _atomic_write(s.status_file, self.status().text())


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
