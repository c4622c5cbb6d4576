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


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@pytest.fixture
def https(localcloud_status):
    """``https("GET", "https://{api}.execute-api.us-east-1.amazonaws.com/prod/x", headers, body)``, as a client
    that uses the local cloud's DNS and trusts its CA: the name resolves through the local DNS, TLS verifies the
    name, and the port is the local cloud's ``api_port`` (AWS: 443)."""
    import http.client
    import socket
    import ssl
    from urllib.parse import urlsplit

    import dns.message
    import dns.query
    import dns.rdatatype

    dns_host, dns_port = localcloud_status["dns"].rsplit(":", 1)
    context = ssl.create_default_context(cafile=localcloud_status["ca_bundle"])

    def resolve(name: str) -> str:
        reply = dns.query.udp(dns.message.make_query(name, "A"), dns_host, port=int(dns_port), timeout=3)
        addresses = [r.to_text() for rrset in reply.answer if rrset.rdtype == dns.rdatatype.A for r in rrset]
        assert addresses, f"the local DNS does not resolve {name}"
        return addresses[0]

    def request(method: str, url: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> HttpAnswer:
        parts = urlsplit(url)
        sock = socket.create_connection((resolve(parts.hostname), localcloud_status["api_port"]), timeout=10)
        connection = http.client.HTTPSConnection(parts.hostname, localcloud_status["api_port"], timeout=10)
        connection.sock = context.wrap_socket(sock, server_hostname=parts.hostname)
        try:
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            connection.request(method, target, body=body, headers=headers or {})
            answer = connection.getresponse()
            return HttpAnswer(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
        finally:
            connection.close()

    return request
