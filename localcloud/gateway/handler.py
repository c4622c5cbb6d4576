"""One API request, start to end: route it, check the integration, invoke the function, answer.

The handler takes what the listener read off the wire and gives back a
``Response``; routing (``routes``), the proxy event and response (``proxy``)
and the function itself (the Lambda runtime) know nothing of HTTP framing.

The function must let API Gateway invoke it: its resource policy
(AddPermission, ``localcloud.lambda_permissions``) is checked for
``apigateway.amazonaws.com`` and the request's execute-api source ARN, and
without such a permission the answer is 500, as on AWS ("Invalid permissions
on Lambda function"). ``AWS_PROXY`` integrations are handled here (the hot path); the others by
``integrations``, and methods with authorization are checked by ``authorization`` first. A payload
over Lambda's 6 MB synchronous quota is refused by Lambda (RequestEntityTooLargeException), an
integration failure: 500, as a throttle is.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import random
import re
import time
import uuid
from typing import Any, Callable
from urllib.parse import urlsplit

from botocore.exceptions import UnknownRegionError

from awsfacts.awslambda import MAX_SYNC_PAYLOAD_BYTES
from awsfacts.regions import partition_of
from localcloud.gateway.authorization import Authorization
from localcloud.gateway.integrations import Integrations
from localcloud.gateway.proxy import Request, proxy_event, proxy_response
from localcloud.gateway.responses import Response, internal_error, timed_out
from localcloud.gateway.routes import Match, Routes
from localcloud.lambda_runtime import FunctionNotFound, InvokeResult, LambdaRuntime, PermissionDenied, TooManyRequests

log = logging.getLogger(__name__)

LAMBDA_URI_RE = re.compile(r"^arn:[^:]+:apigateway:[^:]+:lambda:path/[^/]+/functions/(?P<arn>.+)/invocations$")
SERVICE_PRINCIPAL = "apigateway.amazonaws.com"  # who a Lambda resource policy must let invoke the function

# Request, trace and extended request ids only need to be unique, not secret: a
# seeded PRNG spares a getrandom() system call per id on every request.
_ids = random.Random()


def _apigw_id() -> str:
    return base64.b64encode(_ids.getrandbits(96).to_bytes(12, "big")).decode()[:15] + "="


def _request_id() -> str:
    """A random (version 4) UUID, as API Gateway's request ids are."""
    return str(uuid.UUID(int=_ids.getrandbits(128), version=4))


def _trace_id() -> str:
    """An X-Ray trace header: ``Root=1-<epoch seconds, hex>-<96 random bits, hex>``."""
    return f"Root=1-{int(time.time()):08x}-{_ids.getrandbits(96):024x}"


@functools.lru_cache(maxsize=1024)
def _function_of(uri: str | None) -> tuple[str, str | None] | None:
    """The function ARN of a Lambda integration ``uri``, and the function's region when the ARN names one
    (None when ``uri`` is not a Lambda function's invocation URI): the same for every request of a method."""
    matched = LAMBDA_URI_RE.match(uri or "")
    if matched is None:
        return None
    function_arn = matched.group("arn")
    arn_parts = function_arn.split(":")
    return function_arn, (arn_parts[3] if len(arn_parts) > 3 and arn_parts[0] == "arn" else None)


@functools.lru_cache(maxsize=None)
def _partition(region: str) -> str:
    """The ARN partition of ``region``; ``aws`` for a name botocore does not know (the local cloud serves any
    region name, and moto files those under ``aws`` too, so the function's ARN and its permissions agree)."""
    try:
        return partition_of(region)
    except UnknownRegionError:
        return "aws"


def _host(headers: list[tuple[str, str]]) -> str:
    """The Host header's name: lower case, without port or trailing dot."""
    for name, value in headers:
        if name.lower() == "host":
            host = value.rsplit(":", 1)[0] if not value.endswith("]") else value
            return host.lower().rstrip(".")
    return ""


class ApiHandler:
    """Answers requests as API Gateway would, for every region's listener."""

    def __init__(self, routes: Routes, lambda_runtime: LambdaRuntime, account_id: str, api_port: int, *,
                 credentials: dict[str, str] | None = None, scaled: Callable[[float], float] = lambda s: s,
                 ca_bundle: str | None = None):
        """``credentials``: access key id -> secret, the identities AWS_IAM methods accept."""
        self._routes = routes
        self._lambda = lambda_runtime
        self._account_id = account_id
        self._api_port = api_port
        self._integrations = Integrations(self._invoke_integration, account_id, ca_bundle)
        self._authorization = Authorization(self._invoke_authorizer, account_id, credentials or {}, scaled, api_port)

    def handle(self, region: str, method: str, target: str, headers: list[tuple[str, str]], body: bytes,
               source_ip: str) -> Response:
        """Answer one HTTP request (called by the listeners' connection threads)."""
        # the same trace id goes to the function and back to the client, as with X-Ray
        request_id, apigw_id, trace_id = _request_id(), _apigw_id(), _trace_id()
        try:
            parts = urlsplit(target)
            request = Request(region, method, _host(headers), parts.query, headers, body, source_ip,
                              request_id, apigw_id, trace_id)
            response = self._answer(request, parts.path or "/")
        except Exception:
            log.exception("gateway %s: %s %s failed", region, method, target)
            response = internal_error(500)
        response.headers.append(("x-amzn-RequestId", request_id))
        response.headers.append(("x-amz-apigw-id", apigw_id))
        response.headers.append(("X-Amzn-Trace-Id", trace_id))
        return response

    def _answer(self, request: Request, path: str) -> Response:
        region, method = request.region, request.method
        routed = self._routes.route(region, request.host, path, method)
        if isinstance(routed, Response):
            return routed
        methods = routed.resource.resource_methods
        api_method = methods.get(method) or methods["ANY"]
        authorizer: dict[str, Any] = {}
        if api_method.authorization_type != "NONE":
            checked = self._authorization.check(request, routed, path, api_method)
            if isinstance(checked, Response):
                return checked
            authorizer = checked
        integration = api_method.method_integration
        if integration is None:
            log.warning("gateway %s: %s %s has no integration", region, method, routed.resource_path)
            return internal_error(500)
        if integration.integration_type != "AWS_PROXY":
            return self._integrations.answer(request, routed, integration, authorizer)
        event = proxy_event(request, routed, self._account_id, self._api_port)
        if authorizer:
            event["requestContext"]["authorizer"] = authorizer
        result = self._invoke(request, routed, integration.uri, json.dumps(event).encode())
        if isinstance(result, Response):
            return result
        if result.timed_out:
            return timed_out()
        if result.function_error:
            return internal_error(502)
        response = proxy_response(result.payload)
        if response is None:
            log.info("gateway %s: malformed Lambda proxy response from %s: %.200r", region, integration.uri,
                     result.payload)
            return internal_error(502)
        return response

    def _invoke(self, request: Request, routed: Match, uri: str | None, payload: bytes) -> InvokeResult | Response:
        """Invoke the function of a Lambda integration ``uri`` as API Gateway does, or API Gateway's error answer."""
        return self._invoke_function(request.region, uri, payload, request.request_id,
                                     self._source_arns(request.region, request.method, routed),
                                     f"{request.method} {routed.resource_path}")

    def _invoke_function(self, region: str, uri: str | None, payload: bytes, request_id: str,
                         source_arns: tuple[str, ...], what: str) -> InvokeResult | Response:
        function = _function_of(uri)
        if function is None:
            log.warning("gateway %s: integration uri %r is not a Lambda function", region, uri)
            return internal_error(500)
        function_arn, function_region = function[0], region if function[1] is None else function[1]
        if len(payload) > MAX_SYNC_PAYLOAD_BYTES:  # Lambda: RequestEntityTooLargeException, an integration failure
            log.info("gateway %s: %s: the payload (%d bytes) is over Lambda's 6 MB payload quota: 500",
                     region, what, len(payload))
            return internal_error(500)
        try:
            return self._lambda.invoke(function_region, function_arn, payload, request_id,
                                       caller=(SERVICE_PRINCIPAL, source_arns))
        except PermissionDenied:
            # AWS: 500, "Execution failed due to configuration error: Invalid permissions on Lambda function"
            log.warning("gateway %s: %s may not invoke %s (no lambda:InvokeFunction permission for "
                        "apigateway.amazonaws.com: see AddPermission)", region, what, function_arn)
            return internal_error(500)
        except TooManyRequests as error:  # Lambda's 429 is an integration failure to API Gateway: 500
            log.info("gateway %s: %s: Lambda throttled %s (%s): 500", region, what, function_arn, error.reason)
            return internal_error(500)
        except FunctionNotFound:  # AWS: 500, "Execution failed due to configuration error"
            log.warning("gateway %s: function %s of %s does not exist", region, function_arn, what)
            return internal_error(500)

    def _invoke_integration(self, request: Request, routed: Match, uri: str,
                            payload: bytes) -> tuple[bytes, str | None] | Response:
        """A non-proxy Lambda integration's invocation: (payload, function error), or an error answer."""
        result = self._invoke(request, routed, uri, payload)
        if isinstance(result, Response):
            return result
        return timed_out() if result.timed_out else (result.payload, result.function_error)

    def _invoke_authorizer(self, region: str, uri: str, payload: bytes, request_id: str,
                           source_arns: tuple[str, ...]) -> tuple[bytes, str | None] | Response:
        result = self._invoke_function(region, uri, payload, request_id, source_arns, "authorizer")
        if isinstance(result, Response):
            return result
        return (result.payload, "Unhandled") if result.timed_out else (result.payload, result.function_error)

    def _source_arns(self, region: str, method: str, routed: Match) -> tuple[str, str]:
        """The execute-api ARN API Gateway invokes the function as: ``{api}/{stage}/{METHOD}/{resource path}``.

        AWS documents the last part as the resource path; whether a path parameter appears
        as its template (``/item/{item_id}``) or as the request's value (``/item/abc``) it
        does not say, so a permission may match either. The runbook's (``/item/*``) matches both.
        """
        prefix = f"arn:{_partition(region)}:execute-api:{region}:{self._account_id}:{routed.api.id}/{routed.stage.name}/{method}"
        return prefix + routed.resource_path, prefix + routed.api_path
