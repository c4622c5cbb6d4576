"""Settings of one local cloud process, fixed when it starts."""

from __future__ import annotations

import argparse
import errno
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from awsfacts import time_scale

# DynamoDB global tables "typically" replicate within a second (AWS docs); we
# model half a second of AWS time, multiplied by time_scale like every duration.
DEFAULT_REPLICATION_DELAY_S = 0.5


@dataclass(frozen=True)
class Settings:
    """What a local cloud is started with. Durations AWS defines are multiplied by ``time_scale``."""

    state_dir: Path
    time_scale: float = 1.0
    replication_delay_s: float = DEFAULT_REPLICATION_DELAY_S
    host: str = "127.0.0.1"
    control_port: int = 0
    dns_port: int = 0
    api_port: int = 0

    def scaled(self, aws_seconds: float) -> float:
        """Real seconds that stand for ``aws_seconds`` of AWS time."""
        return aws_seconds * self.time_scale

    @property
    def ca_bundle(self) -> Path:
        return self.state_dir / "ca.pem"

    @property
    def status_file(self) -> Path:
        return self.state_dir / "status.json"

    @property
    def env_file(self) -> Path:
        return self.state_dir / "env"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "localcloud.log"

    @property
    def lock_file(self) -> Path:
        return self.state_dir / "lock"


class PortInUse(RuntimeError):
    """A port the local cloud must listen on is taken (the message names the port and the address)."""


def free_port(host: str = "127.0.0.1", also: Iterable[str] = ()) -> int:
    """A port that is free on ``host`` right now (for TCP and UDP alike), and for TCP on every address in ``also``."""
    also = tuple(also)
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = tcp.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                    udp.bind((host, port))
            except OSError:
                continue
            if taken_on(port, also) is None:
                return port
    raise RuntimeError(f"no free port on {host}")


def taken_on(port: int, addresses: Iterable[str]) -> str | None:
    """The first of ``addresses`` where something already listens on TCP ``port``, else None.

    Bound as the gateways bind (SO_REUSEADDR, so connections in TIME_WAIT do not
    count). An address the machine does not have (macOS without the loopback
    aliases) is not a conflict: the gateway of that region reports it when it opens.
    """
    for address in addresses:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((address, port))
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    return address
    return None


def _time_scale(text: str) -> float:
    """``--time-scale``'s type: the one rule of ``awsfacts.time_scale``, as an argparse error."""
    try:
        return time_scale.check_time_scale(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_start_options(parser: argparse.ArgumentParser) -> None:
    """The options a local cloud starts with, shared by ``localcloud start`` and its server process."""
    parser.add_argument("--time-scale", type=_time_scale, default=1.0,
                        help=f"multiplies every AWS-defined duration (default 1.0): {time_scale.ALLOWED}")
    parser.add_argument("--replication-delay", type=float, default=DEFAULT_REPLICATION_DELAY_S,
                        help="global-table replication delay in AWS seconds, before scaling")
    parser.add_argument("--port", type=int, default=0, help="control-plane (AWS endpoint) port; 0 picks a free one")
    parser.add_argument("--dns-port", type=int, default=0, help="DNS port (UDP and TCP); 0 picks a free one")
    parser.add_argument("--api-port", type=int, default=0, help="HTTPS port of every regional gateway; 0 picks a free one")
