"""``status.json``: what a running local cloud tells its clients, written by it and read by ``localcloud status``.

The keys are a contract (docs/design.md lists the required
ones): the runbook's helpers read the same file as plain JSON. Component
status fields (``gateways``, ``replication_paused``, ...) sit beside them.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CloudStatus:
    """One local cloud's status, as ``status.json`` holds it."""

    aws_endpoint: str  # the control plane (moto server) URL
    dns: str  # host:port of the DNS server (UDP and TCP)
    api_port: int  # the HTTPS port of every regional gateway
    ca_bundle: str
    state_dir: str
    env_file: str  # shell syntax that points the AWS CLI and boto3 here
    log_file: str
    pid: int
    time_scale: float
    replication_delay_s: float
    started_at: float | None
    regions: dict[str, str]  # region in use -> its gateway's loopback address
    overrides: list[str]  # "service:Operation" answered by the local cloud instead of moto
    components: dict[str, Any] = field(default_factory=dict)  # each component's own fields, flattened in the JSON

    def to_json(self) -> dict[str, Any]:
        """The flat JSON object of ``status.json``."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "components"}
        return {**data, **self.components}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "CloudStatus":
        """Parse ``status.json``'s object; a ValueError names the keys it lacks."""
        names = [f.name for f in dataclasses.fields(cls) if f.name != "components"]
        missing = [name for name in names if name not in data]
        if missing:
            raise ValueError(f"status.json lacks {', '.join(missing)}")
        return cls(**{name: data[name] for name in names},
                   components={key: value for key, value in data.items() if key not in names})

    @classmethod
    def read(cls, path: Path) -> "CloudStatus":
        """The status in ``path``; FileNotFoundError when there is none, ValueError when it is not one."""
        return cls.from_json(json.loads(path.read_text()))

    def text(self) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n"
