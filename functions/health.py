"""GET /health: the region's health, as Route 53 health checks probe it.

The status code comes from the ``STATUS`` environment variable (default 200),
as in the blog: changing it in the function's configuration is how a region is
made to fail its health check. The body names the region. With
``DEEP_CHECK=true`` the function also describes the table and answers 503 when
it is not ACTIVE or cannot be reached.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from backend_common import api_handler, dynamodb, json_response, log_event, region, table_name


def configured_status() -> int:
    """``STATUS`` as an HTTP status code; a value that is not one reports 500 (a broken configuration)."""
    raw = os.environ.get("STATUS", "200").strip()
    try:
        status = int(raw)
    except ValueError:
        status = 0
    if not 100 <= status <= 599:
        log_event(logging.ERROR, "STATUS is not an HTTP status code, reporting 500", status_variable=raw)
        return 500
    return status


def deep_check() -> dict[str, Any]:
    """The table's status in this region (DescribeTable)."""
    try:
        table = dynamodb().describe_table(TableName=table_name())["Table"]
        return {"table": table_name(), "table_status": table.get("TableStatus")}
    except Exception as error:  # any failure to reach the table makes the region unhealthy
        log_event(logging.ERROR, "deep check failed", error=f"{type(error).__name__}: {error}")
        return {"table": os.environ.get("TABLE_NAME"), "table_status": "UNREACHABLE"}


@api_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    status = configured_status()
    body: dict[str, Any] = {}
    if os.environ.get("DEEP_CHECK", "false").strip().lower() == "true":
        body.update(deep_check())
        if body["table_status"] != "ACTIVE" and status < 400:
            status = 503
    body = {"status": "healthy" if status < 400 else "unhealthy", "region": region(), **body}
    return json_response(status, body)
