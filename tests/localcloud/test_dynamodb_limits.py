"""DynamoDB's item quotas in the local cloud, exactly at AWS's boundary: 400 KB counted as AWS counts, 32 levels.

moto alone refuses items of 405 to 409.6 KB that DynamoDB stores and accepts any nesting; the control
plane corrects its check (``localcloud.controlplane.MODEL_CORRECTIONS``). Requests go through boto3.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from awsfacts.dynamodb import ITEM_TOO_LARGE, MAX_ITEM_BYTES, MAX_NESTING_LEVELS, NESTING_TOO_DEEP, item_bytes
from conftest import in_process_cloud

REGION = "eu-west-1"
TABLE = "limits"


@pytest.fixture(scope="module")
def ddb(tmp_path_factory):
    with in_process_cloud(tmp_path_factory.mktemp("ddb-limits")) as cloud:
        client = boto3.client("dynamodb", region_name=REGION, endpoint_url=cloud.controlplane.endpoint,
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        client.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}])
        yield client


def _item_of_size(size: int, key: str = "k") -> dict:
    """An item whose size, as DynamoDB counts it (names + values, UTF-8), is exactly ``size`` bytes."""
    item = {"item_id": {"S": key}, "blob": {"S": ""}, "doc": {"M": {"n": {"N": "12345"}, "l": {"L": [{"BOOL": True}]}}}}
    item["blob"]["S"] = "é" * ((size - item_bytes(item)) // 2) + "x" * ((size - item_bytes(item)) % 2)
    assert item_bytes(item) == size
    return item


def _nested(levels: int) -> dict:
    value = {"S": "leaf"}
    for _ in range(levels):
        value = {"M": {"a": value}}
    return value


def test_an_item_of_exactly_400_kb_is_stored_and_read_back(ddb):
    item = _item_of_size(MAX_ITEM_BYTES, "at-limit")
    ddb.put_item(TableName=TABLE, Item=item)
    assert ddb.get_item(TableName=TABLE, Key={"item_id": {"S": "at-limit"}})["Item"] == item


def test_an_item_one_byte_over_400_kb_is_refused_with_dynamodbs_message(ddb):
    with pytest.raises(ClientError) as refused:
        ddb.put_item(TableName=TABLE, Item=_item_of_size(MAX_ITEM_BYTES + 1, "over"))
    assert refused.value.response["Error"] == {"Code": "ValidationException", "Message": ITEM_TOO_LARGE}
    assert "Item" not in ddb.get_item(TableName=TABLE, Key={"item_id": {"S": "over"}})


def test_an_update_that_grows_an_item_past_400_kb_is_refused(ddb):
    item = _item_of_size(MAX_ITEM_BYTES - 10, "grows")
    ddb.put_item(TableName=TABLE, Item=item)
    with pytest.raises(ClientError) as refused:
        ddb.update_item(TableName=TABLE, Key={"item_id": {"S": "grows"}}, UpdateExpression="SET extra = :v",
                        ExpressionAttributeValues={":v": {"S": "0123456789"}})
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "exceeded the maximum allowed size" in refused.value.response["Error"]["Message"]
    assert ddb.get_item(TableName=TABLE, Key={"item_id": {"S": "grows"}})["Item"] == item


def test_32_levels_of_nesting_are_stored_and_33_refused(ddb):
    ddb.put_item(TableName=TABLE, Item={"item_id": {"S": "deep"}, "doc": _nested(MAX_NESTING_LEVELS)})
    assert ddb.get_item(TableName=TABLE, Key={"item_id": {"S": "deep"}})["Item"]["doc"] == _nested(MAX_NESTING_LEVELS)
    with pytest.raises(ClientError) as refused:
        ddb.put_item(TableName=TABLE, Item={"item_id": {"S": "deeper"}, "doc": _nested(MAX_NESTING_LEVELS + 1)})
    assert refused.value.response["Error"] == {"Code": "ValidationException", "Message": NESTING_TOO_DEEP}
