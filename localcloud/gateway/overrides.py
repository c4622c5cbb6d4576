"""API Gateway's control-plane operations the gateway answers instead of moto (one place, two operations).

``apigateway:CreateDomainName``: moto reports a CloudFront hosted zone ID for
every domain; we store the region's real API Gateway ``regionalHostedZoneId``
(``hosted_zone_id_for``) on moto's model, so ``GetDomainName``/``GetDomainNames``
report it too. ``apigateway:CreateDeployment``: moto keeps no copy of what was
deployed; we freeze the API's resources, methods and integrations for the new
deployment (``routes.freeze``).
"""

from __future__ import annotations

import hashlib
import string
from typing import Any

from awsfacts.apigateway import published_hosted_zone_id
from localcloud.controlplane import Call, ControlPlane
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
    """CreateDomainName and CreateDeployment, registered on the control plane."""

    def __init__(self, cloud: Any, routes: Routes):
        self.cloud = cloud
        self._routes = routes
        controlplane: ControlPlane = cloud.controlplane
        controlplane.register("apigateway", "CreateDomainName", self._create_domain_name)
        controlplane.register("apigateway", "CreateDeployment", self._create_deployment)

    def _create_domain_name(self, call: Call) -> dict[str, Any]:
        """CreateDomainName with the region's real regionalHostedZoneId (moto reports CloudFront's).

        moto already gives ``regionalDomainName`` ``d-<10 lowercase alnum>.execute-api.{region}.amazonaws.com``;
        the fixed fields are stored on moto's model so Get/GetDomainNames agree.
        """
        created = call.forward_json()
        domain = self.cloud.backend("apigateway", call.region).domain_names[created["domainName"]]
        domain.regional_hosted_zone_id = hosted_zone_id_for(call.region)
        if not domain.endpoint_configuration:
            regional = bool(call.params.get("regionalCertificateArn") or call.params.get("regionalCertificateName"))
            domain.endpoint_configuration = {"types": ["REGIONAL" if regional else "EDGE"]}
        return domain.to_json()

    def _create_deployment(self, call: Call) -> dict[str, Any]:
        """CreateDeployment, plus the snapshot of the API's routes that the deployment serves from now on."""
        api = self.cloud.backend("apigateway", call.region).apis.get(call.params.get("restApiId"))
        routes = freeze(api) if api is not None else None  # before moto answers: what is deployed is what was there
        created = call.forward_json()
        if routes is not None:
            self._routes.deployed(call.region, api.id, created["id"], routes)
        return created
