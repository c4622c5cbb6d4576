"""Custom domain names accept only an issued certificate of their Region that covers the name.

Follows: API Gateway Developer Guide, "Setting up a regional custom domain name in API Gateway" (the
certificate must be in the API's Region and issued) and ACM User Guide, "DNS validation" (the certificate is
issued once the CNAME record exists); ACM DescribeCertificate's ``InUseBy`` lists the resources using it.
"""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError


def _request(client, region: str, name: str) -> str:
    return client("acm", region).request_certificate(DomainName=name, ValidationMethod="DNS")["CertificateArn"]


def _validate(client, zone_id: str, region: str, arn: str) -> None:
    acm = client("acm", region)
    for _ in range(50):
        options = acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainValidationOptions"]
        if options and "ResourceRecord" in options[0]:
            break
        time.sleep(0.1)
    record = options[0]["ResourceRecord"]
    client("route53").change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {"Name": record["Name"], "Type": "CNAME", "TTL": 60,
                                                  "ResourceRecords": [{"Value": record["Value"]}]}}]})
    acm.get_waiter("certificate_validated").wait(CertificateArn=arn, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def _create_domain(client, region: str, name: str, arn: str) -> dict:
    return client("apigateway", region).create_domain_name(domainName=name, regionalCertificateArn=arn,
                                                           endpointConfiguration={"types": ["REGIONAL"]})


def _bad_request(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["Error"]["Code"] == "BadRequestException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return caught.value.response["Error"]["Message"]


def test_create_domain_name_checks_the_certificate_and_acm_lists_its_use(client, unique):
    zone = f"domains-{unique}.example.com"
    zone_id = client("route53").create_hosted_zone(Name=zone, CallerReference=unique)["HostedZone"]["Id"]
    east = _request(client, "us-east-1", f"api.{zone}")
    west = _request(client, "us-west-2", f"api.{zone}")

    message = _bad_request(lambda: _create_domain(client, "us-east-1", f"api.{zone}", east))
    assert message == f"Certificate {east} in account 123456789012 not yet issued"

    _validate(client, zone_id, "us-east-1", east)
    _validate(client, zone_id, "us-west-2", west)
    message = _bad_request(lambda: _create_domain(client, "us-east-1", f"api.{zone}", west))
    assert message == f"Invalid certificate ARN: {west}. Certificate must be in 'us-east-1'."
    message = _bad_request(lambda: _create_domain(client, "us-east-1", f"other.{zone}", east))
    assert message == "The domain name to be created is not covered by the provided certificate."

    created = _create_domain(client, "us-east-1", f"api.{zone}", east)
    assert created["domainNameStatus"] == "AVAILABLE"
    domain_arn = f"arn:aws:apigateway:us-east-1::/domainnames/api.{zone}"
    assert client("acm").describe_certificate(CertificateArn=east)["Certificate"]["InUseBy"] == [domain_arn]
    client("apigateway").delete_domain_name(domainName=f"api.{zone}")
    assert client("acm").describe_certificate(CertificateArn=east)["Certificate"]["InUseBy"] == []
