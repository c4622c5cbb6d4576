"""helpers.route53: routing records, the traffic policy and the DNS checks, on the session's local cloud."""

from __future__ import annotations

import pytest

from conftest import make_config
from helpers.clients import Clients
from helpers.config import validate
from helpers.route53 import (
    COST_WARNING,
    create_routing_records,
    create_traffic_policy,
    delete_routing_records,
    delete_traffic_policy,
    region_of_name,
    resolve_many,
    routing_record_sets,
    routing_records,
    routing_targets,
    stack_records,
    stack_traffic_policies,
    test_dns_answer as dns_answer,
    traffic_policy_document,
)
from localcloud.regions import RegionRegistry
from localcloud.traffic_policies import parse_document

pytestmark = pytest.mark.slow  # several seconds a test: left out of make test-fast

REGIONS = ("eu-west-1", "eu-central-1", "us-east-1")
ADDRESS = {region: RegionRegistry().address(region) for region in REGIONS}


def targets_for(regions, unique, checks=None):
    return {r: (f"d-{unique}{i}.execute-api.{r}.amazonaws.com", "ZLOCALAPIGW", (checks or {}).get(r))
            for i, r in enumerate(regions)}


@pytest.fixture
def setup(localcloud_status, unique):
    """A Config on its own hosted zone (created here; step 3 creates it in the runbook) and the clients."""
    def make(**params):
        cfg = make_config(localcloud_status, stack_name=f"t{unique}", hosted_zone=f"r{unique}.test",
                          domain_name=f"api.r{unique}.test", **params)
        return cfg, Clients(cfg)

    cfg, clients = make()
    clients.client("route53").create_hosted_zone(Name=cfg.hosted_zone, CallerReference=cfg.hosted_zone)
    return make


# ------------------------------------------------------------------ pure
def test_record_sets_follow_the_routing_policy():
    targets = targets_for(REGIONS, "x", {"eu-west-1": "hc1", "eu-central-1": "hc2", "us-east-1": "hc3"})
    cfg = validate({"regions": list(REGIONS), "routing_policy": "weighted", "record_ttl": 15})
    weighted = routing_record_sets(cfg, targets)
    assert [(r["Type"], r["Weight"], r["TTL"], r["HealthCheckId"]) for r in weighted] == [
        ("CNAME", 1, 15, "hc1"), ("CNAME", 1, 15, "hc2"), ("CNAME", 1, 15, "hc3")]
    assert len({r["SetIdentifier"] for r in weighted}) == 3

    latency = routing_record_sets(validate({"regions": list(REGIONS), "routing_policy": "latency"}), targets)
    assert [r["Region"] for r in latency] == list(REGIONS)

    failover = routing_record_sets(validate({"regions": list(REGIONS), "routing_policy": "failover"}), targets)
    assert [(r["Failover"], r["ResourceRecords"][0]["Value"]) for r in failover] == [
        ("PRIMARY", targets["eu-west-1"][0]), ("SECONDARY", targets["eu-central-1"][0])]


def test_alias_records_point_at_the_regional_hosted_zone_and_evaluate_target_health():
    cfg = validate({"routing_policy": "weighted"})
    records = routing_record_sets(cfg, targets_for(cfg.regions, "x", {"eu-west-1": "hc1"}), record_type="A")
    assert records[0]["AliasTarget"] == {"HostedZoneId": "ZLOCALAPIGW", "DNSName": targets_for(cfg.regions, "x")["eu-west-1"][0],
                                         "EvaluateTargetHealth": True}
    assert "TTL" not in records[0] and records[0]["HealthCheckId"] == "hc1"


def test_targets_without_a_health_check_are_reported():
    with pytest.raises(LookupError, match="04_health_checks"):
        routing_targets({"eu-west-1": ("d-1", "Z"), "eu-central-1": ("d-2", "Z")}, {"eu-west-1": "hc1"})


def test_traffic_policy_document_is_valid_for_every_routing_policy():
    for policy in ("weighted", "latency", "failover"):
        cfg = validate({"regions": list(REGIONS), "routing_policy": policy})
        parse_document(__import__("json").dumps(traffic_policy_document(cfg, targets_for(REGIONS, "x", {"eu-west-1": "hc1"}))))


def test_region_is_read_from_api_gateway_names():
    assert region_of_name("d-abc.execute-api.eu-central-1.amazonaws.com.") == "eu-central-1"
    assert region_of_name("www.example.com") is None


# --------------------------------------------------------- on the local cloud
def test_weighted_records_spread_answers_over_the_regions(setup, unique):
    cfg, clients = setup(regions=list(REGIONS))
    targets = targets_for(REGIONS, unique)
    records = create_routing_records(cfg, clients, targets)
    assert sorted(records["set_identifier"]) == sorted(f"{cfg.stack_name}-{r}" for r in REGIONS)
    spread = resolve_many(cfg, n=60)
    assert set(spread["region"]) == set(REGIONS)
    assert spread["answers"].sum() == 60
    assert set(spread["address"]) == {ADDRESS[r] for r in REGIONS}


def test_routing_records_are_idempotent_and_replaced_when_the_policy_changes(setup, unique):
    cfg, clients = setup()
    targets = targets_for(cfg.regions, unique)
    first = create_routing_records(cfg, clients, targets)
    again = create_routing_records(cfg, clients, targets)
    assert first.equals(again)
    failover_cfg, _ = setup(routing_policy="failover")
    records = create_routing_records(failover_cfg, clients, targets)
    assert sorted(records["failover"]) == ["PRIMARY", "SECONDARY"] and records["weight"].isna().all()
    spread = resolve_many(failover_cfg, n=10)
    assert list(spread["region"]) == [cfg.regions[0]], "failover answers the primary while it is healthy"
    assert len(stack_records(cfg, clients)) == 2
    deleted = delete_routing_records(failover_cfg, clients)
    assert list(deleted["resource"]) == ["record", "record"] and routing_records(cfg, clients).empty
    assert stack_records(cfg, clients) == []
    assert delete_routing_records(failover_cfg, clients).empty, "deleting twice is fine"


def test_latency_records_answer_the_clients_region(setup, unique):
    cfg, clients = setup(routing_policy="latency", regions=list(REGIONS))
    create_routing_records(cfg, clients, targets_for(REGIONS, unique), record_type="A")
    for region in REGIONS:
        spread = resolve_many(cfg, n=3, targets=targets_for(REGIONS, unique), client_subnet=f"{ADDRESS[region]}/32")
        assert list(spread["region"]) == [region]
    answer = dns_answer(cfg, clients, client_subnet_ip=ADDRESS["eu-central-1"])
    assert answer.loc[0, "record_data"] == ADDRESS["eu-central-1"] and answer.loc[0, "response_code"] == "NOERROR"
    delete_routing_records(cfg, clients)


def test_test_dns_answer_shows_the_cname_of_a_routing_record(setup, unique):
    cfg, clients = setup(routing_policy="failover")
    targets = targets_for(cfg.regions, unique)
    create_routing_records(cfg, clients, targets)
    answer = dns_answer(cfg, clients, record_type="CNAME")
    assert answer.loc[0, "record_data"] == targets[cfg.regions[0]][0] + "."
    delete_routing_records(cfg, clients)


def test_traffic_policy_replaces_the_records_and_is_cleaned_up(setup, unique, capsys):
    cfg, clients = setup(routing_policy="failover", use_traffic_policy=True)
    targets = targets_for(cfg.regions, unique)
    create_routing_records(cfg, clients, targets)
    policy = create_traffic_policy(cfg, clients, targets)
    assert COST_WARNING in capsys.readouterr().out
    assert policy.loc[0, "version"] == 1 and policy.loc[0, "ttl"] == cfg.record_ttl
    records = routing_records(cfg, clients)
    assert list(records["policy"]) == ["traffic policy"], "the plain records made way for the policy record"
    assert list(resolve_many(cfg, n=5)["region"]) == [cfg.regions[0]]

    same = create_traffic_policy(cfg, clients, targets)
    assert same.loc[0, "version"] == 1 and same.loc[0, "instance_id"] == policy.loc[0, "instance_id"]
    latency_cfg, _ = setup(routing_policy="latency", use_traffic_policy=True)
    changed = create_traffic_policy(latency_cfg, clients, targets)
    assert changed.loc[0, "version"] == 2 and changed.loc[0, "instance_id"] == policy.loc[0, "instance_id"]

    assert len(stack_records(cfg, clients)) == 1 and len(stack_traffic_policies(cfg, clients)) == 2
    deleted = delete_routing_records(cfg, clients)
    assert list(deleted["resource"]) == ["traffic policy instance", "traffic policy", "traffic policy"]
    assert routing_records(cfg, clients).empty
    assert stack_records(cfg, clients) == [] and stack_traffic_policies(cfg, clients) == []
    assert delete_traffic_policy(cfg, clients).empty, "deleting twice is fine"
