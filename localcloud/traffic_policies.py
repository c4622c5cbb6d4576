"""Route 53 traffic policies and policy instances (moto has none), answered by the local cloud's DNS.

Overridden operations (moto 5.2 implements none of them):
CreateTrafficPolicy, GetTrafficPolicy, ListTrafficPolicies, DeleteTrafficPolicy,
UpdateTrafficPolicyComment, CreateTrafficPolicyVersion, ListTrafficPolicyVersions,
CreateTrafficPolicyInstance, GetTrafficPolicyInstance, UpdateTrafficPolicyInstance,
DeleteTrafficPolicyInstance, ListTrafficPolicyInstances,
ListTrafficPolicyInstancesByHostedZone, ListTrafficPolicyInstancesByPolicy,
GetTrafficPolicyInstanceCount.

A policy document (format 2015-10-01) is validated as Route 53 does and
compiled into ``localcloud.routing`` nodes: endpoints of type ``value`` become
plain records with the instance's TTL; the AWS-resource endpoint types
(``cloudfront``, ``elastic-load-balancer``, ``application-load-balancer``,
``network-load-balancer``, ``elastic-beanstalk``, ``s3-website``) become
CNAME-less aliases to their DNS name; rules (``failover``, ``latency``,
``weighted``, ``multivalue``, ``geo``, ``geoproximity``; geo answers with the
default location, the local cloud having no geography) become routing rules
whose items carry ``HealthCheck`` and ``EvaluateTargetHealth`` (default true).

A policy instance is "applied" at once: like on AWS it creates a policy record
in the hosted zone (listed by ListResourceRecordSets with its
``TrafficPolicyInstanceId``; the zone cannot be deleted while it exists), and
the DNS server answers the instance's name from the compiled policy through the
``dns`` component's record sources. On AWS each policy record costs about
$50 a month; here nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

from localcloud.component import Component
from localcloud.controlplane import AwsError, Call
from localcloud.dns import Dns
from localcloud.route53_changes import CHANGE_PROPAGATION_S
from localcloud.routing import Alias, Choice, Node, Rule, Values, hosted_zone_id, normalize, wire_value

log = logging.getLogger(__name__)

FORMAT_VERSION = "2015-10-01"
RECORD_TYPES = ("A", "AAAA", "CAA", "CNAME", "MX", "NAPTR", "PTR", "SPF", "SRV", "TXT")
ENDPOINT_TYPES = (
    "value", "cloudfront", "elastic-load-balancer", "application-load-balancer",
    "network-load-balancer", "elastic-beanstalk", "s3-website",
)
RULE_TYPES = ("failover", "latency", "weighted", "geo", "multivalue", "geoproximity")


class PolicyDocumentError(ValueError):
    """The document is not a valid traffic policy; the message says where and why."""


# ------------------------------------------------------------------ documents
def parse_document(text: str) -> dict[str, Any]:
    """Parse and validate a traffic policy document; raises ``PolicyDocumentError``."""
    try:
        doc = json.loads(text)
    except (TypeError, ValueError) as error:
        raise PolicyDocumentError(f"the document is not valid JSON: {error}") from None
    if not isinstance(doc, dict):
        raise PolicyDocumentError("the document must be a JSON object")
    if doc.get("AWSPolicyFormatVersion") != FORMAT_VERSION:
        raise PolicyDocumentError(f"AWSPolicyFormatVersion must be {FORMAT_VERSION!r}, got {doc.get('AWSPolicyFormatVersion')!r}")
    if doc.get("RecordType") not in RECORD_TYPES:
        raise PolicyDocumentError(f"RecordType must be one of {', '.join(RECORD_TYPES)}, got {doc.get('RecordType')!r}")
    endpoints = doc.get("Endpoints") or {}
    rules = doc.get("Rules") or {}
    if not isinstance(endpoints, dict) or not isinstance(rules, dict):
        raise PolicyDocumentError("Endpoints and Rules must be JSON objects keyed by name")
    if ("StartRule" in doc) == ("StartEndpoint" in doc):
        raise PolicyDocumentError("the document needs exactly one of StartRule and StartEndpoint")
    for name, endpoint in endpoints.items():
        if not isinstance(endpoint, dict) or endpoint.get("Type") not in ENDPOINT_TYPES:
            raise PolicyDocumentError(f"endpoint {name!r}: Type must be one of {', '.join(ENDPOINT_TYPES)}")
        if not isinstance(endpoint.get("Value"), str) or not endpoint["Value"]:
            raise PolicyDocumentError(f"endpoint {name!r} needs a Value")
        if endpoint["Type"] != "value" and doc["RecordType"] not in ("A", "AAAA"):
            raise PolicyDocumentError(f"endpoint {name!r}: type {endpoint['Type']} needs RecordType A or AAAA")
    for name, rule in rules.items():
        if not isinstance(rule, dict) or rule.get("RuleType") not in RULE_TYPES:
            raise PolicyDocumentError(f"rule {name!r}: RuleType must be one of {', '.join(RULE_TYPES)}")
        for item in _rule_items(name, rule):
            _check_item(name, item, endpoints, rules, rule["RuleType"])
    if "StartRule" in doc and doc["StartRule"] not in rules:
        raise PolicyDocumentError(f"StartRule {doc['StartRule']!r} is not a rule of the document")
    if "StartEndpoint" in doc and doc["StartEndpoint"] not in endpoints:
        raise PolicyDocumentError(f"StartEndpoint {doc['StartEndpoint']!r} is not an endpoint of the document")
    if "StartRule" in doc:
        _check_acyclic(doc["StartRule"], rules, ())
    return doc


def _rule_items(name: str, rule: Mapping[str, Any]) -> list[dict[str, Any]]:
    kind = rule["RuleType"]
    if kind == "failover":
        if not isinstance(rule.get("Primary"), dict) or not isinstance(rule.get("Secondary"), dict):
            raise PolicyDocumentError(f"failover rule {name!r} needs Primary and Secondary")
        return [rule["Primary"], rule["Secondary"]]
    key = {"latency": "Regions", "weighted": "Items", "multivalue": "Items", "geo": "Locations",
           "geoproximity": "GeoproximityLocations"}[kind]
    items = rule.get(key)
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise PolicyDocumentError(f"{kind} rule {name!r} needs a non-empty list {key}")
    if kind == "latency" and not all(isinstance(i.get("Region"), str) for i in items):
        raise PolicyDocumentError(f"latency rule {name!r}: every entry of Regions needs a Region")
    if kind == "weighted":
        for item in items:
            try:
                weight = int(item.get("Weight"))
            except (TypeError, ValueError):
                weight = -1
            if not 0 <= weight <= 255:
                raise PolicyDocumentError(f"weighted rule {name!r}: every item needs a Weight from 0 to 255")
    return items


def _check_item(rule_name: str, item: Mapping[str, Any], endpoints: Mapping[str, Any], rules: Mapping[str, Any],
                kind: str) -> None:
    has_endpoint, has_rule = "EndpointReference" in item, "RuleReference" in item
    if has_endpoint == has_rule:
        raise PolicyDocumentError(f"rule {rule_name!r}: each item needs exactly one of EndpointReference and RuleReference")
    if has_endpoint and item["EndpointReference"] not in endpoints:
        raise PolicyDocumentError(f"rule {rule_name!r} references unknown endpoint {item['EndpointReference']!r}")
    if has_rule and item["RuleReference"] not in rules:
        raise PolicyDocumentError(f"rule {rule_name!r} references unknown rule {item['RuleReference']!r}")
    if kind == "multivalue" and has_rule:
        raise PolicyDocumentError(f"multivalue rule {rule_name!r} can reference only endpoints")


def _check_acyclic(name: str, rules: Mapping[str, Any], path: tuple[str, ...]) -> None:
    if name in path:
        raise PolicyDocumentError(f"rule {name!r} references itself through {' -> '.join(path + (name,))}")
    for item in _rule_items(name, rules[name]):
        if "RuleReference" in item:
            _check_acyclic(item["RuleReference"], rules, path + (name,))


def compile_document(doc: Mapping[str, Any], ttl: int) -> Node:
    """The routing node a policy instance with ``ttl`` answers with (``doc`` validated by ``parse_document``)."""
    record_type = doc["RecordType"]
    endpoints, rules = doc.get("Endpoints") or {}, doc.get("Rules") or {}

    def endpoint(name: str) -> Node:
        spec = endpoints[name]
        if spec["Type"] == "value":
            return Values(record_type, (wire_value(record_type, spec["Value"]),), ttl)
        return Alias(normalize(spec["Value"]), evaluate_target_health=False)

    def rule(name: str) -> Node:
        spec = rules[name]
        kind = spec["RuleType"]
        choices = []
        for index, item in enumerate(_rule_items(name, spec)):
            node = endpoint(item["EndpointReference"]) if "EndpointReference" in item else rule(item["RuleReference"])
            failover = None
            if kind == "failover":
                failover = "PRIMARY" if index == 0 else "SECONDARY"
            choices.append(Choice(
                node=node,
                health_check_id=item.get("HealthCheck") or None,
                evaluate_target_health=bool(item.get("EvaluateTargetHealth", True)),
                set_identifier=f"{name}#{index}",
                weight=int(item["Weight"]) if kind == "weighted" else None,
                region=item.get("Region") if kind == "latency" else None,
                failover=failover,
                is_default_location=bool(item.get("IsDefault")),
            ))
        return Rule("geo" if kind == "geoproximity" else kind, tuple(choices))

    if "StartEndpoint" in doc:
        return Rule("simple", (Choice(endpoint(doc["StartEndpoint"])),))
    return rule(doc["StartRule"])


# ----------------------------------------------------------------------- state
@dataclass
class PolicyVersion:
    id: str
    version: int
    name: str
    document: str
    record_type: str
    comment: str = ""

    def api(self) -> dict[str, Any]:
        return {"Id": self.id, "Version": self.version, "Name": self.name, "Type": self.record_type,
                "Document": self.document, "Comment": self.comment}


@dataclass
class Instance:
    id: str
    hosted_zone_id: str
    name: str
    ttl: int
    policy_id: str
    policy_version: int
    record_type: str
    marker: Any = field(default=None, repr=False)  # the policy record in moto's zone
    applied_at: float = 0.0  # time.monotonic() from which the instance is Applied (Creating before)

    def api(self) -> dict[str, Any]:
        """As Route 53 describes it: State Creating until its records have propagated, then Applied."""
        state = "Creating" if time.monotonic() < self.applied_at else "Applied"
        return {"Id": self.id, "HostedZoneId": self.hosted_zone_id, "Name": self.name, "TTL": self.ttl,
                "State": state, "Message": "", "TrafficPolicyId": self.policy_id,
                "TrafficPolicyVersion": self.policy_version, "TrafficPolicyType": self.record_type}


class TrafficPolicies(Component):
    """Traffic policies and their instances; a record source of the ``dns`` component."""

    name = "traffic_policies"

    def __init__(self, cloud, *, dns: Dns):
        super().__init__(cloud)
        self._lock = threading.RLock()
        self._policies: dict[str, dict[int, PolicyVersion]] = {}
        self._instances: dict[str, Instance] = {}
        self._version = 0
        self._compiled: dict[tuple[str, int, int], Node] = {}
        register = cloud.controlplane.register
        for operation, handler in {
            "CreateTrafficPolicy": self._create_policy,
            "GetTrafficPolicy": self._get_policy,
            "ListTrafficPolicies": self._list_policies,
            "DeleteTrafficPolicy": self._delete_policy,
            "UpdateTrafficPolicyComment": self._update_comment,
            "CreateTrafficPolicyVersion": self._create_version,
            "ListTrafficPolicyVersions": self._list_versions,
            "CreateTrafficPolicyInstance": self._create_instance,
            "GetTrafficPolicyInstance": self._get_instance,
            "UpdateTrafficPolicyInstance": self._update_instance,
            "DeleteTrafficPolicyInstance": self._delete_instance,
            "ListTrafficPolicyInstances": self._list_instances,
            "ListTrafficPolicyInstancesByHostedZone": self._list_instances_by_zone,
            "ListTrafficPolicyInstancesByPolicy": self._list_instances_by_policy,
            "GetTrafficPolicyInstanceCount": self._instance_count,
        }.items():
            register("route53", operation, handler)
        dns.add_source(self)

    # ------------------------------------------------------ record source
    @property
    def version(self) -> int:
        return self._version

    def nodes(self) -> dict[str, dict[tuple[str, str], Node]]:
        """{hosted zone id: {(name, type): node}} of every policy instance."""
        out: dict[str, dict[tuple[str, str], Node]] = {}
        with self._lock:
            for instance in self._instances.values():
                key = (instance.policy_id, instance.policy_version, instance.ttl)
                if key not in self._compiled:
                    document = self._policies[instance.policy_id][instance.policy_version].document
                    self._compiled[key] = compile_document(parse_document(document), instance.ttl)
                out.setdefault(instance.hosted_zone_id, {})[(instance.name, instance.record_type)] = self._compiled[key]
        return out

    # ------------------------------------------------------------ policies
    def _policy(self, policy_id: str, version: int | None = None) -> PolicyVersion:
        versions = self._policies.get(policy_id)
        if not versions or (version is not None and int(version) not in versions):
            raise AwsError("NoSuchTrafficPolicy", f"No traffic policy found with ID {policy_id}" +
                           (f" and version {version}" if version is not None else ""))
        return versions[int(version) if version is not None else max(versions)]

    @staticmethod
    def _parse(text: str) -> dict[str, Any]:
        try:
            return parse_document(text)
        except PolicyDocumentError as error:
            raise AwsError("InvalidTrafficPolicyDocument", f"Invalid traffic policy document: {error}") from None

    def _create_policy(self, call: Call) -> dict[str, Any]:
        p = call.params
        doc = self._parse(p["Document"])
        with self._lock:
            if any(v[1].name == p["Name"] for v in self._policies.values()):
                raise AwsError("TrafficPolicyAlreadyExists", f"A traffic policy named {p['Name']} already exists")
            policy = PolicyVersion(str(uuid.uuid4()), 1, p["Name"], p["Document"], doc["RecordType"], p.get("Comment") or "")
            self._policies[policy.id] = {1: policy}
        return {"TrafficPolicy": policy.api(), "Location": f"https://route53.amazonaws.com/2013-04-01/trafficpolicy/{policy.id}/1"}

    def _get_policy(self, call: Call) -> dict[str, Any]:
        with self._lock:
            return {"TrafficPolicy": self._policy(call.params["Id"], call.params["Version"]).api()}

    def _list_policies(self, call: Call) -> dict[str, Any]:
        with self._lock:
            summaries = []
            for policy_id, versions in sorted(self._policies.items()):
                latest = versions[max(versions)]
                summaries.append({"Id": policy_id, "Name": latest.name, "Type": latest.record_type,
                                  "LatestVersion": latest.version, "TrafficPolicyCount": len(versions)})
        return {"TrafficPolicySummaries": summaries, "IsTruncated": False, "TrafficPolicyIdMarker": "",
                "MaxItems": call.params.get("MaxItems") or 100}

    def _delete_policy(self, call: Call) -> dict[str, Any]:
        policy_id, version = call.params["Id"], int(call.params["Version"])
        with self._lock:
            self._policy(policy_id, version)
            if any(i.policy_id == policy_id and i.policy_version == version for i in self._instances.values()):
                raise AwsError("TrafficPolicyInUse", f"Traffic policy {policy_id} version {version} is used by a "
                               "policy instance: delete the instance first")
            del self._policies[policy_id][version]
            if not self._policies[policy_id]:
                del self._policies[policy_id]
        return {}

    def _update_comment(self, call: Call) -> dict[str, Any]:
        with self._lock:
            policy = self._policy(call.params["Id"], call.params["Version"])
            policy.comment = call.params["Comment"]
            return {"TrafficPolicy": policy.api()}

    def _create_version(self, call: Call) -> dict[str, Any]:
        p = call.params
        doc = self._parse(p["Document"])
        with self._lock:
            latest = self._policy(p["Id"])
            if doc["RecordType"] != latest.record_type:
                raise AwsError("InvalidTrafficPolicyDocument", f"Invalid traffic policy document: a new version must keep "
                               f"RecordType {latest.record_type} (got {doc['RecordType']})")
            policy = PolicyVersion(latest.id, latest.version + 1, latest.name, p["Document"], doc["RecordType"], p.get("Comment") or "")
            self._policies[policy.id][policy.version] = policy
        return {"TrafficPolicy": policy.api(),
                "Location": f"https://route53.amazonaws.com/2013-04-01/trafficpolicy/{policy.id}/{policy.version}"}

    def _list_versions(self, call: Call) -> dict[str, Any]:
        with self._lock:
            self._policy(call.params["Id"])
            versions = [v.api() for _, v in sorted(self._policies[call.params["Id"]].items())]
        return {"TrafficPolicies": versions, "IsTruncated": False, "TrafficPolicyVersionMarker": "",
                "MaxItems": call.params.get("MaxItems") or 100}

    # ----------------------------------------------------------- instances
    def _zone(self, zone_id: str) -> Any:
        zone = self.cloud.route53().zones.get(hosted_zone_id(zone_id))
        if zone is None:
            raise AwsError("NoSuchHostedZone", f"No hosted zone found with ID: {zone_id}")
        return zone

    def _instance(self, instance_id: str) -> Instance:
        instance = self._instances.get(instance_id)
        if instance is None:
            raise AwsError("NoSuchTrafficPolicyInstance", f"No traffic policy instance found with ID {instance_id}")
        return instance

    def _create_instance(self, call: Call) -> dict[str, Any]:
        p = call.params
        zone_id = hosted_zone_id(p["HostedZoneId"])
        name = normalize(p["Name"])
        with self._lock:
            zone = self._zone(zone_id)
            zone_name = normalize(zone.name)
            if name != zone_name and not name.endswith("." + zone_name):
                raise AwsError("InvalidInput", f"{p['Name']} is not in the hosted zone {zone.name}")
            policy = self._policy(p["TrafficPolicyId"], p["TrafficPolicyVersion"])
            for existing in self._instances.values():
                if (existing.hosted_zone_id, existing.name, existing.record_type) == (zone_id, name, policy.record_type):
                    raise AwsError("TrafficPolicyInstanceAlreadyExists",
                                   f"Traffic policy instance {existing.id} already creates {name} {policy.record_type}")
            for rrset in zone.rrsets:
                if normalize(rrset.name) == name and (rrset.type == policy.record_type or "CNAME" in (rrset.type, policy.record_type)):
                    raise AwsError("InvalidInput", f"Tried to create resource record set {name} type {policy.record_type} "
                                   f"but a {rrset.type} record set with that name already exists: delete it first")
            instance = Instance(str(uuid.uuid4()), zone_id, name, int(p["TTL"]), policy.id, policy.version,
                                policy.record_type, applied_at=time.monotonic() + self.cloud.scaled(CHANGE_PROPAGATION_S))
            instance.marker = self._add_marker(zone, instance)
            self._instances[instance.id] = instance
            self._version += 1
        return {"TrafficPolicyInstance": instance.api(),
                "Location": f"https://route53.amazonaws.com/2013-04-01/trafficpolicyinstance/{instance.id}"}

    @staticmethod
    def _add_marker(zone: Any, instance: Instance) -> Any:
        """The policy record Route 53 lists in the zone for an instance (name, type, TrafficPolicyInstanceId)."""
        marker = zone.add_rrset({"Name": instance.name, "Type": instance.record_type})
        marker.traffic_policy_instance_id = instance.id
        return marker

    def _get_instance(self, call: Call) -> dict[str, Any]:
        with self._lock:
            return {"TrafficPolicyInstance": self._instance(call.params["Id"]).api()}

    def _update_instance(self, call: Call) -> dict[str, Any]:
        p = call.params
        with self._lock:
            instance = self._instance(p["Id"])
            policy = self._policy(p["TrafficPolicyId"], p["TrafficPolicyVersion"])
            if policy.record_type != instance.record_type:
                raise AwsError("ConflictingTypes", f"The instance answers {instance.record_type}; "
                               f"policy {policy.id} version {policy.version} is for {policy.record_type}")
            instance.ttl, instance.policy_id, instance.policy_version = int(p["TTL"]), policy.id, policy.version
            self._version += 1
            return {"TrafficPolicyInstance": instance.api()}

    def _delete_instance(self, call: Call) -> dict[str, Any]:
        with self._lock:
            instance = self._instance(call.params["Id"])
            try:
                zone = self._zone(instance.hosted_zone_id)
                zone.rrsets = [r for r in zone.rrsets if r is not instance.marker]
            except AwsError:
                pass  # the zone is gone already
            del self._instances[instance.id]
            self._version += 1
        return {}

    def _listing(self, call: Call, instances: list[Instance]) -> dict[str, Any]:
        return {"TrafficPolicyInstances": [i.api() for i in sorted(instances, key=lambda i: (i.hosted_zone_id, i.name))],
                "IsTruncated": False, "MaxItems": call.params.get("MaxItems") or 100}

    def _list_instances(self, call: Call) -> dict[str, Any]:
        with self._lock:
            return self._listing(call, list(self._instances.values()))

    def _list_instances_by_zone(self, call: Call) -> dict[str, Any]:
        zone_id = hosted_zone_id(call.params["HostedZoneId"])
        with self._lock:
            self._zone(zone_id)
            return self._listing(call, [i for i in self._instances.values() if i.hosted_zone_id == zone_id])

    def _list_instances_by_policy(self, call: Call) -> dict[str, Any]:
        p = call.params
        with self._lock:
            self._policy(p["TrafficPolicyId"], p["TrafficPolicyVersion"])
            return self._listing(call, [i for i in self._instances.values()
                                        if i.policy_id == p["TrafficPolicyId"] and i.policy_version == int(p["TrafficPolicyVersion"])])

    def _instance_count(self, call: Call) -> dict[str, Any]:
        with self._lock:
            return {"TrafficPolicyInstanceCount": len(self._instances)}
