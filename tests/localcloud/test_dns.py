"""The local cloud's DNS server and TestDNSAnswer, through standard clients (dnspython, dig, boto3, the AWS CLI)."""

from __future__ import annotations

import json
import shutil
import subprocess

import boto3
import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from conftest import in_process_cloud
from localcloud.component import Component
from localcloud.dns import Dns
from localcloud.traffic_policies import TrafficPolicies
from localcloud.regions import RegionRegistry, execute_api_name

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def route53(endpoint: str):
    return boto3.client("route53", endpoint_url=endpoint, region_name="us-east-1", **CREDENTIALS)


def create_zone(client, name: str) -> str:
    return client.create_hosted_zone(Name=name, CallerReference=name)["HostedZone"]["Id"].split("/")[-1]


def upsert(client, zone_id: str, *record_sets: dict) -> None:
    client.change_resource_record_sets(
        HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": r} for r in record_sets]})


def query(server: tuple[str, int], name: str, rdtype: str = "A", *, tcp: bool = False, subnet: str | None = None,
          source: str | None = None) -> dns.message.Message:
    options = []
    if subnet:
        address, _, prefix = subnet.partition("/")
        options.append(dns.edns.ECSOption(address, int(prefix)))
    message = dns.message.make_query(name, rdtype, use_edns=0 if options else None, options=options or None)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(message, server[0], port=server[1], timeout=3, source=source)


def answers(message: dns.message.Message, rdtype: str = "A") -> list[str]:
    wanted = dns.rdatatype.from_text(rdtype)
    return [r.to_text() for rrset in message.answer if rrset.rdtype == wanted for r in rrset]


ADDRESS = {region: RegionRegistry().address(region) for region in ("eu-west-1", "eu-central-1", "us-east-1")}


# ------------------------------------------------------- the session's cloud
@pytest.fixture
def server(localcloud_status) -> tuple[str, int]:
    host, _, port = localcloud_status["dns"].rpartition(":")
    return host, int(port)


@pytest.fixture
def zone(localcloud_status, unique):
    """A hosted zone with simple, weighted, latency and CNAME records (no health checks)."""
    client = route53(localcloud_status["aws_endpoint"])
    name = f"z{unique}.test"
    zone_id = create_zone(client, name)
    upsert(
        client, zone_id,
        {"Name": f"www.{name}", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.10"}]},
        {"Name": f"www.{name}", "Type": "TXT", "TTL": 60, "ResourceRecords": [{"Value": '"hello world"'}]},
        {"Name": f"deep.sub.{name}", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.11"}]},
        {"Name": f"api.{name}", "Type": "CNAME", "TTL": 10, "SetIdentifier": f"{unique}-ie", "Weight": 1,
         "ResourceRecords": [{"Value": "d-ie0001.execute-api.eu-west-1.amazonaws.com"}]},
        {"Name": f"api.{name}", "Type": "CNAME", "TTL": 10, "SetIdentifier": f"{unique}-de", "Weight": 1,
         "ResourceRecords": [{"Value": "d-de0001.execute-api.eu-central-1.amazonaws.com"}]},
        *[{"Name": f"near.{name}", "Type": "A", "SetIdentifier": f"{unique}-{region}", "Region": region,
           "AliasTarget": {"DNSName": f"d-x{i}.execute-api.{region}.amazonaws.com", "HostedZoneId": "ZLOCAL",
                           "EvaluateTargetHealth": True}}
          for i, region in enumerate(("eu-west-1", "eu-central-1", "us-east-1"))],
    )
    return {"id": zone_id, "name": name, "client": client}


def test_udp_and_tcp_queries_get_the_same_authoritative_answer(server, zone):
    for tcp in (False, True):
        response = query(server, f"www.{zone['name']}", tcp=tcp)
        assert dns.rcode.to_text(response.rcode()) == "NOERROR"
        assert response.flags & dns.flags.AA
        assert answers(response) == ["192.0.2.10"]


def test_ttl_on_the_wire_is_scaled_by_the_time_scale(server, zone, localcloud_status):
    response = query(server, f"www.{zone['name']}")
    assert response.answer[0].ttl == max(1, round(60 * localcloud_status["time_scale"]))


def test_txt_records_keep_their_quoted_text(server, zone):
    assert answers(query(server, f"www.{zone['name']}", "TXT"), "TXT") == ['"hello world"']


def test_missing_name_is_nxdomain_with_the_zones_soa(server, zone):
    response = query(server, f"nope.{zone['name']}")
    assert dns.rcode.to_text(response.rcode()) == "NXDOMAIN"
    assert response.authority and response.authority[0].rdtype == dns.rdatatype.SOA


def test_missing_type_and_empty_non_terminal_are_nodata(server, zone):
    for name, rdtype in ((f"www.{zone['name']}", "AAAA"), (f"sub.{zone['name']}", "A")):
        response = query(server, name, rdtype)
        assert dns.rcode.to_text(response.rcode()) == "NOERROR" and not response.answer, name
        assert response.authority[0].rdtype == dns.rdatatype.SOA


def test_names_outside_the_hosted_zones_are_refused(server, zone):
    assert dns.rcode.to_text(query(server, "example.com").rcode()) == "REFUSED"


def test_execute_api_names_resolve_to_their_regions_address(server):
    for name, region in (("abc123.execute-api.eu-west-1.amazonaws.com", "eu-west-1"),
                         ("d-0123abc.execute-api.eu-central-1.amazonaws.com", "eu-central-1")):
        assert answers(query(server, name)) == [ADDRESS[region]]


@pytest.mark.parametrize(("name", "parsed"), [
    ("abc123defg.execute-api.eu-west-1.amazonaws.com", ("abc123defg", "eu-west-1")),
    ("d-0123abc.execute-api.eu-central-1.amazonaws.com.", ("d-0123abc", "eu-central-1")),  # a DNS name
    ("ABC123DEFG.Execute-API.EU-WEST-1.amazonaws.com", ("abc123defg", "eu-west-1")),  # a Host header's case
    ("a.b.execute-api.eu-west-1.amazonaws.com", None),
    ("abc.execute-api.eu-west-1.amazonaws.com.example", None),
    ("execute-api.eu-west-1.amazonaws.com", None),
])
def test_one_reading_of_execute_api_names_for_dns_gateway_and_certificates(name, parsed):
    assert execute_api_name(name) == parsed


def test_weighted_cname_is_answered_with_the_regions_address_from_both_regions(server, zone):
    seen = set()
    for _ in range(40):
        response = query(server, f"api.{zone['name']}")
        seen.add(tuple(answers(response)))
        cname = answers(response, "CNAME")
        assert len(cname) == 1 and cname[0].endswith(".amazonaws.com.")
    assert seen == {(ADDRESS["eu-west-1"],), (ADDRESS["eu-central-1"],)}


@pytest.mark.parametrize("region", ["eu-west-1", "eu-central-1", "us-east-1"])
def test_latency_alias_follows_the_edns_client_subnet(server, zone, region):
    response = query(server, f"near.{zone['name']}", subnet=f"{ADDRESS[region]}/32")
    assert answers(response) == [ADDRESS[region]]
    echoed = [o for o in response.options if isinstance(o, dns.edns.ECSOption)]
    assert echoed and echoed[0].scopelen == 32


def test_latency_alias_follows_the_queriers_own_region_address(server, zone):
    response = query(server, f"near.{zone['name']}", source=ADDRESS["eu-central-1"])
    assert answers(response) == [ADDRESS["eu-central-1"]]


def test_latency_without_client_location_uses_the_default_region(server, zone):
    assert answers(query(server, f"near.{zone['name']}")) == [ADDRESS["us-east-1"]]


def test_dig_gets_the_answer(server, zone):
    assert shutil.which("dig"), "dig is needed (Debian: bind9-dnsutils; .ci/run installs it)"
    out = subprocess.run(["dig", f"@{server[0]}", "-p", str(server[1]), f"www.{zone['name']}", "A", "+short"],
                         capture_output=True, text=True, timeout=10)
    assert out.stdout.split() == ["192.0.2.10"]


def test_records_changed_through_the_api_are_answered_at_once(server, zone):
    name = f"www.{zone['name']}"
    upsert(zone["client"], zone["id"], {"Name": name, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.99"}]})
    assert answers(query(server, name)) == ["192.0.2.99"]


def test_test_dns_answer_through_boto3_matches_the_server(zone):
    answer = zone["client"].test_dns_answer(HostedZoneId=zone["id"], RecordName=f"near.{zone['name']}", RecordType="A",
                                            EDNS0ClientSubnetIP=ADDRESS["eu-central-1"], EDNS0ClientSubnetMask="32")
    assert answer["ResponseCode"] == "NOERROR" and answer["Protocol"] == "UDP"
    assert answer["RecordData"] == [ADDRESS["eu-central-1"]]
    assert answer["Nameserver"]
    missing = zone["client"].test_dns_answer(HostedZoneId=zone["id"], RecordName=f"nope.{zone['name']}", RecordType="A")
    assert missing["ResponseCode"] == "NXDOMAIN" and missing["RecordData"] == []


def test_test_dns_answer_through_the_aws_cli(zone, aws_env):
    out = subprocess.run(
        ["aws", "route53", "test-dns-answer", "--hosted-zone-id", zone["id"], "--record-name", f"www.{zone['name']}",
         "--record-type", "A", "--output", "json"],
        capture_output=True, text=True, env=aws_env, timeout=60)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["RecordData"] == ["192.0.2.10"] and answer["ResponseCode"] == "NOERROR"


def test_test_dns_answer_for_an_unknown_zone_is_no_such_hosted_zone(localcloud_status):
    client = route53(localcloud_status["aws_endpoint"])
    with pytest.raises(client.exceptions.NoSuchHostedZone):
        client.test_dns_answer(HostedZoneId="ZNOSUCHZONE", RecordName="www.example.test", RecordType="A")


# ---------------------------------------------------------- traffic policies
def policy_document(unique: str) -> str:
    return json.dumps({
        "AWSPolicyFormatVersion": "2015-10-01", "RecordType": "CNAME", "StartRule": "site",
        "Endpoints": {"ie": {"Type": "value", "Value": f"d-{unique}.execute-api.eu-west-1.amazonaws.com"},
                      "de": {"Type": "value", "Value": f"d-{unique}.execute-api.eu-central-1.amazonaws.com"}},
        "Rules": {"site": {"RuleType": "failover", "Primary": {"EndpointReference": "ie"},
                           "Secondary": {"EndpointReference": "de"}}},
    })


def test_traffic_policy_create_get_list_version_and_delete(localcloud_status, unique):
    client = route53(localcloud_status["aws_endpoint"])
    policy = client.create_traffic_policy(Name=f"p-{unique}", Document=policy_document(unique), Comment="test")["TrafficPolicy"]
    assert (policy["Version"], policy["Type"]) == (1, "CNAME")
    assert client.get_traffic_policy(Id=policy["Id"], Version=1)["TrafficPolicy"]["Document"] == policy_document(unique)
    assert any(s["Id"] == policy["Id"] for s in client.list_traffic_policies()["TrafficPolicySummaries"])
    second = client.create_traffic_policy_version(Id=policy["Id"], Document=policy_document(unique))["TrafficPolicy"]
    assert second["Version"] == 2
    assert [v["Version"] for v in client.list_traffic_policy_versions(Id=policy["Id"])["TrafficPolicies"]] == [1, 2]
    with pytest.raises(client.exceptions.TrafficPolicyAlreadyExists):
        client.create_traffic_policy(Name=f"p-{unique}", Document=policy_document(unique))
    for version in (1, 2):
        client.delete_traffic_policy(Id=policy["Id"], Version=version)
    with pytest.raises(client.exceptions.NoSuchTrafficPolicy):
        client.get_traffic_policy(Id=policy["Id"], Version=1)


def test_invalid_traffic_policy_document_is_rejected(localcloud_status, unique):
    client = route53(localcloud_status["aws_endpoint"])
    bad = json.loads(policy_document(unique))
    bad["Rules"]["site"]["RuleType"] = "roundrobin"
    with pytest.raises(client.exceptions.InvalidTrafficPolicyDocument, match="RuleType"):
        client.create_traffic_policy(Name=f"bad-{unique}", Document=json.dumps(bad))


def test_traffic_policy_instance_answers_dns_and_is_listed_as_a_policy_record(localcloud_status, server, unique):
    client = route53(localcloud_status["aws_endpoint"])
    zone_name = f"tp{unique}.test"
    zone_id = create_zone(client, zone_name)
    policy = client.create_traffic_policy(Name=f"tp-{unique}", Document=policy_document(unique))["TrafficPolicy"]
    instance = client.create_traffic_policy_instance(HostedZoneId=zone_id, Name=f"api.{zone_name}", TTL=20,
                                                     TrafficPolicyId=policy["Id"], TrafficPolicyVersion=1)["TrafficPolicyInstance"]
    assert instance["State"] == "Creating"  # Applied once propagated, as on AWS (tests/conformance/test_route53.py)
    assert client.get_traffic_policy_instance(Id=instance["Id"])["TrafficPolicyInstance"]["TTL"] == 20
    assert any(i["Id"] == instance["Id"] for i in client.list_traffic_policy_instances()["TrafficPolicyInstances"])
    records = client.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    assert [r["Type"] for r in records if r.get("TrafficPolicyInstanceId") == instance["Id"]] == ["CNAME"]

    response = query(server, f"api.{zone_name}")
    assert answers(response, "CNAME") == [f"d-{unique}.execute-api.eu-west-1.amazonaws.com."]
    assert answers(response) == [ADDRESS["eu-west-1"]]
    assert response.answer[0].ttl == 2, "the instance TTL (20 s) scaled by 0.1"

    with pytest.raises(client.exceptions.TrafficPolicyInUse):
        client.delete_traffic_policy(Id=policy["Id"], Version=1)
    with pytest.raises(client.exceptions.HostedZoneNotEmpty):
        client.delete_hosted_zone(Id=zone_id)
    client.delete_traffic_policy_instance(Id=instance["Id"])
    assert dns.rcode.to_text(query(server, f"api.{zone_name}").rcode()) == "NXDOMAIN"
    client.delete_traffic_policy(Id=policy["Id"], Version=1)
    client.delete_hosted_zone(Id=zone_id)


# ------------------------------------------- health, through the wire (in-process cloud)
class FakeHealthChecker(Component):
    """Stands in for the health checker: health checks listed in ``unhealthy`` fail."""

    name = "healthchecker"

    def __init__(self, cloud, *, dns):
        super().__init__(cloud)
        self.unhealthy: set[str] = set()
        dns.use_health(self)

    def is_healthy(self, health_check_id: str) -> bool:
        return health_check_id not in self.unhealthy


@pytest.fixture
def health_cloud(tmp_path):
    with in_process_cloud(tmp_path, Dns, TrafficPolicies, FakeHealthChecker) as cloud:
        yield cloud, cloud.get(FakeHealthChecker)


def test_failover_moves_to_the_secondary_when_the_primary_health_check_fails(health_cloud, unique):
    cloud, checker = health_cloud
    client = route53(cloud.controlplane.endpoint)
    zone_name = f"hc{unique}.test"
    zone_id = create_zone(client, zone_name)
    checks = [client.create_health_check(CallerReference=f"{unique}-{i}", HealthCheckConfig={
        "Type": "HTTPS", "FullyQualifiedDomainName": "example.test", "Port": 443, "ResourcePath": "/health"})["HealthCheck"]["Id"]
        for i in range(2)]
    upsert(client, zone_id, *[
        {"Name": f"api.{zone_name}", "Type": "CNAME", "TTL": 10, "SetIdentifier": f"{unique}-{role}", "Failover": role,
         "HealthCheckId": check, "ResourceRecords": [{"Value": f"d-{unique}.execute-api.{region}.amazonaws.com"}]}
        for role, check, region in (("PRIMARY", checks[0], "eu-west-1"), ("SECONDARY", checks[1], "eu-central-1"))])
    server = (cloud.settings.host, cloud.settings.dns_port)
    assert answers(query(server, f"api.{zone_name}")) == [ADDRESS["eu-west-1"]]
    checker.unhealthy = {checks[0]}
    assert answers(query(server, f"api.{zone_name}")) == [ADDRESS["eu-central-1"]]
    test = client.test_dns_answer(HostedZoneId=zone_id, RecordName=f"api.{zone_name}", RecordType="CNAME")
    assert test["RecordData"] == [f"d-{unique}.execute-api.eu-central-1.amazonaws.com."]
    checker.unhealthy = set(checks)
    assert answers(query(server, f"api.{zone_name}")) == [ADDRESS["eu-west-1"]], "both unhealthy: the primary"
    assert cloud.get(Dns).resolve(f"api.{zone_name}") == [
        ("CNAME", f"d-{unique}.execute-api.eu-west-1.amazonaws.com.", 1), ("A", ADDRESS["eu-west-1"], 6)]


def test_many_queries_in_a_row_all_get_answers(health_cloud, unique):
    cloud, _ = health_cloud
    client = route53(cloud.controlplane.endpoint)
    zone_id = create_zone(client, f"load{unique}.test")
    upsert(client, zone_id, {"Name": f"www.load{unique}.test", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]})
    server = (cloud.settings.host, cloud.settings.dns_port)
    results = [answers(query(server, f"www.load{unique}.test", tcp=i % 2 == 1)) for i in range(100)]
    assert all(r == ["192.0.2.1"] for r in results)
