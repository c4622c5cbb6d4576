"""helpers.healthchecks against the local cloud: health checks that watch each region's real /health."""

from __future__ import annotations

import dataclasses
import datetime
import time

import pytest

from conftest import make_config
from helpers.clients import Clients
from helpers.healthchecks import (
    HealthReplay, check_name, create_health_checks, delete_health_checks, health_check_ids, health_check_metric,
    health_status, health_summary, healthy_by_region, wait_until_healthy,
)
from stand_in import deploy_stand_in_backend


@pytest.fixture
def hcfg(localcloud_status, unique):
    return make_config(localcloud_status, stack_name=f"t{unique}", table_name=f"table-{unique}",
                       regions=["eu-west-1", "eu-central-1", "us-east-1"])


@pytest.fixture
def hclients(hcfg):
    clients = Clients(hcfg)
    deploy_stand_in_backend(hcfg, clients)
    yield clients
    delete_health_checks(hcfg, clients)


def test_health_checks_are_created_once_per_region_on_the_regional_health_path(hcfg, hclients):
    first = create_health_checks(hcfg, hclients)
    again = create_health_checks(hcfg, hclients)
    assert (first["action"] == "created").all() and (again["action"] == "unchanged").all()
    ids = health_check_ids(hcfg, hclients)
    assert ids == first["health_check_id"].to_dict()
    route53 = hclients.client("route53")
    for region, check_id in ids.items():
        config = route53.get_health_check(HealthCheckId=check_id)["HealthCheck"]["HealthCheckConfig"]
        assert config["Type"] == "HTTPS" and config["EnableSNI"]
        assert config["FullyQualifiedDomainName"].endswith(f".execute-api.{region}.amazonaws.com")
        assert config["ResourcePath"] == f"/{hcfg.stage}/health" and config["Port"] == hcfg.api_port
        assert config["RequestInterval"] == hcfg.health_check_interval
        assert config["FailureThreshold"] == hcfg.health_check_failure_threshold
        tags = route53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=check_id)["ResourceTagSet"]["Tags"]
        assert {"Key": "Name", "Value": check_name(hcfg, region)} in tags


def test_checks_turn_healthy_and_a_failing_region_shows_in_the_observations(hcfg, hclients):
    create_health_checks(hcfg, hclients)
    summary = wait_until_healthy(hcfg, hclients)
    assert summary["healthy"].all() and (summary["checkers"] > 0).all()
    status = health_status(hcfg, hclients)
    assert set(status["region"]) == set(hcfg.regions)
    assert status["status"].str.startswith("Success: HTTP Status Code 200").all()

    # the blog's fault: the health function answers 503 in one region
    hclients.client("lambda", "eu-west-1").update_function_configuration(
        FunctionName=hcfg.resource_name("health"), Environment={"Variables": {"STATUS": "503"}})
    with pytest.raises(TimeoutError, match=r"eu-west-1 .*Failure: HTTP Status Code 503"):
        _wait_unhealthy_then_fail(hcfg, hclients)
    summary = health_summary(hcfg, hclients)
    assert not summary.loc["eu-west-1", "healthy"]
    assert summary.loc["eu-central-1", "healthy"] and summary.loc["us-east-1", "healthy"]


def _wait_unhealthy_then_fail(cfg, clients):
    """Wait (bounded) until eu-west-1 reports unhealthy, then show what wait_until_healthy says about it."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and health_summary(cfg, clients).loc["eu-west-1", "healthy"]:
        time.sleep(0.2)
    wait_until_healthy(cfg, clients, timeout=0.1)


def test_changed_parameters_update_the_checks_in_place(hcfg, hclients, localcloud_status):
    create_health_checks(hcfg, hclients)
    ids = health_check_ids(hcfg, hclients)
    stricter = make_config(localcloud_status, stack_name=hcfg.stack_name, table_name=hcfg.table_name,
                           regions=list(hcfg.regions), health_check_failure_threshold=3)
    updated = create_health_checks(stricter, hclients)
    assert (updated["action"] == "updated").all() and health_check_ids(stricter, hclients) == ids
    slower = make_config(localcloud_status, stack_name=hcfg.stack_name, table_name=hcfg.table_name,
                         regions=list(hcfg.regions), health_check_interval=30)
    replaced = create_health_checks(slower, hclients)
    assert (replaced["action"] == "replaced").all() and not set(health_check_ids(slower, hclients).values()) & set(ids.values())


def test_delete_health_checks_removes_them_and_tolerates_a_rerun(hcfg, hclients):
    create_health_checks(hcfg, hclients)
    assert len(delete_health_checks(hcfg, hclients)) == len(hcfg.regions)
    assert health_check_ids(hcfg, hclients) == {}
    assert delete_health_checks(hcfg, hclients).empty


def test_waiting_without_health_checks_says_to_create_them(hcfg, hclients):
    with pytest.raises(LookupError, match="create_health_checks"):
        wait_until_healthy(hcfg, hclients)


def test_the_health_check_status_metric_reaches_cloudwatch_in_us_east_1(hcfg, hclients):
    create_health_checks(hcfg, hclients)
    wait_until_healthy(hcfg, hclients)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and set(health_check_metric(hcfg, hclients)["region"]) != set(hcfg.regions):
        time.sleep(0.2)
    metric = health_check_metric(hcfg, hclients)
    assert set(metric["region"]) == set(hcfg.regions)
    assert (metric["minimum"] == 1.0).all(), "healthy checks publish HealthCheckStatus 1"


def _poll(healthy_checkers: int, probe: int) -> list[dict]:
    """One GetHealthCheckStatus answer of 8 checkers, the first ``healthy_checkers`` saying Success."""
    when = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=10 * probe)
    return [{"Region": f"checker-{i}", "IPAddress": f"192.0.2.{i}", "StatusReport": {
        "Status": "Success: HTTP Status Code 200, OK" if i < healthy_checkers else "Failure: HTTP Status Code 503",
        "CheckedTime": when}} for i in range(8)]


def test_health_replay_applies_the_failure_threshold_and_the_18_percent_rule():
    replay = HealthReplay(failure_threshold=3)
    assert replay.update("hc", _poll(8, 0))
    assert replay.update("hc", _poll(0, 1)) and replay.update("hc", _poll(0, 1)), "one failed probe, polled twice"
    assert replay.update("hc", _poll(0, 2)), "two failures in a row: still healthy with threshold 3"
    assert not replay.update("hc", _poll(0, 3)), "the third failure in a row turns every checker"
    for probe in (4, 5, 6):  # one checker of eight recovers: 12.5% is not more than 18%
        assert not replay.update("hc", _poll(1, probe))
    assert not replay.update("hc", _poll(2, 7)) and not replay.update("hc", _poll(2, 8))
    assert replay.update("hc", _poll(2, 9)), "a second checker after three successes: 25% > 18%"
    assert HealthReplay(failure_threshold=1).update("hc", _poll(1, 0)) is False


def test_with_a_threshold_of_three_the_replay_turns_intervals_after_the_latest_observations(hcfg, hclients):
    cfg = dataclasses.replace(hcfg, health_check_failure_threshold=3)
    create_health_checks(cfg, hclients)
    wait_until_healthy(cfg, hclients)
    ids = {"eu-west-1": health_check_ids(cfg, hclients)["eu-west-1"]}
    replay = HealthReplay(cfg.health_check_failure_threshold)
    interval = cfg.scaled(cfg.health_check_interval)
    assert healthy_by_region(hclients, ids, replay) == {"eu-west-1": True}
    hclients.client("lambda", "eu-west-1").update_function_configuration(
        FunctionName=cfg.resource_name("health"), Environment={"Variables": {"STATUS": "503"}})
    began, latest_turned, replay_turned = time.monotonic(), None, None
    while replay_turned is None and time.monotonic() - began < 10 * interval + 10:
        now = time.monotonic() - began
        if latest_turned is None and not healthy_by_region(hclients, ids)["eu-west-1"]:
            latest_turned = now
        if not healthy_by_region(hclients, ids, replay)["eu-west-1"]:
            replay_turned = now
        time.sleep(interval / 8)
    assert latest_turned is not None and replay_turned is not None
    assert replay_turned - latest_turned >= interval, (latest_turned, replay_turned, interval)
