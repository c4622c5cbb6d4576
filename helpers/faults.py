"""The chaos step's faults, injected and restored through the AWS API.

What each fault is, and which AWS operation breaks the region, is the table in
``helpers.fault_kinds``; this module carries those operations out (one function
per operation type to inject, one to undo) and owns the FIS role and
experiment templates they need.

A fault is held with ``with injected_fault(cfg, clients) as fault:``. What
will be injected is written to a fault record (``fault_record_path``) before
the first call that injects it; leaving the block undoes it, however the
block is left (an exception, KeyboardInterrupt, or SIGTERM/SIGHUP delivered
to the process, turned into KeyboardInterrupt meanwhile), and then deletes
the record. A record still there means a process died holding the fault (a
killed kernel): ``undo_leftover_fault`` undoes it, and the chaos step's
pre-flight and the teardown call it first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import threading
import uuid
from dataclasses import asdict, dataclass, field
from functools import singledispatch
from pathlib import Path
from typing import Any, Iterator

from awsfacts.regions import partition_of
from helpers.clients import Clients, tolerating
from helpers.config import PROJECT_ROOT, Config
from helpers.dynamodb import LAB_TABLE_INFIX
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
    tables: list[str] = field(default_factory=list)  # a FIS replica action's tables (empty: the stack's table)


# The runbook's own record of a fault it holds, one file per stack: the same on AWS as on the local
# cloud, and outside any run's report directory so that the next run finds it.
FAULT_RECORDS_DIR = PROJECT_ROOT / ".runbook" / "faults"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)  # turned into KeyboardInterrupt while a fault is held
# An undo finds the stack gone (torn down, or a local cloud that held it stopped): nothing left to undo.
STACK_GONE = "ResourceNotFoundException"
# StopExperiment on an experiment that has already ended (FIS ends it after its duration) or is unknown.
EXPERIMENT_ENDED = ("ResourceNotFoundException", "ValidationException", "ConflictException")


def fault_record_path(cfg: Config) -> Path:
    """Where the record of a fault held on ``cfg``'s stack lives while it is injected."""
    return FAULT_RECORDS_DIR / f"{cfg.stack_name}.json"


def _write_record(cfg: Config, fault: InjectedFault) -> None:
    path = fault_record_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"stack_name": cfg.stack_name, "endpoint_url": cfg.endpoint_url,
                               "recorded_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                               "pid": os.getpid(), **asdict(fault)}, indent=2) + "\n")
    os.replace(tmp, path)  # a reader never sees half a record


def read_fault_record(cfg: Config) -> InjectedFault | None:
    """The fault a run left injected on ``cfg``'s stack (its record is still there), or None."""
    try:
        data = json.loads(fault_record_path(cfg).read_text())
    except FileNotFoundError:
        return None
    return InjectedFault(data["fault"], data["region"], data.get("experiment_id"), data.get("template_id"),
                         list(data.get("calls", [])), list(data.get("tables", [])))


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt in the block, as Ctrl-C does (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"{signal.Signals(signum).name} while a fault was injected")

    previous = {sig: signal.signal(sig, interrupt) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP wait until the block (an undo) has finished, then take effect."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    sigs = (signal.SIGINT, *STOP_SIGNALS)
    previous = {sig: signal.signal(sig, lambda signum, _frame: received.append(signum)) for sig in sigs}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:  # the first one acts now, as it would have
            signal.raise_signal(received[0])


def undo(cfg: Config, clients: Clients, fault: InjectedFault) -> None:
    """Undo ``fault`` (what is already undone stays so) and delete its record; signals wait until it is done.

    The record stays when the undo fails (the next run tries again) and in a
    dry run (whose calls are recorded, not made).
    """
    with _signals_deferred():
        with tolerating(STACK_GONE):
            restore(cfg, clients, fault)
        if not cfg.dry_run:
            fault_record_path(cfg).unlink(missing_ok=True)


@contextlib.contextmanager
def injected_fault(cfg: Config, clients: Clients, tables: tuple[str, ...] = ()) -> Iterator[InjectedFault]:
    """``cfg.fault`` injected in ``cfg.faulty_region`` for the block, undone when it is left, however it is left.

    ``tables``: the global tables a FIS action on replicas targets (default: the stack's table).

    The record is written before the first injecting call, so a process killed
    at any point leaves a record the next run's ``undo_leftover_fault`` acts on.
    """
    fault = InjectedFault(cfg.fault, cfg.faulty_region, tables=list(tables))
    with _signals_interrupt():
        _write_record(cfg, fault)
        try:
            _inject(fault_kind(fault.fault).operation, cfg, clients, fault)
            _write_record(cfg, fault)  # now with what the injection returned (a FIS experiment's id)
            yield fault
        finally:
            undo(cfg, clients, fault)


def undo_leftover_fault(cfg: Config, clients: Clients) -> InjectedFault | None:
    """Undo the fault an earlier run left injected on this stack (its record is still there); what was undone, or None."""
    fault = read_fault_record(cfg)
    if fault is not None:
        undo(cfg, clients, fault)
    return fault


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
    names = [cfg.table_name] + ([f"{cfg.table_name}{LAB_TABLE_INFIX}*"] if cfg.consistency_lab else [])
    table_arns = [f"arn:{partition_of(region)}:dynamodb:{region}:{account}:table/{name}"
                  for name in names for region in cfg.regions]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy",
                                       "dynamodb:GetResourcePolicy", "dynamodb:DescribeTable"],
         "Resource": table_arns},
        {"Effect": "Allow", "Action": "tag:GetResources", "Resource": "*"}]}
    iam.put_role_policy(RoleName=name, PolicyName="pause-replication", PolicyDocument=json.dumps(policy))
    return arn


def _table_arn(clients: Clients, region: str, table: str) -> str:
    return clients.client("dynamodb", region).describe_table(TableName=table)["Table"]["TableArn"]


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
    """Break ``cfg.faulty_region`` the way the fault table says for ``cfg.fault`` (no record: ``injected_fault`` keeps one)."""
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
                              "resourceArns": [_table_arn(clients, done.region, table)
                                               for table in done.tables or [cfg.table_name]]}}
    done.template_id, done.experiment_id = _start_experiment(cfg, clients, done.region, action, targets)
    done.calls.append(f"fis:StartExperiment {operation.action_id}")


@_restore.register(FisExperiment)
def _(operation: FisExperiment, cfg: Config, clients: Clients, done: InjectedFault) -> None:
    fis = clients.client("fis", done.region)
    if done.experiment_id:  # None: the injection stopped before FIS started one
        with tolerating(*EXPERIMENT_ENDED):
            fis.stop_experiment(id=done.experiment_id)
    if done.template_id:
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
