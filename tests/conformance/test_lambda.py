"""Lambda functions: deprecated runtimes are refused at creation, as on AWS.

Follows: AWS Lambda Developer Guide, "Lambda runtimes" (Deprecated runtimes: Block function create) and
"Create a Lambda function with the AWS CLI" (aws lambda create-function).
"""

from __future__ import annotations

import datetime
import io
import json
import zipfile

import pytest

from awsfacts.awslambda import DEPRECATED, refusal


@pytest.fixture
def code_and_role(aws, unique, tmp_path) -> tuple[str, str]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'ok': True}\n")
    (tmp_path / "app.zip").write_bytes(buffer.getvalue())
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                 "Principal": {"Service": "lambda.amazonaws.com"}}]})
    role = aws("iam", "create-role", "--role-name", f"fn-{unique}", "--assume-role-policy-document", trust)
    assert role.returncode == 0, role.stderr
    return f"fileb://{tmp_path / 'app.zip'}", role.json()["Role"]["Arn"]


@pytest.mark.parametrize("runtime", ["python3.7", "python3.8"])
def test_create_function_refuses_a_runtime_past_its_block_date(aws, code_and_role, unique, runtime):
    assert datetime.date.today() >= DEPRECATED[runtime].block_create
    code, role = code_and_role
    result = aws("lambda", "create-function", "--function-name", f"old-{unique}", "--runtime", runtime,
                 "--handler", "app.handler", "--zip-file", code, "--role", role)
    assert result.returncode != 0
    assert (f"An error occurred (InvalidParameterValueException) when calling the CreateFunction operation: "
            f"{refusal(runtime)}") in result.stderr
    assert aws("lambda", "get-function", "--function-name", f"old-{unique}").returncode != 0  # nothing was created


def test_a_supported_runtime_creates_and_runs(aws, code_and_role, unique, tmp_path):
    code, role = code_and_role
    created = aws("lambda", "create-function", "--function-name", f"new-{unique}", "--runtime", "python3.12",
                  "--handler", "app.handler", "--zip-file", code, "--role", role)
    assert created.returncode == 0, created.stderr
    changed = aws("lambda", "update-function-configuration", "--function-name", f"new-{unique}",
                  "--runtime", "python3.8")
    assert "InvalidParameterValueException" in changed.stderr  # past its Block function update date too
    invoked = aws("lambda", "invoke", "--function-name", f"new-{unique}", str(tmp_path / "out.json"))
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads((tmp_path / "out.json").read_text()) == {"ok": True}


CALLER = '''
import json, os, urllib.request

def handler(event, context):
    with urllib.request.urlopen(event["url"], timeout=5) as answer:   # no port, public trust store: as on AWS
        return {"status": answer.status, "body": json.loads(answer.read())}
'''


def test_a_function_calls_another_regions_api_by_name_over_https(client, unique, tmp_path):
    """Follows: AWS Lambda Developer Guide, "Lambda runtime environment" (functions resolve names through DNS
    and trust the public CAs); here they resolve through the local cloud's DNS and trust its CA too."""
    lam_west, apigw_west = client("lambda", "us-west-2"), client("apigateway", "us-west-2")
    role = client("iam").create_role(RoleName=f"caller-{unique}", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]

    def code(source: str) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("app.py", source)
        return buffer.getvalue()

    callee = lam_west.create_function(FunctionName=f"callee-{unique}", Runtime="python3.12", Role=role,
                                      Handler="app.handler", Code={"ZipFile": code(
                                          "def handler(e, c):\n    return {'statusCode': 200, 'body': '{\"region\": \"us-west-2\"}'}\n")})
    lam_west.add_permission(FunctionName=f"callee-{unique}", StatementId="apigw", Action="lambda:InvokeFunction",
                            Principal="apigateway.amazonaws.com")
    api = apigw_west.create_rest_api(name=f"callee-{unique}", endpointConfiguration={"types": ["REGIONAL"]})["id"]
    root = apigw_west.get_resources(restApiId=api)["items"][0]["id"]
    apigw_west.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw_west.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="AWS_PROXY",
                               integrationHttpMethod="POST",
                               uri=f"arn:aws:apigateway:us-west-2:lambda:path/2015-03-31/functions/"
                                   f"{callee['FunctionArn']}/invocations")
    apigw_west.create_deployment(restApiId=api, stageName="prod")

    lam_east = client("lambda", "us-east-1")
    lam_east.create_function(FunctionName=f"caller-{unique}", Runtime="python3.12", Role=role, Handler="app.handler",
                             Timeout=10, Code={"ZipFile": code(CALLER)})
    url = f"https://{api}.execute-api.us-west-2.amazonaws.com/prod/"
    answer = lam_east.invoke(FunctionName=f"caller-{unique}", Payload=json.dumps({"url": url}))
    result = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, result
    assert result == {"status": 200, "body": {"region": "us-west-2"}}
