"""Route 53 routing between the regions (step 5): routing records or a traffic policy, and DNS checks.

The API's custom domain name (``cfg.domain_name``) gets one record per region
in the hosted zone (``cfg.hosted_zone``), all with the same name and type and a
routing policy (``cfg.routing_policy``):

* ``weighted`` (the default, as the blog's policy): equal weights, so answers
  spread evenly over the healthy regions;
* ``latency``: each record carries its ``Region``; a client gets the region
  with the lowest latency to it;
* ``failover``: the first region is PRIMARY, the second SECONDARY (Route 53
  failover has exactly two records, so a third region is left out).

Each record carries its region's health check (``HealthCheckId``): Route 53
leaves an unhealthy region out of its answers, and answers with every region
when all are unhealthy.

**Record type.** The records are CNAMEs to each region's ``regionalDomainName``
(``d-….execute-api.{region}.amazonaws.com``) with TTL ``cfg.record_ttl``,
like the blog's traffic policy. An alias A record (``record_type="A"``) would
be free of query charges but has no TTL of its own: resolvers cache it for the
target's TTL (60 s for API Gateway), so a client would keep a failed region up
to a minute longer. Failover time is about failure threshold × interval plus
the TTL, so we keep the TTL in our hands. Alias records get
``EvaluateTargetHealth``.

**SetIdentifier** is ``{stack}-{region}``: unique in the zone, so two stacks
sharing a zone never touch each other's records (and moto, which deletes every
record with a SetIdentifier when one is deleted, stays correct).

**Traffic policy** (``cfg.use_traffic_policy``): the same routing written as a
policy document (format 2015-10-01) and applied to the name by a policy
instance, as the blog did. On AWS a policy record costs about $50 a month.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any, Mapping

import pandas as pd
from helpers.progress import tqdm

from helpers.clients import Clients, HttpClient, resolve, tolerating
from helpers.config import Config
from helpers.domains import find_hosted_zone, fqdn
from helpers.prices import PRICES
from helpers.resource_kind import GLOBAL, Found, IamScope, Planned, ResourceKind, unscoped
from helpers.waiting import wait_until

# {region: (regional_domain_name, regional_hosted_zone_id, health_check_id)}
Targets = Mapping[str, tuple[str, str, str | None]]

ROUTING_TYPES = ("A", "AAAA", "CNAME")
REGION_PATTERN = r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+"  # an AWS region name, as in eu-west-1 or us-gov-west-1
TRAFFIC_POLICY_COST_USD_MONTH = PRICES["traffic_policy_record_month"]
COST_WARNING = (
    "Cost warning: on AWS each traffic policy record costs about "
    f"${TRAFFIC_POLICY_COST_USD_MONTH:.0f} a month (prorated), on top of DNS queries; plain routing records "
    "cost nothing beyond queries. Delete the policy instance when you are done (08_teardown does)."
)
CHANGE_TIMEOUT_S = 300.0  # AWS seconds: Route 53 changes are usually INSYNC within 60 s
_REGION_IN_NAME = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com\.?$")


# ------------------------------------------------------------------- inputs
def routing_targets(domain_targets: Mapping[str, tuple[str, str]], health_check_ids: Mapping[str, str]) -> dict[str, tuple[str, str, str | None]]:
    """Join the custom domains (step 3) and health checks (step 4) per region into routing targets."""
    missing = sorted(set(domain_targets) - set(health_check_ids))
    if missing:
        raise LookupError(f"no health check for {', '.join(missing)}: run 04_health_checks first")
    return {region: (name, zone_id, health_check_ids[region]) for region, (name, zone_id) in domain_targets.items()}


def hosted_zone_id(cfg: Config, clients: Clients) -> str:
    """The ID of the public hosted zone named ``cfg.hosted_zone`` (step 3 creates or finds it)."""
    zone = find_hosted_zone(cfg, clients)
    if zone is None:
        raise LookupError(f"no public hosted zone named {cfg.hosted_zone!r} (parameter 'hosted_zone'): "
                          "run 03_custom_domains first, or on AWS create the zone and delegate the domain to it")
    return zone.id


def set_identifier(cfg: Config, region: str) -> str:
    """The SetIdentifier of the stack's record for ``region`` (unique in the zone)."""
    return f"{cfg.stack_name}-{region}"


# ---------------------------------------------------------- routing records
def routing_record_sets(cfg: Config, targets: Targets, record_type: str = "CNAME") -> list[dict[str, Any]]:
    """The ResourceRecordSets of ``cfg.routing_policy`` for ``targets`` (``record_type`` CNAME, or A for alias records)."""
    if record_type not in ("CNAME", "A"):
        raise ValueError(f"record_type {record_type!r}: use 'CNAME' (TTL cfg.record_ttl) or 'A' (alias records)")
    regions = [r for r in cfg.regions if r in targets]
    missing = sorted(set(cfg.regions) - set(targets))
    if missing:
        raise LookupError(f"no routing target for {', '.join(missing)}: run 03_custom_domains and 04_health_checks first")
    if cfg.routing_policy == "failover":
        regions = regions[:2]
    records = []
    for index, region in enumerate(regions):
        domain, zone_id, health_check_id = targets[region]
        record: dict[str, Any] = {"Name": fqdn(cfg.domain_name), "Type": record_type, "SetIdentifier": set_identifier(cfg, region)}
        if cfg.routing_policy == "weighted":
            record["Weight"] = 1
        elif cfg.routing_policy == "latency":
            record["Region"] = region
        elif cfg.routing_policy == "failover":
            record["Failover"] = "PRIMARY" if index == 0 else "SECONDARY"
        else:
            raise ValueError(f"parameter 'routing_policy' has value {cfg.routing_policy!r}: use weighted, latency or failover")
        if record_type == "CNAME":
            record["TTL"] = cfg.record_ttl
            record["ResourceRecords"] = [{"Value": domain}]
        else:
            record["AliasTarget"] = {"HostedZoneId": zone_id, "DNSName": domain, "EvaluateTargetHealth": True}
        if health_check_id:
            record["HealthCheckId"] = health_check_id
        records.append(record)
    return records


def _records_at(clients: Clients, zone_id: str, name: str) -> list[dict[str, Any]]:
    """Every record set named ``name`` in the zone (pages through the listing)."""
    route53 = clients.client("route53")
    wanted, out, kwargs = fqdn(name), [], {"HostedZoneId": zone_id, "StartRecordName": fqdn(name)}
    while True:
        page = route53.list_resource_record_sets(**kwargs)
        for record in page["ResourceRecordSets"]:
            if fqdn(record["Name"]) == wanted:
                out.append(record)
        if not page.get("IsTruncated") or (page.get("NextRecordName") and fqdn(page["NextRecordName"]) != wanted):
            return out
        kwargs.update(StartRecordName=page["NextRecordName"], StartRecordType=page["NextRecordType"])


def _ours(cfg: Config, record: Mapping[str, Any]) -> bool:
    """A record of this stack: SetIdentifier ``{stack}-{region}`` exactly (``mraa`` never claims ``mraa-b``'s)."""
    return re.fullmatch(rf"{re.escape(cfg.stack_name)}-{REGION_PATTERN}", str(record.get("SetIdentifier", ""))) is not None


def _change(cfg: Config, clients: Clients, zone_id: str, changes: list[dict[str, Any]], comment: str) -> str:
    """Apply a change batch and wait until Route 53 reports it INSYNC (on every name server)."""
    if not changes:
        return "INSYNC"
    route53 = clients.client("route53")
    info = route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Comment": comment, "Changes": changes})["ChangeInfo"]
    return wait_for_change(cfg, clients, info["Id"], info["Status"])


def wait_for_change(cfg: Config, clients: Clients, change_id: str, status: str = "PENDING", timeout: float | None = None) -> str:
    """Wait until a Route 53 change is INSYNC (usually within 60 s on AWS)."""
    if status == "INSYNC":
        return status
    timeout = timeout if timeout is not None else max(10.0, cfg.scaled(CHANGE_TIMEOUT_S))

    def check() -> tuple[bool, str]:
        current = clients.client("route53").get_change(Id=change_id)["ChangeInfo"]["Status"]
        return current == "INSYNC", current

    return wait_until(f"Route 53 change {change_id} to be INSYNC", check, timeout, total=1,
                      progress=lambda seen: int(seen == "INSYNC"))


def create_routing_records(cfg: Config, clients: Clients, targets: Targets, record_type: str = "CNAME") -> pd.DataFrame:
    """Get-or-create the routing records on ``cfg.domain_name`` (UPSERT), replacing other records of the stack there.

    Records of the stack at the name that do not belong to the current policy
    (another routing policy, record type or region set) are deleted in the
    same change batch, so the switch is atomic; a traffic policy instance of
    the stack on the name is deleted first (a name has either, not both).
    """
    zone_id = hosted_zone_id(cfg, clients)
    _delete_policy_instances(cfg, clients, zone_id)
    desired = routing_record_sets(cfg, targets, record_type)
    existing = [r for r in _records_at(clients, zone_id, cfg.domain_name) if r["Type"] in ROUTING_TYPES]
    foreign = [r for r in existing if not _ours(cfg, r)]
    if foreign:
        raise RuntimeError(
            f"{cfg.domain_name} already has records this stack did not create "
            f"({', '.join(sorted({r['Type'] + ' ' + str(r.get('SetIdentifier', '')) for r in foreign}))}): "
            "delete them, or choose another 'domain_name'")
    wanted = {(r["Type"], r["SetIdentifier"]): r for r in desired}
    stale = [r for r in existing if wanted.get((r["Type"], r["SetIdentifier"])) is None or _policy_of(r) != _policy_of(wanted[(r["Type"], r["SetIdentifier"])])]
    changes = [{"Action": "DELETE", "ResourceRecordSet": r} for r in stale]
    changes += [{"Action": "UPSERT", "ResourceRecordSet": r} for r in desired]
    _change(cfg, clients, zone_id, changes, f"{cfg.stack_name}: {cfg.routing_policy} routing for {cfg.domain_name}")
    return routing_records(cfg, clients)


def _policy_of(record: Mapping[str, Any]) -> str:
    for key, policy in (("Weight", "weighted"), ("Region", "latency"), ("Failover", "failover")):
        if record.get(key) is not None:
            return policy
    return "simple"


def routing_records(cfg: Config, clients: Clients) -> pd.DataFrame:
    """The records on ``cfg.domain_name``: type, set identifier, policy, target, health check, TTL."""
    columns = ["name", "type", "set_identifier", "policy", "weight", "region", "failover", "target",
               "health_check_id", "ttl", "traffic_policy_instance_id"]
    try:
        zone_id = hosted_zone_id(cfg, clients)
    except LookupError:
        return pd.DataFrame(columns=columns)
    rows = []
    for r in _records_at(clients, zone_id, cfg.domain_name):
        if r["Type"] not in ROUTING_TYPES:
            continue
        alias = r.get("AliasTarget") or {}
        target = alias.get("DNSName") or ", ".join(v["Value"] for v in r.get("ResourceRecords", []))
        rows.append({"name": r["Name"], "type": r["Type"], "set_identifier": r.get("SetIdentifier"),
                     "policy": "traffic policy" if r.get("TrafficPolicyInstanceId") else _policy_of(r),
                     "weight": r.get("Weight"), "region": r.get("Region"), "failover": r.get("Failover"),
                     "target": target, "health_check_id": r.get("HealthCheckId"),
                     "ttl": r.get("TTL", "alias: target's TTL" if alias else None),
                     "traffic_policy_instance_id": r.get("TrafficPolicyInstanceId")})
    return pd.DataFrame(rows, columns=columns)


def _delete_records(cfg: Config, clients: Clients) -> list[str]:
    """Delete the stack's plain routing records on ``cfg.domain_name``; returns what they were."""
    try:
        zone_id = hosted_zone_id(cfg, clients)
    except LookupError:
        return []
    mine = [r for r in _records_at(clients, zone_id, cfg.domain_name) if r["Type"] in ROUTING_TYPES and _ours(cfg, r)]
    _change(cfg, clients, zone_id, [{"Action": "DELETE", "ResourceRecordSet": r} for r in mine],
            f"{cfg.stack_name}: teardown of routing for {cfg.domain_name}")
    return [_describe_record(r) for r in mine]


def _describe_record(record: Mapping[str, Any]) -> str:
    return f"{record['Name']} {record['Type']} {record.get('SetIdentifier', '')}".strip()


def delete_routing_records(cfg: Config, clients: Clients) -> pd.DataFrame:
    """Delete the stack's routing on ``cfg.domain_name``: its records, policy instance and traffic policy.

    Missing pieces are fine (a half-built or already deleted stack). Returns one row per deleted resource.
    """
    records = pd.DataFrame([{"resource": "record", "id": r} for r in _delete_records(cfg, clients)], columns=["resource", "id"])
    policies = delete_traffic_policy(cfg, clients)
    return pd.concat([records, policies], ignore_index=True) if len(records) else policies


def stack_records(cfg: Config, clients: Clients) -> list[str]:
    """The stack's routing records and policy records that still exist on ``cfg.domain_name``."""
    try:
        zone_id = hosted_zone_id(cfg, clients)
    except LookupError:
        return []
    policy = _find_policy(clients, traffic_policy_name(cfg))
    instances = {i["Id"] for i in _instances_in_zone(clients, zone_id) if policy and i["TrafficPolicyId"] == policy["Id"]}
    return [_describe_record(r) for r in _records_at(clients, zone_id, cfg.domain_name)
            if r["Type"] in ROUTING_TYPES and (_ours(cfg, r) or r.get("TrafficPolicyInstanceId") in instances)]


def stack_traffic_policies(cfg: Config, clients: Clients) -> list[str]:
    """The stack's traffic policy versions that still exist, as ``name id vN``."""
    summary = _find_policy(clients, traffic_policy_name(cfg))
    if summary is None:
        return []
    versions = clients.client("route53").list_traffic_policy_versions(Id=summary["Id"])["TrafficPolicies"]
    return [f"{summary['Name']} {summary['Id']} v{v['Version']}" for v in versions]


# ---------------------------------------------------------- traffic policy
def traffic_policy_name(cfg: Config) -> str:
    return cfg.resource_name("routing")


def traffic_policy_document(cfg: Config, targets: Targets) -> dict[str, Any]:
    """A traffic policy document (format 2015-10-01) equivalent to the routing records: CNAMEs with health checks."""
    regions = [r for r in cfg.regions if r in targets]
    if cfg.routing_policy == "failover":
        regions = regions[:2]
    endpoints = {region: {"Type": "value", "Value": targets[region][0]} for region in regions}

    def item(region: str, **extra: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {"EndpointReference": region, **extra}
        if targets[region][2]:
            entry["HealthCheck"] = targets[region][2]
        return entry

    if cfg.routing_policy == "weighted":
        rule = {"RuleType": "weighted", "Items": [item(r, Weight="1") for r in regions]}
    elif cfg.routing_policy == "latency":
        rule = {"RuleType": "latency", "Regions": [item(r, Region=r) for r in regions]}
    else:
        rule = {"RuleType": "failover", "Primary": item(regions[0]), "Secondary": item(regions[1])}
    return {"AWSPolicyFormatVersion": "2015-10-01", "RecordType": "CNAME", "StartRule": "regions",
            "Endpoints": endpoints, "Rules": {"regions": rule}}


def _find_policy(clients: Clients, name: str) -> dict[str, Any] | None:
    route53 = clients.client("route53")
    kwargs: dict[str, Any] = {}
    while True:
        page = route53.list_traffic_policies(**kwargs)
        for summary in page["TrafficPolicySummaries"]:
            if summary["Name"] == name:
                return summary
        if not page.get("IsTruncated"):
            return None
        kwargs["TrafficPolicyIdMarker"] = page["TrafficPolicyIdMarker"]


def _instances_in_zone(clients: Clients, zone_id: str) -> list[dict[str, Any]]:
    with tolerating("NoSuchTrafficPolicyInstance", "NoSuchHostedZone"):
        return clients.client("route53").list_traffic_policy_instances_by_hosted_zone(HostedZoneId=zone_id)["TrafficPolicyInstances"]
    return []


def create_traffic_policy(cfg: Config, clients: Clients, targets: Targets) -> pd.DataFrame:
    """Get-or-create the traffic policy (a new version when the document changed) and its instance on ``cfg.domain_name``.

    Prints a cost warning: on AWS a policy record costs about $50 a month.
    The stack's plain routing records on the name are deleted first.
    """
    print(COST_WARNING)
    route53 = clients.client("route53")
    zone_id = hosted_zone_id(cfg, clients)
    document = traffic_policy_document(cfg, targets)
    name = traffic_policy_name(cfg)
    summary = _find_policy(clients, name)
    if summary is None:
        policy = route53.create_traffic_policy(Name=name, Document=json.dumps(document),
                                               Comment=f"{cfg.routing_policy} routing for {cfg.domain_name}")["TrafficPolicy"]
    else:
        policy = route53.get_traffic_policy(Id=summary["Id"], Version=summary["LatestVersion"])["TrafficPolicy"]
        if json.loads(policy["Document"]) != document:
            policy = route53.create_traffic_policy_version(Id=policy["Id"], Document=json.dumps(document))["TrafficPolicy"]
    _delete_records(cfg, clients)
    existing = [i for i in _instances_in_zone(clients, zone_id) if fqdn(i["Name"]) == fqdn(cfg.domain_name)]
    if existing:
        instance = existing[0]
        if (instance["TrafficPolicyId"], instance["TrafficPolicyVersion"], instance["TTL"]) != (policy["Id"], policy["Version"], cfg.record_ttl):
            instance = route53.update_traffic_policy_instance(Id=instance["Id"], TTL=cfg.record_ttl, TrafficPolicyId=policy["Id"],
                                                              TrafficPolicyVersion=policy["Version"])["TrafficPolicyInstance"]
    else:
        instance = route53.create_traffic_policy_instance(HostedZoneId=zone_id, Name=cfg.domain_name, TTL=cfg.record_ttl,
                                                          TrafficPolicyId=policy["Id"],
                                                          TrafficPolicyVersion=policy["Version"])["TrafficPolicyInstance"]
    return pd.DataFrame([{"policy": name, "policy_id": policy["Id"], "version": policy["Version"],
                          "rule": cfg.routing_policy, "instance_id": instance["Id"], "name": instance["Name"],
                          "ttl": instance["TTL"], "state": instance.get("State"),
                          "monthly_cost_on_aws_usd": TRAFFIC_POLICY_COST_USD_MONTH}])


def _delete_policy_instances(cfg: Config, clients: Clients, zone_id: str) -> list[str]:
    """Delete the instances of the stack's policy on ``cfg.domain_name``; returns their IDs."""
    summary = _find_policy(clients, traffic_policy_name(cfg))
    if summary is None:
        return []
    deleted = []
    for instance in _instances_in_zone(clients, zone_id):
        if instance["TrafficPolicyId"] == summary["Id"] and fqdn(instance["Name"]) == fqdn(cfg.domain_name):
            with tolerating("NoSuchTrafficPolicyInstance"):
                clients.client("route53").delete_traffic_policy_instance(Id=instance["Id"])
            deleted.append(instance["Id"])
    return deleted


def delete_traffic_policy(cfg: Config, clients: Clients) -> pd.DataFrame:
    """Delete the stack's policy instance and every version of its traffic policy; missing pieces are fine."""
    rows = []
    try:
        zone_id = hosted_zone_id(cfg, clients)
    except LookupError:
        zone_id = None
    if zone_id is not None:
        rows += [{"resource": "traffic policy instance", "id": i} for i in _delete_policy_instances(cfg, clients, zone_id)]
    summary = _find_policy(clients, traffic_policy_name(cfg))
    if summary is not None:
        route53 = clients.client("route53")
        for version in route53.list_traffic_policy_versions(Id=summary["Id"])["TrafficPolicies"]:
            with tolerating("NoSuchTrafficPolicy"):
                route53.delete_traffic_policy(Id=summary["Id"], Version=version["Version"])
            rows.append({"resource": "traffic policy", "id": f"{summary['Id']} v{version['Version']}"})
    return pd.DataFrame(rows, columns=["resource", "id"])


def apply_routing(cfg: Config, clients: Clients, targets: Targets) -> pd.DataFrame:
    """The routing of ``cfg.domain_name``: routing records, or the traffic policy when ``cfg.use_traffic_policy``.

    Returns the records on the name afterwards (``routing_records``).
    """
    if cfg.use_traffic_policy:
        create_traffic_policy(cfg, clients, targets)
        return routing_records(cfg, clients)
    return create_routing_records(cfg, clients, targets)  # it answers with routing_records already


# ------------------------------------------------------------- DNS checks
def region_of_name(name: str) -> str | None:
    """The region in an API Gateway name (``d-….execute-api.eu-west-1.amazonaws.com`` -> ``eu-west-1``)."""
    match = _REGION_IN_NAME.search(name.lower())
    return match.group(1) if match else None


def resolve_many(cfg: Config, name: str | None = None, n: int = 100, targets: Targets | None = None,
                 client_subnet: str | None = None) -> pd.DataFrame:
    """Resolve ``name`` (default ``cfg.domain_name``) ``n`` times: how often each answer came, and which region it is.

    The region comes from the CNAME target's name, or else (alias records)
    from the addresses of the ``targets``' regional domain names.
    ``client_subnet`` sends an EDNS Client Subnet (e.g. a region's address /32
    for latency routing in the local cloud).
    """
    name = name or cfg.domain_name
    by_address: dict[str, str] = {}
    for region, (domain, _zone, _check) in (targets or {}).items():
        for address in resolve(cfg, domain).addresses:
            by_address[address] = region
    counts: Counter[tuple[str, str, str]] = Counter()
    ttls: dict[tuple[str, str, str], int] = {}
    for _ in tqdm(range(n), desc=f"resolving {name}", leave=False):
        answer = resolve(cfg, name, client_subnet=client_subnet)
        target = answer.cnames[-1] if answer.cnames else ""
        address = answer.addresses[0]
        region = (region_of_name(target) if target else None) or by_address.get(address, "?")
        key = (region, target, address)
        counts[key] += 1
        ttls[key] = answer.ttl
    rows = [{"region": r, "cname": t, "address": a, "answers": c, "share": c / n, "ttl_s": ttls[(r, t, a)]}
            for (r, t, a), c in sorted(counts.items())]
    return pd.DataFrame(rows, columns=["region", "cname", "address", "answers", "share", "ttl_s"])


def test_dns_answer(cfg: Config, clients: Clients, name: str | None = None, record_type: str = "A",
                    client_subnet_ip: str | None = None) -> pd.DataFrame:
    """Route 53's TestDNSAnswer for ``name``: what its name servers answer now (one row)."""
    kwargs: dict[str, Any] = {"HostedZoneId": hosted_zone_id(cfg, clients), "RecordName": name or cfg.domain_name,
                              "RecordType": record_type}
    if client_subnet_ip:
        kwargs.update(EDNS0ClientSubnetIP=client_subnet_ip, EDNS0ClientSubnetMask="32")
    answer = clients.client("route53").test_dns_answer(**kwargs)
    return pd.DataFrame([{"name": answer["RecordName"], "type": answer["RecordType"], "response_code": answer["ResponseCode"],
                          "record_data": ", ".join(answer["RecordData"]), "nameserver": answer["Nameserver"],
                          "protocol": answer["Protocol"]}])


test_dns_answer.__test__ = False  # not a pytest test, despite the name


def custom_domain_url(cfg: Config) -> str:
    """``https://{domain_name}`` (with the API port when it is not 443, as in the local cloud)."""
    return f"https://{cfg.domain_name}{cfg.port_suffix}"


def call_through_domain(cfg: Config, n: int = 10, path: str = "/health", http: HttpClient | None = None) -> pd.DataFrame:
    """``GET {path}`` ``n`` times through the custom domain over HTTPS (verified TLS): status, address, serving region."""
    from helpers.apigateway import served_by

    http = http or HttpClient(cfg)
    rows = []
    for _ in range(n):
        response = http.request("GET", custom_domain_url(cfg) + path)
        rows.append({"status": response.status, "address": response.address, "served_by": served_by(response),
                     "elapsed_ms": round(response.elapsed_s * 1000, 1)})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ the unit
def _plan(cfg: Config) -> list[Planned]:
    rows = [Planned("05", region, f"Route 53 {cfg.routing_policy} record", cfg.domain_name) for region in cfg.regions]
    if cfg.use_traffic_policy:
        rows.append(Planned("05", GLOBAL, "Route 53 traffic policy record", cfg.domain_name, TRAFFIC_POLICY_COST_USD_MONTH))
    return rows


def _inventory(cfg: Config, clients: Clients, _region: str) -> list[Found]:
    return ([Found("route53", GLOBAL, f"record {record}") for record in stack_records(cfg, clients)]
            + [Found("route53", GLOBAL, f"traffic policy {policy}") for policy in stack_traffic_policies(cfg, clients)])


def _iam_statements(cfg: Config, scope: IamScope) -> list[dict[str, Any]]:
    """Route 53 routing: record changes are allowed by the hosted zone's unit (on the API's name only). Traffic
    policies by id (Route 53 has no tag condition keys): created and changed only with ``use_traffic_policy``,
    found and deleted always, so a teardown removes one an earlier run created."""
    route53 = f"arn:{scope.partition}:route53:::"
    create = ["route53:CreateTrafficPolicy"] if cfg.use_traffic_policy else []
    change = ["route53:GetTrafficPolicy", "route53:CreateTrafficPolicyVersion", "route53:CreateTrafficPolicyInstance",
              "route53:UpdateTrafficPolicyInstance"] if cfg.use_traffic_policy else []
    return [
        unscoped("route53:ListTrafficPolicies", "route53:TestDNSAnswer", "route53:GetChange", *create),
        {"Sid": "TrafficPolicies", "Effect": "Allow", "Action": [
            *change, "route53:ListTrafficPolicyVersions", "route53:DeleteTrafficPolicy",
            "route53:DeleteTrafficPolicyInstance", "route53:ListTrafficPolicyInstancesByHostedZone"],
         "Resource": [f"{route53}hostedzone/{scope.hosted_zone_id}", f"{route53}trafficpolicy/*",
                      f"{route53}trafficpolicyinstance/*"]},
    ]


ROUTING = ResourceKind(
    "routing records and traffic policies", "route53", regional=False, plan=_plan, inventory=_inventory,
    delete=lambda cfg, clients, _: delete_routing_records(cfg, clients), iam_statements=_iam_statements,
)
