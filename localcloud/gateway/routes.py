"""Routes of the REST APIs: resource trees, the snapshots deployments froze, and request routing.

Requests are routed as API Gateway routes them: the Host
``{api-id}.execute-api.{region}.amazonaws.com`` with the stage as the first
path segment, or a custom domain name of this region whose base path mapping
names the API and stage; then the resource whose path template matches
(literal segments before ``{param}`` before ``{proxy+}``) and its method (or
``ANY``). A stage must exist (be deployed) to answer, and it serves the routes
its deployment froze (edits are live after the next CreateDeployment, as on AWS).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from localcloud.controlplane import moto_backend
from localcloud.gateway.responses import Response, forbidden, missing_token
from localcloud.regions import execute_api_name


@dataclass
class _Node:
    """A node of an API's resource tree, keyed by path segment."""

    literal: dict[str, "_Node"] = field(default_factory=dict)
    param: tuple[str, "_Node"] | None = None
    greedy: tuple[str, Any, str] | None = None  # ({proxy+} name, resource, its path)
    resource: Any = None
    path: str = ""  # the resource's path template, e.g. /item/{item_id}


@dataclass
class Match:
    """A routed request: the API, stage and resource that answer it, and its paths."""

    api: Any
    stage: Any
    resource: Any
    resource_path: str
    path_parameters: dict[str, str]
    path: str  # the event's "path"
    api_path: str  # the path within the API (without a custom domain's base path)
    execute_api: bool = False  # reached through {api-id}.execute-api.{region}.amazonaws.com (not a custom domain)


def _segments(path: str) -> list[str]:
    return [unquote(s) for s in path.split("/") if s]


def _build_tree(resources: dict[str, Any]) -> _Node:
    """The routing tree of an API's resources (a deployment's frozen copies)."""
    root = _Node()
    paths = {rid: r.get_path() for rid, r in list(resources.items())}
    for rid, path in paths.items():
        node = root
        resource = resources.get(rid)
        parts = [s for s in path.split("/") if s]
        for index, part in enumerate(parts):
            if part.startswith("{") and part.endswith("+}") and index == len(parts) - 1:
                node.greedy = (part[1:-2], resource, path)
                node = None
                break
            if part.startswith("{") and part.endswith("}"):
                if node.param is None:
                    node.param = (part[1:-1], _Node())
                node = node.param[1]
            else:
                node = node.literal.setdefault(part, _Node())
        if node is not None:
            node.resource = resource
            node.path = path
    return root


def _find(node: _Node, segments: list[str], params: dict[str, str]) -> tuple[Any, str] | None:
    """The resource matching ``segments`` and its path: literal before {param} before {proxy+}, as API Gateway prefers."""
    if not segments:
        if node.resource is not None:
            return node.resource, node.path
        return None
    head, rest = segments[0], segments[1:]
    child = node.literal.get(head)
    if child is not None:
        found = _find(child, rest, params)
        if found is not None:
            return found
    if node.param is not None:
        name, child = node.param
        found = _find(child, rest, params)
        if found is not None:
            params[name] = head
            return found
    if node.greedy is not None:
        name, resource, path = node.greedy
        params[name] = "/".join(segments)
        return resource, path
    return None


@dataclass(frozen=True)
class _DeployedIntegration:
    integration_type: str | None
    uri: str | None


@dataclass(frozen=True)
class _DeployedMethod:
    method_integration: _DeployedIntegration | None


@dataclass(frozen=True)
class _DeployedResource:
    """A resource as a deployment froze it: its id, path, and methods with their integrations."""

    id: str
    path: str
    resource_methods: dict[str, _DeployedMethod]

    def get_path(self) -> str:
        return self.path


def freeze(api: Any) -> _Node:
    """The routing tree of the API as it is now, copied, so later edits do not reach it.

    AWS: "After creating your API, you must deploy it"; a stage serves the
    snapshot its deployment took, and changes to resources, methods or
    integrations are live only after a new deployment (CreateDeployment).
    """
    frozen = {}
    for rid, resource in list(api.resources.items()):
        methods = {}
        for verb, method in list(resource.resource_methods.items()):
            integration = method.method_integration
            methods[verb] = _DeployedMethod(None if integration is None else _DeployedIntegration(
                getattr(integration, "integration_type", None), getattr(integration, "uri", None)))
        frozen[rid] = _DeployedResource(resource.id, resource.get_path(), methods)
    return _build_tree(frozen)


class Routes:
    """What each deployment serves, and the routing of a request to an API, stage and resource."""

    def __init__(self, account_id: str):
        self.account_id = account_id
        self._deployed: dict[tuple[str, str, str], _Node] = {}  # (region, API id, deployment id) -> routes

    def deployed(self, region: str, api_id: str, deployment_id: str, routes: _Node) -> None:
        """Record the routes a new deployment serves (frozen before the deployment was created), and forget
        the snapshots of deployments or APIs deleted since: they can never be served again."""
        self._forget_deleted()
        self._deployed[(region, api_id, deployment_id)] = routes

    def _forget_deleted(self) -> None:
        for region, api_id, deployment_id in list(self._deployed):
            api = moto_backend("apigateway", region, self.account_id).apis.get(api_id)
            if api is None or (deployment_id and deployment_id not in api.deployments):
                self._deployed.pop((region, api_id, deployment_id), None)

    def _routes_of(self, region: str, api: Any, stage: Any) -> _Node:
        """The routes a stage serves: what its deployment froze.

        A deployment made without the gateway seeing it (say, straight in
        moto's backend) is frozen at its first request instead.
        """
        key = (region, api.id, stage.deployment_id or "")
        routes = self._deployed.get(key)
        if routes is None:
            routes = self._deployed[key] = freeze(api)
        return routes

    def route(self, region: str, host: str, path: str, method: str) -> Match | Response:
        """Find the API, stage, resource and path parameters for a request, or API Gateway's error answer."""
        backend = moto_backend("apigateway", region, self.account_id)
        segments = _segments(path)
        execute_api = execute_api_name(host)
        if execute_api:
            api_id, host_region = execute_api
            api = backend.apis.get(api_id)
            if host_region != region or api is None or api.disableExecuteApiEndpoint:
                return forbidden()
            if not segments or segments[0] not in api.stages:
                return missing_token()
            stage = api.stages[segments[0]]
            rest = segments[1:]
            event_path = "/" + "/".join(rest)
        else:
            mappings = backend.base_path_mappings.get(host) if host in backend.domain_names else None
            if not mappings:
                return forbidden()
            mapping = None
            if segments and segments[0] in mappings:
                mapping, rest = mappings[segments[0]], segments[1:]
            else:
                mapping = mappings.get("(none)") or mappings.get("/") or mappings.get("")
                rest = segments
            if mapping is None:
                return missing_token()
            api = backend.apis.get(mapping.rest_api_id)
            stage = api.stages.get(mapping.stage) if api is not None and mapping.stage else None
            if stage is None and api is not None and not mapping.stage and len(api.stages) == 1:
                stage = next(iter(api.stages.values()))  # a mapping without a stage uses the API's only stage
            if api is None or stage is None:
                return missing_token()
            event_path = "/" + "/".join(segments)  # with a custom domain, "path" keeps the base path
        params: dict[str, str] = {}
        found = _find(self._routes_of(region, api, stage), rest, params)
        if found is None:
            return missing_token()
        resource, resource_path = found
        if method not in resource.resource_methods and "ANY" not in resource.resource_methods:
            return missing_token()
        return Match(api, stage, resource, resource_path, params, event_path, "/" + "/".join(rest),
                     execute_api is not None)
