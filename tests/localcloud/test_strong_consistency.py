"""Multi-Region strong consistency (MRSC) and the partition fault, through boto3 and the AWS CLI.

Creation, the documented rejections, reads and writes act on the session's
local cloud; tests that time a conflict window use an in-process cloud at time
scale 1 (AWS time), so the window is the modelled round trip itself.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from awsfacts.fis import NETWORK_PARTITION, PAUSE_REPLICATION
from awsfacts.latency import round_trip_ms
from conftest import eventually, in_process_cloud
from helpers.faults import ensure_fis_role
from localcloud import replication as replication_module
from localcloud.replication import Replication

pytestmark = pytest.mark.slow  # several seconds a test: left out of make test-fast

EU_REPLICAS = ["eu-west-1", "eu-central-1"]
EU_WITNESS = "eu-west-2"
NO_RETRIES = BotoConfig(retries={"total_max_attempts": 1, "mode": "standard"})


def _client(endpoint: str, region: str):
    return boto3.client("dynamodb", region_name=region, endpoint_url=endpoint, config=NO_RETRIES,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _create(ddb, name: str, **extra) -> None:
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST", **extra)


def _wait_active(ddb, name: str) -> dict:
    assert eventually(lambda: ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE")
    return ddb.describe_table(TableName=name)["Table"]


def _mrsc(endpoint: str, name: str, replicas: list[str], witness: str | None) -> dict:
    """An MRSC table in ``replicas`` (the first is where it is created) and ``witness``; its description."""
    first = _client(endpoint, replicas[0])
    _create(first, name)
    _wait_active(first, name)
    kwargs = {"GlobalTableWitnessUpdates": [{"Create": {"RegionName": witness}}]} if witness else {}
    first.update_table(TableName=name, MultiRegionConsistency="STRONG",
                       ReplicaUpdates=[{"Create": {"RegionName": r}} for r in replicas[1:]], **kwargs)
    return _wait_active(first, name)


def _mrec(endpoint: str, name: str, replicas: list[str]) -> None:
    first = _client(endpoint, replicas[0])
    _create(first, name)
    _wait_active(first, name)
    first.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": r}} for r in replicas[1:]])
    _wait_active(first, name)


def _error(call) -> tuple[str, int]:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def endpoint(localcloud_status) -> str:
    return localcloud_status["aws_endpoint"]


# ------------------------------------------------------------------ creation
def test_mrsc_table_with_a_witness_describes_its_mode_witness_and_replicas(endpoint, unique):
    table = _mrsc(endpoint, f"mrsc-{unique}", EU_REPLICAS, EU_WITNESS)
    assert table["MultiRegionConsistency"] == "STRONG"
    assert table["GlobalTableWitnesses"] == [{"RegionName": EU_WITNESS, "WitnessStatus": "ACTIVE"}]
    assert {r["RegionName"]: r["ReplicaStatus"] for r in table["Replicas"]} == {r: "ACTIVE" for r in EU_REPLICAS}
    other = _client(endpoint, EU_REPLICAS[1]).describe_table(TableName=f"mrsc-{unique}")["Table"]
    assert other["MultiRegionConsistency"] == "STRONG", "every replica shows the mode"


def test_mrsc_table_with_three_replicas_through_the_aws_cli(endpoint, unique, aws_env):
    name = f"mrsc3-{unique}"
    first = _client(endpoint, "us-east-1")
    _create(first, name)
    _wait_active(first, name)
    subprocess.run(["aws", "dynamodb", "update-table", "--region", "us-east-1", "--table-name", name,
                    "--multi-region-consistency", "STRONG", "--replica-updates",
                    json.dumps([{"Create": {"RegionName": "us-east-2"}}, {"Create": {"RegionName": "us-west-2"}}])],
                   env=aws_env, check=True, capture_output=True)
    table = _wait_active(first, name)
    assert table["MultiRegionConsistency"] == "STRONG"
    assert "GlobalTableWitnesses" not in table
    assert sorted(r["RegionName"] for r in table["Replicas"]) == ["us-east-1", "us-east-2", "us-west-2"]


def test_mrec_global_table_says_eventual(endpoint, unique):
    _mrec(endpoint, f"mrec-{unique}", EU_REPLICAS)
    table = _client(endpoint, EU_REPLICAS[0]).describe_table(TableName=f"mrec-{unique}")["Table"]
    assert table["MultiRegionConsistency"] == "EVENTUAL"


# --------------------------------------------------------------- rejections
def _refused(endpoint: str, name: str, match: str, *, create: dict | None = None, prepare=None, **update) -> None:
    ddb = _client(endpoint, "eu-west-1")
    _create(ddb, name, **(create or {}))
    _wait_active(ddb, name)
    if prepare:
        prepare(ddb)
    with pytest.raises(ClientError) as info:
        ddb.update_table(TableName=name, **update)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert match in info.value.response["Error"]["Message"]
    assert "Replicas" not in ddb.describe_table(TableName=name)["Table"], "nothing was created"


def _strong(*replicas: str, witness: str | None = None) -> dict:
    update = {"MultiRegionConsistency": "STRONG", "ReplicaUpdates": [{"Create": {"RegionName": r}} for r in replicas]}
    if witness:
        update["GlobalTableWitnessUpdates"] = [{"Create": {"RegionName": witness}}]
    return update


@pytest.mark.parametrize(("case", "update", "match"), [
    ("outside-one-set", _strong("us-east-1", witness="eu-west-2"), "not within one MRSC Region set"),
    ("two-regions", _strong("eu-central-1"), "three replicas, or two replicas and one witness"),
    ("four-regions", _strong("eu-central-1", "eu-west-3", witness="eu-west-2"), "three replicas"),
    ("witness-in-a-replica-region", _strong("eu-central-1", witness="eu-central-1"), "different Region"),
    ("witness-without-strong", {"ReplicaUpdates": [{"Create": {"RegionName": "eu-central-1"}}],
                                "GlobalTableWitnessUpdates": [{"Create": {"RegionName": "eu-west-2"}}]},
     "only be added when the global table is created with MultiRegionConsistency STRONG"),
    ("mode-without-replicas", {"MultiRegionConsistency": "STRONG"}, "only valid when you create a global table"),
])
def test_mrsc_layout_rules_are_refused(endpoint, unique, case, update, match):
    _refused(endpoint, f"bad-{case}-{unique}", match, **update)


def test_mrsc_requires_an_empty_table(endpoint, unique):
    _refused(endpoint, f"full-{unique}", "must be empty",
             prepare=lambda ddb: ddb.put_item(TableName=f"full-{unique}", Item={"item_id": {"S": "x"}}),
             **_strong("eu-central-1", witness="eu-west-2"))


def test_mrsc_refuses_local_secondary_indexes(endpoint, unique):
    lsi = {"KeySchema": [{"AttributeName": "item_id", "KeyType": "HASH"}, {"AttributeName": "s", "KeyType": "RANGE"}],
           "AttributeDefinitions": [{"AttributeName": "item_id", "AttributeType": "S"},
                                    {"AttributeName": "s", "AttributeType": "S"},
                                    {"AttributeName": "l", "AttributeType": "S"}],
           "LocalSecondaryIndexes": [{"IndexName": "by-l", "Projection": {"ProjectionType": "ALL"},
                                      "KeySchema": [{"AttributeName": "item_id", "KeyType": "HASH"},
                                                    {"AttributeName": "l", "KeyType": "RANGE"}]}]}
    ddb = _client(endpoint, "eu-west-1")
    name = f"lsi-{unique}"
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **lsi)
    _wait_active(ddb, name)
    code, _ = _error(lambda: ddb.update_table(TableName=name, **_strong("eu-central-1", witness="eu-west-2")))
    assert code == "ValidationException"


def test_mrsc_refuses_time_to_live(endpoint, unique):
    ttl = {"AttributeName": "expires", "Enabled": True}
    _refused(endpoint, f"ttl-{unique}", "Time to Live is not supported",
             prepare=lambda ddb: ddb.update_time_to_live(TableName=f"ttl-{unique}", TimeToLiveSpecification=ttl),
             **_strong("eu-central-1", witness="eu-west-2"))
    name = f"ttl2-{unique}"
    _mrsc(endpoint, name, EU_REPLICAS, EU_WITNESS)
    code, _ = _error(lambda: _client(endpoint, "eu-west-1").update_time_to_live(TableName=name,
                                                                               TimeToLiveSpecification=ttl))
    assert code == "ValidationException", "TTL cannot be enabled on an MRSC table either"


def test_mrsc_refuses_transactions_and_new_replicas(endpoint, unique):
    name = f"tx-{unique}"
    _mrsc(endpoint, name, EU_REPLICAS, EU_WITNESS)
    ddb = _client(endpoint, "eu-west-1")
    code, _ = _error(lambda: ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": name, "Item": {"item_id": {"S": "t"}}}}]))
    assert code == "ValidationException"
    code, _ = _error(lambda: ddb.transact_get_items(
        TransactItems=[{"Get": {"TableName": name, "Key": {"item_id": {"S": "t"}}}}]))
    assert code == "ValidationException"
    code, _ = _error(lambda: ddb.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": "eu-west-3"}}]))
    assert code == "ValidationException"
    code, _ = _error(lambda: ddb.update_table(TableName=name, GlobalTableWitnessUpdates=[
        {"Delete": {"RegionName": EU_WITNESS}}]))
    assert code == "ValidationException", "a witness is deleted only together with a replica"


# ------------------------------------------------------------ reads, writes
def test_strongly_consistent_read_in_another_region_returns_the_write_at_once(endpoint, unique):
    name = f"read-{unique}"
    _mrsc(endpoint, name, EU_REPLICAS, EU_WITNESS)
    writer, reader = (_client(endpoint, r) for r in EU_REPLICAS)
    for i in range(20):
        writer.put_item(TableName=name, Item={"item_id": {"S": "counter"}, "n": {"N": str(i)}})
        got = reader.get_item(TableName=name, Key={"item_id": {"S": "counter"}}, ConsistentRead=True)["Item"]
        assert got["n"]["N"] == str(i), "an acknowledged MRSC write is visible in every replica Region"


def test_mrec_strongly_consistent_read_elsewhere_is_regional_and_can_be_stale(endpoint, unique):
    name = f"stale-{unique}"
    _mrec(endpoint, name, EU_REPLICAS)
    writer, reader = (_client(endpoint, r) for r in EU_REPLICAS)
    writer.put_item(TableName=name, Item={"item_id": {"S": "counter"}, "n": {"N": "1"}})
    got = reader.get_item(TableName=name, Key={"item_id": {"S": "counter"}}, ConsistentRead=True)
    assert "Item" not in got, "under MREC a strongly consistent read is Region-local: the write has not arrived yet"


@pytest.fixture
def us_cloud(tmp_path, monkeypatch):
    """An in-process local cloud at time scale 1: round trips last as long as on AWS (replica creation, 10 AWS
    seconds, is shortened: these tests time writes, not table creation)."""
    monkeypatch.setattr(replication_module, "REPLICA_CREATION_S", 0.3)
    with in_process_cloud(tmp_path / "lc", Replication, time_scale=1.0) as cloud:
        yield cloud


def test_concurrent_conflicting_writes_give_replicated_write_conflict(us_cloud, unique):
    name = f"conflict-{unique}"
    endpoint = us_cloud.controlplane.endpoint
    _mrsc(endpoint, name, ["us-west-2", "us-east-1"], "us-east-2")
    west, east = _client(endpoint, "us-west-2"), _client(endpoint, "us-east-1")
    west.put_item(TableName=name, Item={"item_id": {"S": "k"}, "v": {"S": "warm"}})  # connections open
    east.put_item(TableName=name, Item={"item_id": {"S": "k"}, "v": {"S": "warm"}})
    window_s = round_trip_ms("us-west-2", "us-east-2") / 1000  # the west write's round trip to its nearest peer
    assert window_s > 0.03
    done = threading.Event()
    thread = threading.Thread(target=lambda: (west.put_item(TableName=name, Item={"item_id": {"S": "k"},
                                                                                 "v": {"S": "west"}}), done.set()))
    thread.start()
    time.sleep(window_s / 3)  # the west write is in flight
    assert not done.is_set()
    code, status = _error(lambda: east.put_item(TableName=name, Item={"item_id": {"S": "k"}, "v": {"S": "east"}}))
    assert (code, status) == ("ReplicatedWriteConflictException", 400)
    thread.join()
    east.put_item(TableName=name, Item={"item_id": {"S": "k"}, "v": {"S": "east"}})  # the retry succeeds
    assert west.get_item(TableName=name, Key={"item_id": {"S": "k"}}, ConsistentRead=True)["Item"]["v"]["S"] == "east"
    assert us_cloud.get(Replication).strong.stats()["replicated_write_conflicts"] == 1


def test_mrsc_write_waits_for_the_round_trip_and_mrec_does_not(us_cloud, unique):
    endpoint = us_cloud.controlplane.endpoint
    _mrsc(endpoint, f"slow-{unique}", ["us-east-1", "us-west-2"], "us-east-2")
    _mrec(endpoint, f"fast-{unique}", ["us-east-1", "us-west-2"])
    ddb = _client(endpoint, "us-east-1")

    def put_s(table: str, i: int) -> float:
        began = time.perf_counter()
        ddb.put_item(TableName=table, Item={"item_id": {"S": f"i{i}"}})
        return time.perf_counter() - began

    # Alternate the two tables so both see the same load, and compare the fastest of each: a busy machine
    # only ever adds time, while the round trip is a floor no MRSC write can beat.
    times = [(put_s(f"slow-{unique}", i), put_s(f"fast-{unique}", i)) for i in range(9)]
    mrsc, mrec = min(t for t, _ in times), min(t for _, t in times)
    rtt_s = round_trip_ms("us-east-1", "us-east-2") / 1000  # the nearest peer of us-east-1 is the witness
    assert mrsc >= rtt_s, f"an MRSC write is acknowledged after the round trip ({mrsc * 1000:.1f} ms)"
    assert mrsc - mrec >= 0.8 * rtt_s, f"MRSC {mrsc * 1000:.1f} ms, MREC {mrec * 1000:.1f} ms: MREC does not wait"


# ------------------------------------------------------------------ partition
def _partition(localcloud_status, clients, cfg, region: str) -> tuple[object, str]:
    fis = clients.client("fis", region)
    template = fis.create_experiment_template(
        clientToken=str(uuid.uuid4()), description="partition", roleArn=ensure_fis_role(cfg, clients),
        stopConditions=[{"source": "none"}], targets={},
        actions={"p": {"actionId": NETWORK_PARTITION, "parameters": {"region": region, "duration": "PT1H"}}},
        tags=cfg.tags)["experimentTemplate"]["id"]
    experiment = fis.start_experiment(clientToken=str(uuid.uuid4()), experimentTemplateId=template)["experiment"]["id"]
    return fis, experiment


def test_partitioned_region_refuses_mrsc_writes_and_accepts_mrec_writes(localcloud_status, endpoint, unique,
                                                                       clients, cfg):
    strong, eventual = f"p-strong-{unique}", f"p-eventual-{unique}"
    _mrsc(endpoint, strong, EU_REPLICAS, EU_WITNESS)
    _mrec(endpoint, eventual, EU_REPLICAS)
    majority, minority = (_client(endpoint, r) for r in EU_REPLICAS)
    majority.put_item(TableName=strong, Item={"item_id": {"S": "k"}, "v": {"S": "before"}})
    fis, experiment = _partition(localcloud_status, clients, cfg, EU_REPLICAS[1])
    try:
        code, status = _error(lambda: minority.put_item(TableName=strong, Item={"item_id": {"S": "k"},
                                                                                "v": {"S": "minority"}}))
        assert (code, status) == ("InternalServerError", 500), "the cut-off Region cannot take MRSC writes"
        with pytest.raises(ClientError) as refused:
            minority.delete_item(TableName=strong, Key={"item_id": {"S": "k"}})
        assert refused.value.response["Error"]["Message"] == "Internal server error", "DynamoDB's message for it"
        code, _ = _error(lambda: minority.get_item(TableName=strong, Key={"item_id": {"S": "k"}}, ConsistentRead=True))
        assert code == "InternalServerError", "nor strongly consistent reads"
        assert minority.get_item(TableName=strong, Key={"item_id": {"S": "k"}})["Item"]["v"]["S"] == "before", \
            "eventually consistent reads still answer, from the local replica"
        majority.put_item(TableName=strong, Item={"item_id": {"S": "k"}, "v": {"S": "majority"}})
        assert majority.get_item(TableName=strong, Key={"item_id": {"S": "k"}},
                                 ConsistentRead=True)["Item"]["v"]["S"] == "majority", "the side with the witness carries on"
        minority.put_item(TableName=eventual, Item={"item_id": {"S": "k"}, "v": {"S": "minority"}})
        majority.put_item(TableName=eventual, Item={"item_id": {"S": "k"}, "v": {"S": "majority"}})
    finally:
        fis.stop_experiment(id=experiment)
    assert eventually(lambda: minority.get_item(TableName=strong, Key={"item_id": {"S": "k"}},
                                                ConsistentRead=True)["Item"]["v"]["S"] == "majority"), \
        "after healing the minority replica catches up"


def test_fis_pause_replication_isolates_the_target_mrsc_replica_as_the_dynamodb_guide_documents(endpoint, unique,
                                                                                                clients, cfg):
    """AWS's own action, on one table's replica in one Region: writes and strongly consistent reads of that
    table fail there, eventually consistent reads answer, and the other replica (with the witness) carries on.
    Another MRSC table in the same Regions, not targeted, keeps its quorum in that Region."""
    name, untouched = f"pause-{unique}", f"keep-{unique}"
    _mrsc(endpoint, name, EU_REPLICAS, EU_WITNESS)
    _mrsc(endpoint, untouched, EU_REPLICAS, EU_WITNESS)
    majority, isolated = (_client(endpoint, r) for r in EU_REPLICAS)
    majority.put_item(TableName=name, Item={"item_id": {"S": "k"}, "v": {"S": "before"}})
    arn = isolated.describe_table(TableName=name)["Table"]["TableArn"]
    fis = clients.client("fis", EU_REPLICAS[1])
    template = fis.create_experiment_template(
        clientToken=str(uuid.uuid4()), description="isolation", roleArn=ensure_fis_role(cfg, clients),
        stopConditions=[{"source": "none"}],
        targets={"Tables": {"resourceType": "aws:dynamodb:global-table", "selectionMode": "ALL", "resourceArns": [arn]}},
        actions={"p": {"actionId": PAUSE_REPLICATION, "parameters": {"duration": "PT1H"}, "targets": {"Tables": "Tables"}}},
        tags=cfg.tags)["experimentTemplate"]["id"]
    experiment = fis.start_experiment(clientToken=str(uuid.uuid4()), experimentTemplateId=template)["experiment"]["id"]
    try:
        assert _error(lambda: isolated.put_item(TableName=name, Item={"item_id": {"S": "k"}})) == (
            "InternalServerError", 500)
        assert _error(lambda: isolated.get_item(TableName=name, Key={"item_id": {"S": "k"}}, ConsistentRead=True))[0] \
            == "InternalServerError"
        assert isolated.get_item(TableName=name, Key={"item_id": {"S": "k"}})["Item"]["v"]["S"] == "before"
        majority.put_item(TableName=name, Item={"item_id": {"S": "k"}, "v": {"S": "majority"}})
        isolated.put_item(TableName=untouched, Item={"item_id": {"S": "k"}, "v": {"S": "same Region"}})
        assert majority.get_item(TableName=untouched, Key={"item_id": {"S": "k"}},
                                 ConsistentRead=True)["Item"]["v"]["S"] == "same Region", \
            "the table the experiment does not target keeps its quorum in the paused replica's Region"
    finally:
        fis.stop_experiment(id=experiment)
        fis.delete_experiment_template(id=template)
    assert eventually(lambda: isolated.get_item(TableName=name, Key={"item_id": {"S": "k"}},
                                                ConsistentRead=True)["Item"]["v"]["S"] == "majority")


def test_mrec_last_writer_wins_loses_exactly_the_increments_the_model_says(localcloud_status, endpoint, unique,
                                                                          clients, cfg):
    """During a partition each side increments its own copy of a counter; once healed, the item last written
    wins whole, so every increment acknowledged on the other side is lost: lost = acknowledged - final."""
    name = f"lww-{unique}"
    _mrec(endpoint, name, EU_REPLICAS)
    a, b = (_client(endpoint, r) for r in EU_REPLICAS)
    a.put_item(TableName=name, Item={"item_id": {"S": "counter"}, "n": {"N": "0"}})
    assert eventually(lambda: "Item" in b.get_item(TableName=name, Key={"item_id": {"S": "counter"}}))
    fis, experiment = _partition(localcloud_status, clients, cfg, EU_REPLICAS[1])

    def increment(client) -> int:
        return int(client.update_item(TableName=name, Key={"item_id": {"S": "counter"}}, UpdateExpression="ADD n :one",
                                      ExpressionAttributeValues={":one": {"N": "1"}},
                                      ReturnValues="UPDATED_NEW")["Attributes"]["n"]["N"])

    try:
        on_a = [increment(a) for _ in range(3)]
        on_b = [increment(b) for _ in range(2)]  # later: b writes last
    finally:
        fis.stop_experiment(id=experiment)
    assert on_a == [1, 2, 3] and on_b == [1, 2], "each side counts from its own replica"

    def values() -> set[int]:
        return {int(c.get_item(TableName=name, Key={"item_id": {"S": "counter"}},
                               ConsistentRead=True)["Item"]["n"]["N"]) for c in (a, b)}

    assert eventually(lambda: len(values()) == 1)
    (final,) = values()
    assert final == on_b[-1], "last writer wins: the item as b last wrote it"
    assert len(on_a) + len(on_b) - final == len(on_a), "every increment acknowledged in a is lost"
