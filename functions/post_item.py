"""POST /item: store a JSON object in the regional replica of the global table.

The body must be a JSON object. ``item_id`` is optional (a UUID4 is generated
when it is absent) and must be a non-empty string when given. The function
stamps ``origin_region`` (``AWS_REGION``) and ``written_at`` (UTC, millisecond
precision) on the item: global tables of version 2019.11.21 keep no
``aws:rep:*`` attributes, so the item itself records where and when it was
written. Answers 201 with the stored item.
"""

from __future__ import annotations

import uuid
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError as AwsClientError

from backend_common import (
    ClientError,
    api_handler,
    bad_request,
    check_item_size,
    check_key_length,
    dynamodb,
    json_response,
    json_type,
    parse_json_body,
    region,
    table_name,
    utc_timestamp,
)

_serializer = TypeSerializer()


def build_item(body: Any) -> dict[str, Any]:
    """The item to store, from the request body, or a 4xx ClientError."""
    if not isinstance(body, dict):
        raise bad_request(f"request body must be a JSON object, got {json_type(body)}")
    item = dict(body)
    if "" in item:
        raise bad_request("attribute names must not be empty")
    if "item_id" in item:
        item_id = item["item_id"]
        if not isinstance(item_id, str):
            raise bad_request(f"item_id must be a string, got {json_type(item_id)}")
        if not item_id:
            raise bad_request("item_id must not be empty: leave it out to have one generated")
        check_key_length("item_id", item_id)
    else:
        item["item_id"] = str(uuid.uuid4())
    item["origin_region"] = region()
    item["written_at"] = utc_timestamp()
    check_item_size(item)
    return item


def to_attribute_values(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB's typed form of the item, or a 400 for values DynamoDB cannot store."""
    try:
        return {name: _serializer.serialize(value) for name, value in item.items()}
    except (TypeError, ArithmeticError) as error:
        # e.g. numbers with more than 38 significant digits (decimal.Inexact/Rounded)
        raise bad_request(f"item has a value DynamoDB cannot store: {error.__class__.__name__} {error}".strip()) from None


@api_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    item = build_item(parse_json_body(event))
    attributes = to_attribute_values(item)
    try:
        dynamodb().put_item(TableName=table_name(), Item=attributes)
    except AwsClientError as error:
        # Our checks mirror DynamoDB's item rules; if DynamoDB still finds the item invalid, the
        # client's data is the cause: answer with DynamoDB's reason, never a 500.
        code = error.response.get("Error", {}).get("Code")
        message = error.response.get("Error", {}).get("Message", "")
        if code == "ValidationException":
            status = 413 if "size" in message.lower() else 400
            raise ClientError(status, f"DynamoDB refused the item: {message}") from None
        raise
    return json_response(201, item)
