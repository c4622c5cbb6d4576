"""One lane of a sweep, as a process of its own: it runs notebooks and reconfigures its stack, on command.

``helpers.sweep`` starts one per lane (``python -m helpers.sweep_lane``), each in
a session of its own, and writes one command per line on its standard input,
as JSON:

* ``{"runbook": {"parameters_file": F, "notebooks": "06", "out": DIR}}``: a
  ``runbook run`` (``helpers.runner.run``), its lines in ``DIR/runner.log``;
* ``{"reconfigure": {parameters}}``: ``reconfigure``.

It answers each with one JSON line on standard output: ``{"status": ...}``
(``passed``, ``failed`` or ``interrupted`` for a run; ``ok`` or ``failed``
with an ``error`` for a reconfiguration). Keeping the process saves every run
the start of Python and the import of papermill, nbconvert and pandas. A stop
signal during a run reaches the notebook's kernel through the runner's own
handling (the chaos cell undoes its fault); the lane answers and exits.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO


def reconfigure(params: dict[str, Any]) -> None:
    """Bring a built stack's health checks and routing records to ``params``, as notebooks 04 and 05 do,
    and wait until Route 53 reports them (health checks healthy, the record change INSYNC)."""
    from helpers.clients import Clients
    from helpers.config import validate, with_backend_settings
    from helpers.domains import custom_domain_targets
    from helpers.healthchecks import create_health_checks, health_check_ids, wait_until_healthy
    from helpers.route53 import apply_routing, routing_targets

    cfg = with_backend_settings(validate(params))
    clients = Clients(cfg)
    create_health_checks(cfg, clients)
    wait_until_healthy(cfg, clients)
    apply_routing(cfg, clients, routing_targets(custom_domain_targets(cfg, clients), health_check_ids(cfg, clients)))


def _runbook(command: dict[str, Any]) -> dict[str, Any]:
    from helpers.config import ConfigError
    from helpers.runner import run

    out = Path(command["out"])
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "runner.log", "w", buffering=1) as log:
        def echo(*args: Any, **kwargs: Any) -> None:
            print(*args, **{**kwargs, "file": log})

        try:
            result = run([command["parameters_file"]], [], notebooks=command["notebooks"].split(","), out=out, echo=echo)
        except ConfigError as error:
            echo(f"runbook: {error}")
            return {"status": "failed", "error": str(error)}
    return {"status": result.status, "stopped_by": result.stopped_by}


def serve(commands: TextIO, answers: TextIO) -> int:
    """Answer commands until standard input closes (0) or a signal stops a run (128 + its number)."""
    import signal

    for line in commands:
        command = json.loads(line)
        if "runbook" in command:
            answer = _runbook(command["runbook"])
        else:
            try:
                reconfigure(command["reconfigure"])
                answer = {"status": "ok"}
            except Exception as error:  # the sweep reports it and leaves this lane's runs to the others
                answer = {"status": "failed", "error": f"{type(error).__name__}: {error}"}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
        if answer.get("stopped_by"):
            return 128 + signal.Signals[answer["stopped_by"]].value
    return 0


def main() -> int:
    answers, sys.stdout = sys.stdout, sys.stderr  # what helpers print goes to the lane's log; answers keep stdout
    try:
        return serve(sys.stdin, answers)
    except KeyboardInterrupt:  # a stop signal between two runs
        return 130


if __name__ == "__main__":
    sys.exit(main())
