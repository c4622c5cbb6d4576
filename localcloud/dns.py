"""A DNS server on loopback for the Route 53 hosted zones (the local cloud's Route 53 data plane).

moto stores hosted zones and record sets but answers no DNS. This component
does, over UDP and TCP on ``settings.host:settings.dns_port``:

* **authoritative for every hosted zone** (public and private alike): records
  evaluated by ``localcloud.routing`` with health checks (the
  ``healthchecker`` component's ``is_healthy``; a check it does not know is
  healthy, as a new Route 53 check starts healthy), SOA in the authority
  section of negative answers, NXDOMAIN for names that do not exist and NODATA
  (NOERROR, no answer) for names that exist without the asked type; CNAMEs are
  chased into names this server also answers (the local cloud's clients ask us
  directly, with no recursive resolver in between);
* **API Gateway names**: ``{api-id}.execute-api.{region}.amazonaws.com`` and
  custom domains' ``d-….execute-api.{region}.amazonaws.com`` answer A with the
  region's loopback address (``cloud.regions.address(region)``), TTL 60;
* **REFUSED** for every other name (we are not a recursive resolver).

TTLs: record sets hold AWS seconds; the wire carries ``ceil(ttl × time_scale)``,
at least 1 s (``routing.scale_ttl``), so a client's cache expires as fast,
relatively, as on AWS. ``resolve()`` returns the same scaled TTLs.

Client location, for latency routing (where Route 53 uses its latency data):

1. the EDNS Client Subnet option (RFC 7871) when the query has one: a subnet
   whose address is a region's loopback address (send it with prefix /32,
   e.g. ``127.10.0.17/32``) means "a client in that region";
2. else the querier's own address, when it is a region's address (a client
   that binds its socket to 127.10.0.N);
3. else ``routing.DEFAULT_CLIENT_REGION`` (us-east-1).

Responses to queries with an ECS option echo it with scope prefix = source
prefix. ``TestDNSAnswer`` answers from the same evaluation, with
``EDNS0ClientSubnetIP`` / ``ResolverIP`` placing the client the same way.

Speed: parsed zones are cached and rebuilt only when moto's zones change (the
count of zones, of record sets and of changes per zone) or a record source (the
traffic policies) reports a new version; health is evaluated per query.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import random
import struct
import threading
from typing import Any, Mapping, Protocol

from dnslib import EDNS0, QTYPE, RCODE, RR, DNSRecord, EDNSOption
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from localcloud.component import Component, MissingComponent
from localcloud.controlplane import AwsError, Call
from localcloud.regions import execute_api_name
from localcloud.routing import (
    DEFAULT_CLIENT_REGION,
    Answer,
    Authority,
    Node,
    Values,
    Zone,
    hosted_zone_id,
    scale_ttl,
)

log = logging.getLogger(__name__)

EXECUTE_API_TTL = 60  # the TTL AWS gives execute-api and regional custom-domain names
ECS_OPTION = 8  # EDNS option code of Client Subnet (RFC 7871)


class RecordSource(Protocol):
    """Records that live outside moto's record sets (traffic policy instances)."""

    @property
    def version(self) -> int:
        """Changes whenever ``nodes()`` would answer differently."""

    def nodes(self) -> Mapping[str, Mapping[tuple[str, str], Node]]:
        """{hosted zone id: {(name, type): node}}; these replace record sets of the same name and type."""


def record_set_dict(rrset: Any) -> dict[str, Any]:
    """A moto ``RecordSet`` in the API's ``ResourceRecordSet`` shape."""
    return {
        "Name": rrset.name,
        "Type": rrset.type,
        "TTL": rrset.ttl,
        "ResourceRecords": list(rrset.records or ()),
        "SetIdentifier": rrset.set_identifier,
        "Weight": rrset.weight,
        "Region": rrset.region,
        "Failover": rrset.failover,
        "MultiValueAnswer": rrset.multi_value_answer,
        "GeoLocation": rrset.geo_location,
        "HealthCheckId": rrset.health_check_id,
        "AliasTarget": rrset.alias_target,
        "TrafficPolicyInstanceId": getattr(rrset, "traffic_policy_instance_id", None),
    }


class HealthSource(Protocol):
    """What the DNS routes on: Route 53's verdict for a health check id."""

    def is_healthy(self, health_check_id: str) -> bool: ...


class Dns(Component):
    """The DNS server for the hosted zones, and ``resolve()`` for in-process callers."""

    name = "dns"

    def __init__(self, cloud):
        super().__init__(cloud)
        self.rng = random.Random()
        self._sources: list[RecordSource] = []
        self._health: HealthSource | None = None
        self._lock = threading.Lock()
        self._fingerprint: Any = None
        self._zones: list[Zone] = []
        self._servers: list[DNSServer] = []
        cloud.controlplane.register("route53", "TestDNSAnswer", self._test_dns_answer)

    # --------------------------------------------------------------- sources
    def add_source(self, source: RecordSource) -> None:
        """Serve ``source``'s nodes too (the traffic policies component registers itself here)."""
        self._sources.append(source)

    def use_health(self, health: HealthSource) -> None:
        """Route on ``health``'s verdicts (the health checker, which resolves through this DNS, registers itself)."""
        self._health = health

    def _route53(self) -> Any:
        return self.cloud.route53()

    def authority(self) -> Authority:
        """The current zones, rebuilt only when moto's records or a source changed."""
        backend = self._route53()
        zones = list(backend.zones.items())
        fingerprint = (
            tuple((zone_id, id(zone), len(zone.rrsets), len(zone.rr_changes)) for zone_id, zone in zones),
            tuple(source.version for source in self._sources),
        )
        with self._lock:
            if fingerprint != self._fingerprint:
                extra: dict[str, dict[tuple[str, str], Node]] = {}
                for source in self._sources:
                    for zone_id, nodes in source.nodes().items():
                        extra.setdefault(zone_id, {}).update(nodes)
                self._zones = [
                    Zone(zone.name, zone_id, [record_set_dict(r) for r in list(zone.rrsets)], extra.get(zone_id))
                    for zone_id, zone in zones
                ]
                self._fingerprint = fingerprint
            return Authority(self._zones, self.is_healthy, self._external, self.rng)

    # ---------------------------------------------------------------- health
    def is_healthy(self, health_check_id: str) -> bool:
        """The health checker's verdict (it answers checks it has not probed yet: a new check starts healthy)."""
        return self._health.is_healthy(health_check_id)

    # ------------------------------------------------------- execute-api names
    def _external(self, name: str) -> dict[str, Node] | None:
        parsed = execute_api_name(name)
        if parsed is None:
            return None
        region = parsed[1]
        if not self.cloud.regions.is_known(region) and region not in self.cloud.regions.active:
            return None
        return {"A": Values("A", (self.cloud.regions.address(region),), EXECUTE_API_TTL)}

    # -------------------------------------------------------- client location
    def client_region(self, subnet_address: str | None = None, querier: str | None = None) -> str:
        """Where a client is: the region of its ECS subnet address, else of its own address, else the default."""
        for address in (subnet_address, querier):
            if address:
                try:
                    region = self.cloud.regions.region_of(str(ipaddress.ip_address(address)))
                except ValueError:
                    region = None
                if region:
                    return region
        return DEFAULT_CLIENT_REGION

    # ------------------------------------------------------------- answering
    def answer(self, name: str, rdtype: str = "A", client_region: str | None = None) -> Answer:
        """The evaluated answer (TTLs in AWS seconds)."""
        return self.authority().answer(name, rdtype, client_region)

    def resolve(self, name: str, rdtype: str = "A", client_ip: str | None = None) -> list[tuple[str, str, int]]:
        """[(type, value, ttl)] the DNS server would answer a client at ``client_ip`` now (TTLs scaled)."""
        answer = self.answer(name, rdtype, self.client_region(querier=client_ip))
        scale = self.cloud.settings.time_scale
        return [(r.rdtype, r.value, scale_ttl(r.ttl, scale)) for r in answer.records]

    def respond(self, request: DNSRecord, querier: str) -> DNSRecord:
        """The wire answer to one DNS query."""
        reply = request.reply(ra=0, aa=1)
        question = request.q
        opt = next((rr for rr in request.ar if rr.rtype == QTYPE.OPT), None)
        ecs = _client_subnet(opt)
        region = self.client_region(ecs[0] if ecs else None, querier)
        try:
            rdtype = QTYPE[question.qtype]
        except Exception:
            rdtype = f"TYPE{question.qtype}"
        answer = self.answer(str(question.qname), rdtype, region)
        reply.header.rcode = getattr(RCODE, answer.rcode)
        reply.header.aa = int(answer.authoritative)
        scale = self.cloud.settings.time_scale
        for record in answer.records:
            _add(reply.add_answer, record.name, record.rdtype, record.value, scale_ttl(record.ttl, scale))
        if answer.soa is not None:
            soa = answer.soa
            _add(reply.add_auth, soa.name, "SOA", soa.value, scale_ttl(soa.ttl, scale))
        if opt is not None:
            options = []
            if ecs:
                family, prefix, raw = ecs[1], ecs[2], ecs[3]
                options.append(EDNSOption(ECS_OPTION, struct.pack("!HBB", family, prefix, prefix) + raw))
            reply.add_ar(EDNS0(udp_len=1232, opts=options))
        return reply

    # ---------------------------------------------------------- TestDNSAnswer
    def _test_dns_answer(self, call: Call) -> dict[str, Any]:
        """Route 53 ``TestDNSAnswer``: what the zone's name servers answer now, from the same evaluation."""
        params = call.params
        zone_id = hosted_zone_id(params["HostedZoneId"])
        authority = self.authority()
        zone = next((z for z in authority.zones if z.zone_id == zone_id), None)
        if zone is None:
            raise AwsError("NoSuchHostedZone", f"No hosted zone found with ID: {zone_id}")
        name, rdtype = params["RecordName"], params["RecordType"]
        region = self.client_region(params.get("EDNS0ClientSubnetIP"), params.get("ResolverIP"))
        answer = authority.answer(name, rdtype, region, zone=zone)
        return {
            "Nameserver": zone.nameservers[0] if zone.nameservers else self.cloud.settings.host,
            "RecordName": name,
            "RecordType": rdtype,
            "RecordData": [r.value for r in answer.records],
            "ResponseCode": answer.rcode,
            "Protocol": "UDP",
        }

    # -------------------------------------------------------------- lifecycle
    def start(self) -> None:
        if self._health is None:
            raise MissingComponent(
                "the DNS answers health-checked records, so it needs the health checker "
                "(localcloud.healthchecker.HealthChecker) in the same local cloud")
        resolver = _Resolver(self)
        quiet = DNSLogger(log="-request,-reply,-truncated,-error", prefix=False, logf=lambda text: None)
        host, port = self.cloud.settings.host, self.cloud.settings.dns_port
        for tcp in (False, True):
            server = DNSServer(resolver, address=host, port=port, tcp=tcp, logger=quiet)
            server.start_thread()
            self._servers.append(server)
        log.info("DNS server on %s:%s (UDP and TCP)", host, port)

    def stop(self) -> None:
        for server in self._servers:
            try:
                server.stop()
                server.server.server_close()
            except Exception:
                log.exception("stopping the DNS server failed")
        self._servers.clear()


class _Resolver(BaseResolver):
    def __init__(self, dns: Dns):
        self.dns = dns

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        try:
            return self.dns.respond(request, handler.client_address[0])
        except Exception:
            log.exception("DNS query %s failed", request.q.qname)
            reply = request.reply()
            reply.header.rcode = RCODE.SERVFAIL
            return reply


def _client_subnet(opt: Any) -> tuple[str, int, int, bytes] | None:
    """(address, family, source prefix, address bytes) of an ECS option (RFC 7871), if any."""
    if opt is None:
        return None
    for option in opt.rdata or ():
        if getattr(option, "code", None) != ECS_OPTION or len(option.data) < 4:
            continue
        family, source_prefix, _scope = struct.unpack("!HBB", option.data[:4])
        raw = bytes(option.data[4:])
        try:
            if family == 1:
                address = str(ipaddress.IPv4Address(raw.ljust(4, b"\0")[:4]))
            elif family == 2:
                address = str(ipaddress.IPv6Address(raw.ljust(16, b"\0")[:16]))
            else:
                continue
        except ValueError:
            continue
        return address, family, source_prefix, raw
    return None


@functools.lru_cache(maxsize=4096)
def _records(zone_line: str) -> tuple[RR, ...]:
    """dnslib's records for one zone-file line; answers repeat, and packing a reply never changes them."""
    return tuple(RR.fromZone(zone_line))


def _add(add: Any, name: str, rdtype: str, value: str, ttl: int) -> None:
    try:
        for rr in _records(f"{name} {ttl} IN {rdtype} {value}"):
            add(rr)
    except Exception:
        log.warning("cannot encode %s %s %r on the wire; skipped", name, rdtype, value)
