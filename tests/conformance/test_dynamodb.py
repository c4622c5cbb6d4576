"""DynamoDB tables and global tables, as the Developer Guide's tutorials drive them.

Follows: DynamoDB Developer Guide, "Global tables version 2017.11.29 (Legacy)" and "Tutorial: Creating a
global table" (version 2019.11.21), and "Basic operations on DynamoDB tables" (CreateTable, then wait for ACTIVE).
"""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from awsfacts.dynamodb import LEGACY_CREATE_REFUSED


def _create(client, name: str, region: str = "us-east-1") -> dict:
    return client("dynamodb", region).create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})


def test_create_table_answers_creating_then_the_waiter_sees_active(client, unique):
    ddb = client("dynamodb")
    answer = _create(client, f"music-{unique}")
    assert answer["TableDescription"]["TableStatus"] == "CREATING"
    assert ddb.describe_table(TableName=f"music-{unique}")["Table"]["TableStatus"] == "CREATING"
    started = time.monotonic()
    ddb.get_waiter("table_exists").wait(TableName=f"music-{unique}", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    assert ddb.describe_table(TableName=f"music-{unique}")["Table"]["TableStatus"] == "ACTIVE"
    assert time.monotonic() - started < 5


def test_legacy_create_global_table_is_refused_as_aws_refuses_it(aws, client, unique):
    name = f"legacy-{unique}"
    for region in ("us-east-1", "us-west-2"):
        _create(client, name, region)
    result = aws("dynamodb", "create-global-table", "--global-table-name", name,
                 "--replication-group", "RegionName=us-east-1", "RegionName=us-west-2")
    assert result.returncode != 0
    assert f"An error occurred (ValidationException) when calling the CreateGlobalTable operation: " \
           f"{LEGACY_CREATE_REFUSED}" in result.stderr
    assert result.seconds < 10  # a 400: printed at once, no retries


@pytest.mark.parametrize("call", [
    lambda ddb, name: ddb.describe_global_table(GlobalTableName=name),
    lambda ddb, name: ddb.update_global_table(GlobalTableName=name,
                                              ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}]),
    lambda ddb, name: ddb.describe_global_table_settings(GlobalTableName=name),
])
def test_legacy_operations_find_no_legacy_global_table(client, unique, call):
    with pytest.raises(ClientError) as caught:
        call(client("dynamodb"), f"legacy-{unique}")
    assert caught.value.response["Error"]["Code"] == "GlobalTableNotFoundException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_list_global_tables_lists_only_legacy_ones(client):
    assert client("dynamodb").list_global_tables()["GlobalTables"] == []


def _global_table(client, name: str) -> None:
    """The 2019.11.21 tutorial: a table with a NEW_AND_OLD_IMAGES stream, then a replica via UpdateTable."""
    east = client("dynamodb")
    _create(client, name)
    east.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": "us-west-2"}}])
    for _ in range(200):
        table = east.describe_table(TableName=name)["Table"]
        if table["TableStatus"] == "ACTIVE" and all(r["ReplicaStatus"] == "ACTIVE" for r in table["Replicas"]):
            return
        time.sleep(0.05)
    raise AssertionError(f"the replica of {name} did not become ACTIVE")


def test_replica_settings_streams_and_metrics(client, unique):
    """Follows: DynamoDB Developer Guide, "Global tables: How it works" (GSIs and TTL settings are kept in sync
    across replicas), "Change data capture for DynamoDB Streams" (awsRegion of a stream record) and
    "Monitoring global tables" (ReplicationLatency per TableName and ReceivingRegion)."""
    name = f"settings-{unique}"
    _global_table(client, name)
    east, west = client("dynamodb"), client("dynamodb", "us-west-2")

    east.update_table(TableName=name, AttributeDefinitions=[{"AttributeName": "city", "AttributeType": "S"}],
                      GlobalSecondaryIndexUpdates=[{"Create": {
                          "IndexName": "by-city", "KeySchema": [{"AttributeName": "city", "KeyType": "HASH"}],
                          "Projection": {"ProjectionType": "ALL"}}}])
    indexes = west.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes", [])
    assert [index["IndexName"] for index in indexes] == ["by-city"]

    east.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    ttl = west.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == "expires"

    for n in range(5):
        east.put_item(TableName=name, Item={"pk": {"S": f"item-{n}"}, "city": {"S": "Lisbon"}})
    for _ in range(100):
        if "Item" in west.get_item(TableName=name, Key={"pk": {"S": "item-4"}}):
            break
        time.sleep(0.05)
    for region in ("us-east-1", "us-west-2"):
        streams = client("dynamodbstreams", region)
        arn = client("dynamodb", region).describe_table(TableName=name)["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records = streams.get_records(ShardIterator=iterator)["Records"]
        assert records and {record["awsRegion"] for record in records} == {region}

    cloudwatch = client("cloudwatch")
    listed: list = []
    for _ in range(100):
        listed = [m for m in cloudwatch.list_metrics(Namespace="AWS/DynamoDB", MetricName="ReplicationLatency")["Metrics"]
                  if {"Name": "TableName", "Value": name} in m["Dimensions"]]
        if listed:
            break
        time.sleep(0.1)
    time.sleep(1.5)  # more batches of statistics are published meanwhile: still one metric
    listed = [m for m in cloudwatch.list_metrics(Namespace="AWS/DynamoDB", MetricName="ReplicationLatency")["Metrics"]
              if {"Name": "TableName", "Value": name} in m["Dimensions"]]
    metrics = [tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])) for m in listed]
    assert len(metrics) == len(set(metrics)), f"each metric listed once, however many batches: {metrics}"
    assert (("ReceivingRegion", "us-west-2"), ("TableName", name)) in metrics, metrics


def test_concurrent_writes_in_two_regions_converge_on_the_last_writer(client, unique):
    """Follows: DynamoDB Developer Guide, "Global tables: How it works" (conflicts: last writer wins)."""
    name = f"lww-{unique}"
    _global_table(client, name)
    east, west = client("dynamodb"), client("dynamodb", "us-west-2")
    east.put_item(TableName=name, Item={"pk": {"S": "x"}, "writer": {"S": "east"}})
    time.sleep(0.01)
    west.put_item(TableName=name, Item={"pk": {"S": "x"}, "writer": {"S": "west"}})
    time.sleep(1.0)  # replication: 1 s on AWS, scaled here
    for ddb in (east, west):
        assert ddb.get_item(TableName=name, Key={"pk": {"S": "x"}}, ConsistentRead=True)["Item"]["writer"]["S"] == "west"


def test_ttl_expiry_deletes_and_the_deletion_replicates(client, unique):
    """Follows: DynamoDB Developer Guide, "Using time to live (TTL) in DynamoDB" (expired items are deleted by
    the service, the stream record's userIdentity names it) and "Global tables: How it works" (TTL deletes
    replicate to every replica)."""
    name = f"ttl-{unique}"
    _global_table(client, name)
    east, west = client("dynamodb"), client("dynamodb", "us-west-2")
    east.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    now = int(time.time())
    east.put_item(TableName=name, Item={"pk": {"S": "old"}, "expires": {"N": str(now - 60)}})
    east.put_item(TableName=name, Item={"pk": {"S": "new"}, "expires": {"N": str(now + 3600)}})
    for _ in range(100):  # both writes have reached the replica (in order): from here "gone" means deleted there
        if "Item" in west.get_item(TableName=name, Key={"pk": {"S": "new"}}):
            break
        time.sleep(0.1)
    gone = False
    for _ in range(100):
        gone = all("Item" not in ddb.get_item(TableName=name, Key={"pk": {"S": "old"}}) for ddb in (east, west))
        if gone:
            break
        time.sleep(0.1)
    assert gone, "the expired item is still there"
    assert all("Item" in ddb.get_item(TableName=name, Key={"pk": {"S": "new"}}) for ddb in (east, west))
    streams = client("dynamodbstreams")
    arn = east.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    removes = [r for r in streams.get_records(ShardIterator=iterator)["Records"] if r["eventName"] == "REMOVE"]
    assert [r.get("userIdentity") for r in removes] == [{"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}]
