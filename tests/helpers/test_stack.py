"""The stack as one ordered list: every kind answers the four questions, and plan, inventory, teardown and
IAM policy are derived from ``helpers.stack.STACK`` and nothing else."""

from __future__ import annotations

import dataclasses

import pytest

from helpers import aws_account, setup, stack, teardown
from helpers.consistency_lab import mrsc_layout
from helpers.config import ConfigError, validate
from helpers.resource_kind import GLOBAL, Found, IamScope, Planned, ResourceKind, partition


@pytest.fixture
def cfg():
    return validate(dict(regions=["eu-west-1", "eu-central-1"], use_traffic_policy=True, fault="replication_pause"))


def test_every_kind_answers_all_four_questions(cfg):
    scope = IamScope(account="123456789012", hosted_zone_id="Z1", partition=partition(cfg))
    assert len({kind.name for kind in stack.STACK}) == len(stack.STACK), "one entry per kind"
    for kind in stack.STACK:
        assert isinstance(kind, ResourceKind)
        assert callable(kind.inventory) and callable(kind.delete), kind.name
        planned = kind.plan(cfg)
        assert planned and all(isinstance(row, Planned) for row in planned), f"{kind.name} plans nothing here"
        witness = mrsc_layout(cfg.regions)[1]  # the consistency lab's MRSC witness lives outside the configured regions
        assert {row.region for row in planned} <= {*cfg.regions, GLOBAL, witness}
        statements = kind.iam_statements(cfg, scope)
        assert statements, f"{kind.name} names no IAM statement for its calls"
        for statement in statements:
            assert statement["Effect"] == "Allow" and statement["Action"] and statement["Resource"], (kind.name, statement)
        assert kind.regions(cfg) == (tuple(cfg.regions) if kind.regional else (GLOBAL,))


def _fake_kind(name: str, calls: list[tuple[str, str]]) -> ResourceKind:
    def delete(cfg, clients, region):
        calls.append((name, region))
        return [f"{name} in {region}"]

    return ResourceKind(
        name, "fake", regional=True,
        plan=lambda cfg: [Planned("09", region, "fake thing", f"{cfg.stack_name}-{name}", 1.25) for region in cfg.regions],
        inventory=lambda cfg, clients, region: [Found("fake", region, f"{name} {region}")],
        delete=delete,
        iam_statements=lambda cfg, scope: [{"Sid": f"Fake{name.title()}", "Effect": "Allow", "Action": [f"fake:Delete{name.title()}"],
                                            "Resource": scope.arn("fake", "*", f"{cfg.stack_name}-{name}")}],
    )


def test_plan_inventory_teardown_and_policy_follow_the_one_list(cfg, monkeypatch):
    calls: list[tuple[str, str]] = []
    first, second = _fake_kind("first", calls), _fake_kind("second", calls)
    monkeypatch.setattr(stack, "STACK", (first, second))

    planned = setup.plan(cfg)
    assert list(planned["name"]) == ["mraa-first", "mraa-first", "mraa-second", "mraa-second"]
    assert setup.monthly_cost(planned) == 4 * 1.25

    found = teardown.inventory(cfg, clients=None)
    assert list(found["resource"]) == ["first eu-west-1", "first eu-central-1", "second eu-west-1", "second eu-central-1"]

    steps = teardown.teardown(cfg, clients=None)
    assert calls == [("second", "eu-west-1"), ("second", "eu-central-1"), ("first", "eu-west-1"), ("first", "eu-central-1")], \
        "the teardown deletes in reverse order, every kind in every region"
    assert steps["ok"].all() and list(steps["detail"]) == ["1 deleted"] * 4

    sids = [s["Sid"] for s in aws_account.required_policy(cfg)["Statement"]]
    assert sids == ["CallsIamCannotScope", "FakeFirst", "FakeSecond"]


def test_a_new_kind_is_one_line_in_the_stack(cfg, monkeypatch):
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(stack, "STACK", (*stack.STACK, _fake_kind("extra", calls)))
    assert "mraa-extra" in set(setup.plan(cfg)["name"])
    assert "FakeExtra" in {s["Sid"] for s in aws_account.required_policy(cfg)["Statement"]}


def test_a_failing_kind_is_recorded_and_the_others_still_run(cfg, monkeypatch):
    calls: list[tuple[str, str]] = []

    def broken(cfg, clients, region):
        if region == "eu-central-1":
            raise ConnectionError(f"fis.{region}.amazonaws.com is unreachable")
        calls.append(("broken", region))

    failing = dataclasses.replace(_fake_kind("broken", calls), delete=broken, inventory=broken)
    monkeypatch.setattr(stack, "STACK", (_fake_kind("kept", calls), failing))

    steps = teardown.teardown(cfg, clients=None)
    left = teardown.inventory(cfg, clients=None)

    assert ("kept", "eu-west-1") in calls and ("kept", "eu-central-1") in calls, "a failure stops no other kind"
    assert ("broken", "eu-west-1") in calls, "nor the same kind in another region"
    failed = steps[~steps["ok"]]
    assert list(zip(failed["step"], failed["region"])) == [("broken", "eu-central-1")]
    assert "unreachable" in failed["detail"].iloc[0]
    report = teardown.what_is_left(cfg, steps, left)
    assert "could not delete broken in eu-central-1: ConnectionError" in report
    assert "broken: not listed (ConnectionError" in report, "a kind that cannot be listed is not reported gone"


def test_the_stack_is_in_dependency_order():
    names = [kind.name for kind in stack.STACK]
    before = [("hosted zone (only if the runbook created it)", "certificates"),
              ("global table (replicas, then the table)", "Lambda functions"),
              ("Lambda role", "Lambda functions"),
              ("Lambda log groups", "Lambda functions"),  # deleted after the functions, which would recreate them
              ("Lambda functions", "REST APIs"),
              ("REST APIs", "custom domain names and base path mappings"),
              ("certificates", "custom domain names and base path mappings"),
              ("health checks", "routing records and traffic policies"),
              ("custom domain names and base path mappings", "routing records and traffic policies")]
    for used, user in before:
        assert names.index(used) < names.index(user), f"{used} must come before {user}"


def test_regions_of_different_partitions_are_refused_before_any_policy_is_built():
    with pytest.raises(ConfigError, match="one AWS partition"):
        aws_account.required_policy(validate(dict(regions=["eu-west-1", "cn-north-1"], faulty_region="eu-west-1")))


@pytest.mark.notebook
def test_the_teardown_notebook_fails_and_names_what_it_could_not_delete(tmp_path, localcloud_status, unique):
    """08 on a stack whose table has deletion protection on (DeleteTable refuses it, as on AWS): every other
    kind is torn down, and the run fails naming the table it could not delete."""
    import json

    from helpers import lambdas
    from helpers.clients import Clients
    from helpers.config import with_backend_settings
    from helpers.parameters import LOCAL_YAML
    from helpers.runner import run

    params = {"stack_name": f"t{unique}", "table_name": f"torn-{unique}", "regions": ["eu-west-1", "eu-central-1"],
              "time_scale": localcloud_status["time_scale"], "localcloud_state_dir": localcloud_status["state_dir"]}
    cfg = with_backend_settings(validate(params), localcloud_status)
    clients = Clients(cfg)
    clients.client("dynamodb", "eu-west-1").create_table(
        TableName=cfg.table_name, BillingMode="PAY_PER_REQUEST", DeletionProtectionEnabled=True,
        KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}],
        Tags=[{"Key": k, "Value": v} for k, v in cfg.tags.items()])
    lambdas.ensure_role(cfg, clients)  # something to delete besides the protected table

    result = run([LOCAL_YAML], [(k, json.dumps(v)) for k, v in params.items()],
                 notebooks=["08"], out=tmp_path / "teardown", echo=lambda *a, **k: None)

    assert not result.ok, "a teardown that could not delete everything must fail the run"
    error = result.notebooks[0].error
    assert cfg.table_name in error and "eu-west-1" in error, error
    assert not lambdas.iam_role_exists(clients, lambdas.role_name(cfg)), "the rest was still torn down"
    table = clients.client("dynamodb", "eu-west-1")
    table.update_table(TableName=cfg.table_name, DeletionProtectionEnabled=False)
    table.delete_table(TableName=cfg.table_name)


def test_a_statement_scoped_to_resources_without_a_sid_is_refused_not_widened(cfg, monkeypatch):
    calls: list[tuple[str, str]] = []
    sloppy = dataclasses.replace(_fake_kind("sloppy", calls), iam_statements=lambda cfg, scope: [
        {"Effect": "Allow", "Action": ["fake:DeleteThing"], "Resource": scope.arn("fake", "*", "thing")}])
    monkeypatch.setattr(stack, "STACK", (sloppy,))
    with pytest.raises(ValueError, match="needs a Sid"):
        aws_account.required_policy(cfg)
