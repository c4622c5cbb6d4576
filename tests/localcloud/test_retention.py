"""What the local cloud keeps, and for how long (``localcloud.retention``): AWS's retention, scaled, and caps.

An in-process local cloud with the retention component only; records are made
through boto3 and one sweep is run on demand, so each bound is seen to hold.
"""

from __future__ import annotations

import time

import boto3
import pytest

from conftest import in_process_cloud
from localcloud import retention
from localcloud.retention import Retention

REGION = "eu-west-1"
TIME_SCALE = 1e-5  # 24 AWS hours are 0.864 real seconds, one AWS day of log retention too


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    with in_process_cloud(tmp_path_factory.mktemp("retention"), Retention, time_scale=TIME_SCALE) as cloud:
        yield cloud


def _client(cloud, service):
    return boto3.client(service, region_name=REGION, endpoint_url=cloud.controlplane.endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _events(logs, group):
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    return [e["message"] for s in streams
            for e in logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"], startFromHead=True)["events"]]


def _put(logs, group, stream, messages, timestamp_ms=None):
    now = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    for start in range(0, len(messages), 5000):
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": now, "message": m} for m in messages[start:start + 5000]])


def test_a_log_group_never_holds_more_than_the_cap_and_the_oldest_go_first(cloud, monkeypatch):
    monkeypatch.setattr(retention, "MAX_LOG_EVENTS_PER_GROUP", 100)
    logs = _client(cloud, "logs")
    logs.create_log_group(logGroupName="/capped")
    for stream in ("a", "b"):
        logs.create_log_stream(logGroupName="/capped", logStreamName=stream)
    _put(logs, "/capped", "a", [f"old-{i}" for i in range(80)])
    _put(logs, "/capped", "b", [f"new-{i}" for i in range(80)])
    cloud.get(Retention).sweep()
    kept = _events(logs, "/capped")
    assert len(kept) == 100
    assert set(kept) == {f"old-{i}" for i in range(60, 80)} | {f"new-{i}" for i in range(80)}


def test_log_events_older_than_the_groups_retention_scaled_are_dropped(cloud):
    logs = _client(cloud, "logs")
    logs.create_log_group(logGroupName="/retained")
    logs.put_retention_policy(logGroupName="/retained", retentionInDays=1)  # 0.864 real seconds here
    logs.create_log_stream(logGroupName="/retained", logStreamName="s")
    _put(logs, "/retained", "s", ["before"], timestamp_ms=int(time.time() * 1000) - 2000)
    _put(logs, "/retained", "s", ["after"])
    cloud.get(Retention).sweep()
    assert _events(logs, "/retained") == ["after"]


def test_a_log_group_without_retention_keeps_its_events_below_the_cap(cloud):
    logs = _client(cloud, "logs")
    logs.create_log_group(logGroupName="/forever")
    logs.create_log_stream(logGroupName="/forever", logStreamName="s")
    _put(logs, "/forever", "s", ["ancient"], timestamp_ms=int(time.time() * 1000) - 86_400_000)
    cloud.get(Retention).sweep()
    assert _events(logs, "/forever") == ["ancient"]


def test_stream_records_older_than_24_scaled_hours_are_gone_and_later_ones_still_read(cloud):
    ddb, streams = _client(cloud, "dynamodb"), _client(cloud, "dynamodbstreams")
    arn = ddb.create_table(
        TableName="streamed", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}], AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})["TableDescription"]["LatestStreamArn"]
    ddb.put_item(TableName="streamed", Item={"k": {"S": "expired"}})
    time.sleep(24 * 3600 * TIME_SCALE + 0.2)
    ddb.put_item(TableName="streamed", Item={"k": {"S": "live"}})
    cloud.get(Retention).sweep()
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [r["dynamodb"]["Keys"]["k"]["S"] for r in records] == ["live"]
    ddb.put_item(TableName="streamed", Item={"k": {"S": "later"}})
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in
               streams.get_records(ShardIterator=streams.get_shard_iterator(
                   StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"])["Records"]]
    assert len(numbers) == 2 and numbers[0] < numbers[1], "sequence numbers keep rising after a trim"


def test_metric_data_points_past_the_cap_are_dropped_oldest_first(cloud, monkeypatch):
    monkeypatch.setattr(retention, "MAX_METRIC_DATA_POINTS", 10)
    cw = _client(cloud, "cloudwatch")
    for i in range(25):
        cw.put_metric_data(Namespace="Test", MetricData=[{"MetricName": "m", "Value": float(i)}])
    cloud.get(Retention).sweep()
    backend = cloud.backend("cloudwatch", REGION)
    assert [d.value for d in backend.metric_data] == [float(i) for i in range(15, 25)]


def test_a_record_moto_drops_is_freed(cloud, monkeypatch):
    """moto would keep every model instance it ever made (``instances_tracked``); the control plane stops that."""
    import gc
    import weakref

    monkeypatch.setattr(retention, "MAX_LOG_EVENTS_PER_GROUP", 1)
    logs = _client(cloud, "logs")
    logs.create_log_group(logGroupName="/freed")
    logs.create_log_stream(logGroupName="/freed", logStreamName="s")
    _put(logs, "/freed", "s", ["first"])
    stream = cloud.backend("logs", REGION).groups["/freed"].streams["s"]
    first = weakref.ref(stream.events[0])
    _put(logs, "/freed", "s", ["second"])
    cloud.get(Retention).sweep()
    gc.collect()
    assert first() is None, "the dropped log event is still referenced somewhere"


def test_lambda_permission_decisions_never_exceed_their_cap():
    from types import SimpleNamespace

    from localcloud.lambda_runtime.permission_cache import PERMISSION_CACHE_SIZE, PermissionCache

    cache = PermissionCache("123456789012")
    fn = SimpleNamespace(policy=None)
    for i in range(PERMISSION_CACHE_SIZE + 100):
        assert not cache.permitted(fn, "apigateway.amazonaws.com", (f"arn:aws:execute-api:eu-west-1:1:api/s/GET/{i}",))
        assert len(cache._decisions) <= PERMISSION_CACHE_SIZE
