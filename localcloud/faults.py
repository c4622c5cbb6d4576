"""Fault injection through AWS Fault Injection Service (FIS) experiments.

moto stores FIS experiment templates and experiments but never acts on them.
Here ``StartExperiment`` and ``StopExperiment`` keep moto's answer and also
carry out the experiment's actions:

* ``aws:dynamodb:global-table-pause-replication`` (AWS's action): replication
  to and from each target replica table (``resourceArns``,
  ``arn:aws:dynamodb:REGION:ACCOUNT:table/NAME``) is paused, for the action's
  ``duration`` (ISO 8601, AWS time, multiplied by the time scale) or until the
  experiment is stopped; queued changes then arrive, nothing is lost. Other
  tables, and the table's other replicas among themselves, keep replicating. The
  DynamoDB guide documents this action as Region isolation for MREC and MRSC
  tables alike ("pausing replication to and from a selected replica",
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/globaltables-CoreConcepts.html,
  "Fault injection testing"), so an MRSC replica there loses its quorum
  (writes and strongly consistent reads fail, eventually consistent reads
  answer: ``localcloud.strong_consistency``) while MREC keeps taking writes on
  both sides. One difference from AWS: the FIS actions reference says
  replication may go on for up to 5 minutes after the action starts
  (https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html#dynamodb-actions-reference),
  here it stops at once. Targets are resolved from ``resourceArns`` with
  ``selectionMode`` ``ALL`` only (a target by tags, filters or sampling is
  refused at StartExperiment, ``_replica_targets``).
* ``localcloud:region:outage`` (local cloud only, there is no AWS equivalent):
  the ``region`` parameter's gateway refuses connections and every replica
  there stops replicating, as if the whole region were unreachable.
* ``localcloud:network:partition`` (local cloud only): the ``region``
  parameter's replicas are cut off from replication in both directions while
  the region keeps serving its own clients. On the replicas this is what the
  pause-replication action does (``Replication.reachable`` is false both
  ways), held on a Region instead of on table targets; the chaos step's
  ``partition`` fault uses it. The consistency lab uses AWS's action, which
  runs on AWS too.

Each action ends after its own ``duration``, or when its experiment is
stopped (an action without a duration runs until then), as on FIS. A region,
or a replica table, held by actions of several experiments stays paused, or
down, until the last of them ends. The experiment's state (GetExperiment)
follows its actions: ``running`` while any is in effect, ``completed`` once
the last has ended on its own, ``stopped`` after StopExperiment (which answers
``stopping``, as on AWS). moto alone would call it completed after a few reads.

The other faults of the runbook (a Lambda environment change, reserved
concurrency 0) are plain Lambda API calls and need nothing here.
"""

from __future__ import annotations

import collections
import json
import logging
import re
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from botocore.utils import ArnParser, InvalidArnException
from moto.moto_api import state_manager

from awsfacts.fis import NETWORK_PARTITION, PAUSE_REPLICATION, REGION_OUTAGE
from localcloud.component import Component
from localcloud.controlplane import AwsError, Call, Raw
from localcloud.gateway import Gateway
from localcloud.replication import Replication

log = logging.getLogger(__name__)

SUPPORTED_ACTIONS = (PAUSE_REPLICATION, REGION_OUTAGE, NETWORK_PARTITION)
EXPERIMENT_MODEL = "fis::experiment"  # moto's state-machine name for experiments

_DURATION_RE = re.compile(r"^PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$")


def parse_duration(text: str) -> float:
    """Seconds in an ISO 8601 duration such as ``PT5M`` or ``PT1M30S`` (the form FIS uses)."""
    m = _DURATION_RE.match(text or "")
    if not m or not any(m.groups()):
        raise AwsError("ValidationException", f"invalid duration {text!r}: expected an ISO 8601 duration such as PT5M")
    hours, minutes, seconds = (float(g or 0) for g in m.groups())
    return hours * 3600 + minutes * 60 + seconds


def replica_of(arn: str) -> tuple[str, str]:
    """The (Region, table name) of a replica table's ARN, ``arn:aws:dynamodb:REGION:ACCOUNT:table/NAME``."""
    try:
        parts = ArnParser().parse_arn(arn)
    except InvalidArnException:
        parts = {}
    kind, _, name = parts.get("resource", "").partition("/")
    if parts.get("service") != "dynamodb" or kind != "table" or not name or "/" in name or not parts.get("region"):
        raise AwsError("ValidationException",
                       f"target {arn!r} is not a DynamoDB table ARN (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME)")
    return parts["region"], name


def _replica_targets(action: dict[str, Any], targets: dict[str, Any]) -> list[tuple[str, str]]:
    """The (Region, table) replicas a pause-replication action targets: its targets' ``resourceArns``.

    The local cloud resolves a target from ``resourceArns`` with ``selectionMode`` ``ALL`` only; a target
    by ``resourceTags`` or ``filters``, or a sampled selection, is refused rather than pausing something
    else than FIS would (https://docs.aws.amazon.com/fis/latest/userguide/targets.html).
    """
    if not action.get("targets"):
        raise AwsError("ValidationException", f"{PAUSE_REPLICATION} needs a target: the replica tables to pause")
    replicas = []
    for key in action["targets"].values():
        target = targets.get(key) or {}
        if not target.get("resourceArns") or target.get("filters") or target.get("selectionMode", "ALL") != "ALL":
            raise AwsError("ValidationException",
                           f"target {key!r}: the local cloud selects pause-replication targets by resourceArns "
                           "with selectionMode ALL only (no resourceTags, filters or sampling)")
        replicas.extend(replica_of(arn) for arn in target["resourceArns"])
    return replicas


class _Hold(NamedTuple):
    """One thing an action keeps broken: an outage or partition of a Region, or paused replication of
    one replica table (``table``) or of every table of a Region (``table`` None)."""

    kind: str  # "pause" | "outage" | "partition"
    region: str
    table: str | None = None


@dataclass
class _Action:
    """What one action of a running experiment holds, and its timer."""

    holds: list[_Hold] = field(default_factory=list)
    timer: threading.Timer | None = None


class Faults(Component):
    """Carries out FIS experiments' actions on the local cloud's data plane.

    Each action ends on its own (its ``duration``) or with its experiment
    (StopExperiment), as on FIS. Actions of overlapping experiments may hold the
    same region, or the same replica table: it is paused, or down, while any of
    them holds it.
    """

    name = "faults"

    def __init__(self, cloud, *, gateway: Gateway, replication: Replication):
        super().__init__(cloud)
        self._gateway = gateway
        self._replication = replication
        self._lock = threading.Lock()
        self._running: dict[str, list[_Action]] = {}  # experiment id -> its actions still in effect
        self._regions: dict[str, str] = {}  # experiment id -> the region it was started in
        self._stopping: set[str] = set()  # experiments a StopExperiment is ending
        self._holds: collections.Counter[_Hold] = collections.Counter()  # how many actions hold each
        self._switching = threading.Lock()
        cloud.controlplane.register("fis", "StartExperiment", self._start_experiment)
        cloud.controlplane.register("fis", "StopExperiment", self._stop_experiment)

    def start(self) -> None:
        # moto moves an experiment to "completed" after a few reads, whatever its actions do.
        # Here its state follows the actions: set by this component, never by moto's clock.
        state_manager.set_transition(EXPERIMENT_MODEL, {"progression": "manual", "times": sys.maxsize})

    def stop(self) -> None:
        with self._lock:
            ids = list(self._running)
        for experiment_id in ids:
            self._end(experiment_id)
        state_manager.unset_transition(EXPERIMENT_MODEL)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {"fault_experiments": sorted(self._running)}

    # ------------------------------------------------------------ overrides
    def _start_experiment(self, call: Call) -> Raw:
        backend = self.cloud.backend("fis", call.region)
        template = backend.experiment_templates.get(call.params.get("experimentTemplateId", ""))
        actions = (template.actions or {}) if template else {}
        targets = (template.targets or {}) if template else {}
        for name, action in actions.items():  # validate before anything happens, as FIS does
            if action.get("actionId") not in SUPPORTED_ACTIONS:
                raise AwsError("ValidationException",
                               f"action {name!r}: {action.get('actionId')!r} is not supported by the local cloud "
                               f"(supported: {', '.join(SUPPORTED_ACTIONS)})")
            if "duration" in (action.get("parameters") or {}):
                parse_duration(action["parameters"]["duration"])  # a bad one is refused here, not once a fault is on
            if action.get("actionId") == PAUSE_REPLICATION:
                _replica_targets(action, targets)
        status, headers, body = call.forward()
        if status >= 300:
            return Raw(status, headers, body)
        experiment_id = json.loads(body)["experiment"]["id"]
        applied = [self._apply(experiment_id, action, targets) for action in actions.values()]
        with self._lock:
            if applied:  # an experiment without actions is over as soon as it starts
                self._running[experiment_id] = applied
            self._regions[experiment_id] = call.region
        self._set_state(experiment_id, "running" if applied else "completed")
        for action in applied:  # only now may an action end: the experiment is fully recorded
            if action.timer is not None:
                action.timer.start()
        self._publish()
        # FIS answers StartExperiment with the experiment initiating; GetExperiment shows it running once its
        # actions are in effect (here at once), then completed or stopped (FIS User Guide, "Experiment states").
        answer = json.loads(body)
        answer["experiment"]["state"] = {"status": "initiating", "reason": "Experiment is initiating"}
        body = json.dumps(answer, default=str).encode()
        headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
        return Raw(status, headers, body)

    def _stop_experiment(self, call: Call) -> Raw:
        experiment_id = call.params["id"]
        with self._lock:
            running = experiment_id in self._running
            if running:  # from here an action that ends on its own does not complete the experiment
                self._stopping.add(experiment_id)
        status, headers, body = call.forward()
        if status < 300 and running:
            self._end(experiment_id)
            # StopExperiment answers "stopping", as on AWS; once the actions are undone it is "stopped".
            self._set_state(experiment_id, "stopped")
        with self._lock:
            self._stopping.discard(experiment_id)
        self._publish()
        return Raw(status, headers, body)

    # -------------------------------------------------------------- actions
    def _apply(self, experiment_id: str, action: dict[str, Any], targets: dict[str, Any]) -> _Action:
        """Take the holds an action asks for; its timer (for a ``duration``) is started by the caller."""
        parameters = action.get("parameters") or {}
        action_id = action["actionId"]
        running = _Action()
        if action_id == PAUSE_REPLICATION:
            running.holds = [_Hold("pause", region, table) for region, table in _replica_targets(action, targets)]
        elif action_id == REGION_OUTAGE:
            region = parameters.get("region", "")
            running.holds = [_Hold("outage", region), _Hold("pause", region)]
        elif action_id == NETWORK_PARTITION:
            running.holds = [_Hold("partition", parameters.get("region", ""))]
        if "duration" in parameters:
            running.timer = threading.Timer(self.cloud.scaled(parse_duration(parameters["duration"])),
                                            self._end_action, (experiment_id, running))
            running.timer.daemon = True
        for hold in running.holds:
            self._hold(hold)
        log.info("experiment %s: %s applied", experiment_id, action_id)
        return running

    def _end_action(self, experiment_id: str, action: _Action) -> None:
        """The action's duration is over: undo what it holds (its experiment may go on)."""
        with self._lock:
            actions = self._running.get(experiment_id, [])
            if action not in actions:
                return  # the experiment was stopped meanwhile
            actions.remove(action)
            finished = not actions
            if finished:
                del self._running[experiment_id]
            completed = finished and experiment_id not in self._stopping  # else StopExperiment says "stopped"
        self._release(action)
        log.info("experiment %s: an action ended", experiment_id)
        if completed:
            self._set_state(experiment_id, "completed")
        self._publish()

    def _end(self, experiment_id: str) -> None:
        """Stop the experiment: undo what its remaining actions hold."""
        with self._lock:
            actions = self._running.pop(experiment_id, [])
        for action in actions:
            if action.timer is not None:
                action.timer.cancel()
            self._release(action)
        log.info("experiment %s: undone", experiment_id)

    def _set_state(self, experiment_id: str, state: str) -> None:
        """The experiment's state as GetExperiment shows it: running, then completed or stopped."""
        with self._lock:
            region = self._regions.get(experiment_id)
            if state != "running":
                self._regions.pop(experiment_id, None)
        experiment = self.cloud.backend("fis", region).experiments.get(experiment_id) if region else None
        if experiment is not None:
            experiment.status = state

    def _publish(self) -> None:
        """`localcloud status` shows the running experiments, outages and pauses as they are now."""
        try:
            self.cloud.write_state_files()
        except OSError:  # a status file is not worth a fault left on
            log.warning("could not write the local cloud's status files", exc_info=True)

    def _hold(self, hold: _Hold) -> None:
        with self._switching:  # a count and the state it implies change together
            self._holds[hold] += 1
            if self._holds[hold] == 1:
                self._set(hold, True)

    def _release(self, action: _Action) -> None:
        with self._switching:
            for hold in action.holds:
                self._holds[hold] -= 1
                if self._holds[hold] == 0:
                    del self._holds[hold]
                    self._set(hold, False)

    def _set(self, hold: _Hold, on: bool) -> None:
        if hold.kind == "outage":
            self._gateway.set_outage(hold.region, on)
        elif hold.kind == "partition":
            (self._replication.partition if on else self._replication.heal)(hold.region)
        elif on:
            self._replication.pause(hold.region, hold.table)
        else:
            self._replication.resume(hold.region, hold.table)

