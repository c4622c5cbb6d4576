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
