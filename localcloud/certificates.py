"""A local certificate authority, ACM validation and TLS for the gateways.

Three jobs, one concern (certificates):

* **The local CA.** One EC P-256 CA per state directory, created on first
  start and reused afterwards. Its certificate is written to
  ``cloud.settings.ca_bundle``; clients that trust that bundle (boto3, the AWS
  CLI, curl, ``helpers.clients.HttpClient``) verify the gateways as they would
  verify Amazon's certificates on AWS.

* **ACM DNS validation.** moto issues a requested certificate after a fixed
  wait (``MOTO_ACM_VALIDATION_WAIT``), whatever DNS holds, and gives every
  certificate the same validation record. ACM instead issues a DNS-validated
  certificate only once, for every domain name on it, the CNAME record
  ``_<hash>.<domain>. -> _<hash>.<token>.acm-validations.aws.`` is found in
  public DNS; that record is the same for a domain name in every certificate
  and region of one account (AWS docs, "DNS validation"). Here the public DNS
  is this local cloud's public Route 53 hosted zones, read directly from
  moto's route53 backend. moto's own wait is switched off; a pending
  certificate is re-checked whenever ACM is asked about it (DescribeCertificate,
  ListCertificates, GetCertificate) and whenever a TLS client names one of its
  domains.

* **TLS for the gateways.** ``server_context()`` is a server-side SSLContext
  whose SNI callback picks the certificate for the name the client asked for:
  a wildcard ``*.execute-api.{region}.amazonaws.com`` for any region (issued on
  first use, cached), or the certificate of the ISSUED ACM certificate that
  covers a custom domain name. Any other name gets a default certificate that
  covers no real name, so a verifying client fails, as it would on AWS.

Overrides (control plane): acm RequestCertificate (remembers the validation
method), DescribeCertificate (the real validation records and status),
ListCertificates (status re-checked first), GetCertificate (pending ->
RequestInProgressException as on AWS; issued -> the CA-signed certificate the
gateways serve, with the CA as chain).
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from moto import settings as moto_settings
from moto.backends import get_backend

from localcloud.component import Component
from localcloud.controlplane import AwsError, Call
from localcloud.regions import execute_api_name

log = logging.getLogger(__name__)

CA_COMMON_NAME = "Local Cloud Root CA"
CA_VALIDITY = datetime.timedelta(days=3650)
# ACM certificates are valid for 13 months (395 days).
LEAF_VALIDITY = datetime.timedelta(days=395)
DEFAULT_NAME = "no-certificate.localcloud.invalid"
# moto issues AMAZON_ISSUED certificates after this many seconds; we issue them on validation instead.
NEVER = 10**9


# ----------------------------------------------------------------- ACM facts
def validation_record(account_id: str, domain_name: str) -> tuple[str, str]:
    """ACM's DNS validation CNAME (name, value) for ``domain_name`` in ``account_id``.

    As on AWS the record depends only on the account and the domain (a wildcard
    ``*.example.com`` is validated through ``example.com``'s record), so it is
    the same in every region and for every certificate of that domain.
    """
    domain = domain_name.lower().rstrip(".")
    if domain.startswith("*."):
        domain = domain[2:]
    digest = hashlib.sha256(f"{account_id}|{domain}".encode()).hexdigest()
    token = "".join(chr(ord("a") + int(c, 16) % 26) for c in digest[:10])
    return f"_{digest[:32]}.{domain}.", f"_{digest[32:64]}.{token}.acm-validations.aws."


def name_matches(pattern: str, name: str) -> bool:
    """Whether certificate name ``pattern`` (maybe ``*.``) covers host ``name`` (one label per wildcard)."""
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == name


def _norm(name: str) -> str:
    return name.lower().rstrip(".")


# ------------------------------------------------------------------ the CA
@dataclass(frozen=True)
class Leaf:
    """A certificate issued by the local CA, with its key, both PEM."""

    names: tuple[str, ...]
    cert_pem: bytes
    key_pem: bytes


class LocalCA:
    """An EC P-256 certificate authority kept in a directory (created once, then reused)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.cert_file = directory / "ca-cert.pem"
        self.key_file = directory / "ca-key.pem"
        if self.cert_file.exists() and self.key_file.exists():
            self.cert = x509.load_pem_x509_certificate(self.cert_file.read_bytes())
            self.key = serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)
        else:
            self.key = ec.generate_private_key(ec.SECP256R1())
            self.cert = self._self_signed()
            directory.mkdir(parents=True, exist_ok=True)
            _write_private(self.key_file, _key_pem(self.key))
            self.cert_file.write_bytes(self.cert_pem)

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def _self_signed(self) -> x509.Certificate:
        name = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Local Cloud"),
            x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME),
        ])
        now = datetime.datetime.now(datetime.timezone.utc)
        public = self.key.public_key()
        return (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.key, hashes.SHA256())
        )

    def issue(self, names: Iterable[str], *, rsa_key: bool = False) -> Leaf:
        """A TLS server certificate for ``names`` (DNS names, wildcards allowed), signed by this CA.

        The key is EC P-256 (fast to make) unless ``rsa_key`` asks for RSA 2048,
        ACM's default key algorithm.
        """
        names = tuple(dict.fromkeys(_norm(n) for n in names))
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if rsa_key else ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        ca_ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + LEAF_VALIDITY)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=rsa_key,
                data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return Leaf(names, cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _key_pem(key: Any) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


# --------------------------------------------------------------- component
class Certificates(Component):
    """The local CA, ACM's DNS validation and the gateways' TLS contexts."""

    name = "certificates"

    def __init__(self, cloud: Any):
        super().__init__(cloud)
        self.ca: LocalCA | None = None
        self._lock = threading.RLock()
        self._contexts: dict[Any, ssl.SSLContext] = {}  # ("execute-api", region) / ("acm", arn) / "default"
        self._leaves: dict[str, Leaf] = {}  # ACM arn -> the CA-signed certificate served for it
        self._validation_method: dict[str, str] = {}  # arn -> DNS | EMAIL
        self._issued_at: dict[str, datetime.datetime] = {}
        # moto would issue every certificate after a fixed wait; issuance is ours (on validation).
        moto_settings.ACM_VALIDATION_WAIT = NEVER
        register = cloud.controlplane.register
        register("acm", "RequestCertificate", self._request_certificate)
        register("acm", "DescribeCertificate", self._describe_certificate)
        register("acm", "ListCertificates", self._list_certificates)
        register("acm", "GetCertificate", self._get_certificate)

    # -------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Load or create the CA and publish its certificate as the CA bundle (fast: EC keys)."""
        settings = self.cloud.settings
        self.ca = LocalCA(settings.state_dir / "ca")
        bundle = Path(settings.ca_bundle)
        tmp = bundle.with_suffix(".tmp")
        tmp.write_bytes(self.ca.cert_pem)
        os.replace(tmp, bundle)

    def status(self) -> dict[str, Any]:
        return {"ca_subject": CA_COMMON_NAME}

    # ------------------------------------------------------------------- TLS
    def server_context(self, region: str | None = None) -> ssl.SSLContext:
        """A TLS server context that picks the certificate by SNI (see the module docstring).

        With ``region``, a custom domain name is served only with an ACM
        certificate of that region (on AWS a regional custom domain uses a
        certificate in the API's region); without it, any region's.
        """
        context = self._new_context(self._default_leaf())

        def pick(sslobj: ssl.SSLObject, server_name: str | None, _ctx: ssl.SSLContext) -> None:
            if not server_name:
                return None
            try:
                chosen = self.context_for(server_name, region)
            except Exception:  # never break a handshake because of a lookup bug: serve the default
                log.exception("choosing a certificate for %s failed", server_name)
                return None
            if chosen is not None:
                sslobj.context = chosen
            return None

        context.sni_callback = pick
        return context

    def context_for(self, server_name: str, region: str | None = None) -> ssl.SSLContext | None:
        """The SSLContext holding the certificate for ``server_name``, or None (the default certificate)."""
        name = _norm(server_name)
        api_region = (execute_api_name(name) or (None, None))[1]
        if api_region is not None:
            key = ("execute-api", api_region)
            with self._lock:
                if key not in self._contexts:
                    leaf = self._ca().issue([f"*.execute-api.{api_region}.amazonaws.com"])
                    self._contexts[key] = self._new_context(leaf)
                return self._contexts[key]
        found = self.issued_certificate_for(name, region)
        if found is None:
            return None
        arn, names = found
        with self._lock:
            key = ("acm", arn)
            if key not in self._contexts:
                self._contexts[key] = self._new_context(self._leaf_for(arn, names))
            return self._contexts[key]

    def issued_certificate_for(self, name: str, region: str | None = None) -> tuple[str, list[str]] | None:
        """(arn, names) of an ISSUED ACM certificate covering ``name`` (validating pending ones first)."""
        for cert_region, backend in self._acm_backends():
            if region is not None and cert_region != region:
                continue
            for cert in list(backend._certificates.values()):
                names = cert_names(cert)
                if not any(name_matches(pattern, name) for pattern in names):
                    continue
                self._refresh(cert)
                if cert.status == "ISSUED":
                    return cert.arn, names
        return None

    def _new_context(self, leaf: Leaf) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2  # API Gateway's TLS_1_2 security policy
        context.set_alpn_protocols(["http/1.1"])
        path = self.cloud.settings.state_dir / "ca" / f"leaf-{hashlib.sha1(leaf.cert_pem).hexdigest()[:16]}.pem"
        if not path.exists():
            _write_private(path, leaf.key_pem + leaf.cert_pem)
        context.load_cert_chain(path)
        return context

    def _default_leaf(self) -> Leaf:
        with self._lock:
            if "default" not in self._leaves:
                self._leaves["default"] = self._ca().issue([DEFAULT_NAME])
            return self._leaves["default"]

    def _leaf_for(self, arn: str, names: list[str]) -> Leaf:
        with self._lock:
            if arn not in self._leaves:
                self._leaves[arn] = self._ca().issue(names, rsa_key=True)  # RSA_2048, ACM's default
            return self._leaves[arn]

    def _ca(self) -> LocalCA:
        if self.ca is None:
            raise RuntimeError("the certificates component is not started (no CA yet)")
        return self.ca

    # ------------------------------------------------------------ validation
    def _acm_backends(self) -> list[tuple[str, Any]]:
        """moto's ACM backends that exist (regions in which ACM was used)."""
        return list(get_backend("acm")[self.cloud.account_id].items())

    def _public_records(self) -> set[tuple[str, str]]:
        """(name, value) of every CNAME in this local cloud's public hosted zones."""
        route53 = self.cloud.route53()
        found = set()
        for zone in list(route53.zones.values()):
            if zone.private_zone:
                continue  # ACM validates through public DNS only
            for rrset in list(zone.rrsets):
                if rrset.type == "CNAME":
                    for value in rrset.records or []:
                        found.add((_norm(rrset.name), _norm(str(value))))
        return found

    def domain_validation(self, cert: Any, records: set[tuple[str, str]] | None = None) -> dict[str, bool]:
        """For each domain name on ``cert``: whether its validation record is in a public hosted zone."""
        if records is None:
            records = self._public_records()
        result = {}
        for domain in cert_names(cert):
            name, value = validation_record(self.cloud.account_id, domain)
            result[domain] = (_norm(name), _norm(value)) in records
        return result

    def _refresh(self, cert: Any, records: set[tuple[str, str]] | None = None) -> None:
        """Issue a pending DNS-validated certificate once every domain's record exists."""
        if cert.type != "AMAZON_ISSUED" or cert.status != "PENDING_VALIDATION":
            return
        if self._validation_method.get(cert.arn, "DNS") != "DNS":
            return  # e-mail validation: nobody here clicks the link, as on AWS without a mailbox
        if all(self.domain_validation(cert, records).values()):
            cert.status = "ISSUED"
            self._issued_at[cert.arn] = datetime.datetime.now(datetime.timezone.utc)
            log.info("ACM certificate %s issued (validation records found)", cert.arn)

    def refresh_region(self, region: str) -> None:
        """Re-check every pending certificate of ``region``."""
        backend = self.cloud.backend("acm", region)
        pending = [c for c in list(backend._certificates.values()) if c.status == "PENDING_VALIDATION"]
        if pending:
            records = self._public_records()
            for cert in pending:
                self._refresh(cert, records)

    # ------------------------------------------------------------- overrides
    def _request_certificate(self, call: Call) -> dict[str, Any]:
        result = call.forward_json()
        method = call.params.get("ValidationMethod") or "DNS"
        self._validation_method[result["CertificateArn"]] = method
        return result

    def _describe_certificate(self, call: Call) -> dict[str, Any]:
        arn = call.params["CertificateArn"]
        self.refresh_region(call.region)
        result = call.forward_json()
        cert_data = result.get("Certificate", {})
        backend = self.cloud.backend("acm", call.region)
        cert = backend._certificates.get(arn)
        if cert is None or cert.type != "AMAZON_ISSUED":
            return result
        method = self._validation_method.get(arn, "DNS")
        validated = self.domain_validation(cert)
        options = []
        for domain in cert_names(cert):
            option: dict[str, Any] = {"DomainName": domain, "ValidationDomain": domain, "ValidationMethod": method}
            if method == "DNS":
                name, value = validation_record(self.cloud.account_id, domain)
                option["ResourceRecord"] = {"Name": name, "Type": "CNAME", "Value": value}
                ok = cert.status == "ISSUED" or validated[domain]
                option["ValidationStatus"] = "SUCCESS" if ok else "PENDING_VALIDATION"
            else:
                option["ValidationStatus"] = "SUCCESS" if cert.status == "ISSUED" else "PENDING_VALIDATION"
                option["ValidationEmails"] = [f"admin@{domain.lstrip('*.')}"]
            options.append(option)
        cert_data["DomainValidationOptions"] = options
        if cert.status == "ISSUED" and arn in self._issued_at:
            cert_data["IssuedAt"] = self._issued_at[arn]
        elif cert.status != "ISSUED":
            cert_data.pop("IssuedAt", None)
            cert_data.pop("NotBefore", None)
            cert_data.pop("NotAfter", None)
        if cert.status == "ISSUED":
            leaf = self._leaf_for(arn, cert_names(cert))
            parsed = x509.load_pem_x509_certificate(leaf.cert_pem)
            cert_data["Issuer"] = CA_COMMON_NAME
            cert_data["Serial"] = format(parsed.serial_number, "x")
            cert_data["NotBefore"] = parsed.not_valid_before_utc
            cert_data["NotAfter"] = parsed.not_valid_after_utc
            cert_data["SignatureAlgorithm"] = "SHA256WITHECDSA"
        return result

    def _list_certificates(self, call: Call) -> dict[str, Any]:
        self.refresh_region(call.region)
        result = call.forward_json()
        for summary in result.get("CertificateSummaryList", []):
            if summary.get("Status") == "PENDING_VALIDATION":  # no validity period before issuance
                for key in ("IssuedAt", "NotBefore", "NotAfter"):
                    summary.pop(key, None)
            elif summary.get("CertificateArn") in self._issued_at:
                summary["IssuedAt"] = self._issued_at[summary["CertificateArn"]]
        return result

    def _get_certificate(self, call: Call) -> dict[str, Any]:
        arn = call.params["CertificateArn"]
        self.refresh_region(call.region)
        backend = self.cloud.backend("acm", call.region)
        cert = backend._certificates.get(arn)
        if cert is None or cert.type != "AMAZON_ISSUED":
            return call.forward_json()
        if cert.status != "ISSUED":
            raise AwsError("RequestInProgressException", f"Certificate {arn} is not yet issued (status {cert.status}).", 400)
        leaf = self._leaf_for(arn, cert_names(cert))
        return {"Certificate": leaf.cert_pem.decode(), "CertificateChain": self._ca().cert_pem.decode()}


def cert_names(cert: Any) -> list[str]:
    """DomainName first, then the other subject alternative names of a moto CertBundle."""
    names = [str(cert.common_name)] if cert.common_name else []
    names += [str(n) for n in cert.sans if str(n) not in names]
    return names
