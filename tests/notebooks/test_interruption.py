"""Whatever stops a run, the fault it injected is undone, the cloud it started is stopped, the report says what ran.

Signals to the runner are tested with small fixture notebooks (a notebook that
waits in a ``try``/``finally``), a held fault with a process that holds one on
a stand-in stack and is signalled or killed, and a build that failed half-way
with the teardown after it. A signal during the whole chaos step is tested in
``test_chaos_faults.py``, on the stack its faults run on.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import textwrap
import threading
import uuid
from pathlib import Path

import pytest

from conftest import eventually, make_config
from helpers import faults, preflight, teardown
from helpers.clients import Clients
from helpers.config import validate, with_backend_settings
from helpers.healthchecks import create_health_checks, delete_health_checks, wait_until_healthy
from helpers.lambdas import set_function_environment
from helpers.runner import run
from helpers.teardown import inventory
from localcloud import daemon
from stand_in import create_stand_in_functions, deploy_stand_in_backend
from runbook_runs import LOCAL, PYTHON, ROOT, _alive, _environment_of, _wait_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# The runner's CLI on a fixture notebook directory (the CLI itself always runs notebooks/).
RUNNER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from helpers import runner
    runner.NOTEBOOKS_DIR = Path(sys.argv[1])
    sys.exit(runner.main(sys.argv[2:]))
""")


def _quiet(*args, **kwargs):
    pass


def _listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


# ---------------------------------------------------------------- the runner
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_stop_signal_interrupts_the_kernel_stops_the_cloud_and_writes_the_report(tmp_path, signum):
    state, out = tmp_path / "state", tmp_path / "report"
    runner = subprocess.Popen(
        [str(PYTHON), "-c", RUNNER, str(FIXTURES / "notebooks_interrupt"), "run", "-p", "time_scale", "0.05",
         "-p", "localcloud_state_dir", str(state), "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(out / "kernel.pid", runner)  # 01_waits is running: its kernel wrote its PID
        cloud = daemon.status(state)
        assert cloud["running"], "the runner started a local cloud for the run"
        kernel = int((out / "kernel.pid").read_text())
        runner.send_signal(signum)
        output, _ = runner.communicate(timeout=90)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 128 + signum, output
    assert (out / "cleanup_ran").exists(), "the interrupted cell's finally block ran"
    assert not _alive(kernel), "the kernel is gone"

    report = json.loads((out / "run.json").read_text())
    assert report["status"] == "interrupted" and report["stopped_by"] == signal.Signals(signum).name
    assert [(n["name"], n["status"]) for n in report["notebooks"]] == [
        ("00_first", "passed"), ("01_waits", "interrupted"), ("02_never", "not run")]
    index = (out / "index.html").read_text()
    assert 'id="run-status">interrupted' in index
    assert f"interrupted by {signal.Signals(signum).name}" in index and "02_never" in index

    assert not daemon.status(state)["running"], "the runner stopped the local cloud it started"
    with pytest.raises(ProcessLookupError):  # the server's process group: its Lambda workers included
        os.killpg(cloud["pid"], 0)
    endpoint_port = int(cloud["aws_endpoint"].rsplit(":", 1)[1])
    dns_host, dns_port = cloud["dns"].rsplit(":", 1)
    assert not _listening("127.0.0.1", endpoint_port), "nothing listens on the control plane's port"
    assert not _listening("127.10.0.1", cloud["api_port"]), "nothing listens on a gateway's port"
    assert not _listening(dns_host, int(dns_port)), "nothing listens on the DNS server's (TCP) port"


def test_a_killed_local_cloud_is_reported_and_the_next_run_starts_a_new_one(tmp_path):
    state, first_out, second_out = tmp_path / "state", tmp_path / "first", tmp_path / "second"
    params = [("localcloud_state_dir", json.dumps(str(state))), ("time_scale", "0.05")]

    def kill_the_cloud_when_ready():
        _wait_for(first_out / "ready")
        os.killpg(daemon.status(state)["pid"], signal.SIGKILL)  # as a crash or the OOM killer would
        eventually(lambda: not daemon.status(state)["running"])
        (first_out / "go").write_text("")

    killer = threading.Thread(target=kill_the_cloud_when_ready, daemon=True)
    killer.start()
    first = run([], params, out=first_out, notebooks_dir=FIXTURES / "notebooks_cloud", echo=_quiet)
    killer.join(5)
    assert [n.status for n in first.notebooks] == ["failed"]
    error = first.notebooks[0].error
    assert "EndpointConnectionError" in error and "is not running any more" in error, error
    assert str(state) in error and "the next run starts a new one" in error

    second_out.mkdir()
    (second_out / "go").write_text("")  # this time the notebook does not wait
    second = run([], params, out=second_out, notebooks_dir=FIXTURES / "notebooks_cloud", echo=_quiet)
    assert second.ok, [(n.name, n.error) for n in second.notebooks]
    assert "the local cloud answered" in (second_out / "00_calls.html").read_text()
    assert not daemon.status(state)["running"]


# ------------------------------------------------------- a failed build, then the teardown
@pytest.mark.notebook
def test_teardown_after_a_failed_run_leaves_nothing(tmp_path, localcloud_status):
    """A half-built stack (00-02 ran, then 03 failed: the hosted zone it needs does not exist); 08 removes it all."""
    stack = {"stack_name": "halfbuilt", "table_name": "HalfBuilt", "time_scale": localcloud_status["time_scale"],
             "localcloud_state_dir": localcloud_status["state_dir"], "create_hosted_zone": False,
             "hosted_zone": "missing.test", "domain_name": "api.missing.test"}
    params = [(k, json.dumps(v)) for k, v in stack.items()]
    built = run([LOCAL], params + [("create_hosted_zone", "true")], notebooks=["01", "02"], out=tmp_path / "built",
                echo=_quiet)
    assert built.ok, [(n.name, n.error) for n in built.notebooks]
    failing = run([LOCAL], params, notebooks=["03"], out=tmp_path / "failed", echo=_quiet)
    assert [n.status for n in failing.notebooks] == ["failed"]
    assert "missing.test" in failing.notebooks[0].error
    cfg = with_backend_settings(validate(stack), localcloud_status)
    assert not inventory(cfg, Clients(cfg)).empty, "the failed run left resources behind"
    torn_down = run([LOCAL], params, notebooks=["08"], out=tmp_path / "teardown", echo=_quiet)
    assert torn_down.ok, [(n.name, n.error) for n in torn_down.notebooks]
    assert inventory(cfg, Clients(cfg)).empty


# ------------------------------------------------------- a fault held and undone
# A process holding the chaos step's fault, as a kernel running 06 does.
HOLDER = textwrap.dedent("""
    import json, sys, time
    from helpers import faults
    from helpers.clients import Clients
    from helpers.config import config_for_local_cloud
    cfg = config_for_local_cloud(json.loads(sys.argv[1]), **json.loads(sys.argv[2]))
    with faults.injected_fault(cfg, Clients(cfg)):
        print("held", flush=True)
        time.sleep(600)
""")


@pytest.fixture(scope="module")
def stack(localcloud_status):
    """A stand-in backend with a healthy health check per region, on the session's local cloud."""
    unique = uuid.uuid4().hex[:8]
    params = {"stack_name": f"t{unique}", "table_name": f"table-{unique}", "fault": "health_status",
              "faulty_region": "eu-west-1"}
    cfg = make_config(localcloud_status, **params)
    clients = Clients(cfg)
    deploy_stand_in_backend(cfg, clients)
    create_health_checks(cfg, clients)
    wait_until_healthy(cfg, clients)
    yield cfg, clients, params
    faults.fault_record_path(cfg).unlink(missing_ok=True)
    delete_health_checks(cfg, clients)


def _hold_fault(localcloud_status, params) -> subprocess.Popen:
    holder = subprocess.Popen([str(PYTHON), "-c", HOLDER, json.dumps(localcloud_status), json.dumps(params)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = holder.stdout.readline()
    assert line.strip() == "held", holder.stderr.read() if holder.poll() is not None else line
    return holder


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_the_process_holding_a_fault_undoes_it(stack, localcloud_status, signum):
    cfg, clients, params = stack
    holder = _hold_fault(localcloud_status, params)
    assert _environment_of(clients, cfg, "eu-west-1").get("STATUS") == "404"
    assert faults.read_fault_record(cfg) is not None, "the fault is recorded while it is held"
    holder.send_signal(signum)
    holder.communicate(timeout=30)
    assert holder.returncode != 0
    assert "STATUS" not in _environment_of(clients, cfg, "eu-west-1"), "the fault was undone on the way out"
    assert faults.read_fault_record(cfg) is None, "and its record deleted"


def test_a_fault_left_by_a_killed_process_is_undone_by_the_next_chaos_runs_preflight(stack, localcloud_status):
    cfg, clients, params = stack
    holder = _hold_fault(localcloud_status, params)
    holder.kill()  # SIGKILL: nothing in the process runs, as when a kernel is killed
    holder.communicate(timeout=30)
    assert _environment_of(clients, cfg, "eu-west-1").get("STATUS") == "404", "the fault outlived its process"
    left = faults.read_fault_record(cfg)
    assert (left.fault, left.region) == ("health_status", "eu-west-1")

    ready = preflight.check_regions_ready(cfg, clients)

    assert "STATUS" not in _environment_of(clients, cfg, "eu-west-1")
    assert faults.read_fault_record(cfg) is None
    assert ready["ready"].all() and set(ready.index) == set(cfg.regions)
    assert (ready["leftover_fault_undone"] == "undid health_status in eu-west-1, left by an interrupted run").all()


def test_preflight_refuses_and_names_an_unhealthy_region(stack):
    cfg, clients, _ = stack
    set_function_environment(cfg, clients, "eu-west-1", "health", STATUS="503")  # broken by hand, no record
    try:
        assert eventually(lambda: "eu-west-1" in preflight.region_problems(cfg, clients)
                          and "unhealthy" in preflight.region_problems(cfg, clients)["eu-west-1"])
        with pytest.raises(preflight.RegionNotReady) as refused:
            preflight.check_regions_ready(cfg, clients, timeout=1.0)
    finally:
        set_function_environment(cfg, clients, "eu-west-1", "health", STATUS=None)
    message = str(refused.value)
    assert "did not start (nothing was injected)" in message
    assert "- eu-west-1: health check" in message and "is unhealthy" in message
    assert "/health answers HTTP 503" in message
    assert "eu-central-1" not in message, "only the region that is not ready is named"


def test_teardown_undoes_a_leftover_fault_before_deleting_anything(cfg, clients):
    create_stand_in_functions(cfg, clients)
    left = faults.inject(cfg, clients)  # as a killed kernel leaves it: injected, recorded, never undone
    faults._write_record(cfg, left)
    assert _environment_of(clients, cfg, cfg.faulty_region).get("STATUS") == "404"
    try:
        steps = teardown.teardown(cfg, clients)
    finally:
        clients.client("iam").delete_role(RoleName=cfg.resource_name("test-role"))
    assert steps.iloc[0].to_dict() == {"step": "leftover fault", "region": cfg.faulty_region, "ok": True,
                                       "detail": "undid health_status"}, "the first step, before any deletion"
    assert steps["ok"].all(), steps.to_dict("records")
    assert faults.read_fault_record(cfg) is None
