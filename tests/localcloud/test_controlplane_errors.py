"""A crash inside the control plane answers in the protocol's error format, never as plain text."""

from __future__ import annotations

import io
import json

from localcloud.controlplane import ControlPlane


def _call(cp: ControlPlane, service: str, environ: dict) -> tuple[str, dict, bytes]:
    seen: dict = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(cp(environ, start_response))
    return seen["status"], seen["headers"], body


def _environ(service: str, method: str, path: str, **extra) -> dict:
    auth = f"AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
    return {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "HTTP_AUTHORIZATION": auth,
            "wsgi.input": io.BytesIO(b"{}"), "CONTENT_LENGTH": "2", **extra}


def _crashing(environ, start_response):
    raise RuntimeError("moto cannot handle this template")


def test_a_crash_in_a_json_service_is_an_internal_failure_in_json():
    cp = ControlPlane()
    cp.moto_app = _crashing
    status, headers, body = _call(cp, "dynamodb", _environ(
        "dynamodb", "POST", "/", HTTP_X_AMZ_TARGET="DynamoDB_20120810.ListTables"))
    assert status.startswith("500")
    error = json.loads(body)
    assert error["__type"].endswith("InternalFailure")
    assert "dynamodb:ListTables" in (error.get("message") or error["Message"]) and "moto cannot handle this template" in (error.get("message") or error["Message"])


def test_a_crash_in_a_rest_xml_service_is_an_xml_error_naming_the_operation():
    cp = ControlPlane()
    cp.moto_app = _crashing
    status, headers, body = _call(cp, "route53", _environ("route53", "GET", "/2013-04-01/healthcheck"))
    assert status.startswith("500")
    assert b"<Code>InternalFailure</Code>" in body and b"route53:ListHealthChecks" in body


def test_an_operation_moto_lacks_is_a_501_naming_it():
    cp = ControlPlane()

    def lacking(environ, start_response):
        raise NotImplementedError("The DescribeEndpoints action has not been implemented")

    cp.moto_app = lacking
    status, _, body = _call(cp, "dynamodb", _environ(
        "dynamodb", "POST", "/", HTTP_X_AMZ_TARGET="DynamoDB_20120810.DescribeEndpoints"))
    assert status.startswith("501")
    error = json.loads(body)
    assert error["__type"].endswith("NotImplemented") and "dynamodb:DescribeEndpoints" in (error.get("message") or error["Message"])
