"""The stack: every kind of resource the runbook builds, in the order it builds them.

Each entry is a ``helpers.resource_kind.ResourceKind`` declared in the module
that creates it. Notebook 00's plan (``helpers.setup.plan``), the inventory and
the teardown of 08 (``helpers.teardown``, which deletes in reverse order) and
the IAM policy (``helpers.aws_account.required_policy``) are loops over
``STACK``: a new kind is one unit in its module and one line here.

The order is a dependency order: a kind comes after everything it uses, so the
reverse order deletes users before what they use (records before health
checks, domain names before certificates, functions before their role, the
global table's users before the table, the hosted zone last).
"""

from __future__ import annotations

from helpers import apigateway, consistency_lab, domains, dynamodb, faults, healthchecks, lambdas, route53
from helpers.resource_kind import ResourceKind

STACK: tuple[ResourceKind, ...] = (
    domains.HOSTED_ZONE,       # 03 (or yours): every record below lives in it
    dynamodb.TABLE,            # 01
    lambdas.ROLE,              # 02
    lambdas.LOG_GROUPS,        # 02: Lambda creates them; listed before the functions so they are deleted after them
    lambdas.FUNCTIONS_KIND,    # 02
    apigateway.REST_APIS,      # 02
    domains.CERTIFICATES,      # 03
    domains.CUSTOM_DOMAINS,    # 03
    healthchecks.HEALTH_CHECKS,  # 04
    route53.ROUTING,           # 05
    faults.FIS_ROLE,           # 06, FIS faults only
    faults.FIS_TEMPLATES,      # 06, FIS faults only
    consistency_lab.LAB_TABLES,  # 07, with consistency_lab: the MREC and MRSC lab tables
)
