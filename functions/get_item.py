"""GET /item/{item_id}: read an item from the regional replica of the global table.

Answers 200 with ``{"item": ..., "served_by": <region>}``, so a client sees
which region answered, or 404 ``{"message": ...}`` when the item is absent.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from backend_common import (
    ClientError,
    api_handler,
    check_key_length,
    dynamodb,
    json_response,
    path_parameter,
    region,
    table_name,
)

_deserializer = TypeDeserializer()


@api_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    item_id = path_parameter(event, "item_id")
    check_key_length("item_id", item_id)
    response = dynamodb().get_item(TableName=table_name(), Key={"item_id": {"S": item_id}})
    attributes = response.get("Item")
    if not attributes:
        raise ClientError(404, f"item {item_id!r} not found in {region()}")
    item = {name: _deserializer.deserialize(value) for name, value in attributes.items()}
    return json_response(200, {"item": item, "served_by": region()})
