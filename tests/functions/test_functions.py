"""The backend's Lambda handlers, called directly with API Gateway proxy events (payload 1.0).

DynamoDB is moto's in-process mock, so these tests need no local cloud.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"
sys.path.insert(0, str(FUNCTIONS_DIR))  # as Lambda puts the task root on sys.path

import backend_common  # noqa: E402
import get_item  # noqa: E402
import health  # noqa: E402
import post_item  # noqa: E402

REGION = "eu-west-1"
TABLE = "items-test"
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


class Context:
    """The parts of the Lambda context object the handlers use."""

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = "test-function"


def proxy_event(method: str, resource: str, path: str, body: str | None = None, path_parameters: dict | None = None,
                base64_body: bool = False) -> dict:
    """An API Gateway REST (payload 1.0) Lambda proxy event."""
    if base64_body and body is not None:
        body = base64.b64encode(body.encode()).decode()
    return {
        "resource": resource, "path": path, "httpMethod": method,
        "headers": {"Content-Type": "application/json"}, "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": path_parameters, "stageVariables": None,
        "requestContext": {"requestId": str(uuid.uuid4()), "resourcePath": resource, "httpMethod": method, "stage": "dev",
                           "identity": {"sourceIp": "127.0.0.1"}},
        "body": body, "isBase64Encoded": base64_body,
    }


def post(body: str | None, **kwargs) -> tuple[int, dict]:
    response = post_item.handler(proxy_event("POST", "/item", "/item", body, **kwargs), Context())
    return response["statusCode"], json.loads(response["body"])


def get(item_id: str | None) -> tuple[int, dict]:
    params = None if item_id is None else {"item_id": item_id}
    response = get_item.handler(proxy_event("GET", "/item/{item_id}", f"/item/{item_id}", path_parameters=params), Context())
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def table(monkeypatch):
    """A fresh item table in moto's in-process mock, and the environment Lambda would give the handlers."""
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "STATUS", "DEEP_CHECK"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "test-function")
    backend_common._dynamodb_clients.clear()
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        yield client
    backend_common._dynamodb_clients.clear()


# ----------------------------------------------------------------- response shape
def test_responses_have_the_lambda_proxy_shape(table):
    response = post_item.handler(proxy_event("POST", "/item", "/item", '{"a": 1}'), Context())
    assert set(response) >= {"statusCode", "headers", "body", "isBase64Encoded"}
    assert isinstance(response["body"], str)
    assert response["isBase64Encoded"] is False
    assert response["headers"]["Content-Type"] == "application/json"


# -------------------------------------------------------------------- post_item
def test_post_generates_an_item_id_and_stamps_region_and_write_time(table):
    status, item = post('{"message": "hello"}')
    assert status == 201
    assert uuid.UUID(item["item_id"]).version == 4
    assert item["origin_region"] == REGION
    assert ISO_MS.match(item["written_at"]), item["written_at"]
    stored = table.get_item(TableName=TABLE, Key={"item_id": {"S": item["item_id"]}})["Item"]
    assert stored["message"] == {"S": "hello"}
    assert stored["origin_region"] == {"S": REGION}


def test_post_keeps_a_given_item_id_and_overrides_client_stamps(table):
    status, item = post('{"item_id": "foobar", "origin_region": "mars-1", "written_at": "yesterday"}')
    assert status == 201
    assert item["item_id"] == "foobar"
    assert item["origin_region"] == REGION
    assert ISO_MS.match(item["written_at"])


def test_post_stores_fractional_numbers_as_dynamodb_numbers(table):
    status, item = post('{"item_id": "n", "price": 12.5, "count": 3, "nested": {"ratio": 0.25, "list": [1.5, true, null]}}')
    assert status == 201
    assert item["price"] == 12.5 and item["count"] == 3 and item["nested"]["list"] == [1.5, True, None]
    stored = table.get_item(TableName=TABLE, Key={"item_id": {"S": "n"}})["Item"]
    assert stored["price"] == {"N": "12.5"}
    assert stored["nested"]["M"]["ratio"] == {"N": "0.25"}


def test_post_accepts_a_base64_encoded_body(table):
    status, item = post('{"item_id": "b64"}', base64_body=True)
    assert status == 201 and item["item_id"] == "b64"


@pytest.mark.parametrize("body, fragment", [
    ("{not json", "not valid JSON"),
    ('{"a": NaN}', "not valid JSON"),
    ("", "body is required"),
    (None, "body is required"),
])
def test_post_rejects_a_body_that_is_not_json_with_400(table, body, fragment):
    status, answer = post(body)
    assert status == 400
    assert fragment in answer["message"]


@pytest.mark.parametrize("body, kind", [("[1, 2]", "an array"), ('"text"', "a string"), ("42", "a number"), ("null", "null")])
def test_post_rejects_a_body_that_is_not_an_object_with_400(table, body, kind):
    status, answer = post(body)
    assert status == 400
    assert answer["message"] == f"request body must be a JSON object, got {kind}"


@pytest.mark.parametrize("item_id", [42, None, ["x"], {"id": 1}, True])
def test_post_rejects_an_item_id_that_is_not_a_string_with_400(table, item_id):
    status, answer = post(json.dumps({"item_id": item_id}))
    assert status == 400
    assert answer["message"].startswith("item_id must be a string")


def test_post_rejects_an_empty_item_id_with_400(table):
    status, answer = post('{"item_id": ""}')
    assert status == 400 and "must not be empty" in answer["message"]


def test_post_rejects_an_empty_attribute_name_with_400(table):
    status, answer = post('{"": 1}')
    assert status == 400 and "attribute names" in answer["message"]


def test_post_answers_400_with_dynamodbs_reason_when_dynamodb_rejects_the_item(table, monkeypatch):
    from botocore.exceptions import ClientError as BotoClientError

    def refuse(**_):
        raise BotoClientError({"Error": {"Code": "ValidationException", "Message": "Nested levels have exceeded supported limits"}}, "PutItem")

    monkeypatch.setattr(backend_common.dynamodb(), "put_item", refuse)
    status, answer = post('{"a": 1}')
    assert status == 400
    assert answer["message"] == "DynamoDB refused the item: Nested levels have exceeded supported limits"


def test_post_and_get_reject_an_item_id_longer_than_the_partition_key_limit_with_400(table):
    status, answer = post(json.dumps({"item_id": "x" * 2049}))
    assert status == 400 and "2048-byte" in answer["message"]
    status, answer = get("é" * 1025)  # 2,050 bytes in UTF-8: the limit counts bytes, not characters
    assert status == 400 and "2048-byte" in answer["message"]


def test_post_rejects_an_item_over_400_kb_with_413(table):
    status, answer = post(json.dumps({"item_id": "big", "blob": "x" * (400 * 1024)}))
    assert status == 413
    assert "400 KB" in answer["message"]
    assert "Item" not in table.get_item(TableName=TABLE, Key={"item_id": {"S": "big"}})


def test_post_accepts_a_large_item_within_the_limit(table):
    # 400 KB is 409,600 bytes on AWS; moto refuses items over 405,000 bytes, so stay under both.
    status, _ = post(json.dumps({"item_id": "fits", "blob": "x" * 400_000}))
    assert status == 201


def test_post_rejects_a_number_dynamodb_cannot_store_with_400(table):
    status, answer = post('{"item_id": "n", "value": 1.0000000000000000000000000000000000000001}')
    assert status == 400 and "cannot store" in answer["message"]


# --------------------------------------------------------------------- get_item
def test_get_returns_the_item_and_the_region_that_served_it(table):
    post('{"item_id": "foobar", "price": 2.5}')
    status, answer = get("foobar")
    assert status == 200
    assert answer["served_by"] == REGION
    assert answer["item"]["item_id"] == "foobar"
    assert answer["item"]["price"] == 2.5


def test_get_answers_404_for_an_absent_item(table):
    status, answer = get("nope")
    assert status == 404
    assert "not found" in answer["message"]


def test_get_answers_400_without_the_path_parameter(table):
    status, answer = get(None)
    assert status == 400
    assert "item_id" in answer["message"]


# ----------------------------------------------------------------------- health
def health_call() -> tuple[int, dict]:
    response = health.handler(proxy_event("GET", "/health", "/health"), Context())
    return response["statusCode"], json.loads(response["body"])


def test_health_answers_200_and_its_region_by_default(table):
    assert health_call() == (200, {"status": "healthy", "region": REGION})


def test_health_answers_the_status_from_the_environment(table, monkeypatch):
    monkeypatch.setenv("STATUS", "503")
    assert health_call() == (503, {"status": "unhealthy", "region": REGION})


def test_health_reports_500_when_status_is_not_an_http_code(table, monkeypatch, capsys):
    monkeypatch.setenv("STATUS", "broken")
    status, body = health_call()
    assert status == 500 and body["status"] == "unhealthy"
    assert any(json.loads(line).get("status_variable") == "broken" for line in capsys.readouterr().out.splitlines())


def test_health_deep_check_describes_the_table(table, monkeypatch):
    monkeypatch.setenv("DEEP_CHECK", "true")
    status, body = health_call()
    assert status == 200
    assert body["table_status"] == "ACTIVE"


def test_health_deep_check_fails_when_the_table_is_missing(table, monkeypatch):
    monkeypatch.setenv("DEEP_CHECK", "true")
    monkeypatch.setenv("TABLE_NAME", "no-such-table")
    status, body = health_call()
    assert status == 503
    assert body == {"status": "unhealthy", "region": REGION, "table": "no-such-table", "table_status": "UNREACHABLE"}


# ------------------------------------------------------------ errors and logs
def test_an_unexpected_error_answers_500_without_details_and_logs_the_request_id(table, monkeypatch, capsys):
    monkeypatch.setenv("TABLE_NAME", "no-such-table")  # DynamoDB answers ResourceNotFoundException
    context = Context()
    response = post_item.handler(proxy_event("POST", "/item", "/item", '{"a": 1}'), context)
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {"message": "Internal server error"}
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    error = next(r for r in records if r["level"] == "ERROR")
    assert error["request_id"] == context.aws_request_id
    assert "ResourceNotFoundException" in error["stack_trace"]


def test_every_log_line_is_one_json_object_with_the_request_ids(table, capsys):
    context = Context()
    event = proxy_event("POST", "/item", "/item", "{bad")
    post_item.handler(event, context)
    lines = capsys.readouterr().out.splitlines()
    assert lines, "the handler logged nothing"
    for line in lines:
        record = json.loads(line)
        assert record["request_id"] == context.aws_request_id
        assert record["api_request_id"] == event["requestContext"]["requestId"]
        assert record["function"] == "test-function" and record["region"] == REGION
        assert ISO_MS.match(record["timestamp"])
    assert json.loads(lines[-1])["status"] == 400


def test_item_size_counts_names_and_values_as_dynamodb_does():
    assert backend_common.item_size({"id": "abc"}) == 5
    assert backend_common.item_size({"n": Decimal("12.5")}) == 1 + 3
    assert backend_common.item_size({"m": {"a": True}}) == 1 + 3 + 1 + 1 + 1
    assert backend_common.item_size({"l": [None, "xy"]}) == 1 + 3 + (1 + 1) + (2 + 1)
