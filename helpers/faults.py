"""The chaos step's faults, injected and restored through the AWS API.

What each fault is, and which AWS operation breaks the region, is the table in
``helpers.fault_kinds``; this module carries those operations out (one function
per operation type to inject, one to undo) and owns the FIS role and
experiment templates they need.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from functools import singledispatch
from typing import Any

from awsfacts.regions import partition_of
from helpers.clients import Clients, tolerating
from helpers.config import Config
from helpers.fault_kinds import MAX_FAULT_HOURS, FisExperiment, LambdaEnvironment, ReservedConcurrency, fault_kind
from helpers.lambdas import (
    FUNCTIONS,
    delete_iam_role,
    delete_reserved_concurrency,
    function_name,
    role_inventory,
    role_statements,
    set_function_environment,
    set_reserved_concurrency,
)
from helpers.resource_kind import GLOBAL, Found, IamScope, Planned, ResourceKind, unscoped

FIS_ROLE_SUFFIX = "fis-role"
# FIS stops an experiment after its actions' duration at the latest; ours are stopped explicitly.
MAX_FAULT_DURATION = f"PT{MAX_FAULT_HOURS}H"


@dataclass
class InjectedFault:
    """What was done, so that ``restore`` undoes exactly that."""

    fault: str
    region: str
    experiment_id: str | None = None
    template_id: str | None = None
    calls: list[str] = field(default_factory=list)


def fis_role_name(cfg: Config) -> str:
    return cfg.resource_name(FIS_ROLE_SUFFIX)


def ensure_fis_role(cfg: Config, clients: Clients) -> str:
    """The IAM role FIS assumes (trusted by fis.amazonaws.com), allowed only to pause replication of our table."""
    iam = clients.client("iam")
    name = fis_role_name(cfg)
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    arn = None
    with tolerating("NoSuchEntity"):
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    if arn is None:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust),
                              Tags=[{"Key": k, "Value": v} for k, v in cfg.tags.items()],
                              Description="FIS pauses replication of the runbook's global table")["Role"]["Arn"]
    account = arn.split(":")[4]  # the role's own account: the table is in it
    table_arns = [f"arn:{partition_of(region)}:dynamodb:{region}:{account}:table/{cfg.table_name}"
                  for region in cfg.regions]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy",
                                       "dynamodb:GetResourcePolicy", "dynamodb:DescribeTable"],
         "Resource": table_arns},
        {"Effect": "Allow", "Action": "tag:GetResources", "Resource": "*"}]}
    iam.put_role_policy(RoleName=name, PolicyName="pause-replication", PolicyDocument=json.dumps(policy))
    return arn


def _table_arn(cfg: Config, clients: Clients, region: str) -> str:
    return clients.client("dynamodb", region).describe_table(TableName=cfg.table_name)["Table"]["TableArn"]


def _start_experiment(cfg: Config, clients: Clients, region: str, action: dict[str, Any],
                      targets: dict[str, Any]) -> tuple[str, str]:
    fis = clients.client("fis", region)
    template = fis.create_experiment_template(
        clientToken=str(uuid.uuid4()),
        description=f"{cfg.stack_name}: {action['actionId']} in {region}",
        roleArn=ensure_fis_role(cfg, clients),
        stopConditions=[{"source": "none"}],
        targets=targets,
        actions={"fault": action},
        tags=cfg.tags,
    )["experimentTemplate"]
    experiment = fis.start_experiment(clientToken=str(uuid.uuid4()), experimentTemplateId=template["id"],
                                      tags=cfg.tags)["experiment"]
    return template["id"], experiment["id"]


def inject(cfg: Config, clients: Clients) -> InjectedFault:
    """Break ``cfg.faulty_region`` the way the fault table says for ``cfg.fault``."""
    done = InjectedFault(cfg.fault, cfg.faulty_region)
    _inject(fault_kind(cfg.fault).operation, cfg, clients, done)
    return done


def restore(cfg: Config, clients: Clients, fault: InjectedFault) -> None:
    """Undo ``fault``."""
    _restore(fault_kind(fault.fault).operation, cfg, clients, fault)


@singledispatch
def _inject(operation: Any, cfg: Config, clients: Clients, done: InjectedFault) -> None:
    raise TypeError(f"no way to inject {operation!r}: add one to helpers/faults.py")


@singledispatch
def _restore(operation: Any, cfg: Config, clients: Clients, done: InjectedFault) -> None:
    raise TypeError(f"no way to restore {operation!r}: add one to helpers/faults.py")


@_inject.register(LambdaEnvironment)
def _(operation: LambdaEnvironment, cfg: Config, clients: Clients, done: InjectedFault) -> None:
    set_function_environment(cfg, clients, done.region, operation.function, **operation.variables)
    values = " ".join(f"{k}={v}" for k, v in operation.variables.items())
    done.calls.append(f"lambda:UpdateFunctionConfiguration {function_name(cfg, operation.function)} {values}")


@_restore.register(LambdaEnvironment)
def _(operation: LambdaEnvironment, cfg: Config, clients: Clients, done: InjectedFault) -> None:
    set_function_environment(cfg, clients, done.region, operation.function, **dict.fromkeys(operation.variables))


@_inject.register(ReservedConcurrency)
def _(operation: ReservedConcurrency, cfg: Config, clients: Clients, done: InjectedFault) -> None:
    for spec in FUNCTIONS:
        set_reserved_concurrency(cfg, clients, done.region, spec.key, operation.value)
        done.calls.append(f"lambda:PutFunctionConcurrency {function_name(cfg, spec.key)} {operation.value}")


@_restore.register(ReservedConcurrency)
def _(operation: ReservedConcurrency, cfg: Config, clients: Clients, done: InjectedFault) -> None:
    for spec in FUNCTIONS:
        delete_reserved_concurrency(cfg, clients, done.region, spec.key)


@_inject.register(FisExperiment)
def _(operation: FisExperiment, cfg: Config, clients: Clients, done: InjectedFault) -> None:
    parameters = {"duration": MAX_FAULT_DURATION}
    if operation.region_parameter:
        parameters["region"] = done.region
    action: dict[str, Any] = {"actionId": operation.action_id, "parameters": parameters}
    targets: dict[str, Any] = {}
    if operation.targets_replica:
        action["targets"] = {"Tables": "Tables"}
        targets = {"Tables": {"resourceType": "aws:dynamodb:global-table", "selectionMode": "ALL",
                              "resourceArns": [_table_arn(cfg, clients, done.region)]}}
    done.template_id, done.experiment_id = _start_experiment(cfg, clients, done.region, action, targets)
    done.calls.append(f"fis:StartExperiment {operation.action_id}")


@_restore.register(FisExperiment)
def _(operation: FisExperiment, cfg: Config, clients: Clients, done: InjectedFault) -> None:
    fis = clients.client("fis", done.region)
    fis.stop_experiment(id=done.experiment_id)
    fis.delete_experiment_template(id=done.template_id)


def stack_experiment_templates(cfg: Config, clients: Clients, region: str) -> list[str]:
    """Ids of the FIS experiment templates in ``region`` tagged with the stack."""
    fis = clients.client("fis", region)
    ids = []
    for page in fis.get_paginator("list_experiment_templates").paginate():
        ids += [t["id"] for t in page.get("experimentTemplates", []) if t.get("tags", {}).get("runbook:stack") == cfg.stack_name]
    return ids


def delete_experiment_templates(cfg: Config, clients: Clients, region: str) -> list[str]:
    """Teardown: the experiment templates in ``region`` tagged with the stack."""
    deleted = []
    for template_id in stack_experiment_templates(cfg, clients, region):
        clients.client("fis", region).delete_experiment_template(id=template_id)
        deleted.append(f"fis experiment template {template_id} ({region})")
    return deleted


def delete_fis_role(cfg: Config, clients: Clients) -> list[str]:
    """Teardown: the role FIS assumes."""
    name = fis_role_name(cfg)
    return [f"iam role {name}"] if delete_iam_role(clients, name) else []


# ------------------------------------------------------------------ the units
def _fis_planned(cfg: Config, region: str, resource: str, name: str) -> list[Planned]:
    """A FIS resource is planned only when the configured fault is injected through a FIS experiment."""
    uses_fis = isinstance(fault_kind(cfg.fault).operation, FisExperiment)
    return [Planned("06", region, resource, name)] if uses_fis else []


FIS_ROLE = ResourceKind(
    "FIS role", "iam", regional=False,
    plan=lambda cfg: _fis_planned(cfg, GLOBAL, "IAM role FIS assumes (pause replication only)", fis_role_name(cfg)),
    inventory=role_inventory(fis_role_name),
    delete=lambda cfg, clients, _: delete_fis_role(cfg, clients),
    iam_statements=lambda cfg, scope: role_statements("FisRole", cfg, scope, fis_role_name(cfg), "fis.amazonaws.com"),
)


def _template_statements(cfg: Config, scope: IamScope) -> list[dict[str, Any]]:
    return [
        unscoped("fis:ListExperimentTemplates"),
        {"Sid": "ChaosExperiments", "Effect": "Allow", "Action": [
            "fis:CreateExperimentTemplate", "fis:GetExperimentTemplate", "fis:DeleteExperimentTemplate",
            "fis:StartExperiment", "fis:GetExperiment", "fis:StopExperiment", "fis:TagResource"],
         "Resource": [scope.arn("fis", r, "*") for r in cfg.regions]},
    ]


FIS_TEMPLATES = ResourceKind(
    "FIS experiment templates", "fis", regional=True,
    plan=lambda cfg: _fis_planned(cfg, cfg.faulty_region, "FIS experiment template", f"{cfg.stack_name}: {cfg.fault}"),
    inventory=lambda cfg, clients, region: [Found("fis", region, f"experiment template {template_id}")
                                            for template_id in stack_experiment_templates(cfg, clients, region)],
    delete=delete_experiment_templates,
    iam_statements=_template_statements,
)
