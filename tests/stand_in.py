"""A stand-in backend for helper tests: one tiny handler behind the three function names and the regional APIs.

The real functions run in the notebook and end-to-end tests; helper tests only
need functions that answer with the region they run in and what they were asked.
"""

from __future__ import annotations

import io
import zipfile

from helpers.apigateway import ROUTES, deploy_regional_apis

# Answers every route with its region and the request; STATUS overrides the status code (like the health function).
STAND_IN = """
import json, os
def handler(event, context):
    body = {"served_by": os.environ["AWS_REGION"], "path": event["path"], "resource": event["resource"],
            "method": event["httpMethod"], "path_parameters": event["pathParameters"]}
    default = 201 if event["httpMethod"] == "POST" else 200
    return {"statusCode": int(os.environ.get("STATUS", default)), "body": json.dumps(body)}
"""


def zip_of(files: dict[str, str]) -> bytes:
    """A Lambda deployment package holding ``files`` (name -> source)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def create_stand_in_functions(cfg, clients) -> str:
    """The three function names, all running the stand-in, in every region; returns the role ARN."""
    role = clients.client("iam").create_role(RoleName=cfg.resource_name("test-role"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = zip_of({"handler.py": STAND_IN})
    for region in cfg.regions:
        for suffix in {route.function for route in ROUTES}:
            clients.client("lambda", region).create_function(
                FunctionName=cfg.resource_name(suffix), Runtime="python3.11", Role=role, Handler="handler.handler",
                Code={"ZipFile": code},
            )
    return role


def deploy_stand_in_backend(cfg, clients) -> None:
    """Step 2 with stand-in functions: the functions and the regional REST APIs, in every region."""
    create_stand_in_functions(cfg, clients)
    deploy_regional_apis(cfg, clients)
