"""Global tables in the local cloud: replicas, replication, conflicts, pause/resume, observability.

Most tests act through boto3 and the AWS CLI against the session's local cloud;
pause/resume and restarting the replicator need the component, so those build
an in-process LocalCloud.
"""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.exceptions import ClientError

from helpers.clients import Clients
from helpers.dynamodb import create_global_table, describe_global_table
from conftest import eventually, in_process_cloud, make_config
from localcloud.replication import Replication

pytestmark = pytest.mark.slow  # several seconds a test: left out of make test-fast

THREE_REGIONS = ["eu-west-1", "eu-central-1", "us-east-1"]


def _settle_s(status: dict) -> float:
    """Real seconds after which every replicated write has certainly arrived."""
    return status["replication_delay_s"] * status["time_scale"] * 6 + 0.2


def _items(client, table: str) -> dict[str, dict]:
    items, kwargs = {}, {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        for item in page["Items"]:
            items[item["item_id"]["S"]] = item
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _run_all(functions) -> None:
    """Run ``functions`` in threads at once; re-raise the first error any of them hit."""
    errors: list[BaseException] = []

    def run(function) -> None:
        try:
            function()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(f,)) for f in functions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _wait_converged(clients: Clients, table: str, regions: list[str], timeout: float = 20.0) -> list[dict]:
    """Scans of every replica once they agree (or the last ones seen, after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        snapshots = [_items(clients.client("dynamodb", r), table) for r in regions]
        if all(s == snapshots[0] for s in snapshots) or time.monotonic() > deadline:
            return snapshots
        time.sleep(0.1)


@pytest.fixture
def three_region_cfg(localcloud_status, unique):
    return make_config(localcloud_status, regions=THREE_REGIONS, stack_name=f"t{unique}", table_name=f"table-{unique}")


# --------------------------------------------------------------- moto pin
def test_moto_funnels_put_update_delete_and_transactions_through_stream_shard_add(monkeypatch):
    """Replication observes writes only at StreamShard.add: a moto upgrade that bypasses it must fail here."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.table import StreamShard

    calls: list[tuple[str | None, str | None]] = []
    original = StreamShard.add

    def spy(self, old, new):
        calls.append((old and old.attrs["item_id"].value, new and new.attrs["item_id"].value))
        return original(self, old, new)

    monkeypatch.setattr(StreamShard, "add", spy)
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-2"]
    name = f"pin-{time.time_ns()}"
    backend.create_table(
        name=name, schema=[{"AttributeName": "item_id", "KeyType": "HASH"}], throughput=None,
        attr=[{"AttributeName": "item_id", "AttributeType": "S"}], global_indexes=None, indexes=None,
        streams={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}, billing_mode="PAY_PER_REQUEST",
        sse_specification=None, tags=[], deletion_protection_enabled=False, warm_throughput=None,
    )
    backend.put_item(name, {"item_id": {"S": "a"}})
    assert calls[-1] == (None, "a"), "put_item must call StreamShard.add(None, new)"
    backend.update_item(name, {"item_id": {"S": "a"}}, "SET v = :v", {}, {":v": {"N": "1"}})
    assert calls[-1] == ("a", "a"), "update_item must call StreamShard.add(old, new)"
    backend.delete_item(name, {"item_id": {"S": "a"}})
    assert calls[-1] == ("a", None), "delete_item must call StreamShard.add(old, None)"
    backend.transact_write_items([{"Put": {"TableName": name, "Item": {"item_id": {"S": "t"}}}}])
    assert calls[-1] == (None, "t"), "transact_write_items must write through put_item"
    backend.delete_table(name)


# ------------------------------------------------------------- membership
def test_replica_gets_items_the_table_already_had(cfg, clients):
    ddb = clients.client("dynamodb", cfg.regions[0])
    ddb.create_table(
        TableName=cfg.table_name, KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    for i in range(30):
        ddb.put_item(TableName=cfg.table_name, Item={"item_id": {"S": f"old-{i}"}, "n": {"N": str(i)}})
    ddb.update_table(TableName=cfg.table_name, ReplicaUpdates=[{"Create": {"RegionName": cfg.regions[1]}}])

    replica = _items(clients.client("dynamodb", cfg.regions[1]), cfg.table_name)

    assert replica == _items(ddb, cfg.table_name)
    assert len(replica) == 30


def test_describe_table_shows_replicas_and_version_in_every_region(three_region_cfg):
    clients = Clients(three_region_cfg)
    create_global_table(three_region_cfg, clients)

    for region in THREE_REGIONS:
        table = clients.client("dynamodb", region).describe_table(TableName=three_region_cfg.table_name)["Table"]
        assert table["GlobalTableVersion"] == "2019.11.21"
        assert {r["RegionName"]: r["ReplicaStatus"] for r in table["Replicas"]} == {r: "ACTIVE" for r in THREE_REGIONS}
        assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"


def test_aws_cli_describe_table_sees_replicas(cfg, clients, aws_env):
    create_global_table(cfg, clients)

    out = subprocess.run(
        ["aws", "dynamodb", "describe-table", "--table-name", cfg.table_name, "--region", cfg.regions[1], "--output", "json"],
        env=aws_env, capture_output=True, text=True, timeout=60,
    )

    assert out.returncode == 0, out.stderr
    table = json.loads(out.stdout)["Table"]
    assert table["GlobalTableVersion"] == "2019.11.21"
    assert sorted(r["RegionName"] for r in table["Replicas"]) == sorted(cfg.regions)


def test_adding_a_replica_twice_is_a_validation_error(cfg, clients):
    create_global_table(cfg, clients)

    with pytest.raises(ClientError) as error:
        clients.client("dynamodb", cfg.regions[0]).update_table(
            TableName=cfg.table_name, ReplicaUpdates=[{"Create": {"RegionName": cfg.regions[1]}}])

    assert error.value.response["Error"]["Code"] == "ValidationException"


def test_replica_updates_on_an_unknown_table_are_resource_not_found(cfg, clients):
    with pytest.raises(ClientError) as error:
        clients.client("dynamodb", cfg.regions[0]).update_table(
            TableName=cfg.table_name, ReplicaUpdates=[{"Create": {"RegionName": cfg.regions[1]}}])

    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_deleting_one_replica_table_leaves_the_others_replicating(three_region_cfg, localcloud_status):
    clients = Clients(three_region_cfg)
    create_global_table(three_region_cfg, clients)
    gone, kept = THREE_REGIONS[2], THREE_REGIONS[:2]

    clients.client("dynamodb", gone).delete_table(TableName=three_region_cfg.table_name)
    clients.client("dynamodb", kept[0]).put_item(TableName=three_region_cfg.table_name, Item={"item_id": {"S": "after"}})

    frame = describe_global_table(three_region_cfg, clients).set_index("region")
    assert frame.loc[gone, "table_status"] == "NOT FOUND"
    assert "after" in _wait_converged(clients, three_region_cfg.table_name, kept)[1]


# ------------------------------------------------------------ replication
def test_concurrent_writes_updates_and_deletes_in_three_regions_converge(three_region_cfg, localcloud_status):
    clients = Clients(three_region_cfg)
    table = three_region_cfg.table_name
    create_global_table(three_region_cfg, clients)
    keys = [f"k{i}" for i in range(40)]

    def writer(region: str, seed: int) -> None:
        ddb, rng = clients.client("dynamodb", region), random.Random(seed)
        for n in range(100):
            key = {"item_id": {"S": rng.choice(keys)}}
            op = rng.random()
            if op < 0.5:
                ddb.put_item(TableName=table, Item={**key, "by": {"S": region}, "n": {"N": str(n)}})
            elif op < 0.8:
                ddb.update_item(TableName=table, Key=key, UpdateExpression="SET u = :u, #by = :by",
                                ExpressionAttributeNames={"#by": "by"},
                                ExpressionAttributeValues={":u": {"N": str(n)}, ":by": {"S": region}})
            else:
                ddb.delete_item(TableName=table, Key=key)

    _run_all([lambda r=r, i=i: writer(r, i) for i, r in enumerate(THREE_REGIONS)])
    time.sleep(_settle_s(localcloud_status))

    snapshots = _wait_converged(clients, table, THREE_REGIONS)
    assert snapshots[0] == snapshots[1] == snapshots[2], "every replica should hold exactly the same items"
    assert snapshots[0], "some items should have survived the random deletes"


def test_conflicting_writes_converge_to_the_last_writer(three_region_cfg, localcloud_status):
    clients = Clients(three_region_cfg)
    table = three_region_cfg.table_name
    create_global_table(three_region_cfg, clients)
    first, last = THREE_REGIONS[0], THREE_REGIONS[1]
    keys = [f"c{i}" for i in range(20)]

    # For every key the first region writes, then (as soon as that write has
    # returned, well within the replication delay) the other one does: both
    # replicas accept their own write, then receive the conflicting one.
    for key in keys:
        clients.client("dynamodb", first).put_item(TableName=table, Item={"item_id": {"S": key}, "by": {"S": first}})
        clients.client("dynamodb", last).put_item(TableName=table, Item={"item_id": {"S": key}, "by": {"S": last}})
    time.sleep(_settle_s(localcloud_status))

    for snapshot in _wait_converged(clients, table, THREE_REGIONS):
        assert {k: v["by"]["S"] for k, v in snapshot.items()} == {k: last for k in keys}


def test_simultaneous_writes_to_the_same_keys_pick_the_same_winner_everywhere(three_region_cfg, localcloud_status):
    clients = Clients(three_region_cfg)
    table = three_region_cfg.table_name
    create_global_table(three_region_cfg, clients)
    barrier = threading.Barrier(len(THREE_REGIONS))

    def writer(region: str) -> None:
        ddb = clients.client("dynamodb", region)
        for i in range(30):
            barrier.wait()
            ddb.put_item(TableName=table, Item={"item_id": {"S": f"s{i}"}, "by": {"S": region}})

    _run_all([lambda r=r: writer(r) for r in THREE_REGIONS])
    time.sleep(_settle_s(localcloud_status))

    snapshots = _wait_converged(clients, table, THREE_REGIONS)
    assert snapshots[0] == snapshots[1] == snapshots[2]
    assert len(snapshots[0]) == 30


def test_a_replicated_old_put_does_not_resurrect_a_deleted_item(cfg, clients, localcloud_status):
    create_global_table(cfg, clients)
    a, b = (clients.client("dynamodb", r) for r in cfg.regions)

    a.put_item(TableName=cfg.table_name, Item={"item_id": {"S": "zombie"}, "v": {"N": "1"}})
    time.sleep(_settle_s(localcloud_status))  # both replicas hold it
    # Within one replication delay: A updates it, then B deletes it. B's
    # delete is the later write; A's put reaches B after it, and is older.
    a.put_item(TableName=cfg.table_name, Item={"item_id": {"S": "zombie"}, "v": {"N": "2"}})
    b.delete_item(TableName=cfg.table_name, Key={"item_id": {"S": "zombie"}})
    time.sleep(_settle_s(localcloud_status))

    for snapshot in _wait_converged(clients, cfg.table_name, list(cfg.regions)):
        assert "zombie" not in snapshot


def test_a_failed_transaction_replicates_nothing(cfg, clients, localcloud_status):
    create_global_table(cfg, clients)
    a = clients.client("dynamodb", cfg.regions[0])
    a.put_item(TableName=cfg.table_name, Item={"item_id": {"S": "guard"}})

    with pytest.raises(ClientError):
        a.transact_write_items(TransactItems=[
            {"Put": {"TableName": cfg.table_name, "Item": {"item_id": {"S": "tx"}}}},
            {"Put": {"TableName": cfg.table_name, "Item": {"item_id": {"S": "guard"}},
                     "ConditionExpression": "attribute_not_exists(item_id)"}},
        ])
    other = clients.client("dynamodb", cfg.regions[1])
    assert eventually(lambda: "guard" in _items(other, cfg.table_name)), "the committed write replicates"
    time.sleep(_settle_s(localcloud_status))  # anything of the failed transaction would have followed it

    assert set(_items(other, cfg.table_name)) == {"guard"}


def test_replication_latency_is_published_to_cloudwatch(cfg, clients, localcloud_status):
    create_global_table(cfg, clients)
    for i in range(5):
        clients.client("dynamodb", cfg.regions[0]).put_item(TableName=cfg.table_name, Item={"item_id": {"S": f"m{i}"}})
    cloudwatch = clients.client("cloudwatch", cfg.regions[0])
    now = datetime.now(timezone.utc)

    deadline, points = time.monotonic() + 15, []  # published in batches about once a second
    while sum(p["SampleCount"] for p in points) < 5 and time.monotonic() < deadline:
        time.sleep(0.3)
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/DynamoDB", MetricName="ReplicationLatency",
            Dimensions=[{"Name": "TableName", "Value": cfg.table_name}, {"Name": "ReceivingRegion", "Value": cfg.regions[1]}],
            StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=5), Period=60,
            Statistics=["SampleCount", "Average"],
        )["Datapoints"]

    assert sum(p["SampleCount"] for p in points) >= 5
    assert all(p["Unit"] == "Milliseconds" for p in points)


# --------------------------------------------- pause/resume and restarting
@pytest.fixture
def inprocess(tmp_path):
    """An in-process local cloud with only the replication component (for pause and restart)."""
    with in_process_cloud(tmp_path / "lc", Replication) as cloud:
        yield cloud


def _local_client(cloud, region):
    return boto3.client("dynamodb", region_name=region, endpoint_url=cloud.controlplane.endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _inprocess_global_table(cloud, name: str, regions: list[str]):
    first = _local_client(cloud, regions[0])
    first.create_table(
        TableName=name, KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )
    for region in regions[1:]:
        assert eventually(lambda: first.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE")
        first.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": region}}])
    return [_local_client(cloud, r) for r in regions]


def test_paused_region_receives_everything_on_resume(inprocess, unique):
    replication = inprocess.get(Replication)
    regions = ["eu-west-1", "eu-central-1", "us-east-1"]
    a, b, c = _inprocess_global_table(inprocess, f"pause-{unique}", regions)
    settle = replication.delay_s * 6 + 0.2

    replication.pause("eu-central-1")
    for i in range(20):
        a.put_item(TableName=f"pause-{unique}", Item={"item_id": {"S": f"a{i}"}})
        b.put_item(TableName=f"pause-{unique}", Item={"item_id": {"S": f"b{i}"}})
    everything_from_a = {f"a{i}" for i in range(20)}
    assert eventually(lambda: set(_items(c, f"pause-{unique}")) == everything_from_a), "unpaused regions replicate"
    time.sleep(settle)
    held_in_b = set(_items(b, f"pause-{unique}"))
    held_in_c = set(_items(c, f"pause-{unique}"))
    assert replication.pending(f"pause-{unique}") > 0, "the paused region's changes are queued, not lost"
    replication.resume("eu-central-1")

    assert held_in_b == {f"b{i}" for i in range(20)}, "nothing should reach a paused region"
    assert held_in_c == everything_from_a, "nothing should leave a paused region"
    everything = {f"{p}{i}" for p in "ab" for i in range(20)}
    assert eventually(lambda: all(set(_items(x, f"pause-{unique}")) == everything for x in (a, b, c)))


def test_pausing_one_table_in_a_region_leaves_another_table_flowing(inprocess, unique):
    """The FIS action pauses a replica table, not its Region: the other table's writes, queued behind the
    paused table's between the same two Regions, still arrive; on resume the paused writes arrive in order."""
    replication = inprocess.get(Replication)
    regions = ["eu-west-1", "eu-central-1"]
    paused, flowing = f"pa-{unique}", f"fl-{unique}"
    a_west, a_central = _inprocess_global_table(inprocess, paused, regions)
    b_west, b_central = _inprocess_global_table(inprocess, flowing, regions)
    settle = replication.delay_s * 6 + 0.2

    replication.pause("eu-central-1", paused)
    assert replication.status()["replication_paused"] == [f"eu-central-1 {paused}"]
    for i in range(10):  # interleaved, so each flowing write is queued after a paused one
        a_west.put_item(TableName=paused, Item={"item_id": {"S": f"w{i}"}})
        b_west.put_item(TableName=flowing, Item={"item_id": {"S": f"w{i}"}})
        a_central.put_item(TableName=paused, Item={"item_id": {"S": f"c{i}"}})
        b_central.put_item(TableName=flowing, Item={"item_id": {"S": f"c{i}"}})
    for v in range(5):  # one item written over and over: the last write must win after the resume
        a_west.put_item(TableName=paused, Item={"item_id": {"S": "hot"}, "v": {"N": str(v)}})
    everything = {f"{p}{i}" for p in "wc" for i in range(10)}
    assert eventually(lambda: set(_items(b_west, flowing)) == set(_items(b_central, flowing)) == everything), \
        "the other table replicates both ways between the same Regions"
    time.sleep(settle)
    assert set(_items(a_central, paused)) == {f"c{i}" for i in range(10)}, "nothing reaches the paused replica"
    assert set(_items(a_west, paused)) == {f"w{i}" for i in range(10)} | {"hot"}, "nothing leaves it"
    assert replication.pending(paused) == 25 and replication.pending(flowing) == 0, "queued, not lost"

    replication.resume("eu-central-1", paused)
    assert replication.status()["replication_paused"] == []
    assert eventually(lambda: set(_items(a_west, paused)) == set(_items(a_central, paused)) == everything | {"hot"})
    assert _items(a_central, paused)["hot"]["v"] == {"N": "4"}, "per-item order is kept through the pause"


def test_a_region_wide_pause_holds_every_table_of_the_region(inprocess, unique):
    replication = inprocess.get(Replication)
    regions = ["eu-west-1", "eu-central-1"]
    names = [f"r1-{unique}", f"r2-{unique}"]
    west = [_inprocess_global_table(inprocess, name, regions)[0] for name in names]
    central = _local_client(inprocess, "eu-central-1")

    replication.pause("eu-central-1")
    for client, name in zip(west, names):
        client.put_item(TableName=name, Item={"item_id": {"S": "k"}})
    time.sleep(replication.delay_s * 6 + 0.2)
    assert [_items(central, name) for name in names] == [{}, {}], "no table of the Region receives anything"
    assert replication.status()["replication_paused"] == ["eu-central-1"]
    replication.resume("eu-central-1")
    assert eventually(lambda: all(set(_items(central, name)) == {"k"} for name in names))


def test_restarting_the_replicator_while_writes_continue_loses_nothing(inprocess, unique):
    replication = inprocess.get(Replication)
    a, b = _inprocess_global_table(inprocess, f"restart-{unique}", ["eu-west-1", "eu-central-1"])
    written: list[str] = []

    def writer() -> None:
        for i in range(150):
            a.put_item(TableName=f"restart-{unique}", Item={"item_id": {"S": f"w{i}"}})
            written.append(f"w{i}")

    thread = threading.Thread(target=writer)
    thread.start()
    while len(written) < 30:
        time.sleep(0.01)
    replication.stop()
    while len(written) < 90:
        time.sleep(0.01)
    replication.start()
    thread.join()

    assert eventually(lambda: set(_items(b, f"restart-{unique}")) == set(written)), "every write arrives"
    assert eventually(lambda: replication.pending() == 0)
