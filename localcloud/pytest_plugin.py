"""pytest fixtures that give a project's own tests a private local cloud (multi-Region AWS on loopback).

Installed with the project, the plugin is registered through the ``pytest11`` entry point
(``localcloud = "localcloud.pytest_plugin"``); without installing, add
``pytest_plugins = ["localcloud.pytest_plugin"]`` to a ``conftest.py``. Fixtures:

* ``localcloud`` (session): a private local cloud, started for the session and stopped afterwards,
  as a ``Cloud``: ``endpoint``, ``dns`` (host, port), ``ca_bundle``, ``api_port``, ``regions``,
  ``time_scale``, ``env`` (the variables that point the AWS CLI and SDKs at it), ``session()`` (a
  boto3 session) and ``client(service, region)``;
* ``localcloud_regions`` (session, default ``("us-east-1", "us-west-2")``) and ``localcloud_time_scale``
  (session, default 0.1): override them in a ``conftest.py`` to choose;
* ``localcloud_factory`` (function): ``start(regions=..., time_scale=...)`` for a cloud of a test's own,
  stopped when the test ends.

Every cloud has its own state directory, ports and processes; nothing is shared with a cloud that
``localcloud start`` runs, and nothing of it outlives the session.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from localcloud import daemon
from localcloud.settings import ACCESS_KEY_ID, SECRET_ACCESS_KEY

DEFAULT_REGIONS = ("us-east-1", "us-west-2")
DEFAULT_TIME_SCALE = 0.1


@dataclass(frozen=True)
class Cloud:
    """A running private local cloud, as a test uses it."""

    endpoint: str  # AWS_ENDPOINT_URL for every service
    dns: tuple[str, int]  # the DNS server (UDP and TCP) that answers the hosted zones and execute-api names
    ca_bundle: str  # the CA that signs the API certificates (AWS_CA_BUNDLE)
    api_port: int  # the HTTPS port of every Region's API (443 on AWS)
    regions: tuple[str, ...]
    time_scale: float  # every duration AWS defines is multiplied by it
    status: dict[str, Any] = field(repr=False)

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point the AWS CLI and the AWS SDKs at this cloud."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY, "AWS_DEFAULT_REGION": self.regions[0],
                "AWS_REGION": self.regions[0], "AWS_CA_BUNDLE": self.ca_bundle}

    def session(self, region: str | None = None) -> Any:
        """A boto3 session with this cloud's credentials (clients still need ``endpoint_url``: use ``client``)."""
        import boto3

        return boto3.Session(aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY,
                             region_name=region or self.regions[0])

    def client(self, service: str, region: str | None = None, **kwargs: Any) -> Any:
        """A boto3 client of ``service`` in ``region`` (the first Region by default) on this cloud."""
        return self.session(region).client(service, endpoint_url=self.endpoint, **kwargs)


@contextlib.contextmanager
def running_cloud(regions: tuple[str, ...] = DEFAULT_REGIONS, time_scale: float = DEFAULT_TIME_SCALE,
                  state_dir: Path | None = None) -> Iterator[Cloud]:
    """Start a private local cloud, yield it, stop it (also on errors)."""
    if not regions:
        raise ValueError("a local cloud for tests needs at least one Region")
    with contextlib.ExitStack() as stack:
        if state_dir is None:
            state_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="localcloud-")))
        status = daemon.start(state_dir, time_scale=time_scale)
        stack.callback(daemon.stop, state_dir)
        host, port = status["dns"].rsplit(":", 1)
        cloud = Cloud(status["aws_endpoint"], (host, int(port)), status["ca_bundle"], int(status["api_port"]),
                      tuple(regions), float(status["time_scale"]), status)
        for region in regions:  # a Region comes into use (its API gateway opens) at its first request
            cloud.client("sts", region).get_caller_identity()
        yield cloud


@pytest.fixture(scope="session")
def localcloud_regions() -> tuple[str, ...]:
    """The Regions the session's ``localcloud`` serves first (override in a conftest.py)."""
    return DEFAULT_REGIONS


@pytest.fixture(scope="session")
def localcloud_time_scale() -> float:
    """The session's ``localcloud`` time scale (override in a conftest.py)."""
    return DEFAULT_TIME_SCALE


@pytest.fixture(scope="session")
def localcloud(localcloud_regions, localcloud_time_scale, tmp_path_factory) -> Iterator[Cloud]:
    """A private local cloud for the test session."""
    with running_cloud(tuple(localcloud_regions), localcloud_time_scale,
                       tmp_path_factory.mktemp("localcloud")) as cloud:
        yield cloud


@pytest.fixture
def localcloud_factory(tmp_path) -> Iterator[Callable[..., Cloud]]:
    """``start(regions=(...), time_scale=...)``: a cloud of this test's own, stopped when the test ends."""
    with contextlib.ExitStack() as stack:
        count = iter(range(1_000))

        def start(regions: tuple[str, ...] = DEFAULT_REGIONS, time_scale: float = DEFAULT_TIME_SCALE) -> Cloud:
            return stack.enter_context(running_cloud(tuple(regions), time_scale, tmp_path / f"cloud-{next(count)}"))

        yield start
