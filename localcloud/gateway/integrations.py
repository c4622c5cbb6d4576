"""The integrations other than Lambda proxy: MOCK, HTTP_PROXY, HTTP and non-proxy AWS (Lambda).

API Gateway Developer Guide, "Set up integration requests" and "Set up integration responses":

* **MOCK** answers without a backend: the request template (``{"statusCode": 200}``, what frameworks
  generate for CORS preflight ``OPTIONS``) picks the integration status, the integration response whose
  ``selectionPattern`` matches it (or the default one) gives the status, the static headers of its
  ``responseParameters`` (``'value'`` literals) and its response template;
* **HTTP_PROXY** passes the request to ``uri`` (``{name}`` replaced with path parameters, the query string
  appended) and the backend's answer back unchanged;
* **HTTP** sends the request template's output (or the body, by ``passthroughBehavior``) to ``uri`` and
  maps the answer through the integration response selected by its status code;
* **AWS** with a Lambda ``uri`` invokes the function with the template's output (or the body) and maps the
  result: a function error selects the response whose ``selectionPattern`` matches its ``errorMessage``,
  else the default one (which, as on AWS, answers a function error with its status, 200 by default).

Passthrough: ``WHEN_NO_MATCH`` (default) passes the body when no template matches the Content-Type;
``WHEN_NO_TEMPLATES`` only when there are no templates; ``NEVER`` answers 415 ``Unsupported Media Type``.
No integration response at all is a configuration error: 500. Integrations with other AWS services
(``arn:aws:apigateway:{region}:{service}:action/...``) are not emulated (docs/limits.md): 500.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import socket
import ssl
import time
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from localcloud.gateway.mapping import render, select_template
from localcloud.gateway.proxy import Request
from localcloud.gateway.responses import Response, internal_error, json_error, timed_out
from localcloud.gateway.routes import DeployedIntegrationResponse, Match

log = logging.getLogger(__name__)

INTEGRATION_TIMEOUT_S = 29.0  # API Gateway's default (and, for REST APIs, usual maximum) integration timeout
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade", "te", "trailer"}

# invoke(request, routed, function uri, payload) -> (payload bytes, function error or None), or an error Response
Invoke = Callable[[Request, Match, str, bytes], "tuple[bytes, str | None] | Response"]


def request_params(request: Request, routed: Match) -> dict[str, dict[str, str]]:
    """``$input.params()``: path, query string and header parameters."""
    return {"path": dict(routed.path_parameters),
            "querystring": dict(parse_qsl(request.query, keep_blank_values=True)),
            "header": {name: value for name, value in request.headers}}


def template_context(request: Request, routed: Match, account_id: str,
                     authorizer: dict[str, Any] | None = None) -> dict[str, Any]:
    """``$context`` (the documented subset in ``mapping``)."""
    now = time.time()
    return {"requestId": request.request_id, "extendedRequestId": request.apigw_id, "httpMethod": request.method,
            "resourcePath": routed.resource_path, "resourceId": routed.resource.id, "path": routed.path,
            "stage": routed.stage.name, "apiId": routed.api.id, "accountId": account_id,
            "domainName": request.host, "protocol": "HTTP/1.1", "requestTimeEpoch": int(now * 1000),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "identity": {"sourceIp": request.source_ip}, "authorizer": authorizer or {}}


def select_response(responses: tuple[DeployedIntegrationResponse, ...], key: str) -> DeployedIntegrationResponse | None:
    """The integration response whose selectionPattern matches ``key`` (whole), else the default one."""
    default = None
    for response in responses:
        if response.selection_pattern is None:
            default = default or response
        elif re.fullmatch(response.selection_pattern, key, re.DOTALL):
            return response
    return default


class Integrations:
    """Answers a routed request through its non-proxy integration."""

    def __init__(self, invoke: Invoke, account_id: str, ca_bundle: str | None = None):
        self._invoke = invoke
        self._account_id = account_id
        self._ca_bundle = ca_bundle
        self._tls_context: ssl.SSLContext | None = None

    @property
    def _tls(self) -> ssl.SSLContext:
        """The system's trust store plus the local CA (a backend may be this cloud's own API); built at first use."""
        if self._tls_context is None:
            context = ssl.create_default_context()
            if self._ca_bundle:
                context.load_verify_locations(self._ca_bundle)
            self._tls_context = context
        return self._tls_context

    def answer(self, request: Request, routed: Match, integration: Any,
               authorizer: dict[str, Any] | None = None) -> Response:
        kind = integration.integration_type
        if kind == "HTTP_PROXY":
            return self._http_proxy(request, routed, integration)
        params = request_params(request, routed)
        context = template_context(request, routed, self._account_id, authorizer)
        stage_variables = dict(getattr(routed.stage, "variables", None) or {})
        body = self._integration_request(request, integration, params, context, stage_variables)
        if isinstance(body, Response):
            return body
        if kind == "MOCK":
            try:
                key = str(json.loads(body or "{}").get("statusCode", 200))
            except (ValueError, AttributeError):
                key = "200"
            answer, headers = "", {}
        elif kind == "HTTP":
            outcome = self._send(request, routed, integration, body.encode(), forward_headers=False)
            if isinstance(outcome, Response):
                return outcome
            status, headers, raw = outcome
            key, answer = str(status), raw.decode(errors="replace")
        elif kind == "AWS" and ":lambda:path/" in (integration.uri or ""):
            outcome = self._invoke(request, routed, integration.uri, body.encode())
            if isinstance(outcome, Response):
                return outcome
            payload, function_error = outcome
            answer, headers = payload.decode(errors="replace"), {}
            key = ""
            if function_error:
                try:
                    key = str(json.loads(payload).get("errorMessage", ""))
                except (ValueError, AttributeError):
                    key = answer
        else:
            log.warning("gateway %s: %s integration %r is not emulated (docs/limits.md)", request.region, kind,
                        integration.uri)
            return internal_error(500)
        selected = select_response(integration.responses, key)
        if selected is None:  # AWS: "No match for output mapping and no default output mapping configured"
            log.warning("gateway %s: %s %s: no integration response for %r", request.region, request.method,
                        routed.resource_path, key)
            return internal_error(500)
        return self._integration_response(selected, answer, headers, params, context, stage_variables)

    # ---------------------------------------------------------------- request
    @staticmethod
    def _integration_request(request: Request, integration: Any, params: dict, context: dict,
                             stage_variables: dict) -> str | Response:
        templates = integration.request_templates
        content_type = params["header"].get("Content-Type") or params["header"].get("content-type") or ""
        template = select_template(templates, content_type)
        body = request.body.decode(errors="replace")
        if template is not None:
            return render(template, body, params, context, stage_variables)
        behavior = integration.passthrough_behavior or "WHEN_NO_MATCH"
        if behavior == "NEVER" or (behavior == "WHEN_NO_TEMPLATES" and templates):
            return json_error(415, "Unsupported Media Type", "UnsupportedMediaTypeException")
        return body

    @staticmethod
    def _integration_response(selected: DeployedIntegrationResponse, answer: str, backend_headers: dict[str, str],
                              params: dict, context: dict, stage_variables: dict) -> Response:
        headers = [("Content-Type", "application/json")]
        for target, source in selected.response_parameters.items():
            if not target.startswith("method.response.header."):
                continue
            name = target[len("method.response.header."):]
            if source.startswith("'") and source.endswith("'"):
                value = source[1:-1]
            elif source.startswith("integration.response.header."):
                value = backend_headers.get(source[len("integration.response.header."):].lower(), "")
            else:
                continue
            headers = [(n, v) for n, v in headers if n.lower() != name.lower()] + [(name, value)]
        template = select_template(selected.response_templates, "application/json")
        body = render(template, answer, params, context, stage_variables) if template else answer
        return Response(int(selected.status_code), headers, body.encode())

    # ------------------------------------------------------------------ HTTP
    def _http_proxy(self, request: Request, routed: Match, integration: Any) -> Response:
        outcome = self._send(request, routed, integration, request.body, forward_headers=True)
        if isinstance(outcome, Response):
            return outcome
        status, headers, body = outcome
        return Response(status, [(n, v) for n, v in headers.items() if n.lower() not in HOP_BY_HOP], body)

    def _send(self, request: Request, routed: Match, integration: Any, body: bytes,
              forward_headers: bool) -> tuple[int, dict[str, str], bytes] | Response:
        uri = integration.uri or ""
        for name, value in routed.path_parameters.items():
            uri = uri.replace("{" + name + "}", value)
        parts = urlsplit(uri)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if request.query and forward_headers:
            target += ("&" if parts.query else "?") + request.query
        method = request.method if integration.http_method in (None, "ANY") else integration.http_method
        headers = {n: v for n, v in request.headers if n.lower() not in HOP_BY_HOP} if forward_headers else {
            "Content-Type": "application/json"}
        headers["Host"] = parts.netloc
        if parts.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname, parts.port or 443, timeout=INTEGRATION_TIMEOUT_S, context=self._tls)
        else:
            connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=INTEGRATION_TIMEOUT_S)
        try:
            connection.request(method, target, body=body or None, headers=headers)
            answer = connection.getresponse()
            return answer.status, {n.lower(): v for n, v in answer.getheaders()}, answer.read()
        except (socket.timeout, TimeoutError):
            return timed_out()
        except (OSError, http.client.HTTPException) as error:
            log.warning("gateway %s: %s integration %s failed: %s", request.region, integration.integration_type,
                        uri, error)
            return internal_error(500)
        finally:
            connection.close()
