"""API Gateway facts: the Route 53 hosted-zone ids of its regional endpoints."""

from __future__ import annotations

# The Route 53 hosted zone IDs of API Gateway's regional endpoints, as AWS
# publishes them (AWS General Reference, "Amazon API Gateway endpoints and
# quotas"). An alias record to a regional custom domain name uses these.
REGIONAL_HOSTED_ZONE_IDS: dict[str, str] = {
    "us-east-1": "Z1UJRXOUMOOFQ8",
    "us-east-2": "ZOJJZC49E0EPZ",
    "us-west-1": "Z2MUQ32089INYE",
    "us-west-2": "Z2OJLYMUO9EFXC",
    "ca-central-1": "Z19DQILCV0OWEC",
    "ca-west-1": "Z04745493436AWVTG1OQY",
    "af-south-1": "Z2DHW2332DAMTN",
    "ap-east-1": "Z3FD1VL90ND7K5",
    "ap-east-2": "Z02909591O7FG9Q56HWB1",
    "ap-south-1": "Z3VO1THU9YC4UR",
    "ap-south-2": "Z0853509Q1135NJ66RUH",
    "ap-southeast-1": "ZL327KTPIQFUL",
    "ap-southeast-2": "Z2RPCDW04V8134",
    "ap-southeast-3": "Z10132843TYUYSLUG4HA3",
    "ap-southeast-4": "Z092189423Y7RJK61311D",
    "ap-southeast-5": "Z0314042F0KBUTZ3X5HF",
    "ap-southeast-7": "Z048508712PZLK5NKG8R0",
    "ap-northeast-1": "Z1YSHQZHG15GKL",
    "ap-northeast-2": "Z20JF4UZKIW1U8",
    "ap-northeast-3": "Z22ILHG95FLSZ2",
    "eu-central-1": "Z1U9ULNL0V5AJ3",
    "eu-central-2": "Z09222482MK253X48U76H",
    "eu-west-1": "ZLY8HYME6SFDD",
    "eu-west-2": "ZJ5UAJN8Y3Z2Q",
    "eu-west-3": "Z3KY65QIEKYHQQ",
    "eu-north-1": "Z3UWIKFBOOGXPP",
    "eu-south-1": "Z3BT4WSQ9TDYZV",
    "eu-south-2": "Z02499852UI5HEQ5JVWX3",
    "il-central-1": "Z07264553HBI44N5X2CKP",
    "me-central-1": "Z08780021BKYYY8U0YHTV",
    "me-south-1": "Z20ZBPC0SS8806",
    "mx-central-1": "Z00020171WIGL5M88SHRM",
    "sa-east-1": "ZCMLWB8V5SYIT",
    "us-gov-east-1": "Z3SE9ATJYCRCZJ",
    "us-gov-west-1": "Z1K6XKP9SAGWDV",
}


def published_hosted_zone_id(region: str) -> str | None:
    """The hosted-zone id AWS publishes for API Gateway's regional endpoints in ``region``, if any.

    An alias record to a regional custom domain name (its ``regionalDomainName``)
    names this zone as ``HostedZoneId``; ``regionalHostedZoneId`` of the domain says the same.
    """
    return REGIONAL_HOSTED_ZONE_IDS.get(region)

# What a REST API accepts of one request ("Quotas for configuring and running a REST API in API Gateway",
# https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html);
# neither quota can be increased.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # "Payload size: 10 MB"
MAX_REQUEST_HEAD_BYTES = 10240  # "Total combined size of request line and header values: 10240 bytes"
