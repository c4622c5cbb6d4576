"""helpers.lambdas against the session's local cloud: packaging, role, deploy, faults, teardown."""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

from helpers import lambdas
from helpers.lambdas import (
    FUNCTIONS,
    FUNCTIONS_DIR,
    code_sha256,
    delete_functions,
    delete_reserved_concurrency,
    delete_role,
    deploy_functions,
    ensure_role,
    function_name,
    package_functions,
    policy_document,
    set_function_environment,
    set_reserved_concurrency,
)


@pytest.fixture
def deployed(cfg, clients):
    """The three functions deployed in every region (and removed afterwards)."""
    frame = deploy_functions(cfg, clients)
    yield frame
    delete_functions(cfg, clients)
    delete_role(cfg, clients)


def record_calls(clients, cfg) -> list[str]:
    """Operation names every Lambda and IAM client of ``clients`` sends from now on."""
    calls: list[str] = []
    for service, region in [("iam", None)] + [("lambda", r) for r in cfg.regions]:
        clients.client(service, region).meta.events.register(
            "before-call.*.*", lambda model, **_: calls.append(model.name))
    return calls


def proxy_event(method: str, resource: str, path: str, body: str | None = None, path_parameters: dict | None = None) -> dict:
    return {"resource": resource, "path": path, "httpMethod": method, "headers": {}, "pathParameters": path_parameters,
            "requestContext": {"requestId": "test"}, "body": body, "isBase64Encoded": False}


# ------------------------------------------------------------------ packaging
def test_packaging_is_byte_for_byte_reproducible(tmp_path):
    copy = tmp_path / "functions"
    shutil.copytree(FUNCTIONS_DIR, copy)  # new files, new modification times
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "junk.cpython-311.pyc").write_bytes(b"junk")
    assert package_functions() == package_functions() == package_functions(copy)


def test_package_holds_the_sources_sorted_with_fixed_dates_and_permissions():
    with zipfile.ZipFile(io.BytesIO(package_functions())) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert {"backend_common.py", "get_item.py", "health.py", "post_item.py"} <= set(names)
    assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in infos)
    assert all((info.external_attr >> 16) & 0o777 == 0o644 for info in infos)


# ------------------------------------------------------------------------ IAM
def test_the_policy_grants_nothing_beyond_the_tables_and_the_function_logs(cfg):
    account = "123456789012"
    document = policy_document(cfg, account)
    allowed_actions = {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DescribeTable",
                       "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
    tables = {f"arn:aws:dynamodb:{r}:{account}:table/{cfg.table_name}" for r in cfg.regions}
    log_groups = {f"arn:aws:logs:{r}:{account}:log-group:/aws/lambda/{function_name(cfg, s.key)}:*"
                  for r in cfg.regions for s in FUNCTIONS}
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, "no NotAction/NotResource/Condition tricks"
        actions = set(statement["Action"])
        resources = set(statement["Resource"])
        assert actions <= allowed_actions
        if any(a.startswith("dynamodb:") for a in actions):
            assert all(a.startswith("dynamodb:") for a in actions)
            assert resources == tables, "DynamoDB access only on the table in the configured regions"
        else:
            assert resources == log_groups, "logs only in the functions' own log groups"
    granted = {a for s in document["Statement"] for a in s["Action"]}
    assert granted == allowed_actions


def test_the_role_is_trusted_by_lambda_and_ensure_role_is_idempotent(cfg, clients):
    try:
        first = ensure_role(cfg, clients)
        second = ensure_role(cfg, clients)
        assert first.created and first.policy_updated
        assert not second.created and not second.policy_updated
        assert second.arn == first.arn
        role = clients.client("iam").get_role(RoleName=first.name)["Role"]
        trust = role["AssumeRolePolicyDocument"]
        trust = trust if isinstance(trust, dict) else json.loads(trust)
        assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
        tags = {t["Key"]: t["Value"] for t in clients.client("iam").list_role_tags(RoleName=first.name)["Tags"]}
        assert tags.items() >= cfg.tags.items()
    finally:
        delete_role(cfg, clients)
    assert delete_role(cfg, clients) is False


# --------------------------------------------------------------------- deploy
def test_deploy_creates_the_three_functions_in_every_region(cfg, clients, deployed):
    assert sorted(deployed["action"].unique()) == ["created"]
    assert len(deployed) == len(cfg.regions) * len(FUNCTIONS)
    assert set(deployed["state"]) == {"Active/Successful"}
    sha = code_sha256(package_functions())
    for region in cfg.regions:
        lam = clients.client("lambda", region)
        for spec in FUNCTIONS:
            configuration = lam.get_function_configuration(FunctionName=function_name(cfg, spec.key))
            assert configuration["CodeSha256"] == sha
            assert configuration["Runtime"] == "python3.12"
            assert configuration["Handler"] == f"{spec.key}.handler"
            assert configuration["Environment"]["Variables"] == {"TABLE_NAME": cfg.table_name}
            tags = lam.list_tags(Resource=configuration["FunctionArn"])["Tags"]
            assert tags.items() >= cfg.tags.items()


def test_redeploying_unchanged_code_changes_nothing(cfg, clients, deployed):
    calls = record_calls(clients, cfg)
    again = deploy_functions(cfg, clients)
    assert set(again["action"]) == {"unchanged"}
    assert list(again["code_sha256"]) == list(deployed["code_sha256"])
    changing = [c for c in calls if c.startswith(("Create", "Update", "Put", "Tag", "Delete"))]
    assert changing == [], f"a re-run sent {changing}"


def test_redeploy_restores_a_changed_configuration(cfg, clients, deployed):
    region = cfg.regions[0]
    assert set_function_environment(cfg, clients, region, "health", STATUS="503") == {
        "TABLE_NAME": cfg.table_name, "STATUS": "503"}
    again = deploy_functions(cfg, clients)
    changed = again[again["action"] != "unchanged"]
    assert list(changed["name"]) == [function_name(cfg, "health")]
    assert list(changed["action"]) == ["updated Environment"]


# --------------------------------------------------------------- end to end
def test_deployed_functions_store_and_read_items_in_their_region(cfg, clients, deployed):
    for region in cfg.regions:
        clients.client("dynamodb", region).create_table(
            TableName=cfg.table_name, KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    try:
        for region in cfg.regions:
            lam = clients.client("lambda", region)
            event = proxy_event("POST", "/item", "/item", json.dumps({"item_id": f"in-{region}", "price": 1.5}))
            posted = json.loads(lam.invoke(FunctionName=function_name(cfg, "post_item"),
                                           Payload=json.dumps(event).encode())["Payload"].read())
            assert posted["statusCode"] == 201
            assert json.loads(posted["body"])["origin_region"] == region
            event = proxy_event("GET", "/item/{item_id}", f"/item/in-{region}", path_parameters={"item_id": f"in-{region}"})
            got = json.loads(lam.invoke(FunctionName=function_name(cfg, "get_item"),
                                        Payload=json.dumps(event).encode())["Payload"].read())
            assert got["statusCode"] == 200
            assert json.loads(got["body"]) == {"item": json.loads(posted["body"]), "served_by": region}
    finally:
        for region in cfg.regions:
            clients.client("dynamodb", region).delete_table(TableName=cfg.table_name)


def test_reserved_concurrency_zero_throttles_until_it_is_removed(cfg, clients, deployed):
    region = cfg.regions[-1]
    name = function_name(cfg, "health")
    no_retries = boto3.client("lambda", region_name=region, endpoint_url=cfg.endpoint_url,
                              aws_access_key_id="testing", aws_secret_access_key="testing",
                              config=botocore.config.Config(retries={"total_max_attempts": 1}))
    assert set_reserved_concurrency(cfg, clients, region, "health", 0) == 0
    with pytest.raises(ClientError) as raised:
        no_retries.invoke(FunctionName=name, Payload=json.dumps(proxy_event("GET", "/health", "/health")).encode())
    assert raised.value.response["Error"]["Code"] == "TooManyRequestsException"
    delete_reserved_concurrency(cfg, clients, region, "health")
    answer = no_retries.invoke(FunctionName=name, Payload=json.dumps(proxy_event("GET", "/health", "/health")).encode())
    assert json.loads(answer["Payload"].read())["statusCode"] == 200


def test_teardown_tolerates_missing_functions_and_role(cfg, clients, deployed):
    first = delete_functions(cfg, clients)
    assert set(first["outcome"]) == {"deleted"}
    assert set(delete_functions(cfg, clients)["outcome"]) == {"absent"}
    assert delete_role(cfg, clients) is True
    assert delete_role(cfg, clients) is False


def test_an_unknown_function_key_names_the_known_ones(cfg):
    with pytest.raises(ValueError, match="post_item, get_item, health"):
        lambdas.function_name(cfg, "nope")
