"""A stack built only with the AWS CLI survives the blog's failover test.

Follows: AWS Compute Blog, "Building a Multi-region Serverless Application with Amazon API Gateway and
AWS Lambda" (a health function whose STATUS variable fails a Region), with the steps of the API Gateway
Developer Guide, "Tutorial: Build a REST API with Lambda proxy integration", and the Route 53 Developer
Guide, "Creating Amazon Route 53 health checks" (HTTPS, no Port: Route 53 probes 443) and
"Weighted routing". Failover takes about FailureThreshold x RequestInterval + TTL.
"""

from __future__ import annotations

import io
import json
import time
import zipfile

import dns.message
import dns.query
import dns.rdatatype

REGIONS = ("us-east-1", "us-west-2")
INTERVAL_S, THRESHOLD, TTL_S = 10, 2, 10

HEALTH_HANDLER = '''
import json, os

def handler(event, context):
    status = int(os.environ.get("STATUS", "200"))
    return {"statusCode": status, "body": json.dumps({"region": os.environ["AWS_REGION"], "status": status})}
'''


def _zip(tmp_path) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("health.py", HEALTH_HANDLER)
    path = tmp_path / "health.zip"
    path.write_bytes(buffer.getvalue())
    return f"fileb://{path}"


def _ok(result) -> dict:
    assert result.returncode == 0, result.stderr
    return result.json() if result.stdout.strip() else {}


def _build_region(aws, region: str, role_arn: str, code: str, unique: str) -> str:
    """The tutorial's steps in one Region: function, REST API with GET /health, deployment. The API's host name."""
    function = _ok(aws("lambda", "create-function", "--function-name", f"health-{unique}", "--runtime", "python3.12",
                       "--handler", "health.handler", "--zip-file", code, "--role", role_arn, region=region))
    api = _ok(aws("apigateway", "create-rest-api", "--name", f"health-{unique}",
                  "--endpoint-configuration", "types=REGIONAL", region=region))["id"]
    root = _ok(aws("apigateway", "get-resources", "--rest-api-id", api, region=region))["items"][0]["id"]
    resource = _ok(aws("apigateway", "create-resource", "--rest-api-id", api, "--parent-id", root,
                       "--path-part", "health", region=region))["id"]
    _ok(aws("apigateway", "put-method", "--rest-api-id", api, "--resource-id", resource, "--http-method", "GET",
            "--authorization-type", "NONE", region=region))
    _ok(aws("apigateway", "put-integration", "--rest-api-id", api, "--resource-id", resource, "--http-method", "GET",
            "--type", "AWS_PROXY", "--integration-http-method", "POST", "--uri",
            f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function['FunctionArn']}/invocations",
            region=region))
    _ok(aws("lambda", "add-permission", "--function-name", f"health-{unique}", "--statement-id", "apigateway",
            "--action", "lambda:InvokeFunction", "--principal", "apigateway.amazonaws.com", region=region))
    _ok(aws("apigateway", "create-deployment", "--rest-api-id", api, "--stage-name", "prod", region=region))
    return f"{api}.execute-api.{region}.amazonaws.com"


def _answers(server: tuple[str, int], name: str, samples: int = 12) -> set[str]:
    """The CNAME targets the DNS answers for ``name`` over a few queries (weighted routing picks one each time)."""
    seen = set()
    for _ in range(samples):
        reply = dns.query.udp(dns.message.make_query(name, "CNAME"), server[0], port=server[1], timeout=3)
        seen |= {r.to_text().rstrip(".") for rrset in reply.answer if rrset.rdtype == dns.rdatatype.CNAME
                 for r in rrset}
    return seen


def _wait_for(server, name: str, expected: set[str], deadline_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        if _answers(server, name) == expected:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"DNS did not answer {expected} within {deadline_s:.1f} s; "
                         f"it answers {_answers(server, name)}")


def test_weighted_failover_on_an_https_health_check_without_port(aws, localcloud_status, unique, tmp_path):
    scale = localcloud_status["time_scale"]
    host, port = localcloud_status["dns"].rsplit(":", 1)
    server = (host, int(port))
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                 "Principal": {"Service": "lambda.amazonaws.com"}}]})
    role_arn = _ok(aws("iam", "create-role", "--role-name", f"health-{unique}",
                       "--assume-role-policy-document", trust))["Role"]["Arn"]
    code = _zip(tmp_path)
    hosts = {region: _build_region(aws, region, role_arn, code, unique) for region in REGIONS}

    zone = f"failover-{unique}.example.com"
    zone_id = _ok(aws("route53", "create-hosted-zone", "--name", zone,
                      "--caller-reference", unique))["HostedZone"]["Id"].split("/")[-1]
    changes = []
    for region, target in hosts.items():
        config = {"Type": "HTTPS", "FullyQualifiedDomainName": target, "ResourcePath": "/prod/health",
                  "RequestInterval": INTERVAL_S, "FailureThreshold": THRESHOLD}  # no Port: Route 53 uses 443
        check = _ok(aws("route53", "create-health-check", "--caller-reference", f"{unique}-{region}",
                        "--health-check-config", json.dumps(config)))["HealthCheck"]
        assert check["HealthCheckConfig"]["Port"] == 443
        changes.append({"Action": "CREATE", "ResourceRecordSet": {
            "Name": f"api.{zone}", "Type": "CNAME", "SetIdentifier": region, "Weight": 50, "TTL": TTL_S,
            "ResourceRecords": [{"Value": target}], "HealthCheckId": check["Id"]}})
    _ok(aws("route53", "change-resource-record-sets", "--hosted-zone-id", zone_id,
            "--change-batch", json.dumps({"Changes": changes})))

    bound = (THRESHOLD * INTERVAL_S + TTL_S) * scale + 3.0  # the blog's failover time, scaled, plus probe jitter
    both = set(hosts.values())
    _wait_for(server, f"api.{zone}", both, bound)

    broken = REGIONS[1]
    _ok(aws("lambda", "update-function-configuration", "--function-name", f"health-{unique}",
            "--environment", "Variables={STATUS=404}", region=broken))
    # Both health checks would fail if the checker probed port 80: Route 53 then answers every record.
    _wait_for(server, f"api.{zone}", {hosts[REGIONS[0]]}, bound)

    _ok(aws("lambda", "update-function-configuration", "--function-name", f"health-{unique}",
            "--environment", "Variables={STATUS=200}", region=broken))
    _wait_for(server, f"api.{zone}", both, bound)
