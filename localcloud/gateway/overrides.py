"""API Gateway's control-plane operations the gateway answers instead of moto (one place).

``apigateway:CreateDomainName``: the certificate is checked as API Gateway checks it (moto accepts any):
an ACM certificate of another Region (a REGIONAL name needs one in the API's Region, an EDGE name one in
us-east-1), one not yet issued, or one whose names do not cover the domain name gives
``BadRequestException`` with API Gateway's message. moto reports a CloudFront hosted zone ID for
every domain; we store the region's real API Gateway ``regionalHostedZoneId``
(``hosted_zone_id_for``) on moto's model, so ``GetDomainName``/``GetDomainNames``
report it too. The certificate then lists the domain name in ``InUseBy`` (ACM ``DescribeCertificate``)
until ``DeleteDomainName``. ``apigateway:CreateDeployment``: moto keeps no copy of what was
deployed; we freeze the API's resources, methods and integrations for the new
deployment (``routes.freeze``).
"""

from __future__ import annotations

import hashlib
import string
from typing import Any

from awsfacts.apigateway import published_hosted_zone_id
from localcloud.certificates import Certificates, cert_names, name_matches
from localcloud.controlplane import AwsError, Call, ControlPlane, Raw
from localcloud.gateway.routes import Routes, freeze


def hosted_zone_id_for(region: str) -> str:
    """The hosted zone ID of API Gateway's regional endpoints in ``region``.

    Regions missing from AWS's published table (the local cloud serves any
    region name) get a stable made-up ID of the same shape.
    """
    known = published_hosted_zone_id(region)
    if known:
        return known
    digest = hashlib.sha256(f"apigateway:{region}".encode()).hexdigest().upper()
    return "Z" + "".join(c for c in digest if c in string.ascii_uppercase + string.digits)[:13]


class Overrides:
    """CreateDomainName, DeleteDomainName and CreateDeployment, registered on the control plane."""

    def __init__(self, cloud: Any, routes: Routes, certificates: Certificates):
        self.cloud = cloud
        self._routes = routes
        self._certificates = certificates
        controlplane: ControlPlane = cloud.controlplane
        controlplane.register("apigateway", "CreateDomainName", self._create_domain_name)
        controlplane.register("apigateway", "DeleteDomainName", self._delete_domain_name)
        controlplane.register("apigateway", "CreateDeployment", self._create_deployment)

    def _create_domain_name(self, call: Call) -> dict[str, Any]:
        """CreateDomainName with the region's real regionalHostedZoneId (moto reports CloudFront's).

        moto already gives ``regionalDomainName`` ``d-<10 lowercase alnum>.execute-api.{region}.amazonaws.com``;
        the fixed fields are stored on moto's model so Get/GetDomainNames agree.
        """
        certificate = self._checked_certificate(call)
        created = call.forward_json()
        domain = self.cloud.backend("apigateway", call.region).domain_names[created["domainName"]]
        if certificate is not None:
            certificate.in_use_by.append(_domain_arn(call.region, domain.domain_name))
        domain.regional_hosted_zone_id = hosted_zone_id_for(call.region)
        if not domain.endpoint_configuration:
            regional = bool(call.params.get("regionalCertificateArn") or call.params.get("regionalCertificateName"))
            domain.endpoint_configuration = {"types": ["REGIONAL" if regional else "EDGE"]}
        return domain.to_json()

    def _checked_certificate(self, call: Call) -> Any:
        """The ACM certificate a new domain name uses (moto's model), after API Gateway's checks; None if imported."""
        arn = call.params.get("regionalCertificateArn") or call.params.get("certificateArn")
        if not arn:
            return None
        wanted = call.region if call.params.get("regionalCertificateArn") else "us-east-1"
        parts = arn.split(":")
        if len(parts) < 6 or parts[2] != "acm" or parts[3] != wanted:
            raise AwsError("BadRequestException", f"Invalid certificate ARN: {arn}. Certificate must be in '{wanted}'.")
        self._certificates.refresh_region(wanted)  # a validation record may have appeared since the last look
        certificate = self.cloud.backend("acm", wanted)._certificates.get(arn)
        if certificate is None:
            raise AwsError("BadRequestException", f"Invalid certificate ARN: {arn}. Certificate not found.")
        if certificate.status != "ISSUED":
            raise AwsError("BadRequestException",
                           f"Certificate {arn} in account {self.cloud.account_id} not yet issued")
        if not any(name_matches(name, call.params["domainName"]) for name in cert_names(certificate)):
            raise AwsError("BadRequestException", "The domain name to be created is not covered by the provided "
                                                  "certificate.")
        return certificate

    def _delete_domain_name(self, call: Call) -> Raw:
        """DeleteDomainName; its certificate no longer lists it in InUseBy."""
        answer = call.forward()
        domain_arn = _domain_arn(call.region, call.params["domainName"])
        if answer[0] < 300:
            for region in {call.region, "us-east-1"}:
                for certificate in list(self.cloud.backend("acm", region)._certificates.values()):
                    if domain_arn in certificate.in_use_by:
                        certificate.in_use_by.remove(domain_arn)
        return Raw(*answer)

    def _create_deployment(self, call: Call) -> dict[str, Any]:
        """CreateDeployment, plus the snapshot of the API's routes that the deployment serves from now on."""
        api = self.cloud.backend("apigateway", call.region).apis.get(call.params.get("restApiId"))
        routes = freeze(api) if api is not None else None  # before moto answers: what is deployed is what was there
        created = call.forward_json()
        if routes is not None:
            self._routes.deployed(call.region, api.id, created["id"], routes)
        return created


def _domain_arn(region: str, domain_name: str) -> str:
    """The ARN of an API Gateway custom domain name, as ACM's InUseBy lists it."""
    return f"arn:aws:apigateway:{region}::/domainnames/{domain_name}"
