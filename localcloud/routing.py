"""Route 53 routing, evaluated: which records a DNS query gets. Pure: no sockets, no moto.

The DNS server (``localcloud.dns``), ``TestDNSAnswer`` and traffic policy
instances (``localcloud.traffic_policies``) all answer through this module, so
the three can never disagree.

Model
-----
Every (name, type) of a hosted zone is one **node**:

* ``Values``: plain resource records (a simple record, or one member of a group);
* ``Alias``: an alias record's target (answered CNAME-less: the target's records
  under the queried name, with the target's TTL);
* ``Rule``: a routing decision among ``Choice``\\ s (simple, weighted, latency,
  failover, multivalue, geo), each with an optional health check. A group of
  Route 53 record sets with the same name and type is one ``Rule``; a traffic
  policy document is a tree of them.

Route 53's rules, as documented in "How Amazon Route 53 chooses records when
health checking is configured" and "Choosing a routing policy":

* a record without a health check is healthy;
* an alias record with ``EvaluateTargetHealth`` is healthy only while its
  target is (a target group is healthy while at least one member is);
* when every record of a group is unhealthy, Route 53 treats all as healthy;
* weighted: a record is picked with probability weight / sum of the healthy
  records' weights; weight-0 records are answered only when every non-zero
  record is unhealthy; when all weights are 0 the records are equally likely;
* latency: the healthy record whose region has the lowest latency to the client;
* failover: the primary when healthy, else the secondary when healthy, else
  the primary;
* multivalue: up to eight healthy records, in random order (all records,
  again up to eight, when none is healthy);
* geo: answered with the default location (``*``) here (the local cloud has no
  geography), else the first record.

TTLs are AWS seconds here; the DNS server scales them (``scale_ttl``).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence, Union

MAX_ALIAS_DEPTH = 8
MULTIVALUE_MAX = 8
# Where a client is when nothing tells us (no EDNS client subnet, querier not on a region's address).
DEFAULT_CLIENT_REGION = "us-east-1"

# Approximate location (latitude, longitude) of each AWS region. Route 53's latency
# data is measured; the local cloud models latency as great-circle distance.
REGION_LOCATIONS: dict[str, tuple[float, float]] = {
    "us-east-1": (38.9, -77.4), "us-east-2": (40.0, -83.0), "us-west-1": (37.4, -121.9),
    "us-west-2": (45.8, -119.7), "ca-central-1": (45.5, -73.6), "ca-west-1": (51.0, -114.1),
    "mx-central-1": (20.6, -100.4), "sa-east-1": (-23.5, -46.6),
    "eu-west-1": (53.3, -6.3), "eu-west-2": (51.5, -0.1), "eu-west-3": (48.9, 2.4),
    "eu-central-1": (50.1, 8.7), "eu-central-2": (47.4, 8.5), "eu-north-1": (59.3, 18.1),
    "eu-south-1": (45.5, 9.2), "eu-south-2": (41.6, -0.9),
    "me-south-1": (26.1, 50.6), "me-central-1": (25.2, 55.3), "il-central-1": (32.1, 34.8),
    "af-south-1": (-33.9, 18.4),
    "ap-east-1": (22.3, 114.2), "ap-south-1": (19.1, 72.9), "ap-south-2": (17.4, 78.5),
    "ap-northeast-1": (35.7, 139.7), "ap-northeast-2": (37.6, 127.0), "ap-northeast-3": (34.7, 135.5),
    "ap-southeast-1": (1.35, 103.8), "ap-southeast-2": (-33.9, 151.2), "ap-southeast-3": (-6.2, 106.8),
    "ap-southeast-4": (-37.8, 145.0), "ap-southeast-5": (3.1, 101.7), "ap-southeast-7": (13.8, 100.5),
    "cn-north-1": (39.9, 116.4), "cn-northwest-1": (38.5, 106.3),
    "us-gov-west-1": (45.5, -122.7), "us-gov-east-1": (40.0, -83.0),
}

HealthFn = Callable[[str], bool]


# ------------------------------------------------------------------- answers
@dataclass(frozen=True)
class Record:
    """One resource record of an answer. ``ttl`` in AWS seconds (unscaled)."""

    name: str
    rdtype: str
    value: str
    ttl: int


@dataclass
class Answer:
    """The outcome of one query: a response code, answer records and, when negative, the zone's SOA."""

    rcode: str  # NOERROR, NXDOMAIN, REFUSED
    records: list[Record] = field(default_factory=list)
    soa: Record | None = None  # for NXDOMAIN / NODATA (the authority section)
    zone: str | None = None  # the zone that answered (None for REFUSED)
    authoritative: bool = True


# --------------------------------------------------------------------- nodes
@dataclass(frozen=True)
class Values:
    """Plain resource records of one type."""

    rdtype: str
    values: tuple[str, ...]
    ttl: int


@dataclass(frozen=True)
class Alias:
    """An alias to another name (in a hosted zone, or an AWS resource such as an API Gateway domain)."""

    target: str
    evaluate_target_health: bool = False


@dataclass(frozen=True)
class Choice:
    """One option of a ``Rule``: a node plus the routing attributes of its record set."""

    node: "Node"
    health_check_id: str | None = None
    # Traffic policy rule items say whether the referenced rule's health counts;
    # for record sets it is always True (``Values`` are healthy, ``Alias`` carries its own flag).
    evaluate_target_health: bool = True
    set_identifier: str | None = None
    weight: int | None = None
    region: str | None = None
    failover: str | None = None  # PRIMARY or SECONDARY
    is_default_location: bool = False


@dataclass(frozen=True)
class Rule:
    """A routing decision: ``kind`` is simple, weighted, latency, failover, multivalue or geo."""

    kind: str
    choices: tuple[Choice, ...]


Node = Union[Values, Alias, Rule]
RULE_KINDS = ("simple", "weighted", "latency", "failover", "multivalue", "geo")


def scale_ttl(ttl: int | float, time_scale: float) -> int:
    """The TTL a client sees: AWS seconds × time scale, rounded up, at least 1 s (0 would defeat caching)."""
    return max(1, math.ceil(float(ttl) * time_scale - 1e-9))


def normalize(name: str) -> str:
    """Lower-case, absolute form of a DNS name (``Api.Example.com`` -> ``api.example.com.``)."""
    name = name.strip().lower()
    # Route 53 stores '*' as the octal escape \052 in record names.
    name = name.replace("\\052", "*")
    return name if name.endswith(".") else name + "."


def latency(client_region: str, region: str | None) -> float:
    """Modelled latency (great-circle km) between a client in ``client_region`` and ``region``."""
    if region is None:
        return math.inf
    if region == client_region:
        return 0.0
    a = REGION_LOCATIONS.get(client_region) or REGION_LOCATIONS[DEFAULT_CLIENT_REGION]
    b = REGION_LOCATIONS.get(region)
    if b is None:
        return 1e6  # unknown region: after every known one
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


# ----------------------------------------------------------- record sets -> nodes
_NAME_VALUED = {"CNAME", "NS", "PTR"}


def hosted_zone_id(value: str) -> str:
    """The bare id in a ``HostedZoneId`` parameter, which may come as ``/hostedzone/Z1`` or ``Z1``."""
    return value.rsplit("/", 1)[-1]


def wire_value(rdtype: str, value: str) -> str:
    """Route 53 treats names in values as absolute; make them so for the wire."""
    value = value.strip()
    if rdtype in _NAME_VALUED:
        return normalize(value)
    if rdtype in ("MX", "SRV"):
        head, _, last = value.rpartition(" ")
        return f"{head} {normalize(last)}" if head else value
    return value


def _routing_kind(rrset: Mapping[str, Any]) -> str:
    if rrset.get("Weight") is not None:
        return "weighted"
    if rrset.get("Region"):
        return "latency"
    if rrset.get("Failover"):
        return "failover"
    if rrset.get("MultiValueAnswer"):
        return "multivalue"
    if rrset.get("GeoLocation") or rrset.get("GeoProximityLocation"):
        return "geo"
    return "simple"


def choice_from_record_set(rrset: Mapping[str, Any]) -> Choice:
    """A ``Choice`` from one record set in the API's shape (``ResourceRecordSet``)."""
    rdtype = rrset["Type"]
    alias = rrset.get("AliasTarget")
    if alias:
        node: Node = Alias(normalize(alias["DNSName"]), bool(alias.get("EvaluateTargetHealth")))
    else:
        values = tuple(
            wire_value(rdtype, r["Value"] if isinstance(r, Mapping) else str(r)) for r in rrset.get("ResourceRecords") or ()
        )
        node = Values(rdtype, values, int(rrset.get("TTL") or 0))
    geo = rrset.get("GeoLocation") or {}
    weight = rrset.get("Weight")
    return Choice(
        node=node,
        health_check_id=rrset.get("HealthCheckId") or None,
        set_identifier=rrset.get("SetIdentifier"),
        weight=None if weight is None else int(weight),
        region=rrset.get("Region"),
        failover=rrset.get("Failover"),
        is_default_location=geo.get("CountryCode") == "*",
    )


def rule_from_record_sets(rrsets: Sequence[Mapping[str, Any]]) -> Rule:
    """The node of one (name, type): its record sets, which share one routing policy."""
    kind = _routing_kind(rrsets[0])
    return Rule(kind, tuple(sorted((choice_from_record_set(r) for r in rrsets), key=lambda c: c.set_identifier or "")))


# ---------------------------------------------------------------------- zones
class Zone:
    """One hosted zone's names and nodes, indexed for lookups."""

    def __init__(self, name: str, zone_id: str, record_sets: Iterable[Mapping[str, Any]],
                 extra: Mapping[tuple[str, str], Node] | None = None):
        self.name = normalize(name)
        self.zone_id = zone_id
        grouped: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
        for rrset in record_sets:
            if rrset.get("TrafficPolicyInstanceId"):
                continue  # the policy instance's node comes in ``extra``
            grouped.setdefault((normalize(rrset["Name"]), rrset["Type"]), []).append(rrset)
        self.nodes: dict[str, dict[str, Node]] = {}
        for (rname, rdtype), group in grouped.items():
            self.nodes.setdefault(rname, {})[rdtype] = rule_from_record_sets(group)
        for (rname, rdtype), node in (extra or {}).items():
            self.nodes.setdefault(normalize(rname), {})[rdtype] = node
        # Empty non-terminals (a.b.zone exists, so b.zone exists with no records: NODATA, not NXDOMAIN).
        self.names: set[str] = set()
        for rname in self.nodes:
            while rname.endswith(self.name):
                self.names.add(rname)
                if rname == self.name:
                    break
                rname = rname.split(".", 1)[1]
        soa = self.nodes.get(self.name, {}).get("SOA")
        self.soa: Record | None = None
        if isinstance(soa, Rule) and soa.choices and isinstance(soa.choices[0].node, Values):
            values = soa.choices[0].node
            if values.values:
                self.soa = Record(self.name, "SOA", values.values[0], values.ttl)
        ns = self.nodes.get(self.name, {}).get("NS")
        self.nameservers: tuple[str, ...] = ()
        if isinstance(ns, Rule) and ns.choices and isinstance(ns.choices[0].node, Values):
            self.nameservers = tuple(v.rstrip(".") for v in ns.choices[0].node.values)

    def contains(self, name: str) -> bool:
        return name == self.name or name.endswith("." + self.name)

    def types_at(self, name: str) -> dict[str, Node]:
        """The nodes owned by ``name``, after wildcard expansion (RFC 4592)."""
        if name in self.nodes:
            return self.nodes[name]
        if name in self.names:
            return {}  # an empty non-terminal: wildcards do not apply
        encloser = name
        while encloser != self.name:
            encloser = encloser.split(".", 1)[1]
            if encloser in self.names:
                return self.nodes.get("*." + encloser, {})
        return {}

    def exists(self, name: str) -> bool:
        return name in self.names or bool(self.types_at(name))

    def negative_soa(self) -> Record | None:
        """The SOA for a negative answer, with TTL min(SOA TTL, SOA minimum) (RFC 2308)."""
        if self.soa is None:
            return None
        try:
            minimum = int(self.soa.value.split()[-1])
        except (ValueError, IndexError):
            minimum = self.soa.ttl
        return Record(self.soa.name, "SOA", self.soa.value, min(self.soa.ttl, minimum))


# ------------------------------------------------------------------ evaluation
# Names served for AWS resources outside any hosted zone (execute-api): name -> {type: node},
# or None when the name is not ours (the server then REFUSES it, as an authoritative server does).
ExternalFn = Callable[[str], "Mapping[str, Node] | None"]


class Authority:
    """Every hosted zone, plus names answered for AWS resources (``external``), evaluated per query."""

    def __init__(self, zones: Iterable[Zone], is_healthy: HealthFn | None = None,
                 external: ExternalFn | None = None,
                 rng: random.Random | None = None):
        # Longest zone name first, so the most specific zone answers (like a delegation).
        self.zones = sorted(zones, key=lambda z: len(z.name), reverse=True)
        self.is_healthy: HealthFn = is_healthy or (lambda health_check_id: True)
        self.external: ExternalFn = external or (lambda name: None)
        self.rng = rng or random.Random()

    # ------------------------------------------------------------- lookups
    def zone_for(self, name: str) -> Zone | None:
        name = normalize(name)
        for zone in self.zones:
            if zone.contains(name):
                return zone
        return None

    def node(self, name: str, rdtype: str) -> Node | None:
        """The node for (name, type) in any zone, or from the external names."""
        zone = self.zone_for(name)
        if zone is not None:
            return zone.types_at(normalize(name)).get(rdtype)
        return (self.external(normalize(name)) or {}).get(rdtype)

    # -------------------------------------------------------------- health
    def healthy(self, node: Node | None, depth: int = 0) -> bool:
        """Route 53's view of a node's health (for EvaluateTargetHealth)."""
        if node is None or depth > MAX_ALIAS_DEPTH:
            return False
        if isinstance(node, Values):
            return True
        if isinstance(node, Alias):
            if not node.evaluate_target_health:
                return True
            return self.healthy(self._alias_target(node), depth + 1)
        return any(self._choice_healthy(c, depth) for c in node.choices)

    def _choice_healthy(self, choice: Choice, depth: int) -> bool:
        if choice.health_check_id and not self.is_healthy(choice.health_check_id):
            return False
        if choice.evaluate_target_health:
            return self.healthy(choice.node, depth + 1)
        return True

    def _alias_target(self, alias: Alias, rdtype: str | None = None) -> Node | None:
        node = None
        for wanted in ((rdtype,) if rdtype else ("A", "AAAA", "CNAME")):
            node = self.node(alias.target, wanted)
            if node is not None:
                break
        return node

    # ------------------------------------------------------------- answers
    def evaluate(self, node: Node, qname: str, rdtype: str, client_region: str | None, depth: int = 0) -> list[Record]:
        """The records ``node`` answers for ``qname`` (owner name) now."""
        if depth > MAX_ALIAS_DEPTH:
            return []
        if isinstance(node, Values):
            return [Record(qname, node.rdtype, v, node.ttl) for v in node.values]
        if isinstance(node, Alias):
            target = self.node(node.target, rdtype)
            if target is None and rdtype != "CNAME":
                target = self.node(node.target, "CNAME")  # an alias to a CNAME record answers the CNAME
            return [] if target is None else self.evaluate(target, qname, rdtype, client_region, depth + 1)
        chosen = self.select(node, client_region, depth)
        records: list[Record] = []
        for choice in chosen:
            records.extend(self.evaluate(choice.node, qname, rdtype, client_region, depth + 1))
        return records

    def select(self, rule: Rule, client_region: str | None, depth: int = 0) -> list[Choice]:
        """The choices of ``rule`` Route 53 answers with now (one, or several for multivalue)."""
        if not rule.choices:
            return []
        kind = rule.kind
        if kind == "simple":  # no health checks on simple records: nothing to evaluate
            return [rule.choices[0]]
        healthy = [c for c in rule.choices if self._choice_healthy(c, depth)]
        pool = healthy or list(rule.choices)  # all unhealthy: Route 53 treats all as healthy
        if kind == "weighted":
            weighted = [c for c in pool if (c.weight or 0) > 0]
            if not weighted:
                return [self.rng.choice(pool)]  # all weights 0 (or only weight-0 records healthy): equal odds
            total = sum(c.weight or 0 for c in weighted)
            point = self.rng.uniform(0, total)
            for choice in weighted:
                point -= choice.weight or 0
                if point <= 0:
                    return [choice]
            return [weighted[-1]]
        if kind == "latency":
            where = client_region or DEFAULT_CLIENT_REGION
            return [min(pool, key=lambda c: (latency(where, c.region), c.region or "", c.set_identifier or ""))]
        if kind == "failover":
            primary = next((c for c in rule.choices if c.failover == "PRIMARY"), None)
            secondary = next((c for c in rule.choices if c.failover == "SECONDARY"), None)
            for candidate in (primary, secondary):
                if candidate is not None and candidate in healthy:
                    return [candidate]
            return [primary or secondary]  # both unhealthy: the primary
        if kind == "multivalue":
            return self.rng.sample(pool, min(MULTIVALUE_MAX, len(pool)))
        if kind == "geo":
            default = next((c for c in pool if c.is_default_location), None)
            return [default or pool[0]]
        raise ValueError(f"unknown routing rule kind {kind!r}; expected one of {', '.join(RULE_KINDS)}")

    def answer(self, name: str, rdtype: str = "A", client_region: str | None = None,
               zone: Zone | None = None) -> Answer:
        """Answer a query as an authoritative server (chasing CNAMEs into names we also serve).

        ``zone`` restricts the answer to one hosted zone (``TestDNSAnswer``).
        """
        qname = normalize(name)
        rdtype = rdtype.upper()
        owner = zone if zone is not None else self.zone_for(qname)
        if owner is None or not owner.contains(qname):
            types = self.external(qname) if zone is None else None
            if types is not None:
                node = types.get(rdtype)
                records = [] if node is None else self.evaluate(node, qname, rdtype, client_region)
                return Answer("NOERROR", records, zone=None)
            return Answer("REFUSED" if zone is None else "NXDOMAIN", authoritative=False, zone=None)

        records: list[Record] = []
        current = qname
        for _ in range(MAX_ALIAS_DEPTH):
            types = owner.types_at(current) if owner.contains(current) else {}
            if not owner.contains(current):
                node = self.node(current, rdtype) if zone is None else None
                if node is not None:
                    records.extend(self.evaluate(node, current, rdtype, client_region))
                break
            node = types.get(rdtype) if rdtype != "ANY" else None
            if rdtype == "ANY":
                for each_type, each in types.items():
                    records.extend(self.evaluate(each, current, each_type, client_region))
                break
            if node is not None:
                records.extend(self.evaluate(node, current, rdtype, client_region))
                break
            cname = types.get("CNAME")
            if cname is None or rdtype == "CNAME":
                break
            chain = self.evaluate(cname, current, "CNAME", client_region)
            records.extend(chain)
            targets = [r.value for r in chain if r.rdtype == "CNAME"]
            if not targets or zone is not None:
                break
            current = targets[0]
            next_zone = self.zone_for(current)
            if next_zone is not None:
                owner = next_zone
        if records:
            return Answer("NOERROR", records, zone=owner.name)
        if owner.exists(qname):
            return Answer("NOERROR", [], soa=owner.negative_soa(), zone=owner.name)  # NODATA
        return Answer("NXDOMAIN", [], soa=owner.negative_soa(), zone=owner.name)
