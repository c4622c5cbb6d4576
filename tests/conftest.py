"""Shared fixtures: a real local cloud process for the session, configs and clients pointing at it."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from helpers.clients import Clients
from helpers.config import Config, config_for_local_cloud
from helpers.waiting import wait_until
from localcloud import daemon

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
SLOW_FOLDERS = ("notebooks", "conformance")  # whole runbooks and the AWS-CLI-driven suite


def pytest_collection_modifyitems(items):
    """``slow`` (left out of ``make test-fast``): the notebooks and conformance folders, notebook and
    browser tests anywhere, and tests marked slow by hand."""
    for item in items:
        folder = Path(str(item.fspath)).resolve().relative_to(TESTS).parts[0]
        if folder in SLOW_FOLDERS or item.get_closest_marker("notebook") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)
CI_TIME_SCALE = 0.1


@pytest.fixture(scope="session")
def localcloud_status(tmp_path_factory):
    """One local cloud process (time scale 0.1) shared by the session's tests; stopped at the end."""
    state_dir = tmp_path_factory.mktemp("localcloud")
    status = daemon.start(state_dir, time_scale=CI_TIME_SCALE)
    yield status
    daemon.stop(state_dir)


@contextlib.contextmanager
def in_process_cloud(state_dir: Path | str, *components: Any, time_scale: float = 0.1) -> Iterator[Any]:
    """A local cloud in the test process with only ``components`` (Component classes or factories, fakes
    included, in start order), started, and stopped afterwards: ``cloud.get(Kind)`` gives a component."""
    from localcloud.cloud import LocalCloud
    from localcloud.settings import Settings

    cloud = LocalCloud(Settings(state_dir=Path(state_dir), time_scale=time_scale), components=components)
    cloud.start()  # a start that fails half-way stops what it started (LocalCloud.start)
    try:
        yield cloud
    finally:
        cloud.stop()


def eventually(predicate, timeout: float = 20.0, interval: float = 0.05) -> bool:
    """Poll ``predicate`` every ``interval`` until it holds (True) or ``timeout`` passes (False).

    Generous by default: a loaded CI machine may be slow.
    """
    try:
        wait_until("a test condition", lambda: (bool(predicate()), None), timeout, interval=interval,
                   max_interval=interval)
        return True
    except TimeoutError:
        return False


@pytest.fixture
def unique() -> str:
    """A short unique suffix for resource names, so tests never collide."""
    return uuid.uuid4().hex[:8]


make_config = config_for_local_cloud  # a validated Config for the running local cloud


@pytest.fixture
def cfg(localcloud_status, unique) -> Config:
    """Config with a unique stack and table name, on the session's local cloud."""
    return make_config(localcloud_status, stack_name=f"t{unique}", table_name=f"table-{unique}")


@pytest.fixture
def clients(cfg) -> Clients:
    return Clients(cfg)


@pytest.fixture
def aws_env(localcloud_status) -> dict:
    """Environment for running the AWS CLI against the local cloud (as `. state/env` would)."""
    env = dict(os.environ)
    for line in Path(localcloud_status["env_file"]).read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = value.strip("'")
    env["PATH"] = f"{PROJECT_ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"
    return env
