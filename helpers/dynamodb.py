"""The DynamoDB global table (version 2019.11.21) of the runbook.

A global table is one table per region with the same name and key schema,
kept in step by DynamoDB. With the current version you create an ordinary
table and then add a replica per region with ``UpdateTable`` ``ReplicaUpdates``
``Create``; ``DescribeTable`` in any replica region lists ``Replicas`` and the
``GlobalTableVersion``. DynamoDB runs one replica change at a time: while a
replica is being created the table is ``UPDATING`` and another ``UpdateTable``
fails with ``ResourceInUseException``, so replicas are added one after another.

Every function takes the ``Config`` and ``Clients``, is safe to re-run
(get-or-create) and returns data.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from helpers.clients import Clients, tolerating
from helpers.config import Config
from helpers.progress import tqdm
from helpers.resource_kind import Found, IamScope, Planned, ResourceKind
from helpers.waiting import wait_until

HASH_KEY = "item_id"
LAB_TABLE_INFIX = "-lab-"  # the consistency lab's tables are <table_name>-lab-<mode> (helpers.consistency_lab)
STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"
# AWS seconds we allow for a replica to be created or removed (AWS: usually minutes).
REPLICA_TIMEOUT_S = 1800.0
# AWS seconds we allow one write to reach the other regions ("typically within a second").
REPLICATION_TIMEOUT_S = 60.0

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@dataclass(frozen=True)
class GlobalTableSetup:
    """What ``create_global_table`` found or did."""

    table_name: str
    table_arn: str
    created_table: bool
    replicas_added: tuple[str, ...]
    replicas: tuple[str, ...]


# ----------------------------------------------------------------- waiting
def _replica_timeout(cfg: Config, timeout: float | None) -> float:
    return timeout if timeout is not None else max(30.0, cfg.scaled(REPLICA_TIMEOUT_S))


def _describe(clients: Clients, table: str, region: str) -> dict[str, Any] | None:
    """DescribeTable in ``region``, or None if the table does not exist there."""
    with tolerating("ResourceNotFoundException"):
        return clients.client("dynamodb", region).describe_table(TableName=table)["Table"]
    return None


def _replica_statuses(description: dict[str, Any]) -> dict[str, str]:
    return {r["RegionName"]: r.get("ReplicaStatus", "?") for r in description.get("Replicas", [])}


def _idle(description: dict[str, Any] | None) -> bool:
    """True when DynamoDB accepts the next table change: ACTIVE and no replica in flux."""
    if description is None:
        return False
    return description["TableStatus"] == "ACTIVE" and all(
        status == "ACTIVE" for status in _replica_statuses(description).values()
    )


def _wait_idle(cfg: Config, clients: Clients, region: str, timeout: float) -> dict[str, Any]:
    """Wait until the table in ``region`` and its replicas are ACTIVE; its last description."""
    last: list[dict[str, Any]] = [{}]

    def check() -> tuple[bool, Any]:
        description = _describe(clients, cfg.table_name, region)
        if description is None:
            return False, f"no table {cfg.table_name} in {region}"
        last[0] = description
        return _idle(description), {"TableStatus": description["TableStatus"], "Replicas": _replica_statuses(description)}

    wait_until(f"table {cfg.table_name} in {region} to be ACTIVE", check, timeout)
    return last[0]


# ---------------------------------------------------------------- creating
def create_global_table(cfg: Config, clients: Clients, timeout: float | None = None) -> GlobalTableSetup:
    """Get or create the global table: the table in the first region, then a replica in every other region.

    The table has the string hash key ``item_id``, on-demand billing
    (PAY_PER_REQUEST), a NEW_AND_OLD_IMAGES stream and the stack's tags.
    Replicas are added one at a time with ``UpdateTable`` ``ReplicaUpdates``
    (DynamoDB runs one replica change at a time) and tagged once they exist:
    DynamoDB does not copy a table's tags to its new replicas.
    """
    timeout = _replica_timeout(cfg, timeout)
    primary = cfg.primary_region
    ddb = clients.client("dynamodb", primary)
    created = False
    if _describe(clients, cfg.table_name, primary) is None:
        with tolerating("ResourceInUseException"):  # created meanwhile: fine
            ddb.create_table(
                TableName=cfg.table_name,
                KeySchema=[{"AttributeName": HASH_KEY, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": HASH_KEY, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                StreamSpecification={"StreamEnabled": True, "StreamViewType": STREAM_VIEW_TYPE},
                Tags=[{"Key": k, "Value": v} for k, v in cfg.tags.items()],
            )
            created = True
    description = _wait_idle(cfg, clients, primary, timeout)
    if not created and not _owned(cfg, clients, primary, description):
        raise RuntimeError(f"a table {cfg.table_name!r} already exists in {primary} and is not tagged "
                           f"runbook:stack={cfg.stack_name}: it is not this stack's, so the runbook will not use it "
                           "(nor delete it); choose another 'table_name'")
    added: list[str] = []
    for region in cfg.regions[1:]:
        if region in _replica_statuses(description):
            continue
        ddb.update_table(TableName=cfg.table_name, ReplicaUpdates=[{"Create": {"RegionName": region}}])
        added.append(region)
        description = _wait_idle(cfg, clients, primary, timeout)
    for region in cfg.regions:
        _ensure_tags(cfg, clients, region)
    return GlobalTableSetup(
        table_name=cfg.table_name,
        table_arn=description["TableArn"],
        created_table=created,
        replicas_added=tuple(added),
        replicas=tuple(sorted(_replica_statuses(description))),
    )


def _owned(cfg: Config, clients: Clients, region: str, description: dict[str, Any]) -> bool:
    """True when the table carries this stack's tag (the runbook tags every table it creates)."""
    tags = clients.client("dynamodb", region).list_tags_of_resource(ResourceArn=description["TableArn"]).get("Tags", [])
    return {t["Key"]: t["Value"] for t in tags}.get("runbook:stack") == cfg.stack_name


def is_stack_table(cfg: Config, clients: Clients, region: str) -> bool:
    """True when ``region`` has a table named ``cfg.table_name`` that this stack created (by its tag)."""
    description = _describe(clients, cfg.table_name, region)
    return description is not None and _owned(cfg, clients, region, description)


def _ensure_tags(cfg: Config, clients: Clients, region: str) -> None:
    description = _describe(clients, cfg.table_name, region)
    if description is None:
        return
    ddb = clients.client("dynamodb", region)
    arn = description["TableArn"]
    have = {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=arn).get("Tags", [])}
    missing = {k: v for k, v in cfg.tags.items() if have.get(k) != v}
    if missing:
        ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in missing.items()])


def wait_for_replicas(cfg: Config, clients: Clients, timeout: float | None = None) -> pd.DataFrame:
    """Wait until the table is ACTIVE in every configured region and lists every region as an ACTIVE replica."""
    timeout = _replica_timeout(cfg, timeout)

    def check() -> tuple[bool, dict[str, str]]:
        seen: dict[str, str] = {}
        for region in cfg.regions:
            description = _describe(clients, cfg.table_name, region)
            if description is None:
                seen[region] = "no table"
                continue
            replica = _replica_statuses(description).get(region, "not a replica")
            seen[region] = description["TableStatus"] if description["TableStatus"] != "ACTIVE" else replica
        return all(status == "ACTIVE" for status in seen.values()), seen

    wait_until(f"replicas of {cfg.table_name} to be ACTIVE", check, timeout, total=len(cfg.regions),
          progress=lambda seen: sum(status == "ACTIVE" for status in seen.values()))
    return describe_global_table(cfg, clients)


# ------------------------------------------------------------------ items
def _to_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, float):
            return Decimal(str(value))
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return {k: _serializer.serialize(plain(v)) for k, v in item.items()}


def _from_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, set)):
            return [plain(v) for v in value]
        return value

    return {k: plain(_deserializer.deserialize(v)) for k, v in item.items()}


def put_item(cfg: Config, clients: Clients, item: dict[str, Any], region: str | None = None) -> dict[str, Any]:
    """Write ``item`` (plain Python values, with an ``item_id``) to the replica in ``region`` (default: the first)."""
    if HASH_KEY not in item:
        raise ValueError(f"an item needs its key attribute {HASH_KEY!r}, got {sorted(item)}")
    clients.client("dynamodb", region or cfg.primary_region).put_item(TableName=cfg.table_name, Item=_to_dynamodb(item))
    return item


def get_item(cfg: Config, clients: Clients, item_id: str, region: str | None = None) -> dict[str, Any] | None:
    """Read the item ``item_id`` from the replica in ``region`` (strongly consistent within that region), or None."""
    response = clients.client("dynamodb", region or cfg.primary_region).get_item(
        TableName=cfg.table_name, Key={HASH_KEY: {"S": item_id}}, ConsistentRead=True,
    )
    return _from_dynamodb(response["Item"]) if "Item" in response else None


def delete_item(cfg: Config, clients: Clients, item_id: str, region: str | None = None) -> None:
    """Delete the item ``item_id`` through the replica in ``region`` (default: the first)."""
    clients.client("dynamodb", region or cfg.primary_region).delete_item(
        TableName=cfg.table_name, Key={HASH_KEY: {"S": item_id}},
    )


def read_in_every_region(cfg: Config, clients: Clients, item_id: str, timeout: float | None = None) -> pd.DataFrame:
    """Wait until every region's replica returns ``item_id``; one row per region with the item and when it was seen.

    Replication is asynchronous, so a read right after a write in another
    region may not see it yet; ``seen_after_ms`` is when this poll first did.
    """
    timeout = timeout if timeout is not None else max(10.0, cfg.scaled(REPLICATION_TIMEOUT_S))
    started = time.perf_counter()
    found: dict[str, dict[str, Any]] = {}

    def check() -> tuple[bool, dict[str, str]]:
        for region in cfg.regions:
            if region not in found:
                item = get_item(cfg, clients, item_id, region)
                if item is not None:
                    found[region] = {"item": item, "seen_after_ms": round((time.perf_counter() - started) * 1000, 1)}
        return len(found) == len(cfg.regions), {r: ("found" if r in found else "not yet") for r in cfg.regions}

    wait_until(f"item {item_id!r} in every region", check, timeout, total=len(cfg.regions), progress=lambda seen: len(found),
          interval=0.01)
    return pd.DataFrame([{"region": r, **found[r]} for r in cfg.regions])


def measure_replication_lag(cfg: Config, clients: Clients, samples: int = 5, timeout: float | None = None) -> pd.DataFrame:
    """Write a probe item in one region and poll every other region until it is there; one row per (sample, target).

    Sources take turns over the configured regions. ``lag_ms`` is measured
    wall-clock time from the write's start to the first read that sees it;
    ``lag_ms_aws`` divides by the time scale (the AWS time it stands for).
    The probe items are deleted afterwards, and we wait until the deletes
    have replicated too, so that item counts agree again.
    """
    timeout = timeout if timeout is not None else max(10.0, cfg.scaled(REPLICATION_TIMEOUT_S))
    rows: list[dict[str, Any]] = []
    probes: list[str] = []
    for sample in tqdm(range(samples), desc="replication lag probes", leave=False):
        source = cfg.regions[sample % len(cfg.regions)]
        item_id = f"lag-probe-{uuid.uuid4().hex[:12]}"
        started = time.perf_counter()
        put_item(cfg, clients, {HASH_KEY: item_id, "probe": True, "origin_region": source}, source)
        waiting = [r for r in cfg.regions if r != source]
        seen_at: dict[str, float] = {}
        while waiting:
            for region in list(waiting):
                if get_item(cfg, clients, item_id, region) is not None:
                    seen_at[region] = time.perf_counter()
                    waiting.remove(region)
            if waiting and time.perf_counter() - started > timeout:
                raise TimeoutError(
                    f"timed out after {timeout:.0f} s waiting for probe {item_id} written in {source} "
                    f"to reach {', '.join(waiting)}; it reached {sorted(seen_at) or 'no other region'}"
                )
            if waiting:
                time.sleep(0.005)
        for region, at in seen_at.items():
            lag = (at - started) * 1000.0
            rows.append({"sample": sample, "item_id": item_id, "source": source, "target": region,
                         "lag_ms": round(lag, 1), "lag_ms_aws": round(lag / cfg.time_scale, 1)})
        delete_item(cfg, clients, item_id, source)
        probes.append(item_id)

    def probes_gone() -> tuple[bool, list[str]]:
        left = [f"{p} in {r}" for p in probes for r in cfg.regions if get_item(cfg, clients, p, r) is not None]
        return not left, left

    wait_until("lag probes to be deleted everywhere", probes_gone, timeout, interval=0.01)
    return pd.DataFrame(rows, columns=["sample", "item_id", "source", "target", "lag_ms", "lag_ms_aws"])


def _count_items(clients: Clients, table: str, region: str) -> int:
    ddb = clients.client("dynamodb", region)
    count, kwargs = 0, {"TableName": table, "Select": "COUNT"}
    while True:
        page = ddb.scan(**kwargs)
        count += page["Count"]
        if "LastEvaluatedKey" not in page:
            return count
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def describe_global_table(cfg: Config, clients: Clients) -> pd.DataFrame:
    """One row per configured region: table status, replica status, items, stream and global-table version.

    ``items`` is counted with a Scan (``ItemCount`` in DescribeTable is only
    refreshed about every six hours on AWS).
    """
    rows = []
    for region in cfg.regions:
        description = _describe(clients, cfg.table_name, region)
        if description is None:
            rows.append({"region": region, "table_status": "NOT FOUND", "replica_status": "", "items": 0,
                         "stream": "", "global_table_version": "", "replicas": ""})
            continue
        stream = description.get("StreamSpecification") or {}
        replicas = _replica_statuses(description)
        rows.append({
            "region": region,
            "table_status": description["TableStatus"],
            "replica_status": replicas.get(region, "not a replica"),
            "items": _count_items(clients, cfg.table_name, region),
            "stream": stream.get("StreamViewType", "") if stream.get("StreamEnabled") else "disabled",
            "global_table_version": description.get("GlobalTableVersion", ""),
            "replicas": ", ".join(sorted(replicas)),
        })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- deleting
def delete_global_table(cfg: Config, clients: Clients, timeout: float | None = None) -> pd.DataFrame:
    """Delete the global table: replicas first (one at a time), then the table; one row per region.

    Only tables tagged ``runbook:stack`` for this stack are touched (a table of
    the same name that is not the stack's is kept and reported). Tolerates a
    half-built stack: regions without the table are skipped, and a stack's table
    left outside the global table in a configured region is deleted too. A
    region whose DynamoDB cannot be reached does not stop the others: its
    replica is still removed through a region that answers, and the call then
    raises, naming it.
    """
    timeout = _replica_timeout(cfg, timeout)
    actions: dict[str, str] = {region: "absent" for region in cfg.regions}
    owned: dict[str, bool] = {}
    unreachable: dict[str, str] = {}
    for region in cfg.regions:
        try:
            description = _describe(clients, cfg.table_name, region)
            if description is not None:
                owned[region] = _owned(cfg, clients, region, description)
        except (ClientError, BotoCoreError) as error:
            unreachable[region] = actions[region] = f"not reached: {type(error).__name__}: {error}"
            continue
        if description is not None and not owned[region]:
            actions[region] = f"kept: not tagged runbook:stack={cfg.stack_name}"
    anchor = next((r for r in cfg.regions if owned.get(r)), None)
    if anchor is not None:
        description = _wait_idle(cfg, clients, anchor, timeout)
        for region in sorted(set(_replica_statuses(description)) - {anchor}):  # through the anchor: any region
            clients.client("dynamodb", anchor).update_table(
                TableName=cfg.table_name, ReplicaUpdates=[{"Delete": {"RegionName": region}}])
            actions[region] = "replica deleted" + (f" (then {unreachable[region]})" if region in unreachable else "")
            _wait_idle(cfg, clients, anchor, timeout)
    doomed = [r for r in cfg.regions if owned.get(r)]
    for region in doomed:  # the anchor, and any table of ours that was never (or no longer) a replica
        if actions[region] == "replica deleted" or _describe(clients, cfg.table_name, region) is None:
            continue  # a deleted replica goes by itself (the wait below sees it gone)
        _wait_idle(cfg, clients, region, timeout)
        with tolerating("ResourceNotFoundException"):
            clients.client("dynamodb", region).delete_table(TableName=cfg.table_name)
        actions[region] = "table deleted"
    watched = [r for r in cfg.regions if r not in unreachable and (owned.get(r) or actions[r] == "replica deleted")]

    def check() -> tuple[bool, list[str]]:
        left = [r for r in watched if _describe(clients, cfg.table_name, r) is not None]
        return not left, left

    wait_until(f"table {cfg.table_name} to be gone from every region", check, timeout)
    if unreachable:
        raise RuntimeError(f"table {cfg.table_name}: " + "; ".join(f"{r}: {a}" for r, a in actions.items()))
    return pd.DataFrame({"region": list(actions), "action": list(actions.values())})


# ------------------------------------------------------------ the unit
def _plan(cfg: Config) -> list[Planned]:
    return [Planned("01", region, "DynamoDB replica table (on-demand)", cfg.table_name) for region in cfg.regions]


def _inventory(cfg: Config, clients: Clients, region: str) -> list[Found]:
    # By its tag: a same-named table of someone else's is not ours.
    return [Found("dynamodb", r, f"table {cfg.table_name}") for r in cfg.regions if is_stack_table(cfg, clients, r)]


def _iam_statements(cfg: Config, scope: IamScope) -> list[dict[str, Any]]:
    """The table and its replicas by name (with their streams and indexes), and the consistency lab's tables in
    any Region (an MRSC witness lives outside the configured regions), in one statement so the policy stays within
    IAM's size limit; DynamoDB creates replicas through a service-linked role, which the caller may create only
    for replication.dynamodb.amazonaws.com."""
    return [
        {"Sid": "GlobalTable", "Effect": "Allow", "Action": [
            "dynamodb:CreateTable", "dynamodb:DescribeTable", "dynamodb:UpdateTable", "dynamodb:DeleteTable",
            "dynamodb:CreateTableReplica", "dynamodb:DeleteTableReplica", "dynamodb:CreateGlobalTableWitness",
            "dynamodb:DeleteGlobalTableWitness", "dynamodb:TagResource", "dynamodb:ListTagsOfResource",
            "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:Query",
            "dynamodb:Scan"],
         "Resource": [arn for r in cfg.regions for arn in (scope.arn("dynamodb", r, f"table/{cfg.table_name}"),
                                                             scope.arn("dynamodb", r, f"table/{cfg.table_name}/*"))]
         + [scope.arn("dynamodb", "*", f"table/{cfg.table_name}{LAB_TABLE_INFIX}*")]},
        {"Sid": "ReplicationServiceLinkedRole", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole",
         "Resource": "*", "Condition": {"StringEquals": {"iam:AWSServiceName": "replication.dynamodb.amazonaws.com"}}},
    ]


TABLE = ResourceKind("global table (replicas, then the table)", "dynamodb", regional=False, plan=_plan,
                     inventory=_inventory, delete=lambda cfg, clients, _: delete_global_table(cfg, clients),
                     iam_statements=_iam_statements)
