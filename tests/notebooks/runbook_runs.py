"""What the end-to-end tests share: running notebooks through the runner with the CI parameters, the
assertions every chaos run must pass, a stack built once by 00-05 for the chaos tests, and waiting on the
processes a run starts."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from helpers import failover_events
from helpers.clients import Clients
from helpers.config import validate, with_backend_settings
from helpers.fault_kinds import fault_kind
from helpers.runner import load_parameters, run
from helpers.teardown import inventory
from localcloud import daemon

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
LOCAL = ROOT / "parameters" / "local.yaml"
CI = ROOT / "parameters" / "ci.yaml"


def _quiet(*args, **kwargs):
    pass


def _wait_for(path: Path, process: subprocess.Popen | None = None, timeout: float = 120.0) -> None:
    """Until ``path`` exists (while ``process``, if given, is still running)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process is None or process.poll() is None, f"the process ended before {path.name} appeared"
        assert time.monotonic() < deadline, f"{path} did not appear within {timeout:.0f} s"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _children(pid: int) -> list[int]:
    listed = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in listed.split()]


def _environment_of(clients, cfg, region: str, function: str = "health") -> dict[str, str]:
    configuration = clients.client("lambda", region).get_function_configuration(FunctionName=cfg.resource_name(function))
    return (configuration.get("Environment") or {}).get("Variables", {})


def _cfg(state_dir, **overrides):
    params = load_parameters([LOCAL, CI], [])
    params.update(localcloud_state_dir=str(state_dir), **overrides)
    return with_backend_settings(validate(params))


def _run(state_dir, out, notebooks=None, **overrides):
    extra = [(k, json.dumps(v)) for k, v in {"localcloud_state_dir": str(state_dir), **overrides}.items()]
    return run([LOCAL, CI], extra, notebooks=notebooks, out=out, echo=_quiet)


def _assert_chaos_metrics(metrics: dict, *, errors_expected: bool):
    assert metrics["lost_writes"] == 0
    assert metrics["replicas_identical"]
    assert metrics["requests"] > 50
    if metrics["failover_expected"]:
        # Route 53's worst case: threshold x interval + TTL (AWS seconds); the band allows for a busy machine.
        assert metrics["rto_s"] <= 1.5 * metrics["expected_rto_s"] + 10, metrics
        assert metrics["detection_s"] is not None
        assert metrics["detection_s"] <= metrics["dns_convergence_s"] + 1e-3, \
            "DNS follows the verdict: its sampling interval starts no earlier (failover_events)"
    if errors_expected:
        assert metrics["errors"] > 0, "this fault breaks the API: clients must see errors until DNS moves"


def _assert_fault_caused_no_errors(out: Path, metrics: dict):
    """No request sent after the fault failed (a cold start's timeout before it, on a busy machine, is not the fault's)."""
    timeline = pd.read_csv(out / "chaos_timeline.csv")
    after = timeline[timeline["sent_at"] >= metrics["clock"]["fault_started_at"]]
    failed = after[~after["status"].between(200, 299)]
    assert failed.empty, f"this fault must not cause client errors:\n{failed[['sent_at', 'resolved_region', 'error']]}"


def _assert_chaos_run_directory(out: Path, metrics: dict):
    """What every fault's run must show: one resolution per request, causal events, its own story."""
    timeline = pd.read_csv(out / "chaos_timeline.csv")
    ok = timeline[timeline["status"].between(200, 299)]
    assert len(ok) > 0
    assert (ok["resolved_region"] == ok["served_region"]).all(), \
        ok[ok["resolved_region"] != ok["served_region"]][["sent_at", "address", "resolved_region", "served_region"]]
    tl = failover_events.Timeline.from_dir(out)
    found = failover_events.events(tl)
    impossible, _ = failover_events.order_findings(found, tl.time_scale)
    assert not impossible, [(e.name, e.earliest, e.latest) for e in found]
    for event in found:
        assert event.earliest <= event.t <= event.latest + 1e-9, event
    names = [e.name for e in found]
    assert names[0] == "fault injected" and "restore" in names
    page = (out / "06_chaos.html").read_text()
    assert "AWS seconds" in page
    if metrics["failover_expected"]:
        assert "health check unhealthy" in names and "DNS answer changed" in names, names
        assert f"sent {metrics['rto_s']:.1f} s after the fault" in page, "the story quotes this run's recovery time"
        assert f"unhealthy {metrics['detection_s']:.1f} s after the fault" in page
        low, high = metrics["bounds_s"]["dns_convergence_s"]
        assert low <= metrics["dns_convergence_s"] <= high, "DNS convergence is the middle of its sampling interval"
        assert metrics["predicted"]["recovery_time_s"]["median"] > 0
    else:
        assert metrics["rto_s"] is None and metrics["expected_rto_s"] is None
        assert failover_events.NO_FAILOVER in page, "no recovery-time number where no failover is expected"
        assert "healthy again" not in names, "no 'healthy again' for a region that was never unhealthy"
        assert (out / "chaos_replication_lag.png").stat().st_size > 10_000, "the pause has its lag-over-time plot"
        backlog = metrics["replication_backlog"]
        assert backlog["queued"] > 0 and f"{backlog['queued']} lag probes queued" in page
    if fault_kind(metrics["fault"]).requests_fail:
        assert f"{metrics['errors']} of {metrics['requests']} requests failed" in page, "the story counts the errors"


@pytest.fixture(scope="module")
def built_stack(tmp_path_factory):
    """A stack built by notebooks 00-05 with failover routing (the faulty region is the primary), torn down after."""
    base = tmp_path_factory.mktemp("faults")
    state = base / "state"
    daemon.start(state, time_scale=0.05)
    try:
        result = _run(state, base / "build", notebooks=["00", "01", "02", "03", "04", "05"], routing_policy="failover")
        assert result.ok, [(n.name, n.error) for n in result.notebooks]
        yield state, base
        teardown = _run(state, base / "teardown", notebooks=["08"], routing_policy="failover")
        assert teardown.ok, [(n.name, n.error) for n in teardown.notebooks]
        cfg = _cfg(state, routing_policy="failover")
        assert inventory(cfg, Clients(cfg)).empty
    finally:
        daemon.stop(state)
