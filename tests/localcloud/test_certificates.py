"""The local CA, ACM's DNS validation and the gateways' TLS (localcloud.certificates)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from pathlib import Path

import boto3
import pytest

from conftest import in_process_cloud
from helpers.clients import LOCAL_CREDENTIALS
from localcloud.certificates import Certificates, name_matches, validation_record
from localcloud.cloud import LocalCloud
from localcloud.settings import Settings



def _acm_and_route53(endpoint: str, region: str):
    """ACM in ``region`` and Route 53 (global, us-east-1) on the local cloud at ``endpoint``."""
    return (boto3.client("acm", region_name=region, endpoint_url=endpoint, **LOCAL_CREDENTIALS),
            boto3.client("route53", region_name="us-east-1", endpoint_url=endpoint, **LOCAL_CREDENTIALS))


# ------------------------------------------------------------------ pure facts
def test_validation_record_is_the_same_for_a_domain_in_every_certificate_and_region():
    name, value = validation_record("123456789012", "api.example.test")
    assert name.startswith("_") and name.endswith(".api.example.test.")
    assert value.endswith(".acm-validations.aws.")
    assert validation_record("123456789012", "API.example.test.") == (name, value)
    assert validation_record("123456789012", "*.api.example.test") == (name, value)
    assert validation_record("210987654321", "api.example.test") != (name, value)


def test_wildcard_certificate_names_cover_exactly_one_label():
    assert name_matches("*.execute-api.eu-west-1.amazonaws.com", "abc123.execute-api.eu-west-1.amazonaws.com")
    assert not name_matches("*.execute-api.eu-west-1.amazonaws.com", "a.b.execute-api.eu-west-1.amazonaws.com")
    assert not name_matches("*.example.test", "example.test")
    assert name_matches("api.example.test", "API.example.test.")


# -------------------------------------------------- ACM through the public API
def _validation_cname(description: dict) -> dict:
    [option] = description["DomainValidationOptions"]
    return option["ResourceRecord"]


def test_certificate_stays_pending_until_its_validation_cname_exists_then_is_issued(localcloud_status, unique):
    acm, route53 = _acm_and_route53(localcloud_status["aws_endpoint"], "eu-west-1")
    domain = f"api.{unique}.test"
    arn = acm.request_certificate(DomainName=domain, ValidationMethod="DNS")["CertificateArn"]

    pending = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    record = _validation_cname(pending)
    assert pending["Status"] == "PENDING_VALIDATION"
    assert record["Type"] == "CNAME" and record["Name"].endswith(f".{domain}.")
    with pytest.raises(acm.exceptions.RequestInProgressException):
        acm.get_certificate(CertificateArn=arn)

    zone_id = route53.create_hosted_zone(Name=f"{unique}.test", CallerReference=unique)["HostedZone"]["Id"]
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "PENDING_VALIDATION"
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{
        "Action": "UPSERT",
        "ResourceRecordSet": {"Name": record["Name"], "Type": "CNAME", "TTL": 300,
                              "ResourceRecords": [{"Value": record["Value"]}]},
    }]})

    issued = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert issued["Status"] == "ISSUED"
    assert issued["DomainValidationOptions"][0]["ValidationStatus"] == "SUCCESS"
    listed = acm.list_certificates(CertificateStatuses=["ISSUED"])["CertificateSummaryList"]
    assert arn in [c["CertificateArn"] for c in listed]
    assert "BEGIN CERTIFICATE" in acm.get_certificate(CertificateArn=arn)["Certificate"]


def test_a_wrong_validation_value_does_not_issue_the_certificate(localcloud_status, unique):
    acm, route53 = _acm_and_route53(localcloud_status["aws_endpoint"], "eu-central-1")
    domain = f"api.{unique}.test"
    arn = acm.request_certificate(DomainName=domain, ValidationMethod="DNS")["CertificateArn"]
    record = _validation_cname(acm.describe_certificate(CertificateArn=arn)["Certificate"])
    zone_id = route53.create_hosted_zone(Name=f"{unique}.test", CallerReference=unique)["HostedZone"]["Id"]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{
        "Action": "UPSERT",
        "ResourceRecordSet": {"Name": record["Name"], "Type": "CNAME", "TTL": 300,
                              "ResourceRecords": [{"Value": "_wrong.acm-validations.aws."}]},
    }]})
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "PENDING_VALIDATION"
    pending = acm.list_certificates(CertificateStatuses=["PENDING_VALIDATION"])["CertificateSummaryList"]
    assert arn in [c["CertificateArn"] for c in pending]


def test_the_ca_bundle_is_published_in_the_local_cloud_status(localcloud_status):
    bundle = Path(localcloud_status["ca_bundle"])
    assert bundle.read_text().startswith("-----BEGIN CERTIFICATE-----")


# ------------------------------------------------------ TLS with server_context
@pytest.fixture
def certificates(tmp_path):
    """An in-process local cloud with only the certificates component (for its server_context)."""
    with in_process_cloud(tmp_path, Certificates) as cloud:
        yield cloud


class TlsServer:
    """A one-line TLS echo server on loopback using the given server context."""

    def __init__(self, context: ssl.SSLContext):
        self.context = context
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"hello\n")
            except (ssl.SSLError, OSError):
                conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def tls_server(certificates):
    server = TlsServer(certificates.get(Certificates).server_context())
    yield server
    server.close()


def _fetch(port: int, server_name: str, context: ssl.SSLContext) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            return tls.recv(100)


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2"])
def test_execute_api_names_of_any_region_verify_with_the_ca_bundle(certificates, tls_server, region):
    context = ssl.create_default_context(cafile=str(certificates.settings.ca_bundle))
    assert _fetch(tls_server.port, f"a1b2c3d4e5.execute-api.{region}.amazonaws.com", context) == b"hello\n"
    assert _fetch(tls_server.port, f"d-0123456789.execute-api.{region}.amazonaws.com", context) == b"hello\n"


def test_verification_fails_without_the_ca_bundle(certificates, tls_server, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    stranger = LocalCloud(Settings(state_dir=other), components=[Certificates])
    stranger.get(Certificates).start()  # a different CA in another state directory
    context = ssl.create_default_context(cafile=str(stranger.settings.ca_bundle))
    with pytest.raises(ssl.SSLCertVerificationError):
        _fetch(tls_server.port, "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com", context)
    with pytest.raises(ssl.SSLCertVerificationError):  # the system trust store does not know the local CA
        _fetch(tls_server.port, "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com", ssl.create_default_context())


def test_unknown_names_get_a_certificate_that_fails_host_name_verification(certificates, tls_server):
    context = ssl.create_default_context(cafile=str(certificates.settings.ca_bundle))
    with pytest.raises(ssl.SSLCertVerificationError, match="match|mismatch"):
        _fetch(tls_server.port, "api.not-requested.test", context)


def test_custom_domain_is_served_with_its_acm_certificate_once_issued(certificates, tls_server):
    acm, route53 = _acm_and_route53(certificates.controlplane.endpoint, "eu-west-1")
    context = ssl.create_default_context(cafile=str(certificates.settings.ca_bundle))
    arn = acm.request_certificate(DomainName="api.custom.test", ValidationMethod="DNS")["CertificateArn"]
    record = _validation_cname(acm.describe_certificate(CertificateArn=arn)["Certificate"])
    with pytest.raises(ssl.SSLCertVerificationError):
        _fetch(tls_server.port, "api.custom.test", context)

    zone_id = route53.create_hosted_zone(Name="custom.test", CallerReference="c")["HostedZone"]["Id"]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{
        "Action": "UPSERT",
        "ResourceRecordSet": {"Name": record["Name"], "Type": "CNAME", "TTL": 300,
                              "ResourceRecords": [{"Value": record["Value"]}]},
    }]})
    assert _fetch(tls_server.port, "api.custom.test", context) == b"hello\n"
    served = acm.get_certificate(CertificateArn=arn)["Certificate"]
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="api.custom.test") as tls:
            assert ssl.DER_cert_to_PEM_cert(tls.getpeercert(binary_form=True)).strip() == served.strip()


def test_the_ca_is_created_once_per_state_directory(tmp_path):
    first = LocalCloud(Settings(state_dir=tmp_path), components=[Certificates])
    first.get(Certificates).start()
    pem = first.settings.ca_bundle.read_bytes()
    again = LocalCloud(Settings(state_dir=tmp_path), components=[Certificates])
    again.get(Certificates).start()
    assert again.settings.ca_bundle.read_bytes() == pem


def test_openssl_verifies_an_execute_api_name_with_the_ca_bundle(certificates, tls_server):
    """A standard client (openssl s_client) accepts the chain with the bundle as its CA file."""
    result = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{tls_server.port}", "-servername",
         "x1y2z3.execute-api.sa-east-1.amazonaws.com", "-verify_hostname", "x1y2z3.execute-api.sa-east-1.amazonaws.com",
         "-CAfile", str(certificates.settings.ca_bundle), "-verify_return_error"],
        input=b"", capture_output=True, timeout=20,
    )
    if result.returncode == 127:
        pytest.skip("openssl is not installed")
    assert b"Verify return code: 0 (ok)" in result.stdout, result.stdout.decode(errors="replace")
