"""Dry run: one boundary that lets reads through and records every change instead of making it.

With ``dry_run: true`` every boto3 client that ``Clients`` builds is
instrumented through botocore's event hooks, and the project's HTTP client
(``helpers.clients.HttpClient``) asks the same log, so no helper needs code of
its own to be dry-run safe:

* A **mutating** call (any operation that is not read-only, see
  ``is_read_only``; for HTTP, every method but GET/HEAD/OPTIONS) is validated
  by botocore as usual, then recorded (service, region, operation, key
  arguments) and answered here instead of by AWS, with a response built from
  the operation's output shape: the values the call asked for (names, tags,
  settings), placeholders containing ``dryrun-placeholder`` for what AWS would
  assign (ids, ARNs), and "ready" states (``ACTIVE``, ``ISSUED``, ``INSYNC``)
  so the helper goes on to its next call.
* A **read** goes to the real backend, and its answer shows the world as the
  recorded changes would have left it:

  - a resource the dry run "would have created" (a *would-be* resource) is
    answered from the call that would have created it, and listings include
    it; a write's effects that AWS documents are applied too (a replica added
    by ``UpdateTable`` is a table in its region; an item put is readable in
    every replica, as a global table replicates it);
  - a resource the dry run "would have deleted" is not found;
  - behaviour of a would-be resource is answered as AWS reports a new, healthy
    one (a new health check starts healthy, ``OBSERVED``).

  So a wait for the effect of a recorded change ends at once, as it would
  once AWS had made the change, and never polls until its timeout.
* DNS and HTTP: a name that does not resolve because only the dry run would
  have created its records resolves to ``PRETEND_ADDRESS`` (marked
  ``would_be``), and a request to it is answered here, never sent.

The would-be resources of earlier notebooks are kept in
``{run_dir}/dry_run_state.jsonl``, so notebook 03 finds the APIs notebook 02
would have created. ``dry_run_report`` shows a notebook's calls and appends
them to ``{run_dir}/dry_run_calls.csv``.
"""

from __future__ import annotations

import datetime
import json
import re
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import pandas as pd
from botocore.awsrequest import AWSResponse

from helpers.config import Config

MARKER = "dryrun-placeholder"
STATE_FILE = "dry_run_state.jsonl"
CALLS_FILE = "dry_run_calls.csv"
READ_ONLY_PREFIXES = ("Describe", "Get", "List", "Head", "Test", "Query", "Scan", "BatchGet")
# Read-only operations whose names do not say so (none of the runbook's so far; extend here).
READ_ONLY_OPERATIONS: frozenset[str] = frozenset()
# HTTP methods that change nothing (RFC 9110 "safe" methods): everything else is recorded, not sent.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Where a name resolves that only the dry run would have created (RFC 5737 TEST-NET-1: never routed).
# ``HttpClient`` answers a request to it itself; nothing is ever sent there.
PRETEND_ADDRESS = "192.0.2.1"
# Reads that observe a resource's behaviour (data, probes, DNS, metrics) rather than its configuration:
# of a would-be resource they are answered as of a new one (no data unless the dry run wrote it).
OBSERVATIONS = frozenset({
    "GetItem", "BatchGetItem", "Query", "Scan", "GetHealthCheckStatus", "GetHealthCheckLastFailureReason",
    "TestDNSAnswer", "GetMetricStatistics", "GetMetricData",
})
# What AWS answers for a new resource where an empty answer would be wrong, by operation.
# A new Route 53 health check starts healthy (docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html).
OBSERVED = {
    "GetHealthCheckStatus": {"HealthCheckObservations": [{
        "Region": "dry-run", "IPAddress": PRETEND_ADDRESS,
        "StatusReport": {"Status": "Success: a new health check starts healthy (dry run)"}}]},
}
# Enum values that mean "ready", preferred when a state has to be made up.
READY = ("ACTIVE", "ISSUED", "Active", "Successful", "INSYNC", "AVAILABLE", "available", "SUCCEEDED", "Success",
         "ENABLED", "Enabled", "COMPLETED", "Applied")
# Resource shapes a create call's output does not name (its answer is only an id).
SHAPE_ALIASES = {
    "RequestCertificate": ("CertificateDetail", "CertificateSummary"),
    "CreateTrafficPolicy": ("TrafficPolicySummary",),
}
TAG_SOURCES = ("Tags", "tags", "AddTags")
_NOT_FOUND = ("NotFound", "NoSuch")
_CONTINUATION = ("NextToken", "nextToken", "position", "NextMarker", "NextRecordName", "LastEvaluatedTableName",
                 "LastEvaluatedKey", "Marker")
_READ_VERBS = ("Get", "Describe")
_REGION_IN_HOST = re.compile(r"\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com")


# --------------------------------------------------------------- classifying
def is_placeholder(value: Any) -> bool:
    """True for a string the dry run made up (an id, ARN or name AWS would have assigned)."""
    return isinstance(value, str) and MARKER in value


def is_read_only(operation: str) -> bool:
    """Read-only by name (Describe/Get/List/Head/Test/Query/Scan/BatchGet) or by the explicit allow-list."""
    return operation.startswith(READ_ONLY_PREFIXES) or operation in READ_ONLY_OPERATIONS


# ------------------------------------------------------------------ records
def _plain(value: Any) -> Any:
    """JSON-friendly copy: bytes become their size, timestamps ISO strings."""
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return value


def _summary(params: dict[str, Any], limit: int = 160) -> str:
    parts = []
    for key, value in params.items():
        text = value if isinstance(value, str) else json.dumps(_plain(value), separators=(",", ":"), default=str)
        parts.append(f"{key}={text[:limit] + '…' if len(text) > limit else text}")
    return ", ".join(parts)


def _is_token_key(key: str) -> bool:
    return key.lower().endswith(("name", "id", "arn", "identifier"))


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


def _tokens(params: dict[str, Any]) -> set[str]:
    """The identifying strings of a call: top-level names, ids and ARNs, and any placeholder anywhere."""
    found = {v for k, v in params.items() if isinstance(v, str) and (_is_token_key(k) or v.startswith("arn:"))}
    return found | {s for s in _strings(params) if is_placeholder(s)}


@dataclass
class WouldBe:
    """A resource a recorded call would have created or changed."""

    service: str
    region: str
    operation: str
    params: dict[str, Any]
    response: dict[str, Any]
    shapes: tuple[str, ...]
    step: str = ""
    tokens: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.tokens = _tokens(self.params) | {
            s for s in _strings(self.response) if is_placeholder(s) or s.startswith("arn:")}

    def knowns(self) -> dict[str, Any]:
        """Values by member name: the response's (and its structures'), then the call's own (which win)."""
        merged: dict[str, Any] = {}
        for source in (self.response, self.params):
            for value in source.values():
                if isinstance(value, dict):
                    merged.update(value)
            # the response's structures are wrappers (TableDescription): their members count, not the old whole
            merged.update({k: v for k, v in source.items() if source is self.params or not isinstance(v, dict)})
        return merged

    def tags(self) -> dict[str, str]:
        tags: dict[str, str] = {}
        for key in TAG_SOURCES:
            value = self.params.get(key)
            if isinstance(value, dict):
                tags.update(value)
            elif isinstance(value, list):
                tags.update({t["Key"]: t.get("Value", "") for t in value if isinstance(t, dict) and "Key" in t})
        return tags


# -------------------------------------------------------------- synthesizing
class _Synth:
    """Builds a response from an output shape: known values by member name, placeholders, ready states."""

    def __init__(self, service: str, region: str, account: str, knowns: dict[str, Any], tags: dict[str, str] | None):
        self.service, self.region, self.account = service, region, account
        self.knowns, self.tags = knowns, tags

    def build(self, shape: Any, depth: int = 0) -> Any:
        if shape is None:
            return {}
        out = {}
        for name, member in shape.members.items():
            value = self.value(name, member, depth + 1)
            if value is not None:
                out[name] = value
        return out

    def value(self, name: str, shape: Any, depth: int) -> Any:
        kind = shape.type_name
        if name in _CONTINUATION or name.startswith(("Next", "next")):
            return None  # a made-up listing is always its last page
        if name in ("Tags", "tags") and self.tags is not None:
            return self.tags if kind == "map" else [{"Key": k, "Value": v} for k, v in self.tags.items()]
        known = self.knowns.get(name)
        if known is not None and _fits(kind, known):
            return known
        if kind == "structure":
            return self.build(shape, depth) if depth <= 4 else None
        if kind == "list":
            return []
        if kind == "map":
            return {}
        if kind == "string":
            if shape.enum:
                return next((v for v in READY if v in shape.enum), shape.enum[0])
            if name.lower().endswith("arn"):
                region = "" if self.service in ("iam", "route53") else self.region
                return f"arn:aws:{self.service}:{region}:{self.account}:{name[:-3].lower() or 'resource'}/{MARKER}-{uuid.uuid4().hex[:8]}"
            if name.lower().endswith(("policy", "document")):
                return "{}"
            return f"{MARKER}-{name.lower()[:24]}-{uuid.uuid4().hex[:8]}"
        if kind in ("integer", "long"):
            return max(0, int(shape.metadata.get("min", 0)))  # e.g. a traffic policy's Version starts at 1
        if kind in ("double", "float"):
            return max(0.0, float(shape.metadata.get("min", 0)))
        if kind == "boolean":
            return False
        if kind == "timestamp":
            return datetime.datetime.now(datetime.timezone.utc)
        if kind == "blob":
            return b""
        return None


def _fits(kind: str, value: Any) -> bool:
    return {
        "structure": isinstance(value, dict), "map": isinstance(value, dict), "list": isinstance(value, list),
        "string": isinstance(value, str), "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "long": isinstance(value, int) and not isinstance(value, bool),
        "double": isinstance(value, (int, float)) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "timestamp": isinstance(value, (str, datetime.datetime)), "blob": isinstance(value, (bytes, str)),
    }.get(kind, False)


def _resource_shapes(operation_model: Any) -> tuple[str, ...]:
    shape = operation_model.output_shape
    names = [] if shape is None else [shape.name] + [
        m.name for m in shape.members.values() if m.type_name == "structure"]
    return tuple(names) + SHAPE_ALIASES.get(operation_model.name, ())


def _is_tag_read(operation: str) -> bool:
    return operation.startswith("ListTags") or operation == "GetTags"


def _noun(operation: str, verbs: tuple[str, ...]) -> str | None:
    """``DescribeTable`` -> ``Table`` for one of ``verbs``; None for another verb."""
    verb = next((v for v in verbs if operation.startswith(v)), None)
    return operation[len(verb):] if verb else None


_PROJECT = Path(__file__).resolve().parent.parent
_PLUMBING = {Path(__file__).resolve().parent / name for name in ("dryrun.py", "clients.py", "waiting.py")}


def _caller() -> str:
    """The innermost public function of the project on the stack (a helper, say): the step the report names."""
    frame = sys._getframe(1)
    while frame is not None:
        path, name = Path(frame.f_code.co_filename).resolve(), frame.f_code.co_name
        if (path.is_relative_to(_PROJECT) and ".venv" not in path.parts and path not in _PLUMBING
                and not name.startswith(("_", "<"))):
            return name
        frame = frame.f_back
    return ""


def _not_found(model: Any, service: str, params: dict[str, Any]) -> tuple[AWSResponse, dict] | None:
    """The operation's own "not found" error (from its modeled errors), as botocore raises it; None if it has none."""
    for shape in model.error_shapes:
        error = shape.metadata.get("error", {})
        code = error.get("code", shape.name)
        if any(marker in code for marker in _NOT_FOUND):
            parsed = {"Error": {"Code": code, "Message": f"{service} {model.name}: {_summary(params)} was deleted in the dry run"},
                      "ResponseMetadata": {"HTTPStatusCode": error.get("httpStatusCode", 400), "RequestId": MARKER}}
            return AWSResponse(f"https://{MARKER}.invalid/", error.get("httpStatusCode", 400), {}, None), parsed
    return None


def _effects(entry: "WouldBe") -> list["WouldBe"]:
    """What a recorded call does besides its own resource, as AWS documents it.

    ``UpdateTable`` ``ReplicaUpdates``: a ``Create`` makes the table exist in that
    region and lists it among the ``Replicas``; a ``Delete`` removes it there
    (docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables.tutorial.html).
    """
    if (entry.service, entry.operation) != ("dynamodb", "UpdateTable"):
        return []
    table = entry.params.get("TableName")
    derived = []
    for update in entry.params.get("ReplicaUpdates") or []:
        for action, operation in (("Create", "CreateTable"), ("Delete", "DeleteTable")):
            region = (update.get(action) or {}).get("RegionName")
            if region:
                derived.append(WouldBe("dynamodb", region, operation, {"TableName": table}, dict(entry.response),
                                       entry.shapes, entry.step))
    return derived


def _key_of(item: dict[str, Any], key: dict[str, Any]) -> bool:
    return all(item.get(name) == value for name, value in key.items())


# ------------------------------------------------------------------ the log
@dataclass(frozen=True)
class DryRunCall:
    """One mutating call a dry run intercepted (an AWS operation, or an HTTP request)."""

    seq: int
    step: str
    service: str
    region: str
    operation: str
    arguments: str


_LOGS: dict[Path, "DryRun"] = {}
_LOGS_LOCK = threading.Lock()


class DryRun:
    """The boundary and log of one dry run (one run directory), shared by its ``Clients`` and ``HttpClient``s."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.account_source: Callable[[], str] | None = None
        self._account: str | None = None
        self._lock = threading.RLock()
        self.calls: list[DryRunCall] = []
        self.would_be: list[WouldBe] = []
        self._reported = 0
        self.state_path = Path(cfg.run_dir) / STATE_FILE
        self._earlier_calls = 0
        if self.state_path.exists():
            for line in self.state_path.read_text().splitlines():
                entry = WouldBe(**json.loads(line))
                self.would_be += [entry, *_effects(entry)]
                self._earlier_calls += 1

    @classmethod
    def of(cls, cfg: Config, *, fresh: bool = False) -> "DryRun":
        """The current log of ``cfg.run_dir`` in this process, which a notebook's ``Clients`` and ``HttpClient`` share.

        ``fresh`` (a new ``Clients``) reads the run directory's state anew, as a
        notebook's kernel does when it starts: what earlier notebooks recorded.
        """
        key = Path(cfg.run_dir).resolve()
        with _LOGS_LOCK:
            if fresh or key not in _LOGS:
                _LOGS[key] = cls(cfg)
            return _LOGS[key]

    # --------------------------------------------------------- instrument
    def instrument(self, client: Any) -> None:
        """Register the dry-run hooks on one boto3 client."""
        events = client.meta.events
        events.register("before-parameter-build", self._keep_params)
        events.register("before-call", self._before_call)
        events.register("after-call", self._after_call)

    @staticmethod
    def _keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["dryrun_params"] = dict(params)

    def account(self) -> str:
        if self._account is None:
            if self.account_source is None:
                raise RuntimeError("the dry run needs the account id for the ARNs it makes up: build a Clients first")
            self._account = self.account_source()
        return self._account

    def _scope(self, model: Any, context: dict[str, Any]) -> tuple[str, str, bool]:
        service_model = model.service_model
        is_global = bool(service_model.metadata.get("globalEndpoint"))
        return service_model.service_name, context.get("client_region") or "", is_global

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict] | None:
        service, region, is_global = self._scope(model, context)
        params = context.get("dryrun_params", {})
        if not is_read_only(model.name):
            return self._intercept(model, service, region, params, context)
        if self._deleted(model, service, region, is_global, params):
            context["dryrun_synthesized"] = True
            return _not_found(model, service, params)
        if any(is_placeholder(s) for s in _strings(params)):  # a would-be resource: never ask AWS about it
            context["dryrun_synthesized"] = True
            matches = (self._matching(model, service, region, is_global, params)
                       or self._matching(model, service, region, is_global, params, any_shape=True))
            return self._answer(model, service, region, is_global, params, matches)
        return None

    def _record(self, entry: WouldBe, call_region: str, arguments: str) -> None:
        with self._lock:
            self.would_be += [entry, *_effects(entry)]
            self.calls.append(DryRunCall(self._earlier_calls + len(self.calls) + 1, entry.step, entry.service,
                                         call_region, entry.operation, arguments))
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            with self.state_path.open("a") as state:
                state.write(json.dumps({k: getattr(entry, k) for k in
                                        ("service", "region", "operation", "params", "response", "shapes", "step")},
                                       default=str) + "\n")

    def _intercept(self, model: Any, service: str, region: str, params: dict[str, Any],
                   context: dict[str, Any]) -> tuple[AWSResponse, dict]:
        is_global = self._scope(model, context)[2]
        knowns: dict[str, Any] = {}
        if model.name.startswith("Update"):  # a change of a would-be resource keeps its ids and ARNs
            for earlier in self._matching(model, service, region, is_global, params):
                knowns.update(earlier.knowns())
        if (service, model.name) == ("dynamodb", "UpdateTable") and params.get("ReplicaUpdates"):
            knowns["Replicas"] = self._replicas(params, region)
        response = _Synth(service, region, self.account(), {**knowns, **params}, None).build(model.output_shape)
        entry = WouldBe(service, "global" if is_global else region, model.name, _plain(params), _plain(response),
                        _resource_shapes(model), _caller())
        self._record(entry, region, _summary(params))
        context["dryrun_synthesized"] = True
        response["ResponseMetadata"] = {"HTTPStatusCode": 200, "RequestId": MARKER, "HTTPHeaders": {}, "RetryAttempts": 0}
        return AWSResponse(f"https://{MARKER}.invalid/", 200, {}, None), response

    def _replicas(self, params: dict[str, Any], region: str) -> list[dict[str, str]]:
        """The ``Replicas`` a table lists after this ``UpdateTable``: the earlier ones, plus creates, less deletes."""
        table = params.get("TableName")
        regions = {region}
        for earlier in self.would_be:
            if earlier.service == "dynamodb" and earlier.params.get("TableName") == table:
                regions |= {r["RegionName"] for r in earlier.knowns().get("Replicas") or [] if isinstance(r, dict)}
        for update in params["ReplicaUpdates"]:
            regions |= {(update.get("Create") or {}).get("RegionName")} - {None}
            regions -= {(update.get("Delete") or {}).get("RegionName")}
        return [{"RegionName": r, "ReplicaStatus": "ACTIVE"} for r in sorted(regions)]

    def _after_call(self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any],
                    **_: Any) -> None:
        if context.get("dryrun_synthesized") or not is_read_only(model.name):
            return
        service, region, is_global = self._scope(model, context)
        params = context.get("dryrun_params", {})
        if http_response.status_code >= 300:
            code = str(parsed.get("Error", {}).get("Code", ""))
            if not any(marker in code for marker in _NOT_FOUND):
                return
            matches = self._matching(model, service, region, is_global, params, any_shape=_is_tag_read(model.name))
            if not matches and model.name in OBSERVATIONS:  # behaviour of a would-be resource
                matches = [e for e in self.would_be if self._in_scope(e, service, region, is_global)
                           and _tokens(params) & e.tokens]
            if not matches:
                return  # not ours: the real "not found" stands
            answer = self._answer(model, service, region, is_global, params, matches)[1]
            parsed.clear()
            parsed.update(answer)
            http_response.status_code = 200
            return
        self._add_listed(model, service, region, is_global, params, parsed)
        if (service, model.name) == ("dynamodb", "GetItem"):
            self._overlay_item(params, parsed)

    # ---------------------------------------------------------- would-be
    def _in_scope(self, entry: WouldBe, service: str, region: str, is_global: bool) -> bool:
        return entry.service == service and (is_global or entry.region == region)

    def _matching(self, model: Any, service: str, region: str, is_global: bool, params: dict[str, Any],
                  any_shape: bool = False) -> list[WouldBe]:
        """Would-be resources this read is about: same service (and region), a shared name/id, the same resource shape."""
        tokens = _tokens(params)
        shapes = set(_resource_shapes(model))
        return [e for e in self.would_be if self._in_scope(e, service, region, is_global) and tokens & e.tokens
                and (any_shape or shapes & set(e.shapes)) and not e.operation.startswith("Delete")]

    def _deleted(self, model: Any, service: str, region: str, is_global: bool, params: dict[str, Any]) -> bool:
        """True when the latest recorded call about what this Get/Describe names deleted it."""
        noun, tokens = _noun(model.name, _READ_VERBS), _tokens(params)
        if not noun or not tokens or model.name in OBSERVATIONS:  # an item deleted is absent, not an error
            return False
        for entry in reversed(self.would_be):
            if not self._in_scope(entry, service, region, is_global) or not tokens <= entry.tokens:
                continue
            if _noun(entry.operation, ("Delete",)) == noun:
                return True
            if _noun(entry.operation, ("Create", "Put", "Request")) == noun:
                return False
        return False

    def _overlay_item(self, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        """A GetItem shows the latest recorded write of its key, in any replica (a global table replicates it)."""
        table, key = params.get("TableName"), _plain(params.get("Key") or {})
        for entry in reversed(self.would_be):
            if entry.service != "dynamodb" or entry.params.get("TableName") != table:
                continue
            if entry.operation == "PutItem" and _key_of(entry.params.get("Item") or {}, key):
                parsed["Item"] = entry.params["Item"]
                return
            if entry.operation == "DeleteItem" and entry.params.get("Key") == key:
                parsed.pop("Item", None)
                return

    def _answer(self, model: Any, service: str, region: str, is_global: bool, params: dict[str, Any],
                matches: list[WouldBe]) -> tuple[AWSResponse, dict]:
        if (service, model.name) == ("dynamodb", "GetItem"):  # an item is there only if the dry run wrote it
            answer: dict[str, Any] = {}
            self._overlay_item(params, answer)
        else:
            knowns: dict[str, Any] = dict(OBSERVED.get(model.name, {}))
            tags: dict[str, str] | None = {} if _is_tag_read(model.name) else None
            for entry in matches:
                knowns.update(entry.knowns())
                if tags is not None:
                    tags.update(entry.tags())
            answer = _Synth(service, region, self.account(), {**knowns, **params}, tags).build(model.output_shape)
            self._add_listed(model, service, region, is_global, params, answer)
        answer["ResponseMetadata"] = {"HTTPStatusCode": 200, "RequestId": MARKER, "HTTPHeaders": {}, "RetryAttempts": 0}
        return AWSResponse(f"https://{MARKER}.invalid/", 200, {}, None), answer

    def _add_listed(self, model: Any, service: str, region: str, is_global: bool, params: dict[str, Any],
                    parsed: dict[str, Any]) -> None:
        """Add would-be resources to a listing (its last page) whose items have their shape."""
        shape = model.output_shape
        if shape is None or parsed.get("IsTruncated") or any(parsed.get(k) for k in _CONTINUATION):
            return
        tokens = _tokens(params)
        for name, member in shape.members.items():
            if member.type_name != "list" or member.member.type_name != "structure":
                continue
            for entry in self.would_be:
                if (not self._in_scope(entry, service, region, is_global) or member.member.name not in entry.shapes
                        or entry.operation.startswith("Delete")):
                    continue
                if tokens and not tokens & entry.tokens:
                    continue
                item = _Synth(service, region, self.account(), entry.knowns(), None).build(member.member)
                parsed.setdefault(name, []).append(item)
        self._drop_deleted(shape, service, region, is_global, parsed)

    def _drop_deleted(self, shape: Any, service: str, region: str, is_global: bool, parsed: dict[str, Any]) -> None:
        """Leave out of a listing what a recorded Delete<Resource> named (say a certificate by its ARN)."""
        deletes = [e for e in self.would_be if e.operation.startswith("Delete") and self._in_scope(e, service, region, is_global)]
        for name, member in shape.members.items():
            if not deletes or member.type_name != "list" or member.member.type_name != "structure" or name not in parsed:
                continue
            doomed = [_tokens(e.params) for e in deletes if member.member.name.startswith(_noun(e.operation, ("Delete",)))]
            parsed[name] = [item for item in parsed[name]
                            if not any(tokens and tokens <= _strings(item) for tokens in doomed)]

    # -------------------------------------------------------------- HTTP
    def would_create(self, name: str) -> bool:
        """True when ``name`` (a host name) exists only in the dry run: made up, or named by a recorded change."""
        name = name.rstrip(".").lower()
        return is_placeholder(name) or any(
            name == s.rstrip(".").lower() for entry in self.would_be for s in _strings(entry.params))

    def http_request(self, method: str, url: str, body: bytes | None) -> bytes | None:
        """Record a mutating HTTP request (its answer body: the request's own), or None for a safe one."""
        if method.upper() in SAFE_METHODS:
            return None
        host = urlsplit(url).hostname or ""
        match = _REGION_IN_HOST.search(host)
        region = match.group(1) if match else "global"
        entry = WouldBe("https", region, method.upper(), {"url": url}, {}, (), _caller())
        self._record(entry, region, f"url={url}" + (f", body={body[:160].decode(errors='replace')}" if body else ""))
        return body or b"{}"

    # ------------------------------------------------------------ report
    def frame(self, calls: list[DryRunCall] | None = None) -> pd.DataFrame:
        rows = [c.__dict__ for c in (self.calls if calls is None else calls)]
        return pd.DataFrame(rows, columns=["seq", "step", "service", "region", "operation", "arguments"])


def dry_run_log(cfg: Config, *, fresh: bool = False) -> DryRun | None:
    """The boundary of this dry run (``DryRun.of``), or None when ``cfg`` is not a dry run."""
    return DryRun.of(cfg, fresh=fresh) if cfg.dry_run else None


def start_dry_run(cfg: Config) -> None:
    """Forget the would-be resources and calls of an earlier dry run into the same run directory."""
    for name in (STATE_FILE, CALLS_FILE):
        (Path(cfg.run_dir) / name).unlink(missing_ok=True)
    with _LOGS_LOCK:
        _LOGS.pop(Path(cfg.run_dir).resolve(), None)


def dry_run_report(cfg: Config, clients: Any) -> pd.DataFrame | None:
    """The mutating calls this notebook would have made, AWS and HTTP (and appends them to ``run_dir/dry_run_calls.csv``).

    Returns None when this is not a dry run, so the cell shows nothing.
    """
    log: DryRun | None = getattr(clients, "dry_run", None)
    if log is None:
        return None
    new = log.calls[log._reported:]
    log._reported = len(log.calls)
    frame = log.frame(new)
    path = Path(cfg.run_dir) / CALLS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, mode="a", header=not path.exists(), index=False)
    print(f"dry run: {len(frame)} call(s) that would change something, none made; all: {path}")
    return frame


def verify_dry_run(cfg: Config, clients: Any) -> pd.DataFrame:
    """Checks for a dry run's Verify cell: every recorded call is a mutating one, in a configured region or global."""
    log: DryRun = clients.dry_run
    frame = log.frame()
    read_only = frame[frame["operation"].map(is_read_only) | frame["operation"].isin(SAFE_METHODS)]
    assert read_only.empty, f"read-only calls should never be intercepted: {read_only['operation'].tolist()}"
    elsewhere = frame[~frame["region"].isin([*cfg.regions, "global"])]
    assert elsewhere.empty, f"every call should stay in the configured regions {list(cfg.regions)}: {elsewhere.to_dict('records')}"
    return frame.groupby(["service", "operation"]).size().rename("calls").reset_index()
