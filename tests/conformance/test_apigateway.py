"""REST API integrations and authorization, built with boto3 as the API Gateway tutorials build them.

Follows: API Gateway Developer Guide, "Enabling CORS for a REST API resource" (MOCK integration for OPTIONS),
"Set up HTTP proxy integrations", "Tutorial: Build an API Gateway REST API with Lambda non-proxy integration"
(mapping templates, integration responses), "Control access to a REST API with IAM permissions" (AWS_IAM)
and "Use API Gateway Lambda authorizers" (TOKEN and REQUEST).
"""

from __future__ import annotations

import http.server
import io
import json
import threading
import zipfile

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGION = "us-east-1"

FUNCTIONS = {
    "echo": '''
import json
def handler(event, context):
    if isinstance(event, dict) and event.get("fail"):
        raise Exception("boom: " + event["fail"])
    return {"received": event}
''',
    "authorizer": '''
def handler(event, context):
    token = event.get("authorizationToken") or (event.get("headers") or {}).get("x-token")
    if token not in ("allow", "deny"):
        raise Exception("Unauthorized")
    effect = "Allow" if token == "allow" else "Deny"
    return {"principalId": "user-1", "context": {"tier": "gold"},
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]}}
''',
    "proxy": '''
import json
def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"].get("authorizer") or {})}
''',
}


@pytest.fixture(scope="module")
def stack(localcloud_status, tmp_path_factory):
    """One REST API with a method per behaviour, deployed to ``prod``; yields (api host, helpers)."""
    import boto3

    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    endpoint = localcloud_status["aws_endpoint"]
    apigw = session.client("apigateway", endpoint_url=endpoint)
    lam = session.client("lambda", endpoint_url=endpoint)
    iam = session.client("iam", endpoint_url=endpoint)
    unique = tmp_path_factory.mktemp("api").name.replace("_", "")[-8:]
    role = iam.create_role(RoleName=f"apigw-{unique}", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
    arns = {}
    for name, code in FUNCTIONS.items():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("app.py", code)
        arns[name] = lam.create_function(FunctionName=f"{name}-{unique}", Runtime="python3.12", Role=role,
                                         Handler="app.handler", Code={"ZipFile": buffer.getvalue()})["FunctionArn"]
        lam.add_permission(FunctionName=f"{name}-{unique}", StatementId="apigateway", Action="lambda:InvokeFunction",
                           Principal="apigateway.amazonaws.com")

    def lambda_uri(name: str) -> str:
        return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arns[name]}/invocations"

    api = apigw.create_rest_api(name=f"conformance-{unique}", endpointConfiguration={"types": ["REGIONAL"]})["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]

    def resource(path_part: str) -> str:
        return apigw.create_resource(restApiId=api, parentId=root, pathPart=path_part)["id"]

    # CORS preflight, as the console and frameworks generate it
    cors = resource("cors")
    apigw.put_method(restApiId=api, resourceId=cors, httpMethod="OPTIONS", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=cors, httpMethod="OPTIONS", type="MOCK",
                          requestTemplates={"application/json": '{"statusCode": 200}'})
    headers = {"method.response.header.Access-Control-Allow-Origin": "'*'",
               "method.response.header.Access-Control-Allow-Methods": "'GET,OPTIONS'",
               "method.response.header.Access-Control-Allow-Headers": "'Content-Type,Authorization'"}
    apigw.put_method_response(restApiId=api, resourceId=cors, httpMethod="OPTIONS", statusCode="200",
                              responseParameters={k: False for k in headers})
    apigw.put_integration_response(restApiId=api, resourceId=cors, httpMethod="OPTIONS", statusCode="200",
                                   responseParameters=headers, responseTemplates={"application/json": ""})

    # non-proxy Lambda with mapping templates and an error pattern
    mapped = resource("mapped")
    apigw.put_method(restApiId=api, resourceId=mapped, httpMethod="POST", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=mapped, httpMethod="POST", type="AWS",
                          integrationHttpMethod="POST", uri=lambda_uri("echo"), requestTemplates={
                              "application/json": '{"body": $input.json(\'$\'), "name": "$input.params(\'name\')", '
                                                  '"stage": "$context.stage", "env": "$stageVariables.env", '
                                                  '"escaped": "$util.escapeJavaScript($input.body)"'
                                                  '#if($input.path(\'$.fail\')), "fail": "$input.path(\'$.fail\')"#end}'})
    apigw.put_method_response(restApiId=api, resourceId=mapped, httpMethod="POST", statusCode="200")
    apigw.put_method_response(restApiId=api, resourceId=mapped, httpMethod="POST", statusCode="400")
    apigw.put_integration_response(restApiId=api, resourceId=mapped, httpMethod="POST", statusCode="200",
                                   responseTemplates={"application/json": '{"echo": $input.json(\'$.received\')}'})
    apigw.put_integration_response(restApiId=api, resourceId=mapped, httpMethod="POST", statusCode="400",
                                   selectionPattern="boom:.*",
                                   responseTemplates={"application/json": '{"error": "$input.path(\'$.errorMessage\')"}'})

    # AWS_IAM
    signed = resource("signed")
    apigw.put_method(restApiId=api, resourceId=signed, httpMethod="GET", authorizationType="AWS_IAM")
    apigw.put_integration(restApiId=api, resourceId=signed, httpMethod="GET", type="AWS_PROXY",
                          integrationHttpMethod="POST", uri=lambda_uri("proxy"))

    # Lambda authorizers
    authorizers = {}
    for kind, source in (("TOKEN", "method.request.header.Authorization"), ("REQUEST", "method.request.header.x-token")):
        authorizers[kind] = apigw.create_authorizer(
            restApiId=api, name=f"{kind.lower()}-auth", type=kind, authorizerUri=lambda_uri("authorizer"),
            identitySource=source, authorizerResultTtlInSeconds=0)["id"]
        guarded = resource(kind.lower())
        apigw.put_method(restApiId=api, resourceId=guarded, httpMethod="GET", authorizationType="CUSTOM",
                         authorizerId=authorizers[kind])
        apigw.put_integration(restApiId=api, resourceId=guarded, httpMethod="GET", type="AWS_PROXY",
                              integrationHttpMethod="POST", uri=lambda_uri("proxy"))

    # HTTP_PROXY and HTTP to a backend on loopback
    backend = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Backend)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{backend.server_address[1]}"
    passthrough = apigw.create_resource(restApiId=api, parentId=resource("backend"), pathPart="{proxy+}")["id"]
    apigw.put_method(restApiId=api, resourceId=passthrough, httpMethod="ANY", authorizationType="NONE",
                     requestParameters={"method.request.path.proxy": True})
    apigw.put_integration(restApiId=api, resourceId=passthrough, httpMethod="ANY", type="HTTP_PROXY",
                          integrationHttpMethod="ANY", uri=f"{base}/{{proxy}}",
                          requestParameters={"integration.request.path.proxy": "method.request.path.proxy"})
    plain = resource("plain")
    apigw.put_method(restApiId=api, resourceId=plain, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=plain, httpMethod="GET", type="HTTP", integrationHttpMethod="GET",
                          uri=f"{base}/plain")
    apigw.put_method_response(restApiId=api, resourceId=plain, httpMethod="GET", statusCode="200")
    apigw.put_integration_response(restApiId=api, resourceId=plain, httpMethod="GET", statusCode="200",
                                   responseTemplates={"application/json": '{"upstream": $input.json(\'$.path\')}'})

    apigw.create_deployment(restApiId=api, stageName="prod", variables={"env": "production"})
    yield f"https://{api}.execute-api.{REGION}.amazonaws.com/prod"
    backend.shutdown()


class _Backend(http.server.BaseHTTPRequestHandler):
    """An HTTP backend that answers what it received."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.dumps({"method": self.command, "path": self.path,
                           "body": self.rfile.read(length).decode()}).encode()
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Backend", "yes")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args) -> None:
        pass


def test_mock_integration_answers_a_cors_preflight_with_static_headers(stack, https):
    answer = https("OPTIONS", f"{stack}/cors", {"Origin": "https://example.com",
                                                 "Access-Control-Request-Method": "GET"})
    assert answer.status == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.headers["access-control-allow-methods"] == "GET,OPTIONS"
    assert answer.headers["access-control-allow-headers"] == "Content-Type,Authorization"
    assert answer.body == b""


def test_non_proxy_lambda_integration_maps_request_and_response(stack, https):
    answer = https("POST", f"{stack}/mapped?name=ana", {"Content-Type": "application/json"}, b'{"n": "q\\"x"}')
    assert answer.status == 200, answer.body
    echo = answer.json()["echo"]
    assert echo["body"] == {"n": 'q"x'} and echo["name"] == "ana"
    assert echo["stage"] == "prod" and echo["env"] == "production"
    assert echo["escaped"] == '{"n": "q\\"x"}'  # escaped into the template's JSON string, intact after parsing


def test_a_function_error_selects_the_integration_response_by_its_message(stack, https):
    answer = https("POST", f"{stack}/mapped", {"Content-Type": "application/json"}, b'{"fail": "bad input"}')
    assert answer.status == 400
    assert answer.json() == {"error": "boom: bad input"}


def test_http_proxy_passes_request_and_answer_through(stack, https):
    answer = https("POST", f"{stack}/backend/orders/7?x=1", {"Content-Type": "application/json"}, b'{"a": 1}')
    assert answer.status == 201
    assert answer.headers["x-backend"] == "yes"
    assert answer.json() == {"method": "POST", "path": "/orders/7?x=1", "body": '{"a": 1}'}


def test_http_integration_maps_the_backend_answer(stack, https):
    answer = https("GET", f"{stack}/plain")
    assert answer.status == 200
    assert answer.json() == {"upstream": "/plain"}


def test_aws_iam_refuses_unsigned_garbage_and_wrongly_signed_requests(stack, https, localcloud_status):
    url = f"{stack}/signed"
    assert https("GET", url).status == 403
    assert https("GET", url).json() == {"message": "Missing Authentication Token"}
    garbage = https("GET", url, {"Authorization": "garbage"})
    assert garbage.status == 403 and "Authorization header requires 'Credential' parameter" in garbage.json()["message"]
    port = localcloud_status["api_port"]
    for secret, region in (("wrong-secret", REGION), ("testing", "us-west-2")):
        request = AWSRequest(method="GET", url=url.replace(".com/", f".com:{port}/"), data=b"")
        SigV4Auth(Credentials("testing", secret), "execute-api", region).add_auth(request)
        answer = https("GET", url, dict(request.headers.items()))
        assert answer.status == 403
        assert answer.json()["message"].startswith("The request signature we calculated does not match")


def test_aws_iam_lets_a_correctly_signed_request_through(stack, https, localcloud_status):
    url = f"{stack}/signed"
    request = AWSRequest(method="GET", url=url.replace(".com/", f".com:{localcloud_status['api_port']}/"), data=b"")
    SigV4Auth(Credentials("testing", "testing"), "execute-api", REGION).add_auth(request)
    assert https("GET", url, dict(request.headers.items())).status == 200


@pytest.mark.parametrize("kind, header", [("token", "Authorization"), ("request", "x-token")])
def test_lambda_authorizers_allow_deny_and_refuse(stack, https, kind, header):
    url = f"{stack}/{kind}"
    allowed = https("GET", url, {header: "allow"})
    assert allowed.status == 200 and allowed.json()["tier"] == "gold" and allowed.json()["principalId"] == "user-1"
    denied = https("GET", url, {header: "deny"})
    assert denied.status == 403
    assert denied.json() == {"Message": "User is not authorized to access this resource with an explicit deny"}
    assert https("GET", url, {header: "who-knows"}).status == 401
    missing = https("GET", url)
    assert missing.status == 401 and missing.json() == {"message": "Unauthorized"}
