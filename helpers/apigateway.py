"""A regional REST API per region in front of the Lambda functions (API Gateway, Lambda proxy).

Each region gets its own REST API with a REGIONAL endpoint: the API lives in
that region only and is reached at
``https://{api-id}.execute-api.{region}.amazonaws.com/{stage}/``. Its routes:

==========================  ======  =====================
resource                    method  function
==========================  ======  =====================
``/item``                   POST    ``{stack}-post-item``
``/item/{item_id}``         GET     ``{stack}-get-item``
``/health``                 GET     ``{stack}-health``
==========================  ======  =====================

Every method has an ``AWS_PROXY`` integration (the Lambda proxy: API Gateway
passes the whole request to the function as an event and turns the function's
``statusCode``/``headers``/``body`` into the HTTP answer). API Gateway may only
invoke a function whose resource policy allows it, so each function gets a
``lambda:InvokeFunction`` permission for ``apigateway.amazonaws.com`` scoped to
the API. Changes to an API take effect only once deployed: a deployment is a
snapshot of the API, and the stage (``cfg.stage``) points at one.

Everything is get-or-create: a re-run finds the API by name, adds only what is
missing and deploys only when something changed or the stage is missing.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pandas as pd

from awsfacts.regions import partition_of
from helpers.clients import Clients, HttpClient, HttpResponse, tolerating
from helpers.config import Config
from helpers.lambdas import function_name
from helpers.progress import tqdm
from helpers.resource_kind import Found, IamScope, Planned, ResourceKind, tag_condition
from helpers.waiting import wait_until


@dataclass(frozen=True)
class Route:
    """One method of the API and the function (by name suffix) that answers it."""

    path: str
    method: str
    function: str


ROUTES: tuple[Route, ...] = (
    Route("/item", "POST", "post-item"),
    Route("/item/{item_id}", "GET", "get-item"),
    Route("/health", "GET", "health"),
)
LAMBDA_INVOKE_URI = "arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
# AWS seconds we allow a new deployment (and, on AWS, its DNS name) to start answering.
ENDPOINT_TIMEOUT_S = 120.0


def api_name(cfg: Config) -> str:
    """The name of the runbook's REST API (the same in every region)."""
    return cfg.resource_name("api")


def stack_rest_apis(cfg: Config, clients: Clients, region: str) -> list[dict[str, Any]]:
    """Every REST API in ``region`` with the runbook's name, oldest first."""
    apigw = clients.client("apigateway", region)
    found = []
    for page in apigw.get_paginator("get_rest_apis").paginate():
        found.extend(api for api in page.get("items", []) if api.get("name") == api_name(cfg))
    return sorted(found, key=lambda api: (api.get("createdDate") or 0, api["id"]))


def find_rest_api(cfg: Config, clients: Clients, region: str) -> str | None:
    """The id of the runbook's REST API in ``region``, or None (the oldest one if several share the name)."""
    apis = stack_rest_apis(cfg, clients, region)
    return apis[0]["id"] if apis else None


def endpoint_url(cfg: Config, region: str, api_id: str) -> str:
    """``https://{api-id}.execute-api.{region}.amazonaws.com[:port]/{stage}`` (the port only when not 443)."""
    return f"https://{api_id}.execute-api.{region}.amazonaws.com{cfg.port_suffix}/{cfg.stage}"


def regional_endpoints(cfg: Config, clients: Clients) -> dict[str, str]:
    """{region: endpoint URL} for every configured region whose API exists."""
    endpoints = {}
    for region in cfg.regions:
        api_id = find_rest_api(cfg, clients, region)
        if api_id is not None:
            endpoints[region] = endpoint_url(cfg, region, api_id)
    return endpoints


# ------------------------------------------------------------------ deploying
def _function_arn(cfg: Config, clients: Clients, region: str, suffix: str) -> str:
    name = function_name(cfg, suffix)
    with tolerating("ResourceNotFoundException"):
        return clients.client("lambda", region).get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    raise LookupError(f"Lambda function {name!r} does not exist in {region}: deploy the functions first "
                      "(helpers.lambdas.deploy_functions, step 1 of notebook 02)")


def _resources(clients: Clients, region: str, api_id: str) -> dict[str, dict[str, Any]]:
    apigw = clients.client("apigateway", region)
    resources: dict[str, dict[str, Any]] = {}
    for page in apigw.get_paginator("get_resources").paginate(restApiId=api_id, embed=["methods"]):
        for resource in page.get("items", []):
            resources[resource["path"]] = resource
    if "/" not in resources:  # every REST API has its root resource; its id is also on the API itself
        resources["/"] = {"id": apigw.get_rest_api(restApiId=api_id)["rootResourceId"], "path": "/"}
    return resources


def _ensure_resource(clients: Clients, region: str, api_id: str, resources: dict[str, dict[str, Any]],
                     path: str) -> tuple[str, int]:
    """The id of the resource at ``path`` (created with its parents when missing) and how many were created."""
    if path in resources:
        return resources[path]["id"], 0
    parent_path, _, part = path.rpartition("/")
    parent_id, created = _ensure_resource(clients, region, api_id, resources, parent_path or "/")
    resource = clients.client("apigateway", region).create_resource(restApiId=api_id, parentId=parent_id, pathPart=part)
    resources[path] = resource
    return resource["id"], created + 1


def _ensure_method(clients: Clients, region: str, api_id: str, resource: dict[str, Any], route: Route,
                   uri: str) -> int:
    """Method and AWS_PROXY integration of ``route``; returns how many of the two were created or changed."""
    apigw = clients.client("apigateway", region)
    method = (resource.get("resourceMethods") or {}).get(route.method)
    changes = 0
    if method is None:
        apigw.put_method(restApiId=api_id, resourceId=resource["id"], httpMethod=route.method, authorizationType="NONE")
        changes += 1
    integration: dict[str, Any] = {}
    with tolerating("NotFoundException"):
        integration = apigw.get_integration(restApiId=api_id, resourceId=resource["id"], httpMethod=route.method)
    if integration.get("type") != "AWS_PROXY" or integration.get("uri") != uri:
        # Lambda proxy integrations are always called with POST, whatever the client's method.
        apigw.put_integration(restApiId=api_id, resourceId=resource["id"], httpMethod=route.method, type="AWS_PROXY",
                              integrationHttpMethod="POST", uri=uri)
        changes += 1
    return changes


def _policy_statement_ids(clients: Clients, region: str, function: str) -> set[str]:
    """Sids of the function's resource policy (empty when it has none)."""
    with tolerating("ResourceNotFoundException"):
        policy = json.loads(clients.client("lambda", region).get_policy(FunctionName=function)["Policy"])
        return {statement.get("Sid", "") for statement in policy.get("Statement", [])}
    return set()


def _statement_id(api_id: str, route: Route) -> str:
    raw = f"apigateway-{api_id}-{route.method}-{route.path.strip('/')}"
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in raw).rstrip("-")


def _allow_invoke(clients: Clients, region: str, function_arn: str, api_id: str, route: Route) -> bool:
    """Let API Gateway invoke the function for this API and route (idempotent: one statement each).

    The existing statements are read first: a duplicate statement id is a
    ResourceConflictException on AWS, but moto would store it twice.
    """
    account = function_arn.split(":")[4]
    statement_id = _statement_id(api_id, route)
    if statement_id in _policy_statement_ids(clients, region, function_arn):
        return False
    path = re.sub(r"\{[^}]+\}", "*", route.path)
    with tolerating("ResourceConflictException"):  # added meanwhile
        clients.client("lambda", region).add_permission(
            FunctionName=function_arn, StatementId=statement_id, Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:{partition_of(region)}:execute-api:{region}:{account}:{api_id}/*/{route.method}{path}",
        )
        return True
    return False


@dataclass(frozen=True)
class RegionalApi:
    """What ``deploy_regional_api`` found or did in one region."""

    region: str
    api_id: str
    endpoint: str
    created_api: bool
    resources_created: int
    methods_changed: int
    permissions_added: int
    deployment_id: str | None  # the new deployment, None when nothing needed deploying


def deploy_regional_api(cfg: Config, clients: Clients, region: str) -> RegionalApi:
    """Get or create the REGIONAL REST API of ``region`` with its routes, permissions and stage."""
    apigw = clients.client("apigateway", region)
    name = api_name(cfg)
    api_id = find_rest_api(cfg, clients, region)
    created = api_id is None
    if created:
        api_id = apigw.create_rest_api(
            name=name, description=f"Regional API of the {cfg.stack_name} multi-region backend ({region})",
            endpointConfiguration={"types": ["REGIONAL"]}, tags=cfg.tags,
        )["id"]
    resources = _resources(clients, region, api_id)
    resources_created = methods_changed = permissions_added = 0
    for route in ROUTES:
        function_arn = _function_arn(cfg, clients, region, route.function)
        uri = LAMBDA_INVOKE_URI.format(partition=partition_of(region), region=region, function_arn=function_arn)
        _, new = _ensure_resource(clients, region, api_id, resources, route.path)
        resources_created += new
        methods_changed += _ensure_method(clients, region, api_id, resources[route.path], route, uri)
        permissions_added += _allow_invoke(clients, region, function_arn, api_id, route)
    stages = {s["stageName"] for s in apigw.get_stages(restApiId=api_id).get("item", [])}
    deployment_id = None
    if resources_created or methods_changed or cfg.stage not in stages:
        deployment_id = apigw.create_deployment(
            restApiId=api_id, stageName=cfg.stage, description=f"runbook deployment {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}",
        )["id"]
    return RegionalApi(region, api_id, endpoint_url(cfg, region, api_id), created, resources_created,
                       methods_changed, permissions_added, deployment_id)


def deploy_regional_apis(cfg: Config, clients: Clients) -> pd.DataFrame:
    """``deploy_regional_api`` in every configured region: one row per region, with its endpoint URL."""
    rows = [deploy_regional_api(cfg, clients, region) for region in tqdm(cfg.regions, desc="REST APIs", leave=False)]
    return pd.DataFrame([row.__dict__ for row in rows]).set_index("region")


def describe_regional_apis(cfg: Config, clients: Clients) -> pd.DataFrame:
    """Routes of each region's API: resource, method, integration type and the function it invokes."""
    rows = []
    for region in cfg.regions:
        api_id = find_rest_api(cfg, clients, region)
        if api_id is None:
            continue
        for path, resource in sorted(_resources(clients, region, api_id).items()):
            for method, details in sorted((resource.get("resourceMethods") or {}).items()):
                integration = details.get("methodIntegration") or {}
                uri = integration.get("uri") or ""
                rows.append({"region": region, "api_id": api_id, "resource": path, "method": method,
                             "integration": integration.get("type"),
                             "function": uri.split("function:")[-1].split("/")[0] if "function:" in uri else uri})
    return pd.DataFrame(rows, columns=["region", "api_id", "resource", "method", "integration", "function"])


# -------------------------------------------------------------------- calling
def served_by(response: HttpResponse) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    return body.get("served_by") or body.get("origin_region") or body.get("region")


def wait_for_endpoints(cfg: Config, clients: Clients, http: HttpClient | None = None,
                       timeout: float | None = None) -> pd.DataFrame:
    """Wait until ``GET /health`` answers 200 through every regional endpoint (a new API or DNS name takes a moment on AWS)."""
    http = http or HttpClient(cfg)
    endpoints = regional_endpoints(cfg, clients)
    missing = sorted(set(cfg.regions) - set(endpoints))
    if missing:
        raise LookupError(f"no REST API {api_name(cfg)!r} in {', '.join(missing)}: run deploy_regional_apis first")
    timeout = timeout if timeout is not None else max(15.0, cfg.scaled(ENDPOINT_TIMEOUT_S))
    rows, last = {}, {}

    def check() -> tuple[bool, dict]:
        for region, url in endpoints.items():
            if region in rows:
                continue
            try:
                response = http.request("GET", f"{url}/health")
                last[region] = f"HTTP {response.status} {response.body[:120]!r}"
                if response.status == 200:
                    rows[region] = {"region": region, "endpoint": url, "status": response.status,
                                    "served_by": served_by(response), "address": response.address}
            except Exception as error:  # DNS not yet there, connection refused, TLS: keep trying
                last[region] = f"{type(error).__name__}: {error}"
        waiting = {region: last.get(region) for region in endpoints if region not in rows}
        return not waiting, {"answering": sorted(rows), "not yet": waiting}

    wait_until("regional endpoints answering GET /health with 200", check, timeout, total=len(endpoints),
               progress=lambda seen: len(seen["answering"]), interval=0.2, max_interval=1.0)
    return pd.DataFrame(list(rows.values())).set_index("region")


def get_item_everywhere(cfg: Config, clients: Clients, item_id: str, http: HttpClient | None = None) -> pd.DataFrame:
    """``GET /item/{item_id}`` through each regional endpoint: status, the region that served it, the item."""
    http = http or HttpClient(cfg)
    rows = []
    for region, url in regional_endpoints(cfg, clients).items():
        response = http.request("GET", f"{url}/item/{item_id}")
        body = response.json() if response.body else None
        rows.append({"endpoint_region": region, "status": response.status, "served_by": served_by(response),
                     "item": (body or {}).get("item") if isinstance(body, dict) else None,
                     "address": response.address, "latency_ms": round(response.elapsed_s * 1000, 1)})
    return pd.DataFrame(rows)


def post_items_everywhere(cfg: Config, clients: Clients, per_region: int = 1, http: HttpClient | None = None,
                          payload: dict[str, Any] | None = None) -> pd.DataFrame:
    """``POST /item`` ``per_region`` new items through each regional endpoint; one row per item written."""
    http = http or HttpClient(cfg)
    rows = []
    for region, url in regional_endpoints(cfg, clients).items():
        for _ in range(per_region):
            item_id = f"{cfg.stack_name}-{region}-{uuid.uuid4().hex[:8]}"
            response = http.request("POST", f"{url}/item", json_body={"item_id": item_id, **(payload or {"note": "hello"})})
            body = response.json() if response.body else {}
            body = body if isinstance(body, dict) else {}
            rows.append({"endpoint_region": region, "status": response.status, "item_id": body.get("item_id", item_id),
                         "origin_region": body.get("origin_region"), "written_at": body.get("written_at"),
                         "address": response.address, "latency_ms": round(response.elapsed_s * 1000, 1)})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------- teardown
def delete_regional_apis(cfg: Config, clients: Clients, region: str | None = None) -> pd.DataFrame:
    """Delete every REST API named for the stack in ``region`` (default: every region), with its Lambda
    permissions (missing pieces are fine)."""
    rows = []
    for region in [region] if region else cfg.regions:
        apigw = clients.client("apigateway", region)
        for api in stack_rest_apis(cfg, clients, region):
            removed = _remove_permissions(cfg, clients, region, api["id"])
            with tolerating("NotFoundException") as caught:
                apigw.delete_rest_api(restApiId=api["id"])
            deleted = not caught.code
            rows.append({"region": region, "api_id": api["id"], "deleted": deleted, "permissions_removed": removed})
    return pd.DataFrame(rows, columns=["region", "api_id", "deleted", "permissions_removed"])


def _remove_permissions(cfg: Config, clients: Clients, region: str, api_id: str) -> int:
    removed = 0
    lam = clients.client("lambda", region)
    for suffix in sorted({route.function for route in ROUTES}):
        name = function_name(cfg, suffix)
        for sid in sorted(_policy_statement_ids(clients, region, name)):
            if not sid.startswith(f"apigateway-{api_id}-"):
                continue
            with tolerating("ResourceNotFoundException"):
                lam.remove_permission(FunctionName=name, StatementId=sid)
                removed += 1
    return removed


# ------------------------------------------------------------------- the unit
def _iam_statements(cfg: Config, scope: IamScope) -> list[dict[str, Any]]:
    """API Gateway authorises by HTTP verb on a path. A REST API is created only with the stack's tag
    (``aws:RequestTag``) and changed or deleted only while it carries it (``aws:ResourceTag``); its resources,
    methods, integrations, deployments and stages inherit the API's tags for that check.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonapigatewaymanagement.html,
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-tagging-supported-resources.html
    """
    apis = [f"arn:{scope.partition}:apigateway:{r}::/restapis" for r in cfg.regions]
    return [
        {"Sid": "ListRestApis", "Effect": "Allow", "Action": "apigateway:GET", "Resource": apis},
        {"Sid": "CreateStackRestApis", "Effect": "Allow", "Action": "apigateway:POST", "Resource": apis,
         "Condition": tag_condition(cfg, "RequestTag")},
        {"Sid": "StackRestApis", "Effect": "Allow", "Resource": [f"{api}/*" for api in apis],
         "Action": ["apigateway:GET", "apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"],
         "Condition": tag_condition(cfg)},
    ]


REST_APIS = ResourceKind(
    "REST APIs", "apigateway", regional=True,
    plan=lambda cfg: [Planned("02", region, "API Gateway REST API (REGIONAL)", api_name(cfg)) for region in cfg.regions],
    inventory=lambda cfg, clients, region: [Found("apigateway", region, f"rest api {api['id']}")
                                            for api in stack_rest_apis(cfg, clients, region)],
    delete=delete_regional_apis,
    iam_statements=_iam_statements,
)
