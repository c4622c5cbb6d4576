"""Dry run: one boundary (boto3 and the project's HTTP client) records every change and makes none."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import apigateway, domains, dynamodb, healthchecks, lambdas
from helpers.clients import Clients, HttpClient, resolve
from helpers.dryrun import CALLS_FILE, PRETEND_ADDRESS, is_read_only
from tests.conftest import make_config

pytestmark = pytest.mark.slow  # several seconds a test: left out of make test-fast

BUILD_OPERATIONS = {
    ("dynamodb", "CreateTable"), ("dynamodb", "UpdateTable"), ("iam", "CreateRole"), ("iam", "PutRolePolicy"),
    ("lambda", "CreateFunction"), ("lambda", "AddPermission"), ("apigateway", "CreateRestApi"),
    ("apigateway", "CreateResource"), ("apigateway", "PutIntegration"), ("apigateway", "CreateDeployment"),
    ("acm", "RequestCertificate"), ("apigateway", "CreateDomainName"), ("apigateway", "CreateBasePathMapping"),
    ("route53", "CreateHostedZone"), ("route53", "CreateHealthCheck"), ("route53", "ChangeResourceRecordSets"),
}


@pytest.fixture
def dry(localcloud_status, unique, tmp_path):
    """A dry-run config of a fresh stack on the session's local cloud, with its own run directory."""
    return make_config(localcloud_status, dry_run=True, stack_name=f"d{unique}", table_name=f"dry-{unique}",
                       hosted_zone=f"d{unique}.test", domain_name=f"api.d{unique}.test", run_dir=str(tmp_path))


def nothing_of(cfg, clients: Clients) -> dict[str, list]:
    """Everything of the stack that exists in the local cloud, asked without the dry run's hooks."""
    found: dict[str, list] = {}
    for region in cfg.regions:
        found[f"tables {region}"] = [t for t in clients.client("dynamodb", region).list_tables()["TableNames"]
                                     if t == cfg.table_name]
        found[f"functions {region}"] = [f["FunctionName"] for f in clients.client("lambda", region).list_functions()["Functions"]
                                        if f["FunctionName"].startswith(cfg.stack_name + "-")]
        found[f"apis {region}"] = [a["name"] for a in clients.client("apigateway", region).get_rest_apis()["items"]
                                   if a["name"].startswith(cfg.stack_name + "-")]
        found[f"domains {region}"] = [d["domainName"] for d in clients.client("apigateway", region).get_domain_names()["items"]
                                      if d["domainName"] == cfg.domain_name]
        found[f"certificates {region}"] = [c["DomainName"] for c in clients.client("acm", region).list_certificates()["CertificateSummaryList"]
                                           if c["DomainName"] == cfg.domain_name]
    route53 = clients.client("route53")
    found["zones"] = [z["Name"] for z in route53.list_hosted_zones()["HostedZones"] if z["Name"] == cfg.hosted_zone + "."]
    found["health checks"] = [h["Id"] for h in route53.list_health_checks()["HealthChecks"]
                              if h["CallerReference"].startswith(cfg.stack_name + "-")]
    found["roles"] = [r["RoleName"] for r in clients.client("iam").list_roles()["Roles"]
                      if r["RoleName"].startswith(cfg.stack_name + "-")]
    return {k: v for k, v in found.items() if v}


def test_operations_are_read_only_by_their_names():
    assert all(is_read_only(op) for op in ("DescribeTable", "GetRole", "ListHealthChecks", "TestDNSAnswer", "Scan"))
    assert not any(is_read_only(op) for op in ("CreateTable", "PutItem", "UpdateTable", "ChangeResourceRecordSets",
                                               "AddPermission", "Invoke", "DeleteTable", "TagResource"))


def test_a_helper_with_no_dry_run_code_changes_nothing_and_every_change_is_listed(dry, localcloud_status):
    from helpers.waiting import wait_until

    def build_a_table(clients: Clients) -> dict:  # a new helper that knows nothing of dry runs
        ddb = clients.client("dynamodb", dry.primary_region)
        ddb.create_table(TableName=dry.table_name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        wait_until("the table to be ACTIVE", lambda: (
            (status := ddb.describe_table(TableName=dry.table_name)["Table"]["TableStatus"]) == "ACTIVE", status), 5)
        ddb.put_item(TableName=dry.table_name, Item={"pk": {"S": "a"}, "n": {"N": "1"}})
        clients.client("iam").create_role(RoleName=f"{dry.stack_name}-role", AssumeRolePolicyDocument="{}")
        return ddb.get_item(TableName=dry.table_name, Key={"pk": {"S": "a"}}, ConsistentRead=True)

    clients = Clients(dry)
    got = build_a_table(clients)

    assert got["Item"] == {"pk": {"S": "a"}, "n": {"N": "1"}}, "a read sees what the recorded write would have done"
    calls = clients.dry_run.frame()
    assert list(zip(calls["service"], calls["operation"])) == [
        ("dynamodb", "CreateTable"), ("dynamodb", "PutItem"), ("iam", "CreateRole")]
    assert set(calls["step"]) == {"build_a_table"}, "the report names the function that made the calls"
    assert nothing_of(dry, Clients(make_config(localcloud_status))) == {}


def test_an_attribute_error_in_a_dry_run_is_an_attribute_error(dry):
    from helpers import dynamodb as module

    with pytest.raises(AttributeError):
        module.create_global_table(dry, Clients(dry)).no_such_field


def test_a_mutating_call_is_recorded_and_never_sent(dry, localcloud_status):
    clients = Clients(dry)
    setup = dynamodb.create_global_table(dry, clients)
    assert setup.created_table and setup.replicas_added == tuple(dry.regions[1:])
    calls = clients.dry_run.frame()
    # DynamoDB does not copy a table's tags to a new replica: the replica is tagged on its own
    assert list(calls["operation"]) == ["CreateTable", "UpdateTable", "TagResource"]
    assert calls.loc[2, "region"] == dry.regions[1]
    assert calls.loc[0, "region"] == dry.primary_region and "TableName=" + dry.table_name in calls.loc[0, "arguments"]
    assert set(calls["step"]) == {"create_global_table"}
    assert nothing_of(dry, Clients(make_config(localcloud_status))) == {}


def test_waits_for_what_the_dry_run_would_have_created_end_at_once(dry):
    import time

    clients = Clients(dry)
    dynamodb.create_global_table(dry, clients)
    started = time.monotonic()
    replicas = dynamodb.wait_for_replicas(dry, clients, timeout=10)
    assert set(replicas["region"]) == set(dry.regions) and (replicas["replica_status"] == "ACTIVE").all(), replicas
    dynamodb.put_item(dry, clients, {"item_id": "foobar"})
    read = dynamodb.read_in_every_region(dry, clients, "foobar", timeout=10)
    assert list(read["region"]) == list(dry.regions), "a would-be item is read in every replica, as a global table replicates it"
    assert dynamodb.get_item(dry, clients, "never-written") is None
    lag = dynamodb.measure_replication_lag(dry, clients, samples=2, timeout=10)
    assert len(lag) == 2 * (len(dry.regions) - 1)
    assert time.monotonic() - started < 10, "no wait polled until its timeout"


def test_names_only_the_dry_run_would_have_created_resolve_to_an_address_nothing_is_sent_to(dry):
    domains.ensure_hosted_zone(dry, Clients(dry))
    with pytest.raises(LookupError):
        resolve(dry, f"nothing.{dry.hosted_zone}")  # a name no recorded change names does not resolve
    lambdas.deploy_functions(dry, Clients(dry))
    apis = apigateway.deploy_regional_apis(dry, Clients(dry))
    host = apis["endpoint"].iloc[0].split("/")[2].split(":")[0]
    answer = resolve(dry, host)
    assert answer.would_be and answer.addresses == (PRETEND_ADDRESS,)
    response = HttpClient(dry).request("GET", f"https://{host}:{dry.api_port}/health")
    assert response.status == 200 and response.address == "" and "dry_run" in response.extra


def test_later_notebooks_see_what_earlier_ones_would_have_created(dry):
    lambdas.deploy_functions(dry, Clients(dry))
    apis = apigateway.deploy_regional_apis(dry, Clients(dry))  # a new Clients: as in the next notebook's kernel
    assert set(apis.index) == set(dry.regions) and apis["created_api"].all()
    checks = healthchecks.create_health_checks(dry, Clients(dry))
    assert (checks["action"] == "created").all()
    assert healthchecks.wait_until_healthy(dry, Clients(dry))["healthy"].all(), "a new health check starts healthy"


@pytest.mark.notebook
def test_dry_run_of_the_build_notebooks_lists_the_calls_and_creates_nothing(dry, localcloud_status, tmp_path):
    import yaml

    from helpers.runner import run
    from tests.conftest import PROJECT_ROOT

    out, overrides = tmp_path / "run", tmp_path / "dry.yaml"
    overrides.write_text(yaml.safe_dump({k: v for k, v in dry.public_params().items() if k != "run_dir"}))
    said: list[str] = []
    result = run([PROJECT_ROOT / "parameters" / "local.yaml", overrides], out=out, echo=lambda *a, **k: said.append(str(a)))
    assert result.ok, [(n.name, n.error) for n in result.notebooks]
    ran = [n.name for n in result.notebooks]
    assert "06_chaos" not in ran and ran[-1] == "08_teardown", "a dry run plans the build and the teardown, not the chaos"
    assert any("not running 06_chaos" in line for line in said)
    calls = pd.read_csv(out / CALLS_FILE)
    recorded = set(zip(calls["service"], calls["operation"]))
    assert BUILD_OPERATIONS <= recorded, f"missing: {BUILD_OPERATIONS - recorded}"
    assert not any(is_read_only(op) for op in calls["operation"])
    assert set(calls["region"]) <= {*dry.regions, "global"}
    assert nothing_of(dry, Clients(make_config(localcloud_status))) == {}
    assert domains.find_hosted_zone(dry, Clients(make_config(localcloud_status, hosted_zone=dry.hosted_zone,
                                                             domain_name=dry.domain_name))) is None


def test_traffic_policy_routing_is_planned_and_never_created(localcloud_status, unique, tmp_path):
    import dataclasses

    from helpers import route53

    dry = make_config(localcloud_status, dry_run=True, use_traffic_policy=True, stack_name=f"p{unique}",
                      table_name=f"dry-{unique}", hosted_zone=f"p{unique}.test", domain_name=f"api.p{unique}.test",
                      run_dir=str(tmp_path))
    clients = Clients(dry)
    lambdas.deploy_functions(dry, clients)
    apigateway.deploy_regional_apis(dry, clients)
    domains.ensure_hosted_zone(dry, clients)
    domains.request_certificates(dry, clients)
    domains.create_custom_domains(dry, clients)
    healthchecks.create_health_checks(dry, clients)
    targets = route53.routing_targets(domains.custom_domain_targets(dry, clients), healthchecks.health_check_ids(dry, clients))
    assert set(targets) == set(dry.regions), "the routing sees the domains and checks the dry run would have created"

    earlier = len(clients.dry_run.calls)
    route53.apply_routing(dry, clients, targets)

    planned = clients.dry_run.frame().iloc[earlier:]
    assert {"CreateTrafficPolicy", "CreateTrafficPolicyInstance"} <= set(planned["operation"]), planned
    assert "ChangeResourceRecordSets" not in set(planned["operation"]), "a traffic policy replaces the routing records"
    real = Clients(make_config(localcloud_status))
    assert route53.stack_traffic_policies(dataclasses.replace(dry, dry_run=False), real) == []
    assert nothing_of(dry, real) == {}


def test_teardown_of_a_real_stack_in_a_dry_run_records_the_deletions_and_deletes_nothing(cfg, localcloud_status, tmp_path):
    import dataclasses

    from helpers import teardown

    dynamodb.create_global_table(cfg, Clients(cfg))
    lambdas.deploy_functions(cfg, Clients(cfg))
    before = teardown.inventory(cfg, Clients(cfg))
    dry = dataclasses.replace(cfg, dry_run=True, run_dir=str(tmp_path))
    clients = Clients(dry)

    steps = teardown.teardown(dry, clients)

    assert steps["ok"].all(), steps.to_dict("records")  # the waits for the table to go saw it gone: no timeout
    recorded = set(clients.dry_run.frame()["operation"])
    assert {"DeleteFunction", "DeleteRole", "UpdateTable", "DeleteTable"} <= recorded
    steps_recorded = set(clients.dry_run.frame()["step"])  # the report names the helper that made each call
    assert {"delete_functions", "delete_iam_role", "delete_global_table"} <= steps_recorded, steps_recorded
    assert teardown.inventory(cfg, Clients(cfg)).equals(before), "a dry run deletes nothing"
    teardown.teardown(cfg, Clients(cfg))


def test_the_chaos_experiment_refuses_a_dry_run_with_a_reason(dry):
    from helpers import chaos

    with pytest.raises(ValueError, match="has no dry run"):
        chaos.run_experiment(dry, Clients(dry), progress=False)


def _item_counts(cfg, clients: Clients) -> dict[str, int]:
    return {region: clients.client("dynamodb", region).scan(TableName=cfg.table_name, Select="COUNT")["Count"]
            for region in cfg.regions}


def _backend_with_item_counts(cfg):
    """The table, functions and APIs of steps 01 and 02, answering; the items each replica holds then."""
    dynamodb.create_global_table(cfg, Clients(cfg))
    lambdas.deploy_functions(cfg, Clients(cfg))
    apigateway.deploy_regional_apis(cfg, Clients(cfg))
    apigateway.wait_for_endpoints(cfg, Clients(cfg))
    return _item_counts(cfg, Clients(cfg))


def test_a_post_through_the_http_client_is_recorded_and_never_sent(cfg, tmp_path):
    import dataclasses

    before = _backend_with_item_counts(cfg)
    dry = dataclasses.replace(cfg, dry_run=True, run_dir=str(tmp_path))
    clients = Clients(dry)

    got = apigateway.get_item_everywhere(dry, clients, "nothing-here", http=HttpClient(dry))  # GETs are sent
    posted = apigateway.post_items_everywhere(dry, clients, per_region=2, http=HttpClient(dry))

    assert (got["status"] == 404).all() and (got["address"] != "").all(), "a GET reaches the real API"
    assert (posted["address"] == "").all(), "no POST was sent"
    assert _item_counts(cfg, Clients(cfg)) == before
    calls = clients.dry_run.frame()
    assert list(calls["operation"]) == ["POST"] * 2 * len(cfg.regions)
    assert set(calls["service"]) == {"https"} and set(calls["region"]) == set(cfg.regions)
    assert set(calls["step"]) == {"post_items_everywhere"}
    from helpers import teardown
    teardown.teardown(cfg, Clients(cfg))


@pytest.mark.notebook
def test_dry_run_against_an_existing_stack_writes_no_item_and_lists_the_http_calls_it_skipped(cfg, tmp_path):
    """01 and 02 write items (replication probes, POSTs through the API): in a dry run none is written."""
    import yaml

    from helpers.runner import run
    from tests.conftest import PROJECT_ROOT

    before = _backend_with_item_counts(cfg)
    out, overrides = tmp_path / "run", tmp_path / "dry.yaml"
    overrides.write_text(yaml.safe_dump({**{k: v for k, v in cfg.public_params().items() if k != "run_dir"},
                                         "dry_run": True}))

    result = run([PROJECT_ROOT / "parameters" / "local.yaml", overrides], notebooks=["01", "02"], out=out,
                 echo=lambda *a, **k: None)

    assert result.ok, [(n.name, n.error) for n in result.notebooks]
    assert _item_counts(cfg, Clients(cfg)) == before, "a dry run writes no item"
    calls = pd.read_csv(out / CALLS_FILE)
    posts = calls[calls["service"] == "https"]
    assert len(posts) == 2 * len(cfg.regions) and set(posts["operation"]) == {"POST"}, calls
    assert {"PutItem", "DeleteItem"} <= set(calls["operation"]), "the replication probes are listed, not written"
    from helpers import teardown
    teardown.teardown(cfg, Clients(cfg))
