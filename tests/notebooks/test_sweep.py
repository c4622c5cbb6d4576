"""A real sweep on the local cloud: interrupted, torn down, resumed where it stopped, and nothing left after."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from helpers.clients import Clients
from helpers.fault_kinds import fault_kind
from helpers.lambdas import function_name
from helpers.teardown import inventory
from localcloud import daemon
from runbook_runs import CI, LOCAL, _cfg

ROOT = Path(__file__).resolve().parents[2]
STACK = "swt"


def _sweep(*args: str) -> list[str]:
    return [sys.executable, "-m", "helpers.runner", "sweep", *args]


def _status(run_dir: Path) -> str | None:
    try:
        return json.loads((run_dir / "run.json").read_text())["status"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return None


def _left(state: Path) -> list[str]:
    cfg = _cfg(state, stack_name=STACK)
    return inventory(cfg, Clients(cfg))["resource"].tolist()


def test_a_sweep_interrupted_mid_run_undoes_its_fault_and_its_teardown_leaves_nothing(tmp_path):
    """Resume's choice of what to run again is tested on real run directories (tests/helpers/test_sweep_grid.py);
    here the real thing: a signal while a chaos run holds its fault, the stack kept for --resume, then --teardown."""
    state, out = tmp_path / "state", tmp_path / "sweep"
    daemon.start(state, time_scale=0.05)
    try:
        command = _sweep("-f", str(LOCAL), "-f", str(CI), "-p", "localcloud_state_dir", str(state),
                         "-p", "stack_name", STACK, "-p", "steady_s", "10", "-p", "hold_s", "200", "-p", "recovery_s", "10",
                         "--phases", "given", "--grid", "fault=health_status", "--repeat", "2", "--lanes", "1",
                         "--out", str(out))
        first = out / "runs" / "health_status" / "r1"
        fault_held = _fault_probe(state)
        sweep = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 240
        while not fault_held():
            assert sweep.poll() is None, f"the sweep ended early:\n{sweep.stdout.read()}"
            assert time.monotonic() < deadline, "the first run did not inject its fault in time"
            time.sleep(0.1)
        sweep.send_signal(signal.SIGINT)
        output = sweep.communicate(timeout=120)[0]
        assert sweep.returncode == 128 + signal.SIGINT, output
        assert "resume with `runbook sweep --resume" in output and "--teardown" in output
        assert _status(first) == "interrupted"
        assert not fault_held(), "the interrupted run undid its fault"
        assert (out / "index.html").exists(), "the page is written with what finished"
        assert _left(state), "an interrupted sweep keeps its stack for --resume"

        teardown = subprocess.run(_sweep("--teardown", str(out)), cwd=ROOT, capture_output=True, text=True, timeout=180)
        assert teardown.returncode == 0, teardown.stdout + teardown.stderr
        assert _left(state) == [], "the teardown of an interrupted sweep leaves nothing"
    finally:
        daemon.stop(state)


def _fault_probe(state: Path) -> Callable[[], bool]:
    """Whether the first region's function carries the health_status fault's environment (``helpers.fault_kinds``),
    asked with one client: a new boto3 session per poll would cost more CPU than the sweep it waits for."""
    operation = fault_kind("health_status").operation
    cfg = _cfg(state, stack_name=STACK)
    client, name = Clients(cfg).client("lambda", cfg.regions[0]), function_name(cfg, operation.function)

    def held() -> bool:
        try:
            environment = client.get_function_configuration(FunctionName=name).get("Environment", {}).get("Variables", {})
        except client.exceptions.ResourceNotFoundException:  # not built yet
            return False
        return all(environment.get(k) == v for k, v in operation.variables.items())
    return held
