"""The AWS code path: every build helper's control-plane calls against a PLAIN moto server.

No local data plane here (``LocalCloud(..., components=[])`` is moto behind the
dispatcher with no overrides), so what the runbook sends is exactly what
botocore validates and moto answers, as AWS would be sent it. What only the data
plane does (HTTP through the APIs, DNS, replication, health-check probes) is not
called; waits that would need it get short timeouts. Every call made is
recorded, and checked against the IAM policy ``helpers.aws_account`` prints.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from botocore.exceptions import EndpointConnectionError

from conftest import in_process_cloud
from helpers import apigateway, consistency_lab, domains, dynamodb, faults, healthchecks, lambdas, route53, stack, teardown
from helpers.aws_account import (AccountCheckFailed, check_account, cost_estimate, iam_action, policy_actions,
                                 required_policy)
from helpers.clients import Clients
from helpers.config import Config, validate
from helpers.setup import monthly_cost, plan

pytestmark = pytest.mark.slow  # several seconds a test: left out of make test-fast

ROOT = Path(__file__).resolve().parents[2]
ZONE = "example.com"


# moto 5.2 has no Route 53 traffic policy API (the local cloud adds it); botocore still validates these
# requests, and they are answered "none" here, as AWS answers an account without traffic policies.
MOTO_GAPS = {
    "ListTrafficPolicies": {"TrafficPolicySummaries": [], "IsTruncated": False, "TrafficPolicyIdMarker": "",
                            "MaxItems": "100"},
    "ListTrafficPolicyInstancesByHostedZone": {"TrafficPolicyInstances": [], "IsTruncated": False, "MaxItems": "100"},
}


class RecordingClients(Clients):
    """Clients that remember every operation sent: (service, operation, HTTP method)."""

    calls: set[tuple[str, str, str]]

    def client(self, service, region=None):
        client = super().client(service, region)
        if not getattr(client, "_recorded", False):
            def record(model, **_):
                self.calls.add((model.service_model.service_name, model.name, model.http.get("method", "")))
                if model.name in MOTO_GAPS:
                    return type("Answer", (), {"status_code": 200})(), dict(MOTO_GAPS[model.name])
                return None
            client.meta.events.register("before-call", record)
            client._recorded = True
        return client


@pytest.fixture(scope="module")
def plain_moto(tmp_path_factory):
    """An in-process moto server with no local-cloud components; ACM issues at once (its fixed wait set to 0)."""
    import moto.settings


    saved, moto.settings.ACM_VALIDATION_WAIT = moto.settings.ACM_VALIDATION_WAIT, 0
    try:
        with in_process_cloud(tmp_path_factory.mktemp("plain-moto"), time_scale=1.0) as cloud:
            yield cloud.controlplane.endpoint
    finally:
        moto.settings.ACM_VALIDATION_WAIT = saved


def aws_config(endpoint: str, **params) -> Config:
    """An AWS configuration (real time, an existing zone), sent to the plain moto server instead of AWS."""
    values = dict(backend="aws", acknowledge_costs=True, time_scale=1.0, hosted_zone=ZONE, domain_name=f"api.{ZONE}",
                  create_hosted_zone=False, stack_name="prod", table_name="prod-table")
    return dataclasses.replace(validate({**values, **params}), endpoint_url=endpoint)


@pytest.fixture(scope="module")
def user_zone(plain_moto):
    """The user's own public hosted zone, which the runbook must use and never delete."""
    route53_client = Clients(aws_config(plain_moto)).client("route53")
    return route53_client.create_hosted_zone(Name=ZONE, CallerReference="users-own-zone")["HostedZone"]["Id"]


def test_the_example_aws_parameters_are_valid():
    import yaml

    params = yaml.safe_load((ROOT / "parameters" / "aws.example.yaml").read_text())
    assert params["acknowledge_costs"] is False, "the example must not opt in on the reader's behalf"
    cfg = validate({**params, "acknowledge_costs": True})
    assert cfg.backend == "aws" and cfg.time_scale == 1.0 and not cfg.create_hosted_zone
    assert cfg.domain_name.endswith("." + cfg.hosted_zone)
    assert cfg.hold_s >= 10 * (cfg.health_check_failure_threshold * cfg.health_check_interval + cfg.record_ttl), \
        "on AWS the fault must last long enough for Route 53 to fail over"


def test_the_aws_backend_without_acknowledged_costs_is_refused_unless_dry_run():
    import yaml

    from helpers.config import ConfigError

    params = yaml.safe_load((ROOT / "parameters" / "aws.example.yaml").read_text())
    with pytest.raises(ConfigError, match="acknowledge_costs"):
        validate(params)
    assert validate({**params, "dry_run": True}).dry_run


def test_account_checks_pass_for_an_existing_public_zone(plain_moto, user_zone):
    cfg = aws_config(plain_moto)
    checks = check_account(cfg, Clients(cfg)).set_index("check")
    assert checks["ok"].all()
    assert checks.loc["account", "value"] == "123456789012" and "public" in checks.loc["hosted zone", "value"]
    assert set(cfg.regions) <= {c.removeprefix("region ") for c in checks.index}


def test_account_checks_reject_a_missing_or_private_zone(plain_moto):
    cfg = aws_config(plain_moto, hosted_zone="private.example", domain_name="api.private.example")
    clients = Clients(cfg)
    with pytest.raises(AccountCheckFailed, match="no public hosted zone private.example"):
        check_account(cfg, clients)
    clients.client("route53").create_hosted_zone(
        Name="private.example", CallerReference="private-zone", HostedZoneConfig={"PrivateZone": True},
        VPC={"VPCRegion": "eu-west-1", "VPCId": "vpc-12345678"})
    with pytest.raises(AccountCheckFailed, match="PRIVATE"):
        check_account(cfg, clients)


def test_account_checks_reject_a_region_the_account_has_not_enabled(plain_moto, user_zone):
    cfg = aws_config(plain_moto)
    clients = Clients(cfg)
    ec2 = clients.client("ec2")
    regions = {"Regions": [{"RegionName": cfg.regions[0], "OptInStatus": "opt-in-not-required"},
                           {"RegionName": cfg.regions[1], "OptInStatus": "not-opted-in"}]}
    ec2.meta.events.register("before-call.ec2.DescribeRegions",
                             lambda **_: (type("R", (), {"status_code": 200})(), regions))
    with pytest.raises(AccountCheckFailed, match=f"region {cfg.regions[1]} is not-opted-in"):
        check_account(cfg, clients)


def test_the_cost_estimate_counts_health_checks_their_traffic_and_the_options():
    fast = validate(dict(health_check_interval=10))
    slow = validate(dict(health_check_interval=30, create_hosted_zone=False))
    policy = validate(dict(use_traffic_policy=True))
    cost = {c: cost_estimate(c).set_index("item")["usd_per_month"] for c in (fast, slow, policy)}
    assert cost[fast]["Route 53 health checks"] == 2 * (0.75 + 2 * 2.00)
    assert cost[slow]["Route 53 health checks"] == 2 * (0.75 + 2.00)
    assert cost[fast]["health-check traffic"] == pytest.approx(3 * cost[slow]["health-check traffic"], rel=0.01)
    assert "Route 53 hosted zone" not in cost[slow] and cost[policy]["Route 53 traffic policy record"] == 50.0
    assert monthly_cost(plan(fast)) == 2 * (0.75 + 4.00) + 0.50


def test_every_build_helper_and_the_teardown_run_on_plain_moto(plain_moto, user_zone):
    """01 to 05 (control plane), the chaos faults Lambda offers, then teardown; the IAM policy covers every call."""
    cfg = aws_config(plain_moto)
    clients = RecordingClients(cfg)
    clients.calls = set()
    assert check_account(cfg, clients)["ok"].all()

    setup = dynamodb.create_global_table(cfg, clients, timeout=5)
    assert setup.created_table and setup.replicas_added == tuple(cfg.regions[1:])
    dynamodb.put_item(cfg, clients, {"item_id": "foobar", "message": "hello"})
    assert dynamodb.get_item(cfg, clients, "foobar")["message"] == "hello"
    assert dynamodb.describe_global_table(cfg, clients).loc[0, "table_status"] == "ACTIVE"

    functions = lambdas.deploy_functions(cfg, clients, timeout=10)
    assert (functions["action"] == "created").all()
    apis = apigateway.deploy_regional_apis(cfg, clients)
    assert apis["created_api"].all() and apis["deployment_id"].notna().all()
    assert len(apigateway.describe_regional_apis(cfg, clients)) == len(cfg.regions) * len(apigateway.ROUTES)
    again = apigateway.deploy_regional_apis(cfg, clients)
    assert not again["created_api"].any() and again["deployment_id"].isna().all()

    zone = domains.ensure_hosted_zone(cfg, clients)
    assert zone.id == user_zone.rsplit("/", 1)[-1] and not zone.created_by_runbook
    domains.request_certificates(cfg, clients, timeout=5)
    assert (domains.wait_for_certificates(cfg, clients, timeout=5)["status"] == "ISSUED").all()
    custom = domains.create_custom_domains(cfg, clients)
    assert custom["created"].all() and (custom["base_path_mapping"] == "created").all()
    targets = domains.custom_domain_targets(cfg, clients)

    checks = healthchecks.create_health_checks(cfg, clients)
    assert (checks["action"] == "created").all()
    assert (healthchecks.create_health_checks(cfg, clients)["action"] == "unchanged").all()
    healthchecks.health_summary(cfg, clients)
    healthchecks.health_check_metric(cfg, clients)

    routing = route53.routing_targets(targets, healthchecks.health_check_ids(cfg, clients))
    records = route53.create_routing_records(cfg, clients, routing)
    assert len(records) == len(cfg.regions) and records["health_check_id"].notna().all()

    for fault in ("health_status", "lambda_throttle"):
        injected = faults.inject(dataclasses.replace(cfg, fault=fault), clients)
        faults.restore(dataclasses.replace(cfg, fault=fault), clients, injected)

    consistency_lab.create_lab_tables(cfg, clients)  # 07: plain moto keeps the consistency mode inert

    # 00's plan named what was built: every planned (region, name) is in the inventory of what exists.
    built = {(row.region, row.resource.split(" ", 1)[1]) for row in teardown.inventory(cfg, clients).itertuples()}
    built |= {(region, t["Value"]) for region, check_id in healthchecks.health_check_ids(cfg, clients).items()
              for t in clients.client("route53").list_tags_for_resource(ResourceType="healthcheck", ResourceId=check_id)
              ["ResourceTagSet"]["Tags"] if t["Key"] == "Name"}
    planned = plan(cfg)
    checked = planned["resource"].str.contains("Lambda function|IAM role|health check") | (
        planned["resource"].str.contains("replica table") & (planned["region"] == cfg.primary_region))  # plain moto makes no replicas
    for row in planned[checked].itertuples():
        assert (row.region, row.name) in built, f"the plan names {row.name!r} in {row.region}, which the runbook did not build"

    report = teardown.teardown(cfg, clients)
    assert report["ok"].all(), report.to_dict("records")
    assert set(zip(report["step"], report["region"])) == {
        (kind.name, region) for kind in stack.STACK for region in kind.regions(cfg)}, "every kind, in each of its regions"
    assert teardown.inventory(cfg, clients).empty
    assert domains.find_hosted_zone(cfg, clients) is not None, "the user's hosted zone must survive teardown"

    allowed = policy_actions(required_policy(cfg))
    needed = {iam_action(service, operation, method) for service, operation, method in clients.calls} - {"sts:GetCallerIdentity"}
    assert needed <= allowed, f"the printed IAM policy misses {sorted(needed - allowed)}"


def _build_to_health_checks(cfg, clients):
    """The stack's table, functions, APIs and health checks (steps 01, 02 and 04), recording the calls made."""
    clients.calls = set()
    dynamodb.create_global_table(cfg, clients, timeout=5)
    lambdas.deploy_functions(cfg, clients, timeout=10)
    apigateway.deploy_regional_apis(cfg, clients)
    healthchecks.create_health_checks(cfg, clients)
    return clients


def test_teardown_leaves_another_stack_in_the_same_account_alone(plain_moto, user_zone):
    ours = aws_config(plain_moto, stack_name="shop", table_name="shop-table", domain_name=f"shop.{ZONE}")
    theirs = aws_config(plain_moto, stack_name="shop-blue", table_name="shop-blue-table", domain_name=f"blue.{ZONE}")
    for cfg in (theirs, ours):
        _build_to_health_checks(cfg, RecordingClients(cfg))
    def clients(cfg):
        made = RecordingClients(cfg)
        made.calls = set()
        return made

    before = teardown.inventory(theirs, clients(theirs))

    report = teardown.teardown(ours, clients(ours))

    assert report["ok"].all(), report.to_dict("records")
    assert teardown.inventory(ours, clients(ours)).empty
    after = teardown.inventory(theirs, clients(theirs))
    assert sorted(map(tuple, after.values)) == sorted(map(tuple, before.values)), "another stack must survive"
    assert {"dynamodb", "lambda", "apigateway", "route53", "iam"} <= set(after["service"])
    teardown.teardown(theirs, clients(theirs))



def test_the_policy_file_the_readme_links_is_the_one_the_code_generates():
    import json

    from helpers.aws_account import POLICY_EXAMPLE, POLICY_FILE, policy_json

    assert "(docs/iam-policy.json)" in (ROOT / "README.md").read_text()
    params = yaml.safe_load(POLICY_EXAMPLE.read_text())
    expected = required_policy(validate({**params, "acknowledge_costs": True}), account="ACCOUNT_ID")
    assert POLICY_FILE.read_text() == policy_json(expected), \
        "regenerate: .venv/bin/python -m helpers.aws_account --account ACCOUNT_ID --output docs/iam-policy.json"
    # IAM refuses a managed policy over 6,144 characters, whitespace not counted.
    assert len(json.dumps(json.loads(POLICY_FILE.read_text()), separators=(",", ":"))) <= 6144


def test_the_policy_scopes_rest_apis_and_the_fis_roles_table_to_the_stack(plain_moto):
    cfg = aws_config(plain_moto, regions=["cn-north-1", "cn-northwest-1"],
                     consistency_lab=False)  # MRSC is offered in no China Region
    policy = {s["Sid"]: s for s in required_policy(cfg, account="123456789012")["Statement"]}
    stack_apis = policy["StackRestApis"]
    assert "apigateway:DELETE" in stack_apis["Action"]
    assert stack_apis["Condition"] == {"StringEquals": {"aws:ResourceTag/runbook:stack": "prod"}}
    assert policy["CreateStackRestApis"]["Condition"] == {"StringEquals": {"aws:RequestTag/runbook:stack": "prod"}}
    unscoped = [s for s in policy.values() if s["Resource"] == "*"]
    assert not any(a.startswith("apigateway:") for s in unscoped for a in s["Action"])
    every_arn = [arn for s in policy.values() for arn in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])]
    assert all(arn.startswith("arn:aws-cn:") for arn in every_arn if arn != "*"), "ARNs in the regions' partition"


def test_the_fis_role_may_pause_only_this_accounts_table(plain_moto):
    import json

    cfg = aws_config(plain_moto)
    clients = Clients(cfg)
    role_arn = faults.ensure_fis_role(cfg, clients)
    account = role_arn.split(":")[4]
    document = clients.client("iam").get_role_policy(RoleName=faults.fis_role_name(cfg), PolicyName="pause-replication")
    statement = json.loads(document["PolicyDocument"]) if isinstance(document["PolicyDocument"], str) else document["PolicyDocument"]
    assert statement["Statement"][0]["Resource"] == [
        f"arn:aws:dynamodb:{region}:{account}:table/{name}"
        for name in (cfg.table_name, f"{cfg.table_name}-lab-*") for region in cfg.regions], "the stack's and its lab's"
    lambdas.delete_iam_role(clients, faults.fis_role_name(cfg))


def test_a_table_of_the_same_name_that_is_not_the_stacks_is_neither_used_nor_deleted(plain_moto):
    cfg = aws_config(plain_moto, stack_name="orders", table_name="orders", domain_name=f"orders.{ZONE}")
    clients = Clients(cfg)
    clients.client("dynamodb").create_table(
        TableName="orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    with pytest.raises(RuntimeError, match="not this stack's"):
        dynamodb.create_global_table(cfg, clients, timeout=5)
    kept = dynamodb.delete_global_table(cfg, clients, timeout=5)
    assert kept.set_index("region")["action"][cfg.primary_region].startswith("kept: not tagged")
    assert "orders" in clients.client("dynamodb").list_tables()["TableNames"]
    recording = RecordingClients(cfg)
    recording.calls = set()
    assert "dynamodb" not in set(teardown.inventory(cfg, recording)["service"]), "not ours, so not left over by us"
    clients.client("dynamodb").delete_table(TableName="orders")


def test_a_custom_domain_of_the_same_name_that_is_not_the_stacks_is_neither_listed_nor_deleted(plain_moto):
    cfg = aws_config(plain_moto, stack_name="pay", table_name="pay-table", domain_name=f"pay.{ZONE}")
    clients = RecordingClients(cfg)  # it answers for the APIs plain moto lacks (traffic policies)
    clients.calls = set()
    region = cfg.regions[0]
    apigw = clients.client("apigateway", region)
    apigw.create_domain_name(domainName=cfg.domain_name, endpointConfiguration={"types": ["REGIONAL"]},
                             regionalCertificateArn=f"arn:aws:acm:{region}:123456789012:certificate/theirs",
                             tags={"runbook:stack": "someone-else"})
    try:
        assert "apigateway" not in set(teardown.inventory(cfg, clients)["service"]), "not ours, so not left over by us"
        assert domains.delete_custom_domains(cfg, clients).loc[region, "reason"] == "not created by this stack"
        assert apigw.get_domain_name(domainName=cfg.domain_name)["domainName"] == cfg.domain_name
    finally:
        apigw.delete_domain_name(domainName=cfg.domain_name)


def test_teardown_with_one_regions_api_failing_deletes_the_rest_and_names_what_is_left(plain_moto, user_zone):
    cfg = aws_config(plain_moto, stack_name="half", table_name="half-table", domain_name=f"half.{ZONE}")
    broken_region = cfg.regions[1]

    class OneRegionDown(RecordingClients):
        """FIS, Lambda and DynamoDB in one region cannot be reached (as an unknown or failing endpoint)."""

        def client(self, service, region=None):
            client = super().client(service, region)
            if service in ("fis", "lambda", "dynamodb") and (region or cfg.primary_region) == broken_region \
                    and not getattr(client, "_broken", False):
                def fail(model, **_):
                    raise EndpointConnectionError(endpoint_url=f"https://{service}.{broken_region}.amazonaws.com")
                client.meta.events.register("before-call", fail)
                client._broken = True
            return client

    healthy = _build_to_health_checks(cfg, RecordingClients(cfg))
    down = OneRegionDown(cfg)
    down.calls = set()

    steps = teardown.teardown(cfg, down)
    left = teardown.inventory(cfg, down)

    failed = steps[~steps["ok"]]
    assert set(failed["region"]) == {broken_region, "global"}, failed.to_dict("records")
    assert set(failed.loc[failed["region"] == "global", "step"]) == {"global table (replicas, then the table)"}
    assert {"FIS experiment templates", "Lambda functions"} <= set(failed["step"])
    # Everything outside the broken services of that region is gone: the role, the health checks, the other
    # region's functions and APIs, and the table where DynamoDB answers.
    assert not dynamodb.is_stack_table(cfg, healthy, cfg.primary_region), "the reachable table is deleted"
    assert set(left["region"]) <= {broken_region, "global"}, left.to_dict("records")
    assert set(left["service"]) <= {"fis", "lambda", "apigateway", "dynamodb"}, left.to_dict("records")
    report = teardown.what_is_left(cfg, steps, left)
    assert f"could not delete Lambda functions in {broken_region}: EndpointConnectionError" in report
    assert f"{broken_region}: not reached: EndpointConnectionError" in report, "the table's row names the region"
    assert f"FIS experiment templates: not listed (EndpointConnectionError: Could not connect to the endpoint URL: \"https://fis.{broken_region}" in report

    again = teardown.teardown(cfg, healthy)  # once the region answers again, a re-run finishes the job
    assert again["ok"].all(), again.to_dict("records")
    assert teardown.inventory(cfg, healthy).empty


def test_the_labs_isolation_is_awss_pause_replication_action_on_both_lab_tables(plain_moto):
    """On AWS the lab's partition phase is FIS's pause-replication action, which the DynamoDB guide documents as
    Region isolation for MREC and MRSC tables; one experiment targets both lab tables' replicas in the Region."""
    import json

    cfg = aws_config(plain_moto)
    clients = RecordingClients(cfg)
    clients.calls = set()
    tables = consistency_lab.lab_tables(cfg)
    region = cfg.regions[-1]
    for name in tables.values():
        clients.client("dynamodb", region).create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    isolation = dataclasses.replace(cfg, fault=consistency_lab.ISOLATION_FAULT, faulty_region=region)
    with faults.injected_fault(isolation, clients, tables=tuple(tables.values())) as held:
        fis = clients.client("fis", region)
        template = fis.get_experiment_template(id=held.template_id)["experimentTemplate"]
        (action,) = template["actions"].values()
        assert action["actionId"] == "aws:dynamodb:global-table-pause-replication"
        target = template["targets"][action["targets"]["Tables"]]
        assert target["resourceType"] == "aws:dynamodb:global-table"
        assert sorted(arn.rsplit("/", 1)[1] for arn in target["resourceArns"]) == sorted(tables.values())
        assert all(f":dynamodb:{region}:" in arn for arn in target["resourceArns"]), "the isolated Region's replicas"
        assert faults.read_fault_record(isolation).tables == list(tables.values()), "recorded for a leftover undo"
    role = clients.client("iam").get_role_policy(RoleName=faults.fis_role_name(cfg), PolicyName="pause-replication")
    document = role["PolicyDocument"] if isinstance(role["PolicyDocument"], dict) else json.loads(role["PolicyDocument"])
    allowed = document["Statement"][0]["Resource"]
    assert any(arn.endswith(f":table/{cfg.table_name}-lab-*") and f":{region}:" in arn for arn in allowed), \
        "FIS may pause (and, when it ends, un-pause) the lab tables"
    assert faults.read_fault_record(isolation) is None, "undone when the block is left"
    needed = {iam_action(service, operation, method) for service, operation, method in clients.calls}
    needed -= {"dynamodb:CreateTable", "iam:GetRolePolicy"}  # this test's own arrangement and check
    allowed = policy_actions(required_policy(cfg))
    assert needed <= allowed, f"the printed IAM policy misses {sorted(needed - allowed)}"
    lambdas.delete_iam_role(clients, faults.fis_role_name(cfg))
