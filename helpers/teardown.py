"""Step 7: delete everything the stack created, in dependency order, then prove nothing is left.

Each step tolerates what is already gone (a half-built or half-deleted stack),
so the teardown can always be re-run. Only resources named or tagged for this
stack are touched; a hosted zone is deleted only if the runbook created it.
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from helpers import apigateway, domains, dynamodb, faults, healthchecks, lambdas, route53
from helpers.clients import Clients
from helpers.config import Config


def _steps(cfg: Config, clients: Clients) -> list[tuple[str, Callable[[], Any]]]:
    return [
        ("routing records and traffic policies", lambda: route53.delete_routing_records(cfg, clients)),
        ("health checks", lambda: healthchecks.delete_health_checks(cfg, clients)),
        ("custom domain names and base path mappings", lambda: domains.delete_custom_domains(cfg, clients)),
        ("certificates", lambda: domains.delete_certificates(cfg, clients)),
        ("REST APIs", lambda: apigateway.delete_regional_apis(cfg, clients)),
        ("Lambda functions", lambda: lambdas.delete_functions(cfg, clients)),
        ("Lambda log groups", lambda: lambdas.delete_log_groups(cfg, clients)),
        ("Lambda role", lambda: lambdas.delete_role(cfg, clients)),
        ("FIS templates and role", lambda: faults.delete_fault_resources(cfg, clients)),
        ("global table (replicas, then the table)", lambda: dynamodb.delete_global_table(cfg, clients)),
        ("hosted zone (only if the runbook created it)", lambda: domains.delete_hosted_zone_if_created(cfg, clients)),
    ]


def teardown(cfg: Config, clients: Clients) -> pd.DataFrame:
    """Run every deletion step; a failing step is reported and the others still run.

    In a dry run the deletions are recorded, not made (``helpers.dryrun``).
    """
    rows = []
    for name, step in _steps(cfg, clients):
        try:
            result = step()
            rows.append({"step": name, "ok": True, "detail": _describe(result)})
        except Exception as error:  # report, carry on: the inventory below shows what is left
            rows.append({"step": name, "ok": False, "detail": f"{type(error).__name__}: {error}"})
    return pd.DataFrame(rows)


def _describe(result: Any) -> str:
    if isinstance(result, pd.DataFrame):
        return f"{len(result)} row(s)"
    if isinstance(result, (list, tuple, set)):
        return f"{len(result)} deleted"
    return "" if result is None else str(result)


def inventory(cfg: Config, clients: Clients) -> pd.DataFrame:
    """Every resource of this stack that still exists, listed service by service and region by region."""
    left: list[dict[str, str]] = []

    def add(service: str, region: str, resource: str) -> None:
        left.append({"service": service, "region": region, "resource": resource})

    # The modules' own finders, so the inventory sees exactly what they create and delete. Exact names,
    # not prefixes: stack "shop" must not claim stack "shop-blue"'s resources.
    log_groups = {lambdas.log_group_name(cfg, spec.key) for spec in lambdas.FUNCTIONS}
    functions = lambdas.describe_functions(cfg, clients)
    for region in cfg.regions:
        if dynamodb.is_stack_table(cfg, clients, region):  # a same-named table of someone else's is not ours
            add("dynamodb", region, f"table {cfg.table_name}")
        for name in functions.loc[(functions["region"] == region) & (functions["state"] != "missing"), "name"]:
            add("lambda", region, f"function {name}")
        for page in clients.client("logs", region).get_paginator("describe_log_groups").paginate(
                logGroupNamePrefix=f"/aws/lambda/{cfg.stack_name}-"):
            for group in page["logGroups"]:
                if group["logGroupName"] in log_groups:
                    add("logs", region, f"log group {group['logGroupName']}")
        for api in apigateway.stack_rest_apis(cfg, clients, region):
            add("apigateway", region, f"rest api {api['id']}")
        domain = domains.find_custom_domain(cfg, clients, region)
        if domain is not None and domains.is_stack_domain(cfg, domain):  # another stack's name is not ours
            add("apigateway", region, f"domain name {cfg.domain_name}")
        for certificate in domains.stack_certificates(cfg, clients, region, live_only=False):
            add("acm", region, f"certificate {certificate['CertificateArn']}")
        for template_id in faults.stack_experiment_templates(cfg, clients, region):
            add("fis", region, f"experiment template {template_id}")
    for role in (lambdas.role_name(cfg), cfg.resource_name(faults.FIS_ROLE_SUFFIX)):
        if lambdas.iam_role_exists(clients, role):
            add("iam", "global", f"role {role}")
    for region, check_id in healthchecks.health_check_ids(cfg, clients).items():
        add("route53", "global", f"health check {check_id} ({region})")
    for record in route53.stack_records(cfg, clients):
        add("route53", "global", f"record {record}")
    for policy in route53.stack_traffic_policies(cfg, clients):
        add("route53", "global", f"traffic policy {policy}")
    zone = domains.created_hosted_zone(cfg, clients)
    if zone:
        add("route53", "global", f"hosted zone {zone} (created by the runbook)")
    return pd.DataFrame(left, columns=["service", "region", "resource"])
