"""Dry run: go through the build notebooks, list every call that would change something, make none.

With ``dry_run: true`` every boto3 client that ``Clients`` builds is
instrumented through botocore's event hooks:

* A **mutating** call (any operation that is not read-only, see
  ``is_read_only``) is validated by botocore as usual, then recorded (service,
  region, operation, key arguments) and answered here instead of by AWS, with
  a response built from the operation's output shape: the values the call
  asked for (names, tags, settings), placeholders containing ``dryrun-placeholder`` for
  what AWS would assign (ids, ARNs), and "ready" states (``ACTIVE``,
  ``ISSUED``, ``INSYNC``) so the helper goes on to its next call.
* A **read-only** call goes to the real backend, except that the resources
  the dry run "would have created" (its *would-be* resources) are made
  visible: a read that names one (a placeholder id, or a name that AWS says
  does not exist) is answered from the call that would have created it, and a
  listing includes them. Reads that observe behaviour rather than
  configuration (items, health-check observations, DNS answers, metrics) of a
  would-be resource cannot be answered: they raise ``DryRunSkip``.
* A wait on a would-be resource that is not ready at once would never become
  ready (nothing is created): ``helpers.waiting.wait_until`` raises ``DryRunSkip``
  instead of polling. DNS and HTTP calls to names that do not exist do the
  same (``helpers.clients``).

``DryRunSkip`` is the single way a helper says "skipped: needs X which the dry
run did not create". The notebook-facing helpers are decorated with
``skippable``: the outermost one turns the exception into a ``Skipped`` result,
which displays the reason and absorbs whatever the notebook does with it next.

The would-be resources of earlier notebooks are kept in
``{run_dir}/dry_run_state.jsonl``, so notebook 03 finds the APIs notebook 02
would have created. ``dry_run_report`` shows a notebook's calls and appends
them to ``{run_dir}/dry_run_calls.csv``.
"""

from __future__ import annotations

import datetime
import functools
import json
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd
from botocore.awsrequest import AWSResponse

from helpers.config import Config

MARKER = "dryrun-placeholder"
STATE_FILE = "dry_run_state.jsonl"
CALLS_FILE = "dry_run_calls.csv"
READ_ONLY_PREFIXES = ("Describe", "Get", "List", "Head", "Test", "Query", "Scan", "BatchGet")
# Read-only operations whose names do not say so (none of the runbook's so far; extend here).
READ_ONLY_OPERATIONS: frozenset[str] = frozenset()
# Reads that observe behaviour (data, probes, DNS, metrics): a dry run cannot answer them for a would-be resource.
OBSERVATIONS = frozenset({
    "GetItem", "BatchGetItem", "Query", "Scan", "GetHealthCheckStatus", "GetHealthCheckLastFailureReason",
    "TestDNSAnswer", "GetMetricStatistics", "GetMetricData", "GetExperiment",
})
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
_CONTINUATION = ("NextToken", "nextToken", "position", "NextMarker", "NextRecordName", "LastEvaluatedTableName")

_local = threading.local()


# ------------------------------------------------------------------ skipping
class DryRunSkip(Exception):
    """A step needs a resource (or behaviour) that the dry run did not create."""


def synthesized_reads() -> int:
    """How many reads this thread answered from would-be resources (a wait uses it to stop polling them)."""
    return getattr(_local, "synthesized", 0)


def _count_synthesized() -> None:
    _local.synthesized = synthesized_reads() + 1


def pretended_changes() -> int:
    """How many mutating calls the running step recorded instead of sending (a wait for their effect never ends).

    Counted per outermost ``skippable`` helper and thread; 0 outside of one.
    """
    return getattr(_local, "pretended", 0) if current_step() else 0


def current_step() -> str:
    """The notebook-facing helper this thread is running (what the dry-run report calls a step)."""
    return getattr(_local, "step", "") or ""


class Skipped:
    """What a skipped step returns: shows why, and absorbs what the notebook does next (indexing, methods, loops)."""

    def __init__(self, step: str, reason: str):
        self.step, self.reason = step, reason

    def __repr__(self) -> str:
        return f"skipped in the dry run: {self.step}: {self.reason}"

    def _repr_html_(self) -> str:
        import html

        return f"<p><b>skipped in the dry run:</b> <code>{html.escape(self.step)}</code>: {html.escape(self.reason)}</p>"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # IPython probes _repr_*_ and canaries: answer honestly
            raise AttributeError(name)
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> "Skipped":
        return self

    def __getitem__(self, key: Any) -> "Skipped":
        return self

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return False

    def __contains__(self, item: Any) -> bool:
        return False


def skippable(function: Callable) -> Callable:
    """Decorate a notebook-facing helper: in a dry run, ``DryRunSkip`` becomes a ``Skipped`` result.

    Only the outermost decorated helper converts; nested ones let the
    exception through, so a helper never carries on with a Skipped value.
    """

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        depth = getattr(_local, "depth", 0)
        _local.depth = depth + 1
        if depth == 0:
            _local.step = function.__name__
            _local.pretended = 0
        try:
            return function(*args, **kwargs)
        except DryRunSkip as skip:
            if depth:
                raise
            return Skipped(function.__name__, str(skip))
        finally:
            _local.depth = depth
            if depth == 0:
                _local.step = ""

    return wrapper


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
            merged.update(source)
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


# ------------------------------------------------------------------ the log
@dataclass(frozen=True)
class DryRunCall:
    """One mutating call a dry run intercepted."""

    seq: int
    step: str
    service: str
    region: str
    operation: str
    arguments: str


class DryRun:
    """The interceptor and log of one ``Clients`` in a dry run (its ``dry_run`` attribute)."""

    def __init__(self, cfg: Config, account: Callable[[], str]):
        self.cfg = cfg
        self._account_fn = account
        self._account: str | None = None
        self._lock = threading.Lock()
        self.calls: list[DryRunCall] = []
        self.would_be: list[WouldBe] = []
        self._reported = 0
        self.state_path = Path(cfg.run_dir) / STATE_FILE
        self._earlier_calls = 0
        if self.state_path.exists():
            for line in self.state_path.read_text().splitlines():
                entry = json.loads(line)
                self.would_be.append(WouldBe(**entry))
                self._earlier_calls += 1

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
            self._account = self._account_fn()
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
        if any(is_placeholder(s) for s in _strings(params)):  # a would-be resource: never ask AWS about it
            if model.name in OBSERVATIONS:
                raise DryRunSkip(f"{service} {model.name} needs {self._needed(params)}, which the dry run did not create")
            context["dryrun_synthesized"] = True
            _count_synthesized()
            matches = (self._matching(model, service, region, is_global, params)
                       or self._matching(model, service, region, is_global, params, any_shape=True))
            return self._answer(model, service, region, is_global, params, matches)
        return None

    def _intercept(self, model: Any, service: str, region: str, params: dict[str, Any],
                   context: dict[str, Any]) -> tuple[AWSResponse, dict]:
        is_global = self._scope(model, context)[2]
        knowns: dict[str, Any] = {}
        if model.name.startswith("Update"):  # a change of a would-be resource keeps its ids and ARNs
            for earlier in self._matching(model, service, region, is_global, params):
                knowns.update(earlier.knowns())
        response = _Synth(service, region, self.account(), {**knowns, **params}, None).build(model.output_shape)
        entry = WouldBe(service, "global" if is_global else region, model.name, _plain(params), _plain(response),
                        _resource_shapes(model), current_step())
        with self._lock:
            self.would_be.append(entry)
            self.calls.append(DryRunCall(self._earlier_calls + len(self.calls) + 1, entry.step, service, region,
                                         model.name, _summary(params)))
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            with self.state_path.open("a") as state:
                state.write(json.dumps({k: getattr(entry, k) for k in
                                        ("service", "region", "operation", "params", "response", "shapes", "step")},
                                       default=str) + "\n")
        context["dryrun_synthesized"] = True
        _local.pretended = pretended_changes() + 1
        response["ResponseMetadata"] = {"HTTPStatusCode": 200, "RequestId": MARKER, "HTTPHeaders": {}, "RetryAttempts": 0}
        return AWSResponse(f"https://{MARKER}.invalid/", 200, {}, None), response

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
            if model.name in OBSERVATIONS:  # e.g. an item read in a replica region of a would-be table
                if any(e.service == service and _tokens(params) & e.tokens for e in self.would_be):
                    raise DryRunSkip(f"{service} {model.name} needs {self._needed(params)}, which the dry run did not create")
                return
            matches = self._matching(model, service, region, is_global, params, any_shape=_is_tag_read(model.name))
            if not matches:
                return  # not ours: the real "not found" stands
            _count_synthesized()
            answer = self._answer(model, service, region, is_global, params, matches)[1]
            parsed.clear()
            parsed.update(answer)
            http_response.status_code = 200
            return
        self._add_listed(model, service, region, is_global, params, parsed)

    # ---------------------------------------------------------- would-be
    def _in_scope(self, entry: WouldBe, service: str, region: str, is_global: bool) -> bool:
        return entry.service == service and (is_global or entry.region == region)

    def _matching(self, model: Any, service: str, region: str, is_global: bool, params: dict[str, Any],
                  any_shape: bool = False) -> list[WouldBe]:
        """Would-be resources this read is about: same service (and region), a shared name/id, the same resource shape."""
        tokens = _tokens(params)
        shapes = set(_resource_shapes(model))
        return [e for e in self.would_be if self._in_scope(e, service, region, is_global) and tokens & e.tokens
                and (any_shape or shapes & set(e.shapes))]

    def _answer(self, model: Any, service: str, region: str, is_global: bool, params: dict[str, Any],
                matches: list[WouldBe]) -> tuple[AWSResponse, dict]:
        knowns: dict[str, Any] = {}
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
                if not self._in_scope(entry, service, region, is_global) or member.member.name not in entry.shapes:
                    continue
                if tokens and not tokens & entry.tokens:
                    continue
                item = _Synth(service, region, self.account(), entry.knowns(), None).build(member.member)
                parsed.setdefault(name, []).append(item)

    @staticmethod
    def _needed(params: dict[str, Any]) -> str:
        names = sorted(_tokens(params)) or sorted(_strings(params))
        return ", ".join(names[:3]) or "a resource"

    # ------------------------------------------------------------ report
    def frame(self, calls: list[DryRunCall] | None = None) -> pd.DataFrame:
        rows = [c.__dict__ for c in (self.calls if calls is None else calls)]
        return pd.DataFrame(rows, columns=["seq", "step", "service", "region", "operation", "arguments"])


def start_dry_run(cfg: Config) -> None:
    """Forget the would-be resources and calls of an earlier dry run into the same run directory."""
    for name in (STATE_FILE, CALLS_FILE):
        (Path(cfg.run_dir) / name).unlink(missing_ok=True)


def dry_run_report(cfg: Config, clients: Any) -> pd.DataFrame | None:
    """The mutating calls this notebook would have made (and appends them to ``run_dir/dry_run_calls.csv``).

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
    read_only = frame[frame["operation"].map(is_read_only)]
    assert read_only.empty, f"read-only calls should never be intercepted: {read_only['operation'].tolist()}"
    elsewhere = frame[~frame["region"].isin([*cfg.regions, "global"])]
    assert elsewhere.empty, f"every call should stay in the configured regions {list(cfg.regions)}: {elsewhere.to_dict('records')}"
    return frame.groupby(["service", "operation"]).size().rename("calls").reset_index()
