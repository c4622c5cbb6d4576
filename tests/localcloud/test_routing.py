"""Route 53 routing rules, evaluated without sockets (localcloud.routing) with fake health."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from localcloud.routing import Authority, Values, Zone, hosted_zone_id, latency, scale_ttl
from localcloud.traffic_policies import PolicyDocumentError, compile_document, parse_document

ZONE = "example.test."
REGION_ADDRESS = {"eu-west-1": "127.10.0.26", "eu-central-1": "127.10.0.20", "us-east-1": "127.10.0.32"}


def soa_and_ns():
    return [
        {"Name": ZONE, "Type": "SOA", "TTL": 900, "ResourceRecords": [{"Value": "ns-1.awsdns.test. hostmaster.example.com. 1 7200 900 1209600 86400"}]},
        {"Name": ZONE, "Type": "NS", "TTL": 172800, "ResourceRecords": ["ns-1.awsdns.test"]},
    ]


def a_record(name, value, ttl=10, **routing):
    return {"Name": name, "Type": "A", "TTL": ttl, "ResourceRecords": [{"Value": value}], **routing}


def external(name):
    """The execute-api names of the local cloud: d-<region>.execute-api.<region>.amazonaws.com."""
    for region, address in REGION_ADDRESS.items():
        if name.endswith(f".execute-api.{region}.amazonaws.com."):
            return {"A": Values("A", (address,), 60)}
    return None


def authority(record_sets, unhealthy=(), seed=7):
    zone = Zone(ZONE, "Z1", soa_and_ns() + list(record_sets))
    return Authority([zone], is_healthy=lambda hc: hc not in unhealthy, external=external, rng=random.Random(seed))


def values(auth, name="www.example.test", rdtype="A", client_region=None):
    return [r.value for r in auth.answer(name, rdtype, client_region).records]


def distribution(auth, n=400, **kwargs):
    return Counter(tuple(values(auth, **kwargs)) for _ in range(n))


# ---------------------------------------------------------------- weighted
WEIGHTED = [
    a_record("www.example.test", "192.0.2.1", SetIdentifier="one", Weight=1, HealthCheckId="hc1"),
    a_record("www.example.test", "192.0.2.2", SetIdentifier="two", Weight=3, HealthCheckId="hc2"),
]


def test_weighted_answers_in_proportion_to_weights():
    counts = distribution(authority(WEIGHTED))
    assert set(counts) == {("192.0.2.1",), ("192.0.2.2",)}
    assert 0.65 < counts[("192.0.2.2",)] / 400 < 0.85, counts


def test_weighted_skips_unhealthy_record():
    assert set(distribution(authority(WEIGHTED, unhealthy={"hc2"}), n=50)) == {("192.0.2.1",)}


def test_weighted_treats_all_as_healthy_when_all_are_unhealthy():
    counts = distribution(authority(WEIGHTED, unhealthy={"hc1", "hc2"}))
    assert set(counts) == {("192.0.2.1",), ("192.0.2.2",)}


def test_weight_zero_record_answers_only_when_all_others_are_unhealthy():
    records = [
        a_record("www.example.test", "192.0.2.1", SetIdentifier="main", Weight=1, HealthCheckId="hc1"),
        a_record("www.example.test", "192.0.2.9", SetIdentifier="standby", Weight=0),
    ]
    assert set(distribution(authority(records), n=100)) == {("192.0.2.1",)}
    assert set(distribution(authority(records, unhealthy={"hc1"}), n=20)) == {("192.0.2.9",)}


def test_all_weights_zero_answer_with_equal_odds():
    records = [a_record("www.example.test", f"192.0.2.{i}", SetIdentifier=str(i), Weight=0) for i in (1, 2)]
    counts = distribution(authority(records))
    assert 0.4 < counts[("192.0.2.1",)] / 400 < 0.6, counts


def test_records_without_health_check_are_healthy():
    records = [
        a_record("www.example.test", "192.0.2.1", SetIdentifier="checked", Weight=1, HealthCheckId="hc1"),
        a_record("www.example.test", "192.0.2.2", SetIdentifier="unchecked", Weight=1),
    ]
    assert set(distribution(authority(records, unhealthy={"hc1"}), n=50)) == {("192.0.2.2",)}


def test_weighted_answers_are_drawn_from_the_authoritys_own_random_source():
    def answers(seed):
        auth = authority(WEIGHTED, seed=seed)
        return [values(auth) for _ in range(30)]

    # Interleaved draws of two authorities with one seed agree only if neither touches a shared
    # (global) random source; a different seed gives another sequence, so the answers depend on it.
    auth_a, auth_b = authority(WEIGHTED, seed=3), authority(WEIGHTED, seed=3)
    assert [(values(auth_a), values(auth_b)) for _ in range(30)] == [(x, x) for x in answers(3)]
    assert answers(3) != answers(4)


# ---------------------------------------------------------------- failover
FAILOVER = [
    a_record("www.example.test", "192.0.2.1", SetIdentifier="p", Failover="PRIMARY", HealthCheckId="hc1"),
    a_record("www.example.test", "192.0.2.2", SetIdentifier="s", Failover="SECONDARY", HealthCheckId="hc2"),
]


@pytest.mark.parametrize(
    "unhealthy, expected",
    [((), "192.0.2.1"), ({"hc1"}, "192.0.2.2"), ({"hc2"}, "192.0.2.1"), ({"hc1", "hc2"}, "192.0.2.1")],
    ids=["both-healthy", "primary-down", "secondary-down", "both-down-answers-primary"],
)
def test_failover_answers_primary_then_secondary_then_primary(unhealthy, expected):
    assert values(authority(FAILOVER, unhealthy=set(unhealthy))) == [expected]


# ----------------------------------------------------------------- latency
LATENCY = [
    a_record("www.example.test", "192.0.2.1", SetIdentifier="ie", Region="eu-west-1", HealthCheckId="hc1"),
    a_record("www.example.test", "192.0.2.2", SetIdentifier="de", Region="eu-central-1", HealthCheckId="hc2"),
    a_record("www.example.test", "192.0.2.3", SetIdentifier="us", Region="us-east-1", HealthCheckId="hc3"),
]


@pytest.mark.parametrize("client, expected", [("eu-west-1", "192.0.2.1"), ("eu-central-1", "192.0.2.2"),
                                              ("us-east-1", "192.0.2.3"), ("eu-west-2", "192.0.2.1"),
                                              ("us-west-2", "192.0.2.3")])
def test_latency_answers_the_closest_region(client, expected):
    assert values(authority(LATENCY), client_region=client) == [expected]


def test_latency_answers_next_closest_healthy_region_across_three_regions():
    assert values(authority(LATENCY, unhealthy={"hc2"}), client_region="eu-central-1") == ["192.0.2.1"]
    assert values(authority(LATENCY, unhealthy={"hc1", "hc2"}), client_region="eu-central-1") == ["192.0.2.3"]
    assert values(authority(LATENCY, unhealthy={"hc1", "hc2", "hc3"}), client_region="eu-central-1") == ["192.0.2.2"]


def test_latency_model_is_zero_in_region_and_grows_with_distance():
    assert latency("eu-west-1", "eu-west-1") == 0
    assert latency("eu-west-1", "eu-central-1") < latency("eu-west-1", "us-east-1") < latency("eu-west-1", "ap-southeast-2")


# -------------------------------------------------------------- multivalue
def multivalue(n, checked=()):
    return [a_record("www.example.test", f"192.0.2.{i}", SetIdentifier=f"m{i}", MultiValueAnswer=True,
                     **({"HealthCheckId": f"hc{i}"} if i in checked else {})) for i in range(1, n + 1)]


def test_multivalue_answers_at_most_eight_healthy_records():
    answer = values(authority(multivalue(10)))
    assert len(answer) == 8 and len(set(answer)) == 8


def test_multivalue_leaves_out_unhealthy_records():
    answer = values(authority(multivalue(3, checked=(1, 2, 3)), unhealthy={"hc2"}))
    assert sorted(answer) == ["192.0.2.1", "192.0.2.3"]


def test_multivalue_answers_all_records_when_none_is_healthy():
    answer = values(authority(multivalue(3, checked=(1, 2, 3)), unhealthy={"hc1", "hc2", "hc3"}))
    assert sorted(answer) == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]


# ------------------------------------------------------------------- alias
def alias(name, target, evaluate, **routing):
    return {"Name": name, "Type": "A", "AliasTarget": {"DNSName": target, "HostedZoneId": "Z1", "EvaluateTargetHealth": evaluate}, **routing}


def test_alias_answers_the_targets_records_under_its_own_name_with_the_targets_ttl():
    auth = authority([a_record("target.example.test", "192.0.2.7", ttl=42), alias("www.example.test", "target.example.test", False)])
    answer = auth.answer("www.example.test", "A")
    assert [(r.name, r.rdtype, r.value, r.ttl) for r in answer.records] == [("www.example.test.", "A", "192.0.2.7", 42)]


def test_alias_to_api_gateway_domain_answers_the_regions_address_without_cname():
    auth = authority([alias("www.example.test", "d-abc123.execute-api.eu-west-1.amazonaws.com", True)])
    answer = auth.answer("www.example.test", "A")
    assert [(r.rdtype, r.value) for r in answer.records] == [("A", REGION_ADDRESS["eu-west-1"])]


def test_alias_with_evaluate_target_health_follows_the_target_groups_health():
    records = [
        a_record("ie.example.test", "192.0.2.1", SetIdentifier="ie-a", Failover="PRIMARY", HealthCheckId="hc1"),
        a_record("ie.example.test", "192.0.2.2", SetIdentifier="ie-b", Failover="SECONDARY", HealthCheckId="hc2"),
        a_record("de.example.test", "192.0.2.3"),
        alias("www.example.test", "ie.example.test", True, SetIdentifier="p", Failover="PRIMARY"),
        alias("www.example.test", "de.example.test", True, SetIdentifier="s", Failover="SECONDARY"),
    ]
    assert values(authority(records, unhealthy={"hc1"})) == ["192.0.2.2"], "one healthy member keeps the target healthy"
    assert values(authority(records, unhealthy={"hc1", "hc2"})) == ["192.0.2.3"], "an all-unhealthy target fails over"


def test_alias_without_evaluate_target_health_ignores_the_targets_health():
    records = [
        a_record("ie.example.test", "192.0.2.1", SetIdentifier="ie", Weight=1, HealthCheckId="hc1"),
        a_record("de.example.test", "192.0.2.3"),
        alias("www.example.test", "ie.example.test", False, SetIdentifier="p", Failover="PRIMARY"),
        alias("www.example.test", "de.example.test", False, SetIdentifier="s", Failover="SECONDARY"),
    ]
    assert values(authority(records, unhealthy={"hc1"})) == ["192.0.2.1"]


# ------------------------------------------------------ names and rcodes
def test_cname_is_chased_into_names_we_serve():
    auth = authority([{"Name": "www.example.test", "Type": "CNAME", "TTL": 10,
                       "ResourceRecords": [{"Value": "d-x.execute-api.us-east-1.amazonaws.com"}]}])
    answer = auth.answer("www.example.test", "A")
    assert [(r.rdtype, r.value) for r in answer.records] == [
        ("CNAME", "d-x.execute-api.us-east-1.amazonaws.com."), ("A", REGION_ADDRESS["us-east-1"])]


def test_missing_name_is_nxdomain_and_missing_type_is_nodata_both_with_soa():
    auth = authority([a_record("a.b.example.test", "192.0.2.1")])
    missing = auth.answer("nope.example.test", "A")
    assert missing.rcode == "NXDOMAIN" and missing.soa is not None and missing.soa.ttl == 900
    nodata = auth.answer("a.b.example.test", "AAAA")
    assert nodata.rcode == "NOERROR" and nodata.records == [] and nodata.soa is not None
    empty_non_terminal = auth.answer("b.example.test", "A")
    assert empty_non_terminal.rcode == "NOERROR" and empty_non_terminal.records == []


def test_names_outside_every_zone_are_refused():
    assert authority([]).answer("example.com", "A").rcode == "REFUSED"


def test_wildcard_record_answers_names_that_do_not_exist():
    auth = authority([a_record("*.example.test", "192.0.2.5"), a_record("www.example.test", "192.0.2.1")])
    assert values(auth, name="anything.example.test") == ["192.0.2.5"]
    assert values(auth, name="www.example.test") == ["192.0.2.1"]


def test_ttl_is_scaled_and_rounded_up_to_at_least_one_second():
    assert scale_ttl(60, 0.1) == 6
    assert scale_ttl(10, 0.1) == 1
    assert scale_ttl(15, 0.1) == 2
    assert scale_ttl(0, 0.1) == 1
    assert scale_ttl(300, 1.0) == 300


# --------------------------------------------------------- traffic policies
def policy(rule, record_type="A", endpoints=None):
    return {
        "AWSPolicyFormatVersion": "2015-10-01", "RecordType": record_type, "StartRule": "start",
        "Endpoints": endpoints or {"ie": {"Type": "value", "Value": "192.0.2.1"}, "de": {"Type": "value", "Value": "192.0.2.2"}},
        "Rules": {"start": rule},
    }


def policy_authority(doc, unhealthy=(), ttl=30):
    import json

    node = compile_document(parse_document(json.dumps(doc)), ttl)
    zone = Zone(ZONE, "Z1", soa_and_ns(), {("www.example.test.", doc["RecordType"]): node})
    return Authority([zone], is_healthy=lambda hc: hc not in unhealthy, external=external, rng=random.Random(1))


def test_traffic_policy_failover_rule_fails_over_on_health_check():
    doc = policy({"RuleType": "failover", "Primary": {"EndpointReference": "ie", "HealthCheck": "hc1"},
                  "Secondary": {"EndpointReference": "de", "HealthCheck": "hc2"}})
    assert values(policy_authority(doc)) == ["192.0.2.1"]
    assert values(policy_authority(doc, unhealthy={"hc1"})) == ["192.0.2.2"]
    assert policy_authority(doc).answer("www.example.test", "A").records[0].ttl == 30, "value endpoints take the instance TTL"


def test_traffic_policy_weighted_rule_of_latency_rules_nests():
    doc = policy({"RuleType": "weighted", "Items": [{"Weight": "1", "RuleReference": "lat"}]})
    doc["Rules"]["lat"] = {"RuleType": "latency", "Regions": [
        {"Region": "eu-west-1", "EndpointReference": "ie", "HealthCheck": "hc1"},
        {"Region": "eu-central-1", "EndpointReference": "de"}]}
    assert values(policy_authority(doc), client_region="eu-west-1") == ["192.0.2.1"]
    assert values(policy_authority(doc, unhealthy={"hc1"}), client_region="eu-west-1") == ["192.0.2.2"]


def test_traffic_policy_multivalue_and_geo_rules_answer():
    multi = policy({"RuleType": "multivalue", "Items": [{"EndpointReference": "ie"}, {"EndpointReference": "de"}]})
    assert sorted(values(policy_authority(multi))) == ["192.0.2.1", "192.0.2.2"]
    geo = policy({"RuleType": "geo", "Locations": [{"Country": "DE", "EndpointReference": "de"},
                                                   {"IsDefault": True, "EndpointReference": "ie"}]})
    assert values(policy_authority(geo)) == ["192.0.2.1"], "geo answers with the default location"


def test_traffic_policy_cname_endpoints_point_at_regional_domains():
    doc = policy({"RuleType": "weighted", "Items": [{"Weight": 1, "EndpointReference": "ie"}]}, record_type="CNAME",
                 endpoints={"ie": {"Type": "value", "Value": "d-1.execute-api.eu-west-1.amazonaws.com"}})
    assert values(policy_authority(doc)) == ["d-1.execute-api.eu-west-1.amazonaws.com.", REGION_ADDRESS["eu-west-1"]]


def test_traffic_policy_values_name_absolute_targets_as_record_sets_do():
    doc = policy({"RuleType": "weighted", "Items": [{"Weight": 1, "EndpointReference": "mx"}]}, record_type="MX",
                 endpoints={"mx": {"Type": "value", "Value": "10 mail.example.test"}})
    answer = policy_authority(doc).answer("www.example.test", "MX")
    assert [r.value for r in answer.records] == ["10 mail.example.test."]


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(AWSPolicyFormatVersion="2014-01-01"), "AWSPolicyFormatVersion"),
    (lambda d: d.update(RecordType="BOGUS"), "RecordType"),
    (lambda d: d.update(StartEndpoint="ie"), "exactly one of StartRule and StartEndpoint"),
    (lambda d: d.update(StartRule="nope"), "StartRule"),
    (lambda d: d["Endpoints"]["ie"].update(Type="teleport"), "Type must be one of"),
    (lambda d: d["Rules"]["start"].update(RuleType="random"), "RuleType"),
    (lambda d: d["Rules"]["start"].pop("Secondary"), "Primary and Secondary"),
    (lambda d: d["Rules"]["start"]["Primary"].update(EndpointReference="ghost"), "unknown endpoint"),
    (lambda d: d["Rules"]["start"].update(Primary={"RuleReference": "start"}), "references itself"),
])
def test_invalid_traffic_policy_documents_are_rejected_with_the_reason(mutate, message):
    import json

    doc = policy({"RuleType": "failover", "Primary": {"EndpointReference": "ie"}, "Secondary": {"EndpointReference": "de"}})
    mutate(doc)
    with pytest.raises(PolicyDocumentError, match=message):
        parse_document(json.dumps(doc))


def test_a_hosted_zone_id_parameter_is_read_with_or_without_its_prefix():
    # Route 53 returns "/hostedzone/Z1" in Id fields and accepts either form as HostedZoneId.
    assert hosted_zone_id("/hostedzone/Z0123456789ABC") == hosted_zone_id("Z0123456789ABC") == "Z0123456789ABC"
