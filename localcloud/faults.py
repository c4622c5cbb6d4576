"""Fault injection through AWS Fault Injection Service (FIS) experiments.

moto stores FIS experiment templates and experiments but never acts on them.
Here ``StartExperiment`` and ``StopExperiment`` keep moto's answer and also
carry out the experiment's actions:

* ``aws:dynamodb:global-table-pause-replication`` (AWS's action): replication
  to and from the target replica tables' regions is paused, for the action's
  ``duration`` (ISO 8601, AWS time, multiplied by the time scale) or until the
  experiment is stopped; queued changes then arrive, nothing is lost. Two
  differences from AWS, both on purpose (the runbook isolates the region):
  AWS documents the action as pausing replication *to* the target replica and
  says replication may go on for up to 5 minutes after the action starts;
  here both directions stop at once.
* ``localcloud:region:outage`` (local cloud only, there is no AWS equivalent):
  the ``region`` parameter's gateway refuses connections and its replica stops
  replicating, as if the whole region were unreachable.

The other faults of the runbook (a Lambda environment change, reserved
concurrency 0) are plain Lambda API calls and need nothing here.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from localcloud.cloud import Component
from localcloud.controlplane import AwsError, Call, Raw

log = logging.getLogger(__name__)

PAUSE_REPLICATION = "aws:dynamodb:global-table-pause-replication"
REGION_OUTAGE = "localcloud:region:outage"
SUPPORTED_ACTIONS = (PAUSE_REPLICATION, REGION_OUTAGE)

_DURATION_RE = re.compile(r"^PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$")


def parse_duration(text: str) -> float:
    """Seconds in an ISO 8601 duration such as ``PT5M`` or ``PT1M30S`` (the form FIS uses)."""
    m = _DURATION_RE.match(text or "")
    if not m or not any(m.groups()):
        raise AwsError("ValidationException", f"invalid duration {text!r}: expected an ISO 8601 duration such as PT5M")
    hours, minutes, seconds = (float(g or 0) for g in m.groups())
    return hours * 3600 + minutes * 60 + seconds


@dataclass
class _Running:
    """What one experiment did, so that stopping it (or its end) undoes exactly that."""

    paused_regions: list[str] = field(default_factory=list)
    outage_regions: list[str] = field(default_factory=list)
    timers: list[threading.Timer] = field(default_factory=list)


class Faults(Component):
    """Carries out FIS experiments' actions on the local cloud's data plane."""

    name = "faults"

    def __init__(self, cloud):
        super().__init__(cloud)
        self._lock = threading.Lock()
        self._running: dict[str, _Running] = {}
        cloud.controlplane.register("fis", "StartExperiment", self._start_experiment)
        cloud.controlplane.register("fis", "StopExperiment", self._stop_experiment)

    def stop(self) -> None:
        with self._lock:
            ids = list(self._running)
        for experiment_id in ids:
            self._undo(experiment_id)

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
        status, headers, body = call.forward()
        if status >= 300:
            return Raw(status, headers, body)
        experiment_id = json.loads(body)["experiment"]["id"]
        running = _Running()
        with self._lock:
            self._running[experiment_id] = running
        for action in actions.values():
            self._apply(experiment_id, running, action, targets)
        return Raw(status, headers, body)

    def _stop_experiment(self, call: Call) -> Raw:
        status, headers, body = call.forward()
        if status < 300:
            self._undo(call.params["id"])
        return Raw(status, headers, body)

    # -------------------------------------------------------------- actions
    def _apply(self, experiment_id: str, running: _Running, action: dict[str, Any], targets: dict[str, Any]) -> None:
        parameters = action.get("parameters") or {}
        action_id = action["actionId"]
        if action_id == PAUSE_REPLICATION:
            arns = [arn for target in (action.get("targets") or {}).values()
                    for arn in (targets.get(target, {}).get("resourceArns") or [])]
            for arn in arns:
                region = arn.split(":")[3]
                self.cloud.component("replication").pause(region)
                running.paused_regions.append(region)
        elif action_id == REGION_OUTAGE:
            region = parameters.get("region", "")
            self.cloud.component("gateway").set_outage(region, True)
            self.cloud.component("replication").pause(region)
            running.outage_regions.append(region)
            running.paused_regions.append(region)
        if "duration" in parameters:
            timer = threading.Timer(self.cloud.scaled(parse_duration(parameters["duration"])), self._undo, (experiment_id,))
            timer.daemon = True
            timer.start()
            running.timers.append(timer)
        log.info("experiment %s: %s applied", experiment_id, action_id)

    def _undo(self, experiment_id: str) -> None:
        with self._lock:
            running = self._running.pop(experiment_id, None)
        if running is None:
            return
        for timer in running.timers:
            timer.cancel()
        for region in running.outage_regions:
            self.cloud.component("gateway").set_outage(region, False)
        for region in running.paused_regions:
            self.cloud.component("replication").resume(region)
        log.info("experiment %s: undone", experiment_id)
