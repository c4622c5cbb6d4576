"""Method authorization: ``AWS_IAM`` (SigV4) and Lambda authorizers (``CUSTOM``, TOKEN and REQUEST).

``AWS_IAM`` (API Gateway Developer Guide, "Control access to a REST API with IAM permissions"): the request
must be signed with Signature Version 4 for the service ``execute-api`` and the API's Region; the
signature is recomputed with botocore's own signer from the local cloud's credentials (the ones its env
file exports) over exactly the headers the client signed. AWS's answers, all 403: no ``Authorization``
header, ``{"message":"Missing Authentication Token"}``; a header that is not SigV4,
IncompleteSignatureException; an unknown access key, "The security token included in the request is
invalid."; a wrong signature, "The request signature we calculated does not match ...".
IAM policies are not evaluated: a correctly signed request by the local cloud's identity is allowed.

Lambda authorizers ("Use API Gateway Lambda authorizers"): a TOKEN authorizer gets
``{"type": "TOKEN", "authorizationToken", "methodArn"}`` from the identity source header (missing, or not
matching ``identityValidationExpression``: 401 ``{"message":"Unauthorized"}``); a REQUEST authorizer gets
the request's headers, query string, path parameters, stage variables and context. The function returns a
principal, an IAM policy and an optional ``context``: an explicit Deny matching the method ARN gives 403
``{"Message":"User is not authorized to access this resource with an explicit deny"}``, no matching Allow
403 ``{"Message":"User is not authorized to access this resource"}``; an authorizer that raises
``Unauthorized`` gives 401, any other failure 500 (AuthorizerConfigurationException). Results are cached
per identity for ``authorizerResultTtlInSeconds`` (default 300, scaled; 0 disables the cache).
"""

from __future__ import annotations

import json
import re
import threading
import time
from fnmatch import fnmatchcase
from typing import Any, Callable
from urllib.parse import parse_qsl

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from localcloud.controlplane import moto_backend
from localcloud.gateway.proxy import Request, proxy_event
from localcloud.gateway.responses import Response, internal_error, json_error, missing_token
from localcloud.gateway.routes import Match

_SIGV4 = re.compile(r"^AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/\s]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
                    r"(?P<service>[^/]+)/aws4_request,\s*SignedHeaders=(?P<signed>[^,\s]+),\s*"
                    r"Signature=(?P<signature>[0-9a-f]{64})$")
DEFAULT_RESULT_TTL_S = 300
SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your "
                      "AWS Secret Access Key and signing method. Consult the service documentation for details.")

# invoke(region, function uri, payload, request id, source ARNs) -> (payload, function error) or an error Response
InvokeAuthorizer = Callable[[str, str, bytes, str, tuple[str, ...]], "tuple[bytes, str | None] | Response"]


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    lname = name.lower()
    for key, value in headers:
        if key.lower() == lname:
            return value
    return None


def _deny(message: str) -> Response:
    return Response(403, [("Content-Type", "application/json"), ("x-amzn-ErrorType", "AccessDeniedException")],
                    json.dumps({"Message": message}).encode())


class Authorization:
    """Checks a method's authorization; returns an error Response, or the authorizer context (a dict)."""

    def __init__(self, invoke: InvokeAuthorizer, account_id: str, credentials: dict[str, str],
                 scaled: Callable[[float], float], api_port: int):
        self._invoke = invoke
        self._account_id = account_id
        self._secrets = dict(credentials)  # access key id -> secret access key
        self._scaled = scaled
        self._api_port = api_port
        self._cache: dict[tuple, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def check(self, request: Request, routed: Match, path: str, method: Any) -> Response | dict[str, Any]:
        if method.authorization_type == "AWS_IAM":
            return self._sigv4(request, path)
        if method.authorization_type == "CUSTOM" and method.authorizer_id:
            return self._lambda_authorizer(request, routed, method.authorizer_id)
        return {}

    # ---------------------------------------------------------------- AWS_IAM
    def _sigv4(self, request: Request, path: str) -> Response | dict[str, Any]:
        header = _header(request.headers, "Authorization")
        if not header:
            return missing_token()
        parsed = _SIGV4.match(header.strip())
        amz_date = _header(request.headers, "X-Amz-Date")
        if parsed is None or amz_date is None:
            return json_error(403, "Authorization header requires 'Credential' parameter. Authorization header "
                                   "requires 'Signature' parameter. Authorization header requires 'SignedHeaders' "
                                   "parameter. Authorization header requires existence of either a 'X-Amz-Date' or"
                                   f" a 'Date' header. Authorization={header}", "IncompleteSignatureException")
        secret = self._secrets.get(parsed["key"])
        if secret is None:
            return json_error(403, "The security token included in the request is invalid.",
                              "UnrecognizedClientException")
        signed = parsed["signed"].split(";")
        headers = {name: value for name, value in request.headers if name.lower() in signed}
        target = path + (f"?{request.query}" if request.query else "")
        aws_request = AWSRequest(method=request.method, url=f"https://{request.host}{target}", headers=headers,
                                 data=request.body)
        aws_request.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(parsed["key"], secret, _header(request.headers, "X-Amz-Security-Token")),
                           parsed["service"], parsed["region"])
        expected = signer.signature(signer.string_to_sign(aws_request, signer.canonical_request(aws_request)),
                                    aws_request)
        if parsed["service"] != "execute-api" or parsed["region"] != request.region or expected != parsed["signature"]:
            return json_error(403, SIGNATURE_MISMATCH, "InvalidSignatureException")
        return {}

    # ------------------------------------------------------- Lambda authorizers
    def _lambda_authorizer(self, request: Request, routed: Match, authorizer_id: str) -> Response | dict[str, Any]:
        api = routed.api
        authorizer = moto_backend("apigateway", request.region, self._account_id).apis[api.id].authorizers.get(
            authorizer_id)
        if authorizer is None:
            return internal_error(500)
        method_arn = (f"arn:aws:execute-api:{request.region}:{self._account_id}:{api.id}/{routed.stage.name}/"
                      f"{request.method}{routed.api_path}")
        sources = [s.strip() for s in (authorizer.identity_source or "method.request.header.Authorization").split(",")]
        identity = tuple(self._identity_value(request, routed, source) for source in sources)
        if any(value is None for value in identity):
            return json_error(401, "Unauthorized", "UnauthorizedException")
        if authorizer.type == "TOKEN":
            expression = authorizer.identity_validation_expression
            if expression and not re.fullmatch(expression, identity[0]):
                return json_error(401, "Unauthorized", "UnauthorizedException")
            event: dict[str, Any] = {"type": "TOKEN", "authorizationToken": identity[0], "methodArn": method_arn}
        else:
            event = proxy_event(request, routed, self._account_id, self._api_port)
            event = {"type": "REQUEST", "methodArn": method_arn, **{k: event[k] for k in (
                "resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
                "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext")}}
        ttl = self._scaled(float(DEFAULT_RESULT_TTL_S if authorizer.authorizer_result_ttl is None
                                 else authorizer.authorizer_result_ttl))
        key = (request.region, api.id, authorizer_id, identity)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            policy = cached[1]
        else:
            source_arn = f"arn:aws:execute-api:{request.region}:{self._account_id}:{api.id}/authorizers/{authorizer_id}"
            outcome = self._invoke(request.region, authorizer.authorizer_uri or "", json.dumps(event).encode(),
                                   request.request_id, (source_arn,))
            if isinstance(outcome, Response):
                return outcome
            payload, function_error = outcome
            if function_error:
                try:
                    unauthorized = json.loads(payload).get("errorMessage") == "Unauthorized"
                except (ValueError, AttributeError):
                    unauthorized = False
                if unauthorized:
                    return json_error(401, "Unauthorized", "UnauthorizedException")
                return json_error(500, None, "AuthorizerConfigurationException")  # type: ignore[arg-type]
            try:
                policy = json.loads(payload)
                policy["policyDocument"]["Statement"]
            except (ValueError, KeyError, TypeError):
                return json_error(500, None, "AuthorizerConfigurationException")  # type: ignore[arg-type]
            if ttl > 0:
                with self._lock:
                    self._cache[key] = (now + ttl, policy)
        verdict = _evaluate(policy["policyDocument"], method_arn)
        if verdict == "Deny":
            return _deny("User is not authorized to access this resource with an explicit deny")
        if verdict is None:
            return _deny("User is not authorized to access this resource")
        context = dict(policy.get("context") or {})
        context["principalId"] = policy.get("principalId")
        return context

    @staticmethod
    def _identity_value(request: Request, routed: Match, source: str) -> str | None:
        if source.startswith("method.request.header."):
            return _header(request.headers, source[len("method.request.header."):])
        if source.startswith("method.request.querystring."):
            return dict(parse_qsl(request.query)).get(source[len("method.request.querystring."):])
        if source.startswith("stageVariables."):
            return (getattr(routed.stage, "variables", None) or {}).get(source[len("stageVariables."):])
        if source.startswith("context."):
            return {"httpMethod": request.method, "resourcePath": routed.resource_path}.get(source[len("context."):])
        return None


def _evaluate(document: dict[str, Any], method_arn: str) -> str | None:
    """"Deny" if a Deny statement matches ``method_arn``, else "Allow" if an Allow does, else None."""
    allowed = False
    statements = document.get("Statement") or []
    for statement in statements if isinstance(statements, list) else [statements]:
        resources = statement.get("Resource") or []
        resources = resources if isinstance(resources, list) else [resources]
        actions = statement.get("Action") or []
        actions = actions if isinstance(actions, list) else [actions]
        if not any(fnmatchcase("execute-api:Invoke", a) or a == "*" for a in actions):
            continue
        if any(fnmatchcase(method_arn, r) for r in resources):
            if statement.get("Effect") == "Deny":
                return "Deny"
            allowed = allowed or statement.get("Effect") == "Allow"
    return "Allow" if allowed else None
