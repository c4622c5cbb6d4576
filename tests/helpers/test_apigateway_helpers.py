"""helpers.apigateway against the local cloud: get-or-create regional REST APIs, endpoints, teardown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers import apigateway
from helpers.apigateway import ROUTES, delete_regional_apis, deploy_regional_apis, find_rest_api, regional_endpoints
from helpers.clients import HttpClient
from stand_in import create_stand_in_functions

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def functions(cfg, clients):
    """Stand-ins for the three functions (only their names and ARNs matter to these tests)."""
    return create_stand_in_functions(cfg, clients)


def _counts(clients, region, api_id):
    apigw = clients.client("apigateway", region)
    return (len(apigw.get_resources(restApiId=api_id)["items"]), len(apigw.get_deployments(restApiId=api_id)["items"]))


def test_deploying_twice_creates_nothing_new(cfg, clients, functions):
    first = deploy_regional_apis(cfg, clients)
    second = deploy_regional_apis(cfg, clients)
    for region in cfg.regions:
        assert second.loc[region, "api_id"] == first.loc[region, "api_id"] == find_rest_api(cfg, clients, region)
        assert bool(first.loc[region, "created_api"]) and not bool(second.loc[region, "created_api"])
        assert second.loc[region, ["resources_created", "methods_changed", "permissions_added"]].tolist() == [0, 0, 0]
        assert second.loc[region, "deployment_id"] is None
        assert _counts(clients, region, first.loc[region, "api_id"]) == (4, 1)  # /, /item, /item/{item_id}, /health


def test_api_is_regional_tagged_and_routes_each_method_to_its_function(cfg, clients, functions):
    deploy_regional_apis(cfg, clients)
    for region in cfg.regions:
        api = clients.client("apigateway", region).get_rest_api(restApiId=find_rest_api(cfg, clients, region))
        assert api["endpointConfiguration"]["types"] == ["REGIONAL"]
        assert api["tags"] == cfg.tags
    routes = apigateway.describe_regional_apis(cfg, clients)
    assert set(routes["integration"]) == {"AWS_PROXY"}
    for region in cfg.regions:
        mine = routes[routes["region"] == region]
        assert {(r.resource, r.method, r.function) for r in mine.itertuples()} == {
            (route.path, route.method, cfg.resource_name(route.function)) for route in ROUTES}


def test_each_function_allows_api_gateway_to_invoke_it(cfg, clients, functions):
    import json

    deployed = deploy_regional_apis(cfg, clients)
    region = cfg.regions[0]
    policy = json.loads(clients.client("lambda", region).get_policy(FunctionName=cfg.resource_name("get-item"))["Policy"])
    statement = next(s for s in policy["Statement"] if deployed.loc[region, "api_id"] in s["Sid"])
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert statement["Action"] == "lambda:InvokeFunction"


def test_regional_endpoints_use_the_execute_api_name_and_stage(cfg, clients, functions):
    deployed = deploy_regional_apis(cfg, clients)
    endpoints = regional_endpoints(cfg, clients)
    assert set(endpoints) == set(cfg.regions)
    for region, url in endpoints.items():
        api_id = deployed.loc[region, "api_id"]
        assert url == f"https://{api_id}.execute-api.{region}.amazonaws.com:{cfg.api_port}/{cfg.stage}"
        assert deployed.loc[region, "endpoint"] == url
        assert re.fullmatch(r"[a-z0-9]{10}", api_id)


def test_deploying_without_functions_says_to_deploy_them_first(cfg, clients):
    with pytest.raises(LookupError, match="deploy the functions first"):
        deploy_regional_apis(cfg, clients)


def test_delete_regional_apis_removes_apis_and_permissions_and_tolerates_a_rerun(cfg, clients, functions):
    deploy_regional_apis(cfg, clients)
    deleted = delete_regional_apis(cfg, clients)
    assert sorted(deleted["region"]) == sorted(cfg.regions) and deleted["deleted"].all()
    assert (deleted["permissions_removed"] == len(ROUTES)).all()
    assert regional_endpoints(cfg, clients) == {}
    assert delete_regional_apis(cfg, clients).empty


def test_requests_reach_each_regions_functions_through_its_endpoint(cfg, clients, functions):
    deploy_regional_apis(cfg, clients)
    http = HttpClient(cfg)  # names resolved by the local cloud's DNS server, TLS checked against its CA
    health = apigateway.wait_for_endpoints(cfg, clients, http=http)
    assert health["served_by"].to_dict() == {region: region for region in cfg.regions}
    got = apigateway.get_item_everywhere(cfg, clients, "foobar", http=http)
    assert (got["status"] == 200).all() and (got["served_by"] == got["endpoint_region"]).all()
    response = http.request("GET", regional_endpoints(cfg, clients)[cfg.regions[0]] + "/item/foobar")
    assert response.json()["path_parameters"] == {"item_id": "foobar"}
    posted = apigateway.post_items_everywhere(cfg, clients, http=http)
    assert (posted["status"] == 201).all()


def test_function_faults_show_through_the_api(cfg, clients, functions):
    """Reserved concurrency 0 is a 500 through API Gateway (Lambda's 429 is an integration failure there)."""
    from helpers import lambdas

    deploy_regional_apis(cfg, clients)
    http = HttpClient(cfg)
    apigateway.wait_for_endpoints(cfg, clients, http=http)
    region = cfg.regions[0]
    health = regional_endpoints(cfg, clients)[region] + "/health"
    lambdas.set_reserved_concurrency(cfg, clients, region, "health", 0)
    throttled = http.request("GET", health)
    lambdas.delete_reserved_concurrency(cfg, clients, region, "health")
    assert (throttled.status, throttled.json()) == (500, {"message": "Internal server error"})
    assert http.request("GET", health).status == 200


def test_without_its_invoke_permission_a_function_answers_500_until_a_redeploy_restores_it(cfg, clients, functions):
    deployed = deploy_regional_apis(cfg, clients)
    http = HttpClient(cfg)
    apigateway.wait_for_endpoints(cfg, clients, http=http)
    region = cfg.regions[0]
    health = regional_endpoints(cfg, clients)[region] + "/health"
    route = next(route for route in ROUTES if route.function == "health")
    clients.client("lambda", region).remove_permission(
        FunctionName=cfg.resource_name("health"),
        StatementId=apigateway._statement_id(deployed.loc[region, "api_id"], route))
    denied = http.request("GET", health)
    assert (denied.status, denied.json()) == (500, {"message": "Internal server error"})  # as on AWS
    assert deploy_regional_apis(cfg, clients).loc[region, "permissions_added"] == 1
    assert http.request("GET", health).status == 200


@pytest.mark.notebook
def test_backend_notebook_serves_every_region(localcloud_status, unique, tmp_path):
    import papermill
    import pandas as pd

    run_dir = tmp_path / "run"
    parameters = {"localcloud_state_dir": localcloud_status["state_dir"], "time_scale": localcloud_status["time_scale"],
                  "stack_name": f"t{unique}", "table_name": f"nb-{unique}", "run_dir": str(run_dir)}
    for notebook in ("01_global_table", "02_backend"):
        papermill.execute_notebook(str(PROJECT_ROOT / "notebooks" / f"{notebook}.ipynb"), str(tmp_path / f"{notebook}.ipynb"),
                                   cwd=str(PROJECT_ROOT / "notebooks"), progress_bar=False, parameters=parameters)

    items = pd.read_csv(run_dir / "backend_items.csv")
    assert (items["status"] == 201).all()
    assert (items["origin_region"] == items["endpoint_region"]).all()
    assert set(items["endpoint_region"]) == {"eu-west-1", "eu-central-1"}
