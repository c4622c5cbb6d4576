"""Faults through the AWS API: FIS experiments pause replication of target tables or take a region down,
and stop cleanly."""

from __future__ import annotations

import socket
import time
import uuid

import pytest

from awsfacts.fis import PAUSE_REPLICATION, REGION_OUTAGE
from conftest import eventually, make_config
from helpers import dynamodb
from helpers.faults import ensure_fis_role
from localcloud.faults import parse_duration, replica_of

pytestmark = pytest.mark.slow  # several seconds a test: left out of make test-fast


def _template(clients, cfg, region, action, targets):
    fis = clients.client("fis", region)
    return fis.create_experiment_template(
        clientToken=str(uuid.uuid4()), description="test", roleArn=ensure_fis_role(cfg, clients),
        stopConditions=[{"source": "none"}], targets=targets, actions={"a": action}, tags=cfg.tags,
    )["experimentTemplate"]["id"]


@pytest.mark.parametrize(("text", "seconds"), [("PT5M", 300), ("PT1M30S", 90), ("PT1H", 3600), ("PT0.5S", 0.5)])
def test_iso_durations_as_fis_writes_them(text, seconds):
    assert parse_duration(text) == seconds


def _pause_template(clients, cfg, region, target):
    """A template whose one action pauses replication of the replicas ``target`` selects, for an hour."""
    return _template(clients, cfg, region,
                     {"actionId": PAUSE_REPLICATION, "parameters": {"duration": "PT1H"}, "targets": {"Tables": "T"}},
                     {"T": {"resourceType": "aws:dynamodb:global-table", "selectionMode": "ALL", **target}})


def test_the_replica_is_read_from_a_table_arn():
    assert replica_of("arn:aws:dynamodb:eu-west-1:123456789012:table/my.table-1") == ("eu-west-1", "my.table-1")


def test_fis_pause_replication_holds_only_its_target_table_until_the_experiment_stops(cfg, clients,
                                                                                     localcloud_status):
    """Two global tables with replicas in the same two Regions; the experiment targets one table's replica
    in one Region (as on AWS): that table's writes queue, the other table's still arrive."""
    other = make_config(localcloud_status, stack_name=cfg.stack_name, table_name=f"{cfg.table_name}-other")
    for table in (cfg, other):
        dynamodb.create_global_table(table, clients)
        dynamodb.wait_for_replicas(table, clients)
    first, second = cfg.regions
    arn = clients.client("dynamodb", first).describe_table(TableName=cfg.table_name)["Table"]["TableArn"]
    fis = clients.client("fis", first)
    experiment = fis.start_experiment(clientToken=str(uuid.uuid4()),
                                      experimentTemplateId=_pause_template(clients, cfg, first, {"resourceArns": [arn]}),
                                      )["experiment"]["id"]
    try:
        paused = _paused(localcloud_status)
        assert f"{first} {cfg.table_name}" in paused and first not in paused, "status names the paused replica"
        for table in (cfg, other):  # the target's write first: the other one is queued behind it
            dynamodb.put_item(table, clients, {"item_id": "during-pause"}, region=second)
        assert eventually(lambda: dynamodb.get_item(other, clients, "during-pause", region=first) is not None), \
            "the other table replicates between the same Regions"
        time.sleep(cfg.scaled(0.5) * 4 + 0.2)  # the target's write would have arrived with the other's
        assert dynamodb.get_item(cfg, clients, "during-pause", region=first) is None, "paused: nothing arrives"
    finally:
        fis.stop_experiment(id=experiment)
    assert eventually(lambda: dynamodb.get_item(cfg, clients, "during-pause", region=first) is not None), \
        "after the experiment stops the queued write arrives"
    assert f"{first} {cfg.table_name}" not in _paused(localcloud_status)
    for table in (cfg, other):
        dynamodb.delete_global_table(table, clients)


def test_a_replica_paused_by_two_experiments_resumes_when_the_last_ends(cfg, clients, localcloud_status):
    region = "eu-south-1"
    arn = f"arn:aws:dynamodb:{region}:123456789012:table/{cfg.table_name}"
    template = _pause_template(clients, cfg, region, {"resourceArns": [arn]})
    fis = clients.client("fis", region)
    first, second = (fis.start_experiment(clientToken=str(uuid.uuid4()), experimentTemplateId=template)["experiment"]["id"]
                     for _ in range(2))
    held = f"{region} {cfg.table_name}"
    assert held in _paused(localcloud_status)
    fis.stop_experiment(id=first)
    assert held in _paused(localcloud_status), "the second experiment still holds it"
    fis.stop_experiment(id=second)
    assert held not in _paused(localcloud_status)


@pytest.mark.parametrize("target", [
    {"resourceArns": ["arn:aws:dynamodb:me-south-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"]},
    {"resourceTags": {"runbook:stack": "any"}},
], ids=["not-a-table-arn", "by-tags"])
def test_a_pause_target_the_local_cloud_cannot_resolve_is_refused_before_anything_happens(cfg, clients,
                                                                                         localcloud_status, target):
    region = "me-south-1"
    template = _pause_template(clients, cfg, region, target)
    fis = clients.client("fis", region)
    with pytest.raises(fis.exceptions.ValidationException):
        fis.start_experiment(clientToken=str(uuid.uuid4()), experimentTemplateId=template)
    assert not any(p.startswith(region) for p in _paused(localcloud_status)), "nothing was paused"
    assert fis.list_experiments()["experiments"] == [], "no experiment was started"


def test_unsupported_fis_action_is_refused_before_anything_happens(cfg, clients):
    region = cfg.regions[0]
    template = _template(clients, cfg, region, {"actionId": "aws:ec2:stop-instances"}, {})
    with pytest.raises(clients.client("fis", region).exceptions.ValidationException, match="not supported"):
        clients.client("fis", region).start_experiment(clientToken=str(uuid.uuid4()), experimentTemplateId=template)


def test_a_bad_duration_is_refused_before_the_fault_starts(cfg, clients, localcloud_status):
    region = "sa-east-1"
    template = _template(clients, cfg, region,
                         {"actionId": REGION_OUTAGE, "parameters": {"region": region, "duration": "5m"}}, {})
    fis = clients.client("fis", region)
    with pytest.raises(fis.exceptions.ValidationException, match="invalid duration"):
        fis.start_experiment(clientToken=str(uuid.uuid4()), experimentTemplateId=template)
    assert region not in _outages(localcloud_status), "nothing was broken"
    assert fis.list_experiments()["experiments"] == [], "no experiment was started"


def test_region_outage_refuses_connections_until_stopped(cfg, clients, localcloud_status):
    region = "ap-south-1"
    address, port = _listening(clients, localcloud_status, region)
    template = _template(clients, cfg, region, {"actionId": REGION_OUTAGE, "parameters": {"region": region}}, {})
    fis = clients.client("fis", region)
    experiment = fis.start_experiment(clientToken=str(uuid.uuid4()), experimentTemplateId=template)["experiment"]["id"]
    assert not _connects(address, port), "during the outage the region's gateway is unreachable"
    fis.stop_experiment(id=experiment)
    assert eventually(lambda: _connects(address, port)), "after the experiment the gateway answers again"


def test_overlapping_experiments_keep_a_region_down_until_the_last_one_ends(cfg, clients, localcloud_status):
    region = "ap-northeast-2"
    address, port = _listening(clients, localcloud_status, region)
    template = _template(clients, cfg, region, {"actionId": REGION_OUTAGE, "parameters": {"region": region}}, {})
    fis = clients.client("fis", region)
    first, second = (fis.start_experiment(clientToken=str(uuid.uuid4()), experimentTemplateId=template)["experiment"]["id"]
                     for _ in range(2))
    assert region in _outages(localcloud_status) and region in _paused(localcloud_status)
    fis.stop_experiment(id=first)
    assert region in _outages(localcloud_status) and region in _paused(localcloud_status), "the second still holds it"
    assert not _connects(address, port)
    fis.stop_experiment(id=second)
    assert region not in _outages(localcloud_status) and region not in _paused(localcloud_status)
    assert eventually(lambda: _connects(address, port))


def test_each_action_ends_after_its_own_duration(cfg, clients, localcloud_status):
    brief, lasting = "ca-central-1", "eu-north-1"
    _listening(clients, localcloud_status, brief)
    fis = clients.client("fis", brief)
    template = fis.create_experiment_template(
        clientToken=str(uuid.uuid4()), description="test", roleArn=ensure_fis_role(cfg, clients),
        stopConditions=[{"source": "none"}], targets={}, tags=cfg.tags,
        actions={"brief": {"actionId": REGION_OUTAGE, "parameters": {"region": brief, "duration": "PT20S"}},
                 "lasting": {"actionId": REGION_OUTAGE, "parameters": {"region": lasting}}},
    )["experimentTemplate"]["id"]
    experiment = fis.start_experiment(clientToken=str(uuid.uuid4()), experimentTemplateId=template)["experiment"]["id"]
    assert {brief, lasting} <= set(_outages(localcloud_status))
    assert eventually(lambda: brief not in _outages(localcloud_status), timeout=cfg.scaled(20) + 10)
    assert lasting in _outages(localcloud_status), "an action without a duration runs until the experiment stops"
    assert _state(fis, experiment) == "running"
    assert fis.stop_experiment(id=experiment)["experiment"]["state"]["status"] == "stopping"
    assert lasting not in _outages(localcloud_status)
    assert _state(fis, experiment) == "stopped"


def test_an_experiment_runs_while_its_actions_do_and_then_completes(cfg, clients, localcloud_status):
    region = "eu-west-3"
    fis = clients.client("fis", region)
    template = _template(clients, cfg, region,
                         {"actionId": REGION_OUTAGE, "parameters": {"region": region, "duration": "PT30S"}}, {})
    experiment = fis.start_experiment(clientToken=str(uuid.uuid4()), experimentTemplateId=template)["experiment"]["id"]
    states = [_state(fis, experiment) for _ in range(4)]  # moto alone would have moved on by the 3rd read
    assert states == ["running"] * 4 and region in _outages(localcloud_status)
    assert eventually(lambda: _state(fis, experiment) == "completed", timeout=cfg.scaled(30) + 10)
    assert region not in _outages(localcloud_status)


def _state(fis, experiment_id):
    return fis.get_experiment(id=experiment_id)["experiment"]["state"]["status"]


def _listening(clients, status, region):
    """Put ``region`` in use (its gateway listens) and return the gateway's address and port."""
    clients.client("dynamodb", region).list_tables()
    regions = {}
    assert eventually(lambda: regions.update(_regions(status)) or region in regions)
    assert eventually(lambda: _connects(regions[region], status["api_port"]))
    return regions[region], status["api_port"]


def _paused(status):
    from localcloud import daemon

    return daemon.status(status["state_dir"]).get("replication_paused", [])


def _regions(status):
    from localcloud import daemon

    return daemon.status(status["state_dir"]).get("regions", {})


def _outages(status):
    from localcloud import daemon

    return daemon.status(status["state_dir"]).get("gateway_outages", [])


def _connects(address, port) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False


def test_the_stacks_experiment_templates_are_listed_and_torn_down(cfg, clients):
    from helpers import faults, teardown

    region = cfg.regions[0]
    template = _template(clients, cfg, region, {"actionId": REGION_OUTAGE, "parameters": {"region": region}}, {})
    assert faults.stack_experiment_templates(cfg, clients, region) == [template]
    listed = teardown.inventory(cfg, clients)
    assert f"experiment template {template}" in set(listed.loc[listed["service"] == "fis", "resource"])
    assert f"fis experiment template {template} ({region})" in faults.delete_experiment_templates(cfg, clients, region)
    assert faults.stack_experiment_templates(cfg, clients, region) == []


def test_an_experiment_without_actions_is_completed_at_once(cfg, clients, localcloud_status):
    region = cfg.regions[0]
    fis = clients.client("fis", region)
    template = fis.create_experiment_template(
        clientToken=str(uuid.uuid4()), description="test", roleArn=ensure_fis_role(cfg, clients),
        stopConditions=[{"source": "none"}], targets={}, actions={}, tags=cfg.tags)["experimentTemplate"]["id"]
    experiment = fis.start_experiment(clientToken=str(uuid.uuid4()), experimentTemplateId=template)["experiment"]["id"]
    assert _state(fis, experiment) == "completed"
    assert experiment not in _experiments(localcloud_status)


def _experiments(status):
    from localcloud import daemon

    return daemon.status(status["state_dir"]).get("fault_experiments", [])
