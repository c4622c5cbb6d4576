"""API Gateway's answers as data (status, headers, body): the proxy response and the documented errors.

Errors follow API Gateway's documented answers: an unknown route, method or
stage gives 403 ``{"message":"Missing Authentication Token"}``; a crash or a
malformed proxy response 502 ``{"message": "Internal server error"}``; a
timeout 504 ``{"message": "Endpoint request timed out"}``; a body over the
10 MB payload quota 413 ``{"message": "Request Too Long"}``; a throttled
function 500 ``{"message": "Internal server error"}``: with a Lambda proxy
integration API Gateway does not pass Lambda's 429 on, it is an integration
failure (the INTEGRATION_FAILURE gateway response, 500 by default).
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def json_error(status: int, message: str, error_type: str | None = None) -> Response:
    headers = [("Content-Type", "application/json")]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return Response(status, headers, json.dumps({"message": message}).encode())


def missing_token() -> Response:
    return json_error(403, "Missing Authentication Token", "MissingAuthenticationTokenException")


def forbidden() -> Response:
    return json_error(403, "Forbidden", "ForbiddenException")


def internal_error(status: int = 502) -> Response:
    return json_error(status, "Internal server error", "InternalServerErrorException")


def timed_out() -> Response:
    return json_error(504, "Endpoint request timed out", "InternalServerErrorException")


def bad_request() -> Response:
    """A request that is not HTTP/1.1 (a malformed line, header, length or chunk)."""
    return json_error(400, "Bad Request")


def too_large() -> Response:
    """A request body over API Gateway's 10 MB payload quota."""
    return json_error(413, "Request Too Long")


def headers_too_large() -> Response:
    """A request line and header values over API Gateway's 10240-byte quota (RFC 6585's status for it)."""
    return json_error(431, "Request Header Fields Too Large")
