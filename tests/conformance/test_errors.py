"""Errors come back fast and in each service's own format, so the AWS CLI prints them instead of retrying.

Follows: AWS CLI User Guide, "AWS CLI retries" (500, 502, 503 and 504 are retried; other errors are
printed at once) and the AWS SDKs and Tools Reference Guide, "Retry behavior".
"""

from __future__ import annotations

import pytest

from localcloud.unsupported import ALTERNATIVES, UNSUPPORTED_CODE

FAST_S = 0.1  # the control plane's answer, measured with boto3 (the CLI adds its own start-up)


@pytest.mark.parametrize("args, operation", [
    (["route53", "get-health-check-count"], "GetHealthCheckCount"),
    (["route53", "get-checker-ip-ranges"], "GetCheckerIpRanges"),
    (["dynamodb", "describe-contributor-insights", "--table-name", "any"], "DescribeContributorInsights"),
    (["acm", "renew-certificate", "--certificate-arn",
      "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"], "RenewCertificate"),
])
def test_the_cli_prints_an_unsupported_operation_as_a_readable_error_at_once(aws, args, operation):
    result = aws(*args)
    assert result.returncode != 0
    assert f"An error occurred ({UNSUPPORTED_CODE}) when calling the {operation} operation" in result.stderr
    assert "does not emulate" in result.stderr and "docs/limits.md" in result.stderr
    assert result.seconds < 10  # no retries: the CLI's own start-up only (retrying a 500 took about 26 s)


def test_every_listed_gap_answers_501_within_100_ms(client):
    """Each entry of the one list of gaps (docs/limits.md shows it) answers the fast error, in its protocol."""
    import time

    from botocore.exceptions import ClientError

    calls = {
        ("dynamodb", "DescribeContributorInsights"): lambda c: c.describe_contributor_insights(TableName="t"),
        ("dynamodb", "DescribeTableReplicaAutoScaling"): lambda c: c.describe_table_replica_auto_scaling(TableName="t"),
        ("lambda", "InvokeWithResponseStream"): lambda c: c.invoke_with_response_stream(FunctionName="f"),
        ("route53", "GetHealthCheckCount"): lambda c: c.get_health_check_count(),
        ("route53", "GetCheckerIpRanges"): lambda c: c.get_checker_ip_ranges(),
        ("apigateway", "TestInvokeMethod"): lambda c: c.test_invoke_method(restApiId="a", resourceId="r",
                                                                           httpMethod="GET"),
        ("acm", "RenewCertificate"): lambda c: c.renew_certificate(
            CertificateArn="arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"),
    }
    assert set(calls) == set(ALTERNATIVES), "a gap listed without a check here (or the reverse)"
    warm_up = {"dynamodb": "list_tables", "lambda": "list_functions", "route53": "list_health_checks",
               "apigateway": "get_rest_apis", "acm": "list_certificates"}
    for service, operation in warm_up.items():  # moto builds a service's app on its first request (about 1 s)
        getattr(client(service), operation)()
    for (service, operation), call in calls.items():
        service_client = client(service)
        started = time.perf_counter()
        with pytest.raises(ClientError) as caught:
            call(service_client)
        elapsed = time.perf_counter() - started
        error = caught.value.response
        assert error["Error"]["Code"] == UNSUPPORTED_CODE, (operation, error)
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 501, operation
        assert operation in error["Error"]["Message"] and ALTERNATIVES[(service, operation)] in error["Error"]["Message"]
        assert elapsed < FAST_S, f"{operation} took {elapsed * 1000:.0f} ms"
