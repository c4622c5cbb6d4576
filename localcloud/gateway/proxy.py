"""The Lambda proxy integration's payload 1.0: the request as an event, the function's answer as a response.

AWS documentation, "Set up Lambda proxy integrations in API Gateway": the
event has resource, path, httpMethod, headers, multiValueHeaders, query string
parameters, pathParameters, stageVariables, requestContext, body and
isBase64Encoded; the function answers statusCode, headers,
multiValueHeaders, body (a string) and isBase64Encoded, and anything else is a
"Malformed Lambda proxy response".
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from localcloud.gateway.responses import Response
from localcloud.gateway.routes import Match

PROXY_RESPONSE_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs a microsecond more per request
class Request:
    """One request as API Gateway received it, with the ids it gave it."""

    region: str
    method: str
    host: str  # lower case, without port or trailing dot
    query: str  # the raw query string
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    request_id: str
    apigw_id: str  # the extended request id
    trace_id: str  # X-Amzn-Trace-Id


_request_time_cache: tuple[int, str] = (0, "")


def _request_time(epoch: float) -> str:
    """requestContext.requestTime, e.g. ``26/Nov/2026:16:20:44 +0000``, formatted once per second."""
    global _request_time_cache
    second = int(epoch)
    if _request_time_cache[0] != second:
        _request_time_cache = (second, time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(second)))
    return _request_time_cache[1]


def proxy_event(request: Request, routed: Match, account_id: str, api_port: int) -> dict[str, Any]:
    """The payload-1.0 Lambda proxy event of a REST API (AWS docs: "Input format of a Lambda function for proxy integration")."""
    now = time.time()
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    present: set[str] = set()
    content_type = ""
    user_agent = None
    for name, value in request.headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
        lower = name.lower()
        present.add(lower)
        if lower == "content-type" and not content_type:
            content_type = value
        elif lower == "user-agent" and user_agent is None:
            user_agent = value
    for name, value in (("X-Forwarded-For", request.source_ip), ("X-Forwarded-Port", str(api_port)),
                        ("X-Forwarded-Proto", "https"), ("X-Amzn-Trace-Id", request.trace_id)):
        if name.lower() not in present:
            single[name] = value
            multi.setdefault(name, []).append(value)
    qs_single: dict[str, str] = {}
    qs_multi: dict[str, list[str]] = {}
    if request.query:
        for name, value in parse_qsl(request.query, keep_blank_values=True):
            qs_single[name] = value
            qs_multi.setdefault(name, []).append(value)
    body = request.body
    binary = bool(body) and any(_media_matches(t, content_type) for t in (routed.api.binaryMediaTypes or []))
    if binary:
        event_body: str | None = base64.b64encode(body).decode()
    else:
        event_body = body.decode("utf-8", "replace") if body else None
    stage = routed.stage.name
    return {
        "resource": routed.resource_path,
        "path": routed.path,
        "httpMethod": request.method,
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": qs_single or None,
        "multiValueQueryStringParameters": qs_multi or None,
        "pathParameters": routed.path_parameters or None,
        "stageVariables": dict(routed.stage.variables) or None,
        "requestContext": {
            "accountId": account_id,
            "apiId": routed.api.id,
            "domainName": request.host,
            "domainPrefix": request.host.split(".", 1)[0],
            "extendedRequestId": request.apigw_id,
            "httpMethod": request.method,
            "path": "/" + stage + routed.path if routed.execute_api else routed.path,
            "protocol": "HTTP/1.1",
            "requestId": request.request_id,
            "requestTime": _request_time(now),
            "requestTimeEpoch": int(now * 1000),
            "resourceId": routed.resource.id,
            "resourcePath": routed.resource_path,
            "stage": stage,
            "identity": {"sourceIp": request.source_ip, "userAgent": user_agent},
        },
        "body": event_body,
        "isBase64Encoded": binary,
    }


def _media_matches(pattern: str, content_type: str) -> bool:
    content_type = content_type.split(";", 1)[0].strip().lower()
    pattern = pattern.lower()
    if pattern == "*/*":
        return True
    if pattern.endswith("/*"):
        return content_type.startswith(pattern[:-1])
    return content_type == pattern


def proxy_response(payload: bytes) -> Response | None:
    """Turn a Lambda proxy response (payload 1.0) into an HTTP response, or None when malformed.

    API Gateway accepts only the keys statusCode, headers, multiValueHeaders,
    body (a string) and isBase64Encoded; anything else is "Malformed Lambda
    proxy response" and the client gets a 502.
    """
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict) or not set(data) <= PROXY_RESPONSE_KEYS:
        return None
    status = data.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return None
    body = data.get("body")
    if body is not None and not isinstance(body, str):
        return None
    headers: list[tuple[str, str]] = []
    single = data.get("headers") or {}
    multi = data.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        return None
    for name, values in multi.items():
        if not isinstance(values, list):
            return None
        headers.extend((str(name), _header_value(v)) for v in values)
    seen = {name.lower() for name, _ in headers}
    for name, value in single.items():
        if name.lower() not in seen:
            headers.append((str(name), _header_value(value)))
    raw = (body or "").encode()
    if data.get("isBase64Encoded") and body:
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError:
            return None
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return Response(status, headers, raw)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
