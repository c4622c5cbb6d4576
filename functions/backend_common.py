"""Code shared by the three handlers: proxy responses, structured logs, input checks, errors.

Deployed unchanged to AWS Lambda (runtime python3.12) and to the local cloud;
it uses only the standard library and boto3, which the Lambda runtime ships.

Every handler is wrapped with :func:`api_handler`, which
* answers in the Lambda proxy integration's response shape (statusCode,
  headers, multiValueHeaders, body as a string, isBase64Encoded), see
  https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html;
* turns a :class:`ClientError` into its 4xx JSON answer ``{"message": ...}``;
* logs any other exception with the request id and its stack trace, and
  answers 500 ``{"message": "Internal server error"}`` without details, so
  nothing internal leaks to a client;
* writes one JSON object per log line (CloudWatch Logs keeps each line as one
  event, and Logs Insights discovers the JSON fields).
"""

from __future__ import annotations

import base64
import decimal
import functools
import json
import logging
import os
import sys
import time
import traceback
from datetime import datetime, timezone
from typing import Any, Callable

# DynamoDB's item size limit: "The maximum item size in DynamoDB is 400 KB, which
# includes both attribute name binary length (UTF-8 length) and attribute value
# lengths" (Amazon DynamoDB Developer Guide, Service quotas: Items).
MAX_ITEM_BYTES = 400 * 1024
# "The minimum length of a partition key value is 1 byte. The maximum length is
# 2048 bytes" (Developer Guide, Service quotas: Partition key length).
MAX_PARTITION_KEY_BYTES = 2048

JSON_HEADERS = {"Content-Type": "application/json"}


# ------------------------------------------------------------------ errors
class ClientError(Exception):
    """A request the client must fix: answered with ``status`` and ``{"message": message}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> ClientError:
    return ClientError(400, message)


# --------------------------------------------------------------- responses
def _json_default(value: Any) -> Any:
    """DynamoDB returns numbers as Decimal: whole ones become ints, the rest floats."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):  # DynamoDB string/number sets
        return sorted(value, key=str)
    if isinstance(value, (bytes, bytearray)):  # binary attributes, as the DynamoDB JSON API shows them
        return base64.b64encode(bytes(value)).decode()
    if hasattr(value, "value") and isinstance(getattr(value, "value"), (bytes, bytearray)):  # boto3 Binary
        return base64.b64encode(bytes(value.value)).decode()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def to_json(value: Any) -> str:
    """``value`` as compact JSON, with DynamoDB's Decimals and sets made plain."""
    return json.dumps(value, default=_json_default, separators=(",", ":"), ensure_ascii=False)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A Lambda proxy integration response with a JSON body."""
    all_headers = {**JSON_HEADERS, **(headers or {})}
    return {
        "statusCode": int(status),
        "headers": all_headers,
        "multiValueHeaders": {},
        "body": to_json(body),
        "isBase64Encoded": False,
    }


def error_response(status: int, message: str) -> dict[str, Any]:
    return json_response(status, {"message": message})


# ------------------------------------------------------------------ logging
class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, message, request ids, function, region, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "timestamp": utc_timestamp(record.created),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        data.update(_log_context)
        data.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            data["error_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            data["stack_trace"] = "".join(traceback.format_exception(*record.exc_info))
        return to_json(data)


_log_context: dict[str, Any] = {}


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at the time of the record (the runtime may replace it)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def get_logger(name: str = "backend") -> logging.Logger:
    """A logger writing JSON lines to stdout (which Lambda sends to CloudWatch Logs).

    It does not propagate to the root logger, which the Lambda runtime gives a
    plain-text handler of its own, so each record is written once, as JSON.
    """
    logger = logging.getLogger(name)
    if not any(getattr(h, "_backend_json", False) for h in logger.handlers):
        handler = _StdoutHandler()
        handler._backend_json = True  # type: ignore[attr-defined]
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
        logger.propagate = False
    return logger


log = get_logger()


def log_event(level: int, message: str, **fields: Any) -> None:
    """Log ``message`` with extra JSON ``fields`` (and the current request ids)."""
    log.log(level, message, extra={"fields": fields})


# ------------------------------------------------------------- time, region
def utc_timestamp(epoch: float | None = None) -> str:
    """UTC ISO 8601 with milliseconds and a ``Z``, e.g. ``2026-11-26T15:32:16.123Z``."""
    moment = datetime.fromtimestamp(time.time() if epoch is None else epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def region() -> str:
    """The region this function runs in (Lambda sets ``AWS_REGION``)."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "unknown"


def table_name() -> str:
    """The DynamoDB table from ``TABLE_NAME`` (a deployment error, hence a 500, if missing)."""
    name = os.environ.get("TABLE_NAME")
    if not name:
        raise RuntimeError("environment variable TABLE_NAME is not set: redeploy the function with it")
    return name


_dynamodb_clients: dict[str, Any] = {}


def dynamodb() -> Any:
    """A DynamoDB client for this region, built once per environment and reused while warm."""
    key = region()
    client = _dynamodb_clients.get(key)
    if client is None:
        import boto3  # imported here so that handlers load fast and tests can mock before first use

        client = boto3.client("dynamodb", region_name=None if key == "unknown" else key)
        _dynamodb_clients[key] = client
    return client


# ------------------------------------------------------------------- input
def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number DynamoDB can store")


def parse_json_body(event: dict[str, Any]) -> Any:
    """The request body as JSON, numbers with a fraction as Decimal (DynamoDB rejects floats).

    Raises a 400 ClientError for a missing or malformed body, or NaN/Infinity.
    """
    body = event.get("body")
    if body is None or body == "":
        raise bad_request("request body is required: send a JSON object")
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body)
        except (ValueError, TypeError):
            raise bad_request("request body is not valid base64") from None
    try:
        return json.loads(body, parse_float=decimal.Decimal, parse_constant=_reject_constant)
    except (ValueError, TypeError, RecursionError) as error:
        raise bad_request(f"request body is not valid JSON: {error}") from None


def json_type(value: Any) -> str:
    """How JSON calls the type of a parsed value (for error messages)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, decimal.Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def path_parameter(event: dict[str, Any], name: str) -> str:
    """A path parameter (e.g. ``item_id`` of ``/item/{item_id}``), or a 400 ClientError."""
    value = (event.get("pathParameters") or {}).get(name)
    if not isinstance(value, str) or not value:
        raise bad_request(f"missing path parameter {name!r}: call {event.get('resource') or '/item/{' + name + '}'} with a value")
    return value


def check_key_length(name: str, value: str) -> None:
    """A 400 ClientError when the key ``value`` is longer than DynamoDB's partition key limit."""
    if len(value.encode("utf-8")) > MAX_PARTITION_KEY_BYTES:
        raise bad_request(f"{name} is longer than DynamoDB's {MAX_PARTITION_KEY_BYTES}-byte partition key limit")


def _number_size(value: decimal.Decimal) -> int:
    # "Numbers are variable length, with up to 38 significant digits. Leading and
    # trailing zeroes are trimmed. The size of a number is approximately
    # (length of attribute value / 2) + 1 bytes." (Developer Guide, item sizes)
    digits = value.normalize().as_tuple().digits if value else (0,)
    return (len(digits) + 1) // 2 + 1


def attribute_size(value: Any) -> int:
    """The size DynamoDB counts for one attribute value, in bytes.

    From "Working with items: item sizes" in the Developer Guide: strings and
    binaries by their length, numbers by their significant digits, booleans and
    null 1 byte, lists and maps 3 bytes plus 1 byte per element plus their
    contents (and, in maps, the names).
    """
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, int):
        return _number_size(decimal.Decimal(value))
    if isinstance(value, decimal.Decimal):
        return _number_size(value)
    if isinstance(value, dict):
        return 3 + sum(len(str(k).encode("utf-8")) + attribute_size(v) + 1 for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return 3 + sum(attribute_size(v) + 1 for v in value)
    if isinstance(value, (set, frozenset)):
        return sum(attribute_size(v) for v in value)
    return len(str(value).encode("utf-8"))


def item_size(item: dict[str, Any]) -> int:
    """The size of a whole item as DynamoDB counts it (names plus values)."""
    return sum(len(name.encode("utf-8")) + attribute_size(value) for name, value in item.items())


def check_item_size(item: dict[str, Any]) -> None:
    """413 when the item exceeds DynamoDB's 400 KB item limit.

    413 "Content Too Large" (RFC 9110, section 15.5.14) says the request body is
    larger than the server is willing to process, which is exactly this case.
    """
    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        raise ClientError(
            413,
            f"item is {size} bytes; DynamoDB stores items of at most {MAX_ITEM_BYTES} bytes (400 KB): send a smaller object",
        )


# ---------------------------------------------------------------- handlers
def api_handler(func: Callable[[dict[str, Any], Any], dict[str, Any]]) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Wrap a proxy handler: request-id logging, 4xx for ClientError, a generic 500 for the rest."""

    @functools.wraps(func)
    def wrapper(event: dict[str, Any], context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        event = event if isinstance(event, dict) else {}
        request_context = event.get("requestContext") or {}
        _log_context.clear()
        _log_context.update(
            request_id=getattr(context, "aws_request_id", None),
            api_request_id=request_context.get("requestId"),
            function=os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
            region=region(),
        )
        try:
            response = func(event, context)
        except ClientError as error:
            log_event(logging.WARNING, "rejected request", status=error.status, reason=error.message,
                      method=event.get("httpMethod"), path=event.get("path"))
            response = error_response(error.status, error.message)
        except Exception:
            log.exception("unhandled error", extra={"fields": {"method": event.get("httpMethod"), "path": event.get("path")}})
            response = error_response(500, "Internal server error")
        else:
            log_event(logging.INFO, "request handled", status=response["statusCode"],
                      method=event.get("httpMethod"), path=event.get("path"),
                      duration_ms=round((time.perf_counter() - started) * 1000, 3))
        return response

    return wrapper
