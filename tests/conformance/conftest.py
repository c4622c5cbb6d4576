"""The conformance suite: behaviours checked only through the AWS CLI and boto3, as a tutorial would use them.

Each test names the AWS documentation page it follows. One local cloud (the session fixture of
tests/conftest.py, time scale 0.1) serves the whole suite.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import boto3
import pytest


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def aws(aws_env):
    """Run ``aws ARGS...`` (the AWS CLI of .venv) against the local cloud: ``aws("dynamodb", "list-tables")``."""

    def run(*args: str, region: str = "us-east-1") -> CliResult:
        started = time.perf_counter()
        done = subprocess.run(["aws", *args, "--region", region, "--output", "json"], env=aws_env,
                              capture_output=True, text=True, timeout=120)
        return CliResult(done.returncode, done.stdout, done.stderr, time.perf_counter() - started)

    return run


@pytest.fixture
def session(aws_env) -> boto3.Session:
    """A boto3 session with the credentials the local cloud's env file exports (the endpoint comes from it too)."""
    return boto3.Session(aws_access_key_id=aws_env["AWS_ACCESS_KEY_ID"],
                         aws_secret_access_key=aws_env["AWS_SECRET_ACCESS_KEY"])


@pytest.fixture
def client(session, aws_env):
    """``client("dynamodb", "us-west-2")``: a boto3 client on the local cloud, retries off (an error shows at once)."""
    from botocore.config import Config

    def make(service: str, region: str = "us-east-1") -> Any:
        return session.client(service, region_name=region, endpoint_url=aws_env["AWS_ENDPOINT_URL"],
                              config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    return make
