"""What running the runbook on an AWS account needs, and what it costs.

* ``check_account``: who we are (STS ``GetCallerIdentity``), whether every
  configured region is enabled for the account (EC2 ``DescribeRegions``: an
  opt-in region such as ``eu-south-2`` must be enabled before it answers), and
  whether the hosted zone exists and is **public** when the runbook may not
  create it. It runs before anything is created, on AWS and on the local
  cloud alike (one code path: the local cloud answers the same calls).
* ``required_policy``: the IAM policy a user needs to run every notebook,
  assembled from the stack's kinds (``helpers.stack``) and scoped to the
  stack's names or tags where the service allows it; ``docs/iam-policy.json``
  is the one for ``parameters/aws.example.yaml`` (``python -m helpers.aws_account
  --account ACCOUNT_ID --output docs/iam-policy.json``).
* ``cost_estimate``: what the stack costs per month while it exists and what
  one run of the runbook costs, from approximate us-east-1 list prices.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from helpers import consistency_lab, stack
from helpers.clients import Clients, error_code
from helpers.config import PROJECT_ROOT, Config, ConfigError, validate
from helpers.domains import find_hosted_zone
from helpers.prices import PRICES, dynamodb_usd, health_check_monthly_usd
from helpers.resource_kind import IamScope, partition, unscoped

# ------------------------------------------------------------------ checks
# EC2 DescribeRegions' OptInStatus: opt-in-not-required (always on), opted-in, not-opted-in.
ENABLED_OPT_IN = ("opt-in-not-required", "opted-in")


class AccountCheckFailed(ConfigError):
    """The account is not ready for the runbook; the message says what to fix."""


def _row(check: str, value: str, ok: bool, fix: str = "") -> dict[str, Any]:
    return {"check": check, "value": value, "ok": ok, "fix": fix}


def region_status(clients: Clients, regions: tuple[str, ...]) -> dict[str, str]:
    """{region: OptInStatus} from EC2 DescribeRegions (AllRegions, so disabled ones show too).

    A region missing from the answer is reported as ``unknown``; when the call
    itself is denied every region is ``not checked (<error code>)``.
    """
    try:
        answer = clients.client("ec2").describe_regions(AllRegions=True)["Regions"]
    except (ClientError, BotoCoreError) as error:
        code = error_code(error) if isinstance(error, ClientError) else type(error).__name__
        return {region: f"not checked ({code})" for region in regions}
    known = {r["RegionName"]: r.get("OptInStatus", "opt-in-not-required") for r in answer}
    return {region: known.get(region, "unknown") for region in regions}


def check_account(cfg: Config, clients: Clients) -> pd.DataFrame:
    """Identity, regions and hosted zone, checked before anything is created; one row per check.

    Raises ``AccountCheckFailed`` naming every failed check and its fix. A
    region whose status cannot be read (DescribeRegions denied) is reported but
    does not fail: the first call in it would.
    """
    identity = clients.client("sts").get_caller_identity()
    rows = [_row("identity", identity["Arn"], True), _row("account", identity["Account"], True)]
    for region, status in region_status(clients, cfg.regions).items():
        ok = status in ENABLED_OPT_IN or status.startswith("not checked")
        rows.append(_row(f"region {region}", status, ok,
                         "" if ok else f"enable {region} in the account settings (Account > AWS Regions) or choose another region"))
    rows.append(_hosted_zone_row(cfg, clients))
    frame = pd.DataFrame(rows)
    failed = frame[~frame["ok"]]
    if not failed.empty:
        raise AccountCheckFailed(f"account {identity['Account']} is not ready for this runbook: " + "; ".join(
            f"{row.check} is {row.value}: {row.fix}" for row in failed.itertuples()))
    return frame


def _hosted_zone_row(cfg: Config, clients: Clients) -> dict[str, Any]:
    zone = find_hosted_zone(cfg, clients)  # public zones only
    if zone is not None:
        owner = "created by this stack" if zone.created_by_runbook else "yours: never deleted by the runbook"
        return _row("hosted zone", f"{zone.name} (public, {zone.id}, {owner})", True)
    if cfg.create_hosted_zone:
        return _row("hosted zone", f"{cfg.hosted_zone} will be created by step 3 (create_hosted_zone)", True)
    listed = clients.client("route53").list_hosted_zones_by_name(DNSName=cfg.hosted_zone)["HostedZones"]
    private = [z for z in listed if z["Name"].rstrip(".").lower() == cfg.hosted_zone]
    value = f"{cfg.hosted_zone} is a PRIVATE zone" if private else f"no public hosted zone {cfg.hosted_zone}"
    return _row("hosted zone", value, False,
                "create a public hosted zone for it in Route 53 and delegate the domain to its name servers "
                "(parameter 'hosted_zone'), or set create_hosted_zone to true")


# ---------------------------------------------------------------- IAM policy
def _account_statements(cfg: Config, scope: IamScope) -> list[dict[str, Any]]:
    """``check_account``'s own calls; ``sts:GetCallerIdentity`` needs no permission."""
    return [unscoped("ec2:DescribeRegions")]


def required_policy(cfg: Config, account: str = "*", hosted_zone_id: str = "*") -> dict[str, Any]:
    """The IAM policy a user needs to run every notebook (00-08) of this configuration on AWS.

    The account checks' statements, then each kind's of ``helpers.stack.STACK``
    (each kept beside the calls it allows), in the regions' partition. Every
    statement is scoped to the stack where the service allows it: by name, or
    by the stack's tag (``aws:ResourceTag``, ``aws:RequestTag``). The calls IAM
    cannot scope to a resource (``resource_kind.unscoped``: lists, some creates)
    are gathered into one statement, and a statement two kinds both need (the
    stack's roles) is written once, which keeps the policy within IAM's 6,144
    characters for a managed policy.
    """
    scope = IamScope(partition(cfg), account, hosted_zone_id)
    every = _account_statements(cfg, scope) + [
        statement for kind in stack.STACK for statement in kind.iam_statements(cfg, scope)]
    anywhere: set[str] = set()
    scoped: dict[str, dict[str, Any]] = {}
    for statement in every:
        if "Sid" in statement:
            held = scoped.setdefault(statement["Sid"], statement)
            if held != statement:
                raise ValueError(f"two different IAM statements have the Sid {statement['Sid']!r}: {held} and {statement}")
        elif statement["Resource"] == "*" and "Condition" not in statement:
            anywhere.update(statement["Action"])
        else:
            raise ValueError(f"a statement scoped to resources or conditions needs a Sid: {statement}")
    unscoped_calls = {"Sid": "CallsIamCannotScope", "Effect": "Allow", "Action": sorted(anywhere), "Resource": "*"}
    return {"Version": "2012-10-17", "Statement": [unscoped_calls, *scoped.values()]}


def policy_actions(policy: dict[str, Any]) -> set[str]:
    """Every action a policy allows (as written, without wildcards expanded)."""
    actions: set[str] = set()
    for statement in policy["Statement"]:
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def iam_action(service: str, operation: str, http_method: str = "") -> str:
    """The IAM action behind an API operation (API Gateway authorises by HTTP verb, the others by name)."""
    if service == "apigateway":
        return f"apigateway:{http_method.upper()}"
    return f"{service}:{operation}"


def print_required_policy(cfg: Config, clients: Clients | None = None) -> dict[str, Any]:
    """Print (and return) ``required_policy`` as JSON, with the account and the hosted zone filled in when known."""
    account, zone_id = "*", "*"
    if clients is not None:
        account = clients.client("sts").get_caller_identity()["Account"]
        zone = find_hosted_zone(cfg, clients)
        zone_id = zone.id if zone is not None else "*"
    policy = required_policy(cfg, account, zone_id)
    print(json.dumps(policy, indent=2))
    return policy


# -------------------------------------------------------------------- costs
SECONDS_PER_MONTH = 30 * 24 * 3600
# Route 53 probes from 8 checker regions by default, several checkers each: about 16 requests per interval.
HEALTH_CHECKERS = 16
LAMBDA_GB = 0.25  # helpers.lambdas.MEMORY_MB
LAMBDA_SECONDS = 0.02  # a warm invocation of these small handlers, billed per millisecond
# Requests the notebooks send besides the chaos load: 01 (probes), 02 (calls), 05 (DNS and HTTPS calls).
BUILD_REQUESTS = 100


def health_check_requests_per_month(cfg: Config) -> float:
    """GET /health requests each region's API receives from Route 53's checkers in a month."""
    return HEALTH_CHECKERS * SECONDS_PER_MONTH / cfg.health_check_interval


def _request_usd(requests: float, replicas: int, reads: float = 0.0, writes: float = 0.0) -> float:
    api = requests * PRICES["rest_api_requests_million"] / 1e6
    lam = requests * (PRICES["lambda_requests_million"] / 1e6 + LAMBDA_GB * LAMBDA_SECONDS * PRICES["lambda_gb_second"])
    ddb = (writes * replicas * PRICES["dynamodb_write_units_million"] + reads * PRICES["dynamodb_read_units_million"]) / 1e6
    return api + lam + ddb


def chaos_requests(cfg: Config) -> float:
    """Requests the chaos step's virtual clients send (its timeline in AWS seconds, each client at request_rate)."""
    return cfg.load_clients * cfg.request_rate * (cfg.steady_s + cfg.hold_s + cfg.recovery_s)


def cost_estimate(cfg: Config) -> pd.DataFrame:
    """What the stack costs on AWS: per month while it exists, and once per run of the runbook.

    Per month: the health checks (with the HTTPS and, at a 10 s interval, the
    fast-interval option), the API Gateway and Lambda requests those checks
    send to every region around the clock, the hosted zone if the runbook
    creates it, the traffic policy record if chosen. Per run: the chaos load
    and the notebooks' own calls (each POST is one API request, one Lambda
    invocation and one write per replica). Public ACM certificates, custom
    domain names, IAM and idle functions, APIs and on-demand tables are free.
    """
    n = len(cfg.regions)
    rows = []

    def add(item: str, basis: str, usd_month: float = 0.0, usd_run: float = 0.0) -> None:
        rows.append({"item": item, "basis": basis, "usd_per_month": round(usd_month, 2), "usd_per_run": round(usd_run, 4)})

    check = health_check_monthly_usd(cfg)
    options = "HTTPS + fast interval" if cfg.health_check_interval == 10 else "HTTPS"
    add("Route 53 health checks", f"{n} x ${check:.2f} ({options}; less if Route 53 classes the endpoint as AWS)", n * check)
    probes = health_check_requests_per_month(cfg)
    add("health-check traffic", f"{n} x {probes / 1e6:.1f} M GET /health a month (API Gateway + Lambda)",
        n * _request_usd(probes, n))
    if cfg.create_hosted_zone:
        add("Route 53 hosted zone", "created by the runbook", PRICES["hosted_zone_month"])
    if cfg.use_traffic_policy:
        add("Route 53 traffic policy record", "one policy record", PRICES["traffic_policy_record_month"])
    requests = chaos_requests(cfg) + BUILD_REQUESTS
    add("runbook requests", f"about {requests:,.0f} requests (API Gateway, Lambda, a write in each of {n} regions)",
        usd_run=_request_usd(requests, n, reads=requests, writes=requests))
    add("DNS queries", "the runbook's lookups (a few thousand)", usd_run=5000 * PRICES["dns_queries_million"] / 1e6)
    if cfg.consistency_lab:
        writes, reads = consistency_lab.billed_units(cfg)
        add("consistency lab (07)", f"about {writes:,} write units (each update in every Region of its table, the MRSC "
            f"witness too) and {reads:,} read units on the two on-demand lab tables", usd_run=dynamodb_usd(writes, reads))
    return pd.DataFrame(rows)


POLICY_FILE = PROJECT_ROOT / "docs" / "iam-policy.json"
POLICY_EXAMPLE = PROJECT_ROOT / "parameters" / "aws.example.yaml"


def policy_json(policy: dict[str, Any]) -> str:
    """A policy as the committed ``docs/iam-policy.json`` holds it: indented JSON with a final newline."""
    return json.dumps(policy, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.aws_account [-f parameters/aws.yaml] [--account ID] [--output FILE]``: the IAM policy.

    Without ``-f``, the policy of ``parameters/aws.example.yaml``; ``--output
    docs/iam-policy.json --account ACCOUNT_ID`` regenerates the documented one.
    """
    import argparse

    from helpers.parameters import load_parameters

    parser = argparse.ArgumentParser(prog="python -m helpers.aws_account", description=main.__doc__)
    parser.add_argument("-f", "--parameters-file", action="append", default=[], metavar="PARAMS.yaml")
    parser.add_argument("--account", default="*", help="the AWS account id to scope the ARNs to (default *)")
    parser.add_argument("--hosted-zone-id", default="*", help="the hosted zone's id, without /hostedzone/ (default *)")
    parser.add_argument("--output", metavar="FILE", help="write the policy to FILE instead of printing it")
    args = parser.parse_args(argv)
    # Only printing: validate as a dry run, which needs no cost acknowledgement.
    cfg = validate({**load_parameters(args.parameters_file or [str(POLICY_EXAMPLE)], []), "dry_run": True})
    text = policy_json(required_policy(cfg, args.account, args.hosted_zone_id))
    if args.output:
        Path(args.output).write_text(text)
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
