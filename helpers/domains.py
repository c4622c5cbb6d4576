"""Step 3: the hosted zone, an ACM certificate per region and a REGIONAL custom domain name per region.

The API is reached under one name (``cfg.domain_name``) in every region. For
that, each region needs:

* an **ACM certificate** for the name *in that region* (a regional API
  Gateway endpoint only uses certificates of its own region), validated by
  DNS: ACM gives a CNAME record per domain name, and issues the certificate
  once that record is found in public DNS (here: the hosted zone);
* a **custom domain name** with a REGIONAL endpoint and that certificate; API
  Gateway gives it a ``regionalDomainName`` (``d-….execute-api.{region}.amazonaws.com``)
  and the ``regionalHostedZoneId`` that Route 53 alias records point at (step 5);
* a **base path mapping** on ``/`` (base path ``(none)``) to the region's REST
  API and stage, so ``https://{domain}/item`` reaches ``/{stage}/item``.

The hosted zone is found by name. Only with ``create_hosted_zone`` (the local
default) is a missing zone created, and then tagged with a marker so that
teardown deletes only zones the runbook created; on AWS use your own public
zone (set ``create_hosted_zone: false``), which teardown never deletes.

Every function takes the ``Config`` and ``Clients``, is safe to re-run
(get-or-create) and returns data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from helpers.apigateway import find_rest_api
from helpers.clients import Clients, HttpClient, tolerating
from helpers.config import Config
from helpers.prices import PRICES
from helpers.resource_kind import GLOBAL, Found, IamScope, Planned, ResourceKind, tag_condition, unscoped
from helpers.waiting import wait_until

CREATED_MARKER = ("runbook:created-by-runbook", "true")
BASE_PATH_NONE = "(none)"  # API Gateway's name for the empty base path (the mapping on "/")
# AWS seconds: DNS validation usually completes within minutes, ACM gives up after 72 hours.
CERTIFICATE_TIMEOUT_S = 1800.0
# AWS seconds for ACM to add the validation record to a new certificate's description.
VALIDATION_RECORD_TIMEOUT_S = 60.0
LIVE_STATUSES = ("PENDING_VALIDATION", "ISSUED")


class HostedZoneMissing(LookupError):
    """The configured hosted zone does not exist and may not be created."""


@dataclass(frozen=True)
class HostedZone:
    """The runbook's public hosted zone."""

    id: str  # without the /hostedzone/ prefix
    name: str
    created_by_runbook: bool
    created_now: bool
    name_servers: tuple[str, ...]


# ------------------------------------------------------------------ helpers
def _tag_list(cfg: Config, extra: dict[str, str] | None = None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in {**cfg.tags, **(extra or {})}.items()]



def _zone_id(raw: str) -> str:
    return raw.rsplit("/", 1)[-1]


def fqdn(name: str) -> str:
    """A DNS name as Route 53 lists it: lower case, with the trailing dot."""
    return name.rstrip(".").lower() + "."


# --------------------------------------------------------------- hosted zone
def find_hosted_zone(cfg: Config, clients: Clients) -> HostedZone | None:
    """The public hosted zone named ``cfg.hosted_zone``, or None."""
    route53 = clients.client("route53")
    listed = route53.list_hosted_zones_by_name(DNSName=cfg.hosted_zone)["HostedZones"]
    for zone in listed:
        if fqdn(zone["Name"]) == fqdn(cfg.hosted_zone) and not zone.get("Config", {}).get("PrivateZone"):
            zone_id = _zone_id(zone["Id"])
            tags = _zone_tags(clients, zone_id)
            created = tags.get(CREATED_MARKER[0]) == CREATED_MARKER[1] and tags.get("runbook:stack") == cfg.stack_name
            servers = route53.get_hosted_zone(Id=zone_id).get("DelegationSet", {}).get("NameServers", [])
            return HostedZone(zone_id, fqdn(zone["Name"]), created, False, tuple(servers))
    return None


def _zone_tags(clients: Clients, zone_id: str) -> dict[str, str]:
    tags = clients.client("route53").list_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id)
    return {t["Key"]: t.get("Value", "") for t in tags["ResourceTagSet"].get("Tags", [])}


def ensure_hosted_zone(cfg: Config, clients: Clients) -> HostedZone:
    """The hosted zone for the domain: found by name, or created (and marked) only if ``cfg.create_hosted_zone``."""
    zone = find_hosted_zone(cfg, clients)
    if zone is not None:
        return zone
    if not cfg.create_hosted_zone:
        raise HostedZoneMissing(
            f"the public hosted zone {cfg.hosted_zone!r} (parameter 'hosted_zone') does not exist: create it in "
            "Route 53 and delegate the domain to its name servers, or set create_hosted_zone to true to let "
            "the runbook create it (on AWS a new zone only answers once its domain is delegated to it)"
        )
    route53 = clients.client("route53")
    created = route53.create_hosted_zone(
        Name=cfg.hosted_zone, CallerReference=f"{cfg.stack_name}-{uuid.uuid4().hex[:12]}",
        HostedZoneConfig={"Comment": f"runbook stack {cfg.stack_name}", "PrivateZone": False},
    )
    zone_id = _zone_id(created["HostedZone"]["Id"])
    route53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id,
                                     AddTags=_tag_list(cfg, {CREATED_MARKER[0]: CREATED_MARKER[1]}))
    servers = created.get("DelegationSet", {}).get("NameServers", [])
    return HostedZone(zone_id, fqdn(created["HostedZone"]["Name"]), True, True, tuple(servers))


def created_hosted_zone(cfg: Config, clients: Clients) -> str | None:
    """The id of the hosted zone if this stack created it (and it still exists), else None."""
    zone = find_hosted_zone(cfg, clients)
    return zone.id if zone is not None and zone.created_by_runbook else None


def _require_zone(cfg: Config, clients: Clients) -> HostedZone:
    zone = find_hosted_zone(cfg, clients)
    if zone is None:
        raise HostedZoneMissing(f"no hosted zone {cfg.hosted_zone!r}: run ensure_hosted_zone first")
    return zone


# -------------------------------------------------------------- certificates
def _certificate_tags(clients: Clients, region: str, arn: str) -> dict[str, str]:
    tags = clients.client("acm", region).list_tags_for_certificate(CertificateArn=arn).get("Tags", [])
    return {t["Key"]: t.get("Value", "") for t in tags}


def stack_certificates(cfg: Config, clients: Clients, region: str, live_only: bool = True) -> list[dict[str, Any]]:
    """The runbook's certificates for ``cfg.domain_name`` in ``region`` (described), best first: an issued
    one, then the oldest. Only pending or issued ones unless ``live_only`` is False (teardown wants all)."""
    acm = clients.client("acm", region)
    candidates = []
    statuses = {"CertificateStatuses": list(LIVE_STATUSES)} if live_only else {}
    for page in acm.get_paginator("list_certificates").paginate(**statuses):
        for summary in page.get("CertificateSummaryList", []):
            if summary.get("DomainName", "").lower() != cfg.domain_name:
                continue
            if _certificate_tags(clients, region, summary["CertificateArn"]).get("runbook:stack") != cfg.stack_name:
                continue
            candidates.append(acm.describe_certificate(CertificateArn=summary["CertificateArn"])["Certificate"])
    candidates.sort(key=lambda c: (c["Status"] != "ISSUED", str(c.get("CreatedAt", ""))))
    return candidates


def find_certificate(cfg: Config, clients: Clients, region: str) -> dict[str, Any] | None:
    """The runbook's pending or issued certificate for ``cfg.domain_name`` in ``region`` (described), or None."""
    return next(iter(stack_certificates(cfg, clients, region)), None)


def _validation_records(certificate: dict[str, Any]) -> list[dict[str, str]]:
    return [option["ResourceRecord"] for option in certificate.get("DomainValidationOptions", [])
            if option.get("ResourceRecord")]


def request_certificates(cfg: Config, clients: Clients, timeout: float | None = None) -> pd.DataFrame:
    """Get or request one DNS-validated certificate per region and UPSERT its validation CNAMEs into the zone.

    The validation record of a domain name is the same in every region of one
    account, so one record validates all the regions' certificates.
    """
    zone = _require_zone(cfg, clients)
    timeout = timeout if timeout is not None else max(10.0, cfg.scaled(VALIDATION_RECORD_TIMEOUT_S))
    rows, changes = [], {}
    for region in cfg.regions:
        existing = find_certificate(cfg, clients, region)
        if existing is not None:
            arn, requested = existing["CertificateArn"], False
        else:
            arn = clients.client("acm", region).request_certificate(
                DomainName=cfg.domain_name, ValidationMethod="DNS", Tags=_tag_list(cfg),
            )["CertificateArn"]
            requested = True
        acm = clients.client("acm", region)

        def described(acm=acm, arn=arn) -> tuple[bool, dict[str, Any]]:
            certificate = acm.describe_certificate(CertificateArn=arn)["Certificate"]
            return bool(_validation_records(certificate)) or certificate["Status"] == "ISSUED", certificate

        certificate = wait_until(f"ACM validation record of {arn}", described, timeout, total=1,
                            progress=lambda c: int(bool(_validation_records(c))))
        records = _validation_records(certificate)
        for record in records:
            changes[(fqdn(record["Name"]), record["Type"])] = record
        rows.append({
            "region": region, "certificate_arn": arn, "status": certificate["Status"], "requested": requested,
            "validation_record": ", ".join(r["Name"] for r in records),
        })
    if changes:
        clients.client("route53").change_resource_record_sets(HostedZoneId=zone.id, ChangeBatch={
            "Comment": f"ACM DNS validation for {cfg.domain_name}",
            "Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
                "Name": record["Name"], "Type": record["Type"], "TTL": 300,
                "ResourceRecords": [{"Value": record["Value"]}]}} for record in changes.values()],
        })
    return pd.DataFrame(rows).set_index("region")


def wait_for_certificates(cfg: Config, clients: Clients, timeout: float | None = None) -> pd.DataFrame:
    """Wait until every region's certificate is ISSUED (ACM checks DNS for the validation record)."""
    timeout = timeout if timeout is not None else max(30.0, cfg.scaled(CERTIFICATE_TIMEOUT_S))
    arns = {}
    for region in cfg.regions:
        found = find_certificate(cfg, clients, region)
        if found is None:
            raise LookupError(f"no certificate for {cfg.domain_name} in {region}: run request_certificates first")
        arns[region] = found["CertificateArn"]

    last: dict[str, dict[str, Any]] = {}

    def check() -> tuple[bool, dict[str, dict[str, Any]]]:
        seen = {region: clients.client("acm", region).describe_certificate(CertificateArn=arn)["Certificate"]
                for region, arn in arns.items()}
        last.update(seen)
        failed = {r: c for r, c in seen.items() if c["Status"] not in LIVE_STATUSES}
        if failed:
            raise RuntimeError("ACM will not issue: " + _pending_reasons(cfg, clients, failed)
                               + " (request a new certificate: delete_certificates, then request_certificates)")
        return all(c["Status"] == "ISSUED" for c in seen.values()), seen

    try:
        seen = wait_until("ACM certificates issued", check, timeout, total=len(arns),
                     progress=lambda s: sum(c["Status"] == "ISSUED" for c in s.values()))
    except TimeoutError:
        pending = {r: c for r, c in last.items() if c["Status"] != "ISSUED"}
        raise TimeoutError(f"timed out after {timeout:.0f} s waiting for ACM to issue the certificates for "
                           f"{cfg.domain_name}; still pending: {_pending_reasons(cfg, clients, pending)}") from None
    return pd.DataFrame([{
        "region": region, "certificate_arn": c["CertificateArn"], "status": c["Status"],
        "issued_at": c.get("IssuedAt"), "not_after": c.get("NotAfter"), "issuer": c.get("Issuer"),
    } for region, c in seen.items()]).set_index("region")


def _pending_reasons(cfg: Config, clients: Clients, certificates: dict[str, dict[str, Any]]) -> str:
    """Why each certificate is not issued: its status, and whether its validation record is in the zone."""
    zone = find_hosted_zone(cfg, clients)
    present: set[tuple[str, str]] = set()
    if zone is not None:
        route53 = clients.client("route53")
        for page in route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone.id):
            for rrset in page["ResourceRecordSets"]:
                for value in rrset.get("ResourceRecords", []):
                    present.add((fqdn(rrset["Name"]), fqdn(value["Value"])))
    reasons = []
    for region, certificate in sorted(certificates.items()):
        detail = [f"{region}: {certificate['Status']}"]
        if certificate.get("FailureReason"):
            detail.append(f"failure reason {certificate['FailureReason']}")
        for option in certificate.get("DomainValidationOptions", []):
            record = option.get("ResourceRecord")
            if record is None:
                detail.append(f"{option['DomainName']} has no DNS validation record yet")
            elif (fqdn(record["Name"]), fqdn(record["Value"])) in present:
                detail.append(f"validation CNAME {record['Name']} is in zone {cfg.hosted_zone}, "
                              "waiting for ACM to see it")
            else:
                detail.append(f"validation CNAME {record['Name']} -> {record['Value']} is NOT in zone "
                              f"{cfg.hosted_zone} (run request_certificates)")
        reasons.append(", ".join(detail))
    return "; ".join(reasons)


# ---------------------------------------------------------- custom domains
def is_stack_domain(cfg: Config, domain: dict[str, Any]) -> bool:
    """Whether a custom domain name (as GetDomainName answers) carries this stack's tag."""
    return (domain.get("tags") or {}).get("runbook:stack") == cfg.stack_name


def find_custom_domain(cfg: Config, clients: Clients, region: str) -> dict[str, Any] | None:
    """The API Gateway custom domain name ``cfg.domain_name`` in ``region``, or None."""
    with tolerating("NotFoundException"):
        return clients.client("apigateway", region).get_domain_name(domainName=cfg.domain_name)
    return None


def _mappings(clients: Clients, region: str, name: str) -> list[dict[str, Any]]:
    with tolerating("NotFoundException"):
        return clients.client("apigateway", region).get_base_path_mappings(domainName=name).get("items", [])
    return []


def create_custom_domains(cfg: Config, clients: Clients) -> pd.DataFrame:
    """Per region: a REGIONAL custom domain name with the region's certificate, mapped on ``/`` to the API's stage."""
    rows = []
    for region in cfg.regions:
        certificate = find_certificate(cfg, clients, region)
        if certificate is None or certificate["Status"] != "ISSUED":
            state = "missing" if certificate is None else certificate["Status"]
            raise RuntimeError(f"the certificate for {cfg.domain_name} in {region} is {state}: "
                               "run request_certificates and wait_for_certificates first")
        api_id = find_rest_api(cfg, clients, region)
        if api_id is None:
            raise LookupError(f"no REST API for stack {cfg.stack_name!r} in {region}: run the 02_backend notebook first")
        apigw = clients.client("apigateway", region)
        domain = find_custom_domain(cfg, clients, region)
        created = domain is None
        if created:
            domain = apigw.create_domain_name(
                domainName=cfg.domain_name, regionalCertificateArn=certificate["CertificateArn"],
                endpointConfiguration={"types": ["REGIONAL"]}, securityPolicy="TLS_1_2", tags=cfg.tags,
            )
        elif domain.get("regionalCertificateArn") != certificate["CertificateArn"]:
            domain = apigw.update_domain_name(domainName=cfg.domain_name, patchOperations=[
                {"op": "replace", "path": "/regionalCertificateArn", "value": certificate["CertificateArn"]}])
        # (a domain name created just now has no mappings; moto 5.2 answers 500 when asked for them)
        mappings = [] if created else _mappings(clients, region, cfg.domain_name)
        mapping = next((m for m in mappings if m.get("basePath", BASE_PATH_NONE) in (BASE_PATH_NONE, "", "/")), None)
        if mapping is None:
            apigw.create_base_path_mapping(domainName=cfg.domain_name, restApiId=api_id, stage=cfg.stage)
            mapped = "created"
        elif mapping.get("restApiId") != api_id or mapping.get("stage") != cfg.stage:
            apigw.update_base_path_mapping(domainName=cfg.domain_name, basePath=BASE_PATH_NONE, patchOperations=[
                {"op": "replace", "path": "/restapiId", "value": api_id},
                {"op": "replace", "path": "/stage", "value": cfg.stage}])
            mapped = "updated"
        else:
            mapped = "unchanged"
        rows.append({
            "region": region, "domain_name": cfg.domain_name, "created": created,
            "regional_domain_name": domain.get("regionalDomainName"),
            "regional_hosted_zone_id": domain.get("regionalHostedZoneId"),
            "certificate_arn": certificate["CertificateArn"], "api_id": api_id, "stage": cfg.stage,
            "base_path_mapping": mapped,
        })
    return pd.DataFrame(rows).set_index("region")


def custom_domain_targets(cfg: Config, clients: Clients) -> dict[str, tuple[str, str]]:
    """{region: (regionalDomainName, regionalHostedZoneId)}: what step 5's alias records point at."""
    targets = {}
    for region in cfg.regions:
        domain = find_custom_domain(cfg, clients, region)
        if domain is None:
            raise LookupError(f"no custom domain name {cfg.domain_name} in {region}: run create_custom_domains first")
        targets[region] = (domain["regionalDomainName"], domain["regionalHostedZoneId"])
    return targets


def call_custom_domains(cfg: Config, clients: Clients, path: str = "/health",
                        http: HttpClient | None = None) -> pd.DataFrame:
    """``GET https://{domain_name}{path}`` sent to each region's regional domain name, TLS verified.

    Like ``curl --connect-to``: the custom domain name is not in DNS yet (step 5
    adds it), so each request goes to the address of the region's
    ``regionalDomainName``, with the custom domain as TLS server name (SNI) and
    Host header. A passing row proves the region serves the custom domain with
    a certificate the client trusts, mapped on ``/`` to the API's stage.
    """
    from helpers.apigateway import served_by

    http = http or HttpClient(cfg)
    url = f"https://{cfg.domain_name}{cfg.port_suffix}{path}"
    rows = []
    for region, (regional_name, _zone) in custom_domain_targets(cfg, clients).items():
        response = http.request("GET", url, connect_to=regional_name, with_certificate=True)
        certificate = response.certificate
        rows.append({
            "region": region, "url": url, "sent_to": f"{regional_name} ({response.address})",
            "status": response.status, "served_by": served_by(response),
            "certificate_for": ", ".join(v for k, v in certificate.get("subjectAltName", ()) if k == "DNS"),
            "issuer": dict(x[0] for x in certificate.get("issuer", ())).get("commonName"),
            "expires": certificate.get("notAfter"),
        })
    return pd.DataFrame(rows).set_index("region")


def describe_custom_domains(cfg: Config, clients: Clients) -> pd.DataFrame:
    """One row per region: the custom domain, its endpoint, certificate and mapping (missing ones show as None)."""
    rows = []
    for region in cfg.regions:
        domain = find_custom_domain(cfg, clients, region) or {}
        mapping = next(iter(_mappings(clients, region, cfg.domain_name)), {}) if domain else {}
        certificate = find_certificate(cfg, clients, region) or {}
        rows.append({
            "region": region, "domain_name": domain.get("domainName"),
            "endpoint_type": ",".join(domain.get("endpointConfiguration", {}).get("types", [])) or None,
            "regional_domain_name": domain.get("regionalDomainName"),
            "regional_hosted_zone_id": domain.get("regionalHostedZoneId"),
            "certificate_status": certificate.get("Status"),
            "certificate_arn": domain.get("regionalCertificateArn") or certificate.get("CertificateArn"),
            "base_path": mapping.get("basePath"), "api_id": mapping.get("restApiId"), "stage": mapping.get("stage"),
        })
    return pd.DataFrame(rows).set_index("region")


# ------------------------------------------------------------------ teardown
def delete_custom_domains(cfg: Config, clients: Clients, region: str | None = None) -> pd.DataFrame:
    """Delete the base path mappings and the custom domain name of the stack in ``region`` (default: every
    region); tolerates a re-run."""
    rows = []
    for region in [region] if region else cfg.regions:
        apigw = clients.client("apigateway", region)
        domain = find_custom_domain(cfg, clients, region)
        if domain is None:
            rows.append({"region": region, "deleted": False, "reason": "not found"})
            continue
        if not is_stack_domain(cfg, domain):
            rows.append({"region": region, "deleted": False, "reason": "not created by this stack"})
            continue
        for mapping in _mappings(clients, region, cfg.domain_name):
            with tolerating("NotFoundException"):
                apigw.delete_base_path_mapping(domainName=cfg.domain_name, basePath=mapping.get("basePath", BASE_PATH_NONE))
        with tolerating("NotFoundException"):
            apigw.delete_domain_name(domainName=cfg.domain_name)
        rows.append({"region": region, "deleted": True, "reason": ""})
    return pd.DataFrame(rows).set_index("region")


def delete_certificates(cfg: Config, clients: Clients, region: str | None = None) -> pd.DataFrame:
    """Delete the stack's certificates in ``region`` (default: every region; after the custom domains) and
    their validation CNAMEs in the zone."""
    rows, records = [], {}
    for region in [region] if region else cfg.regions:
        acm = clients.client("acm", region)
        for certificate in stack_certificates(cfg, clients, region, live_only=False):  # a failed one too
            for record in _validation_records(certificate):
                records[(fqdn(record["Name"]), record["Type"])] = record
            with tolerating("ResourceNotFoundException", "ResourceInUseException") as caught:
                acm.delete_certificate(CertificateArn=certificate["CertificateArn"])
            if caught.code == "ResourceInUseException":
                raise RuntimeError(f"certificate {certificate['CertificateArn']} in {region} is still in use: "
                                   "run delete_custom_domains first")
            rows.append({"region": region, "certificate_arn": certificate["CertificateArn"], "deleted": True})
    zone = find_hosted_zone(cfg, clients)
    if zone is not None and records:
        _delete_records(clients, zone.id, lambda rrset: (fqdn(rrset["Name"]), rrset["Type"]) in records)
    return pd.DataFrame(rows, columns=["region", "certificate_arn", "deleted"])


def _delete_records(clients: Clients, zone_id: str, select: Callable[[dict[str, Any]], bool]) -> int:
    """Delete the zone's record sets that ``select`` picks (never its apex NS and SOA); returns how many."""
    route53 = clients.client("route53")
    doomed = []
    for page in route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id):
        doomed += [r for r in page["ResourceRecordSets"] if r["Type"] not in ("NS", "SOA") and select(r)]
    for rrset in doomed:  # one change each: a record already gone must not fail the others
        with tolerating("InvalidChangeBatch", "InvalidInput"):
            route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={
                "Changes": [{"Action": "DELETE", "ResourceRecordSet": rrset}]})
    return len(doomed)


def delete_hosted_zone_if_created(cfg: Config, clients: Clients) -> dict[str, Any]:
    """Delete the hosted zone only if this stack created it (its marker tag), with any records left in it."""
    zone = find_hosted_zone(cfg, clients)
    if zone is None:
        return {"hosted_zone": cfg.hosted_zone, "deleted": False, "reason": "not found"}
    if not zone.created_by_runbook:
        return {"hosted_zone": cfg.hosted_zone, "deleted": False, "reason": "not created by this stack: kept"}
    removed = _delete_records(clients, zone.id, lambda rrset: True)
    with tolerating("NoSuchHostedZone"):
        clients.client("route53").delete_hosted_zone(Id=zone.id)
    return {"hosted_zone": cfg.hosted_zone, "deleted": True, "records_deleted": removed, "reason": ""}


# ------------------------------------------------------------------ the units
def _zone_statements(cfg: Config, scope: IamScope) -> list[dict[str, Any]]:
    """The zone by id (``*`` until known); record changes only on the API's name and below it (ACM validation
    records), by Route 53's ``ChangeResourceRecordSetsNormalizedRecordNames`` condition key.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonroute53.html
    """
    zone = f"arn:{scope.partition}:route53:::hostedzone/{scope.hosted_zone_id}"
    statements = [
        unscoped("route53:ListHostedZonesByName"),
        {"Sid": "HostedZone", "Effect": "Allow", "Resource": zone, "Action": [
            "route53:GetHostedZone", "route53:ListResourceRecordSets", "route53:ListTagsForResource",
            "route53:ChangeTagsForResource"]},
        {"Sid": "RecordsOfTheApiNameOnly", "Effect": "Allow", "Action": "route53:ChangeResourceRecordSets",
         "Resource": zone, "Condition": {"ForAllValues:StringLike": {
             "route53:ChangeResourceRecordSetsNormalizedRecordNames": [cfg.domain_name, f"*.{cfg.domain_name}"]}}},
    ]
    if cfg.create_hosted_zone:
        statements.append(unscoped("route53:CreateHostedZone", "route53:DeleteHostedZone"))
    return statements


def _zone_inventory(cfg: Config, clients: Clients, _region: str) -> list[Found]:
    zone = created_hosted_zone(cfg, clients)
    return [Found("route53", GLOBAL, f"hosted zone {zone} (created by the runbook)")] if zone else []


# First in helpers.stack, so the teardown deletes it last: the other kinds' records live in it.
HOSTED_ZONE = ResourceKind(
    "hosted zone (only if the runbook created it)", "route53", regional=False,
    plan=lambda cfg: [Planned("03", GLOBAL, "Route 53 hosted zone", cfg.hosted_zone, PRICES["hosted_zone_month"])]
    if cfg.create_hosted_zone else [],
    inventory=_zone_inventory,
    delete=lambda cfg, clients, _: delete_hosted_zone_if_created(cfg, clients),
    iam_statements=_zone_statements,
)


def _certificate_statements(cfg: Config, scope: IamScope) -> list[dict[str, Any]]:
    """ACM: requested only with the stack's tag (``aws:RequestTag``; tagging at request needs
    AddTagsToCertificate too), described and deleted only while they carry it (``aws:ResourceTag``). Tags are
    read on every certificate of the domain name, to tell the stack's from others.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscertificatemanager.html
    """
    certificates = [scope.arn("acm", r, "certificate/*") for r in cfg.regions]
    return [
        unscoped("acm:ListCertificates"),
        {"Sid": "RequestStackCertificates", "Effect": "Allow", "Resource": "*",
         "Action": ["acm:RequestCertificate", "acm:AddTagsToCertificate"], "Condition": tag_condition(cfg, "RequestTag")},
        {"Sid": "CertificateTags", "Effect": "Allow", "Action": "acm:ListTagsForCertificate", "Resource": certificates},
        {"Sid": "StackCertificates", "Effect": "Allow", "Resource": certificates,
         "Action": ["acm:DescribeCertificate", "acm:DeleteCertificate"], "Condition": tag_condition(cfg)},
    ]


CERTIFICATES = ResourceKind(
    "certificates", "acm", regional=True,
    plan=lambda cfg: [Planned("03", region, "ACM certificate (DNS validated)", cfg.domain_name) for region in cfg.regions],
    inventory=lambda cfg, clients, region: [Found("acm", region, f"certificate {c['CertificateArn']}")
                                            for c in stack_certificates(cfg, clients, region, live_only=False)],
    delete=delete_certificates,
    iam_statements=_certificate_statements,
)


def _custom_domain_inventory(cfg: Config, clients: Clients, region: str) -> list[Found]:
    domain = find_custom_domain(cfg, clients, region)
    if domain is None or not is_stack_domain(cfg, domain):  # another stack's name is not ours
        return []
    return [Found("apigateway", region, f"domain name {cfg.domain_name}")]


def _custom_domain_statements(cfg: Config, scope: IamScope) -> list[dict[str, Any]]:
    """API Gateway authorises by HTTP verb on a path: the custom domain name and its base path mappings, by name."""
    domains = [f"arn:{scope.partition}:apigateway:{r}::/domainnames" for r in cfg.regions]
    return [{"Sid": "CustomDomainName", "Effect": "Allow",
             "Action": ["apigateway:GET", "apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"],
             "Resource": [arn for d in domains for arn in (d, f"{d}/{cfg.domain_name}", f"{d}/{cfg.domain_name}/*")]}]


CUSTOM_DOMAINS = ResourceKind(
    "custom domain names and base path mappings", "apigateway", regional=True,
    plan=lambda cfg: [Planned("03", region, "API Gateway custom domain name", cfg.domain_name) for region in cfg.regions],
    inventory=_custom_domain_inventory,
    delete=delete_custom_domains,
    iam_statements=_custom_domain_statements,
)
