"""The three Lambda functions of the backend, their package and their IAM role.

* ``package_functions`` zips ``functions/`` deterministically (sorted entries,
  fixed timestamps and permissions), so the same source always gives the same
  bytes and the same ``CodeSha256``; ``deploy_functions`` compares that hash
  with the deployed one and updates only what differs, so a re-run changes
  nothing.
* ``ensure_role`` creates the execution role Lambda assumes
  (trusted by ``lambda.amazonaws.com``), with one inline least-privilege
  policy (``policy_document``): the DynamoDB item actions the handlers use, on
  the table in the configured regions only, and writing to the functions' own
  log groups.
* ``set_function_environment`` and ``set_reserved_concurrency`` are the
  faults the chaos step uses: AWS applies both to the next invocation.

Every function takes the ``Config`` and ``Clients`` and returns data.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd
from botocore.exceptions import ClientError

from awsfacts.regions import partition_of
from helpers.clients import Clients, error_code, tolerating
from helpers.config import PROJECT_ROOT, Config
from helpers.progress import tqdm
from helpers.resource_kind import GLOBAL, Found, IamScope, Planned, ResourceKind, unscoped
from helpers.waiting import wait_until

FUNCTIONS_DIR = PROJECT_ROOT / "functions"
RUNTIME = "python3.12"
TIMEOUT_S = 10  # API Gateway waits at most 29 s; a DynamoDB call takes milliseconds
MEMORY_MB = 256
ROLE_SUFFIX = "lambda-role"
POLICY_NAME = "least-privilege"
# The DynamoDB actions the handlers call: PutItem (post), GetItem (get), DescribeTable (health deep check).
DYNAMODB_ACTIONS = ("dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem")
LOGS_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
ASSUME_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }],
}
# A zip entry's timestamp: the earliest a zip can hold, so packaging never depends on file times.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# AWS seconds we allow a function to become Active / finish an update (AWS: seconds to a minute).
FUNCTION_TIMEOUT_S = 300.0
# A new role takes a few seconds to be assumable by Lambda (IAM is eventually consistent).
ROLE_PROPAGATION_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class FunctionSpec:
    """One of the backend's functions."""

    key: str  # the module in functions/, e.g. "post_item"
    suffix: str  # the name suffix, e.g. "post-item" -> "{stack}-post-item"
    description: str

    @property
    def handler(self) -> str:
        return f"{self.key}.handler"


FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec("post_item", "post-item", "POST /item: store an item, stamped with its origin region and write time"),
    FunctionSpec("get_item", "get-item", "GET /item/{item_id}: read an item and name the region that served it"),
    FunctionSpec("health", "health", "GET /health: answers STATUS (default 200) and its region"),
)


@dataclass(frozen=True)
class RoleInfo:
    """What ``ensure_role`` found or did."""

    name: str
    arn: str
    created: bool
    policy_updated: bool


# ---------------------------------------------------------------- naming
def function_spec(key: str) -> FunctionSpec:
    """The function called ``key``: a module name (``post_item``) or a name suffix (``post-item``)."""
    for spec in FUNCTIONS:
        if key in (spec.key, spec.suffix):
            return spec
    raise ValueError(f"unknown function {key!r}: use one of {', '.join(s.key for s in FUNCTIONS)}")


def function_name(cfg: Config, key: str) -> str:
    """The deployed name of a function, e.g. ``mraa-health``."""
    return cfg.resource_name(function_spec(key).suffix)


def role_name(cfg: Config) -> str:
    return cfg.resource_name(ROLE_SUFFIX)


# -------------------------------------------------------------- packaging
def package_functions(source_dir: Path = FUNCTIONS_DIR) -> bytes:
    """The deployment zip of every ``.py`` file in ``functions/``, byte-for-byte reproducible.

    Entries are sorted, dated 1980-01-01 and marked rw-r--r-- (Lambda needs
    the files readable by its runtime user), so only a change of the source
    changes the bytes, and hence the ``CodeSha256`` Lambda reports.
    """
    files = sorted(p for p in Path(source_dir).rglob("*.py") if "__pycache__" not in p.parts)
    if not files:
        raise FileNotFoundError(f"no Python files in {source_dir}: the function sources belong there")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(source_dir).as_posix(), date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so external_attr holds the permission bits
            info.external_attr = (0o100644 << 16)
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return buffer.getvalue()


def code_sha256(zip_bytes: bytes) -> str:
    """Lambda's ``CodeSha256``: the base64 of the SHA-256 of the deployment package."""
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()


# -------------------------------------------------------------------- IAM
def table_arns(cfg: Config, account: str) -> list[str]:
    """The ARN of the table in every configured region (a global table is one table per region)."""
    return [f"arn:{partition_of(r)}:dynamodb:{r}:{account}:table/{cfg.table_name}" for r in cfg.regions]


def log_group_arns(cfg: Config, account: str) -> list[str]:
    """The functions' log groups (``/aws/lambda/<name>``) and their streams, in every region."""
    return [
        f"arn:{partition_of(r)}:logs:{r}:{account}:log-group:/aws/lambda/{function_name(cfg, spec.key)}:*"
        for r in cfg.regions for spec in FUNCTIONS
    ]


def policy_document(cfg: Config, account: str) -> dict[str, Any]:
    """The execution role's inline policy: least privilege.

    DynamoDB: only PutItem, GetItem and DescribeTable, on the table's ARN in
    each configured region (no indexes, no streams, no other tables). Logs:
    creating and writing the functions' own log groups, which is what the
    managed AWSLambdaBasicExecutionRole grants, narrowed from every log group
    of the account to these three functions.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "TableItems", "Effect": "Allow", "Action": list(DYNAMODB_ACTIONS), "Resource": table_arns(cfg, account)},
            {"Sid": "FunctionLogs", "Effect": "Allow", "Action": list(LOGS_ACTIONS), "Resource": log_group_arns(cfg, account)},
        ],
    }


def _policy_dict(document: Any) -> dict[str, Any]:
    """A policy document as IAM returns it (a dict, or URL-encoded JSON text) as a dict."""
    if isinstance(document, dict):
        return document
    from urllib.parse import unquote

    return json.loads(unquote(document))


def ensure_role(cfg: Config, clients: Clients) -> RoleInfo:
    """Get or create the functions' execution role, and make its inline policy ``policy_document``."""
    iam = clients.client("iam")
    name = role_name(cfg)
    created = False
    role = None
    with tolerating("NoSuchEntity"):
        role = iam.get_role(RoleName=name)["Role"]
    if role is None:
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(ASSUME_ROLE_POLICY),
            Description=f"Execution role of the {cfg.stack_name} backend functions",
            Tags=[{"Key": k, "Value": v} for k, v in cfg.tags.items()],
        )["Role"]
        created = True
    wanted = policy_document(cfg, role["Arn"].split(":")[4])
    current = None
    with tolerating("NoSuchEntity"):
        current = _policy_dict(iam.get_role_policy(RoleName=name, PolicyName=POLICY_NAME)["PolicyDocument"])
    updated = current != wanted
    if updated:
        iam.put_role_policy(RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(wanted))
    return RoleInfo(name, role["Arn"], created, updated)


def delete_role(cfg: Config, clients: Clients) -> bool:
    """Delete the execution role and its policies. False if it did not exist."""
    return delete_iam_role(clients, role_name(cfg))


def iam_role_exists(clients: Clients, name: str) -> bool:
    """Whether the IAM role ``name`` exists (one GetRole)."""
    with tolerating("NoSuchEntity"):
        clients.client("iam").get_role(RoleName=name)
        return True
    return False


def delete_iam_role(clients: Clients, name: str) -> bool:
    """Delete the IAM role ``name`` with its inline and attached policies. False if it did not exist."""
    iam = clients.client("iam")
    with tolerating("NoSuchEntity"):
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
        iam.delete_role(RoleName=name)
        return True
    return False


# ------------------------------------------------------------------ waits
def _function_timeout(cfg: Config, timeout: float | None) -> float:
    return timeout if timeout is not None else max(30.0, cfg.scaled(FUNCTION_TIMEOUT_S))


def _ready(configuration: dict[str, Any]) -> bool:
    # Lambda: State Active, and LastUpdateStatus Successful once an update finished.
    return configuration.get("State") == "Active" and configuration.get("LastUpdateStatus", "Successful") == "Successful"


def _wait_ready(cfg: Config, clients: Clients, region: str, name: str, timeout: float | None = None) -> dict[str, Any]:
    lam = clients.client("lambda", region)

    def check() -> tuple[bool, dict[str, Any]]:
        configuration = lam.get_function_configuration(FunctionName=name)
        failed = configuration.get("State") == "Failed" or configuration.get("LastUpdateStatus") == "Failed"
        if failed:
            raise RuntimeError(f"function {name} in {region} failed: {configuration.get('StateReason') or configuration.get('LastUpdateStatusReason')}")
        return _ready(configuration), configuration

    return wait_until(f"{name} in {region} ready", check, _function_timeout(cfg, timeout), total=1,
                 progress=lambda c: int(_ready(c)))


def wait_for_functions(cfg: Config, clients: Clients, timeout: float | None = None) -> pd.DataFrame:
    """Wait until every function is ``Active`` with ``LastUpdateStatus`` ``Successful`` in every region."""
    targets = [(region, function_name(cfg, spec.key)) for region in cfg.regions for spec in FUNCTIONS]

    def check() -> tuple[bool, dict[tuple[str, str], str]]:
        seen = {}
        for region, name in targets:
            seen[(region, name)] = "missing"
            with tolerating("ResourceNotFoundException"):
                c = clients.client("lambda", region).get_function_configuration(FunctionName=name)
                seen[(region, name)] = f"{c.get('State')}/{c.get('LastUpdateStatus', '-')}"
        return all(v == "Active/Successful" for v in seen.values()), seen

    seen = wait_until("functions active", check, _function_timeout(cfg, timeout), total=len(targets),
                 progress=lambda s: sum(v == "Active/Successful" for v in s.values()))
    return pd.DataFrame([{"region": r, "function": n, "state": s} for (r, n), s in seen.items()])


# ------------------------------------------------------------------ deploy
def _desired_configuration(cfg: Config, spec: FunctionSpec, role_arn: str) -> dict[str, Any]:
    variables = {"TABLE_NAME": cfg.table_name}
    return {
        "Runtime": RUNTIME,
        "Handler": spec.handler,
        "Role": role_arn,
        "Timeout": TIMEOUT_S,
        "MemorySize": MEMORY_MB,
        "Description": spec.description,
        "Environment": {"Variables": variables},
    }


def _configuration_differences(current: dict[str, Any], desired: dict[str, Any]) -> list[str]:
    differences = []
    for key, value in desired.items():
        have = current.get(key)
        if key == "Environment":
            have = {"Variables": (have or {}).get("Variables", {})}
        if have != value:
            differences.append(key)
    return differences


def _create_function(cfg: Config, clients: Clients, region: str, name: str, configuration: dict[str, Any],
                     zip_bytes: bytes) -> dict[str, Any]:
    """CreateFunction, retried while IAM has not yet propagated a new role to Lambda."""
    lam = clients.client("lambda", region)
    deadline = time.monotonic() + ROLE_PROPAGATION_TIMEOUT_S
    while True:
        try:
            return lam.create_function(FunctionName=name, Code={"ZipFile": zip_bytes}, Tags=dict(cfg.tags),
                                       Publish=False, **configuration)
        except ClientError as error:
            message = error.response["Error"].get("Message", "")
            if error_code(error) == "InvalidParameterValueException" and "cannot be assumed" in message \
                    and time.monotonic() < deadline:
                time.sleep(2)  # "The role defined for the function cannot be assumed by Lambda": IAM propagation
                continue
            raise


def deploy_function(cfg: Config, clients: Clients, region: str, spec: FunctionSpec, role_arn: str,
                    zip_bytes: bytes) -> dict[str, Any]:
    """Create the function in ``region``, or update its code and configuration where they differ."""
    lam = clients.client("lambda", region)
    name = function_name(cfg, spec.key)
    desired = _desired_configuration(cfg, spec, role_arn)
    sha = code_sha256(zip_bytes)
    current = None
    with tolerating("ResourceNotFoundException"):
        current = lam.get_function_configuration(FunctionName=name)
    actions: list[str] = []
    if current is None:
        current = _create_function(cfg, clients, region, name, desired, zip_bytes)
        actions.append("created")
    else:
        if current.get("CodeSha256") != sha:
            _wait_ready(cfg, clients, region, name)
            current = lam.update_function_code(FunctionName=name, ZipFile=zip_bytes)
            actions.append("updated code")
        differences = _configuration_differences(current, desired)
        if differences:
            _wait_ready(cfg, clients, region, name)  # one update at a time (ResourceConflictException otherwise)
            current = lam.update_function_configuration(FunctionName=name, **desired)
            actions.append("updated " + ", ".join(differences))
        tags = lam.list_tags(Resource=current["FunctionArn"]).get("Tags", {})
        if any(tags.get(k) != v for k, v in cfg.tags.items()):
            lam.tag_resource(Resource=current["FunctionArn"], Tags=dict(cfg.tags))
            actions.append("tagged")
    return {
        "region": region,
        "function": spec.key,
        "name": name,
        "action": "; ".join(actions) or "unchanged",
        "code_sha256": current.get("CodeSha256"),
        "arn": current["FunctionArn"],
    }


def deploy_functions(cfg: Config, clients: Clients, zip_bytes: bytes | None = None, role_arn: str | None = None,
                     timeout: float | None = None) -> pd.DataFrame:
    """Create or update the three functions in every region and wait until they are ready.

    Returns one row per region and function with what was done (``created``,
    ``updated code``, ``updated <settings>`` or ``unchanged``).
    """
    zip_bytes = zip_bytes if zip_bytes is not None else package_functions()
    role_arn = role_arn or ensure_role(cfg, clients).arn
    rows = []
    with tqdm(total=len(cfg.regions) * len(FUNCTIONS), desc="functions", leave=False) as bar:
        for region in cfg.regions:
            for spec in FUNCTIONS:
                rows.append(deploy_function(cfg, clients, region, spec, role_arn, zip_bytes))
                bar.update()
    states = wait_for_functions(cfg, clients, timeout)
    frame = pd.DataFrame(rows)
    return frame.merge(states.rename(columns={"function": "name"}), on=["region", "name"], how="left")


def describe_functions(cfg: Config, clients: Clients) -> pd.DataFrame:
    """The deployed functions in every region: state, code hash, timeout, environment, reserved concurrency."""
    rows = []
    for region in cfg.regions:
        lam = clients.client("lambda", region)
        for spec in FUNCTIONS:
            name = function_name(cfg, spec.key)
            function = None
            with tolerating("ResourceNotFoundException"):
                function = lam.get_function(FunctionName=name)
            if function is None:
                rows.append({"region": region, "function": spec.key, "name": name, "state": "missing"})
                continue
            c = function["Configuration"]
            rows.append({
                "region": region, "function": spec.key, "name": name, "state": c.get("State"),
                "last_update": c.get("LastUpdateStatus"), "runtime": c.get("Runtime"), "timeout_s": c.get("Timeout"),
                "code_sha256": c.get("CodeSha256"), "environment": (c.get("Environment") or {}).get("Variables", {}),
                "reserved_concurrency": (function.get("Concurrency") or {}).get("ReservedConcurrentExecutions"),
            })
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ faults
def set_function_environment(cfg: Config, clients: Clients, region: str, function: str, **variables: str | None) -> dict[str, str]:
    """Set (or, with None, remove) environment variables of one function; effective on the next invocation.

    ``set_function_environment(cfg, clients, "eu-west-1", "health", STATUS="500")``
    makes that region's health check fail (the blog's way to break a region).
    Returns the function's variables after the change.
    """
    lam = clients.client("lambda", region)
    name = function_name(cfg, function)
    current = _wait_ready(cfg, clients, region, name)
    merged = dict((current.get("Environment") or {}).get("Variables", {}))
    for key, value in variables.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": merged})
    after = _wait_ready(cfg, clients, region, name)
    return dict((after.get("Environment") or {}).get("Variables", {}))


def set_reserved_concurrency(cfg: Config, clients: Clients, region: str, function: str, value: int = 0) -> int:
    """Reserve ``value`` concurrent executions for a function; 0 throttles every invocation (429)."""
    response = clients.client("lambda", region).put_function_concurrency(
        FunctionName=function_name(cfg, function), ReservedConcurrentExecutions=int(value))
    return int(response["ReservedConcurrentExecutions"])


def delete_reserved_concurrency(cfg: Config, clients: Clients, region: str, function: str) -> None:
    """Remove a function's reserved concurrency (it draws on the account's pool again)."""
    clients.client("lambda", region).delete_function_concurrency(FunctionName=function_name(cfg, function))


# ---------------------------------------------------------------- teardown
def _delete_per_function(cfg: Config, clients: Clients, service: str, column: str,
                         name_of: Callable[[Config, str], str], delete: Callable[[Any, str], Any],
                         region: str | None) -> pd.DataFrame:
    """Delete one thing per function in ``region`` (default: every region); a missing one is reported as absent."""
    rows = []
    for region in [region] if region else cfg.regions:
        client = clients.client(service, region)
        for spec in FUNCTIONS:
            name = name_of(cfg, spec.key)
            with tolerating("ResourceNotFoundException") as caught:
                delete(client, name)
            outcome = "absent" if caught.code else "deleted"
            rows.append({"region": region, "function": spec.key, column: name, "outcome": outcome})
    return pd.DataFrame(rows)


def delete_functions(cfg: Config, clients: Clients, region: str | None = None) -> pd.DataFrame:
    """Delete the three functions in ``region`` (default: every region); missing ones are reported, not errors."""
    return _delete_per_function(cfg, clients, "lambda", "name", function_name,
                                lambda lam, name: lam.delete_function(FunctionName=name), region)


def log_group_name(cfg: Config, key: str) -> str:
    """The CloudWatch Logs group Lambda writes a function's logs to: ``/aws/lambda/<name>``."""
    return f"/aws/lambda/{function_name(cfg, key)}"


def delete_log_groups(cfg: Config, clients: Clients, region: str | None = None) -> pd.DataFrame:
    """Delete the functions' log groups in ``region`` (default: every region); Lambda creates them untagged, so by name."""
    return _delete_per_function(cfg, clients, "logs", "log_group", log_group_name,
                                lambda logs, group: logs.delete_log_group(logGroupName=group), region)


# --------------------------------------------------------------- the units
def role_statements(sid: str, cfg: Config, scope: IamScope, name: str, service: str) -> list[dict[str, Any]]:
    """Managing the stack's IAM roles (``{stack}-*``, with their inline policies; the same statement for every
    role, so the policy holds it once), and passing the role ``name`` to ``service`` only."""
    iam = f"arn:{scope.partition}:iam::{scope.account}:role"
    return [
        {"Sid": "StackRoles", "Effect": "Allow", "Resource": f"{iam}/{cfg.stack_name}-*", "Action": [
            "iam:CreateRole", "iam:GetRole", "iam:DeleteRole", "iam:TagRole", "iam:PutRolePolicy",
            "iam:GetRolePolicy", "iam:DeleteRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
            "iam:DetachRolePolicy"]},
        {"Sid": f"Pass{sid}", "Effect": "Allow", "Action": "iam:PassRole", "Resource": f"{iam}/{name}",
         "Condition": {"StringEquals": {"iam:PassedToService": service}}},
    ]


def role_inventory(name_of: Callable[[Config], str]) -> Callable[[Config, Clients, str], list[Found]]:
    """The inventory of one IAM role of the stack, named by ``name_of(cfg)``."""
    def inventory(cfg: Config, clients: Clients, _region: str) -> list[Found]:
        name = name_of(cfg)
        return [Found("iam", GLOBAL, f"role {name}")] if iam_role_exists(clients, name) else []
    return inventory


ROLE = ResourceKind(
    "Lambda role", "iam", regional=False,
    plan=lambda cfg: [Planned("02", GLOBAL, "IAM role (least privilege)", role_name(cfg))],
    inventory=role_inventory(role_name),
    delete=lambda cfg, clients, _: delete_role(cfg, clients),
    iam_statements=lambda cfg, scope: role_statements("LambdaRole", cfg, scope, role_name(cfg), "lambda.amazonaws.com"),
)


def _function_inventory(cfg: Config, clients: Clients, region: str) -> list[Found]:
    found = []
    for spec in FUNCTIONS:
        name = function_name(cfg, spec.key)
        with tolerating("ResourceNotFoundException"):
            clients.client("lambda", region).get_function(FunctionName=name)
            found.append(Found("lambda", region, f"function {name}"))
    return found


def _function_statements(cfg: Config, scope: IamScope) -> list[dict[str, Any]]:
    """The functions by name; the fault calls (environment, reserved concurrency) included."""
    return [{"Sid": "Functions", "Effect": "Allow", "Action": [
        "lambda:CreateFunction", "lambda:GetFunction", "lambda:GetFunctionConfiguration",
        "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:DeleteFunction",
        "lambda:TagResource", "lambda:ListTags", "lambda:AddPermission", "lambda:RemovePermission",
        "lambda:GetPolicy", "lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency"],
        "Resource": [scope.arn("lambda", r, f"function:{cfg.stack_name}-*") for r in cfg.regions]}]


FUNCTIONS_KIND = ResourceKind(
    "Lambda functions", "lambda", regional=True,
    plan=lambda cfg: [Planned("02", region, "Lambda function", function_name(cfg, spec.key))
                      for region in cfg.regions for spec in FUNCTIONS],
    inventory=_function_inventory,
    delete=delete_functions,
    iam_statements=_function_statements,
)


def _log_group_inventory(cfg: Config, clients: Clients, region: str) -> list[Found]:
    # Exact names, not the prefix: stack "shop" must not claim stack "shop-blue"'s groups.
    wanted = {log_group_name(cfg, spec.key) for spec in FUNCTIONS}
    found = []
    for page in clients.client("logs", region).get_paginator("describe_log_groups").paginate(
            logGroupNamePrefix=f"/aws/lambda/{cfg.stack_name}-"):
        found += [Found("logs", region, f"log group {g['logGroupName']}") for g in page["logGroups"]
                  if g["logGroupName"] in wanted]
    return found


# Listed before the functions in helpers.stack, so the teardown deletes the groups after them.
LOG_GROUPS = ResourceKind(
    "Lambda log groups", "logs", regional=True,
    plan=lambda cfg: [Planned("02", region, "CloudWatch Logs log group (created by Lambda)", log_group_name(cfg, spec.key))
                      for region in cfg.regions for spec in FUNCTIONS],
    inventory=_log_group_inventory,
    delete=delete_log_groups,
    iam_statements=lambda cfg, scope: [
        unscoped("logs:DescribeLogGroups"),
        {"Sid": "FunctionLogGroups", "Effect": "Allow", "Action": "logs:DeleteLogGroup",
         "Resource": [scope.arn("logs", r, f"log-group:/aws/lambda/{cfg.stack_name}-*") for r in cfg.regions]}],
)
