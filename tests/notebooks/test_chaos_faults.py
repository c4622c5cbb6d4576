"""The chaos step for every fault, on one stack built by 00-05; its live view as JupyterLab shows it; and a stop
signal in the middle of it."""

from __future__ import annotations

import base64
import io
import json
import signal
import subprocess
import time

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from nbclient import NotebookClient
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from conftest import eventually
from helpers import faults
from helpers.clients import Clients
from helpers.colours import region_colours
from localcloud import daemon
from runbook_runs import (CI, LOCAL, PYTHON, ROOT, _alive, _assert_chaos_metrics,  # noqa: F401 (built_stack)
                          _assert_chaos_run_directory, _assert_fault_caused_no_errors, _cfg, _children,
                          _environment_of, _quiet, _run, _wait_for, built_stack)

pytestmark = pytest.mark.notebook


@pytest.mark.parametrize(("fault", "errors_expected", "on_failure"), [
    ("lambda_throttle", True, "none"),
    ("region_outage", True, "retry"),  # the outage also exercises clients that resolve again and retry
    ("replication_pause", False, "none"),
    ("health_status", False, "none"),
])
def test_chaos_step_for_each_fault(built_stack, fault, errors_expected, on_failure):  # noqa: F811 (a fixture)
    state, base = built_stack
    out = base / fault
    result = _run(state, out, notebooks=["06"], routing_policy="failover", fault=fault, client_on_failure=on_failure)
    assert result.ok, [(n.name, n.error, n.failed_cell) for n in result.notebooks]
    metrics = json.loads((out / "chaos_metrics.json").read_text())
    assert metrics["fault"] == fault
    _assert_chaos_metrics(metrics, errors_expected=errors_expected)
    if not errors_expected:
        _assert_fault_caused_no_errors(out, metrics)
    _assert_chaos_run_directory(out, metrics)
    if on_failure == "retry":
        timeline = pd.read_csv(out / "chaos_timeline.csv", keep_default_na=False)
        retried = timeline[timeline["retried_from"] == metrics["faulty_region"]]
        assert len(retried) > 0, "a client whose request failed resolved again and retried it"
        page = (out / "06_chaos.html").read_text()
        assert f"{len(retried)} requests were retried after a failure" in page
    if fault == "replication_pause":
        hold_ms = 1000 * 80  # ci.yaml's hold_s, in AWS milliseconds
        assert metrics["replication_lag_max_ms"] > 0.5 * hold_ms, "writes queued while replication was paused"


class _IOPubRecorder(NotebookClient):
    """nbclient as JupyterLab's front end sees the kernel: every IOPub message, with the time it arrived."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.messages: list[tuple[float, dict]] = []

    def process_message(self, msg, cell, cell_index):
        self.messages.append((time.time(), msg))
        return super().process_message(msg, cell, cell_index)


def _bar_share(png: bytes, colour: str) -> float:
    """The share of the live picture's top panel (requests by serving region: its upper 45%) drawn in ``colour``.

    The health and DNS panels below draw each region's line in the same colour; only bars fill the top one.
    """
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3]
    top = pixels[: int(0.45 * len(pixels))]
    return float((np.abs(top - np.array(to_rgb(colour))).max(axis=-1) < 0.02).mean())


@pytest.mark.timeout(600)
def test_the_live_view_redraws_from_the_growing_records_while_the_load_runs(built_stack, tmp_path, monkeypatch):  # noqa: F811
    """06 in a kernel as JupyterLab runs it (no report-run settings): the live picture is one display that the
    experiment replaces again and again during the load, each time with more requests drawn."""
    state, _ = built_stack
    monkeypatch.delenv("TQDM_DISABLE", raising=False)  # what a report run sets; JupyterLab does not
    cfg = _cfg(state, routing_policy="failover", steady_s=40.0, hold_s=60.0, recovery_s=40.0, run_dir=str(tmp_path))
    nb = parameterize_notebook(load_notebook_node(str(ROOT / "notebooks" / "06_chaos.ipynb")), cfg.public_params())
    experiment = next(i for i, cell in enumerate(nb.cells) if "chaos.run_experiment" in cell.source)
    nb.cells = nb.cells[:experiment + 1]  # up to the experiment: the rest is the report's, tested above
    client = _IOPubRecorder(nb, kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()
    shown = [(t, m) for t, m in client.messages if m["msg_type"] == "display_data"
             and "the live view starts" in m["content"]["data"].get("text/plain", "")]
    assert len(shown) == 1, "one live display, made before the load starts"
    display_id = shown[0][1]["content"]["transient"]["display_id"]
    updates = [(t, m["content"]["data"]) for t, m in client.messages
               if m["msg_type"] == "update_display_data" and m["content"]["transient"]["display_id"] == display_id]
    pictures = [(t, data["image/png"]) for t, data in updates if "image/png" in data]
    load_s = cfg.scaled(cfg.steady_s + cfg.hold_s + cfg.recovery_s)
    assert len(pictures) >= 0.5 * load_s, f"about one redraw a second over {load_s:.1f} s of load: {len(pictures)}"
    assert pictures[-1][0] - pictures[0][0] >= 0.6 * load_s, "the redraws are spread over the load, not bunched"
    assert len({png for _, png in pictures}) == len(pictures), "every redraw shows a different picture"
    first, last = (base64.b64decode(png) for png in (pictures[0][1], pictures[-1][1]))
    colours = region_colours(cfg.regions)
    for region in cfg.regions:
        # any bar at all: how many requests the secondary serves depends on how soon the failover came
        assert _bar_share(last, colours[region]) > 0.001, f"the last picture has bars of the requests {region} served"
    assert sum(_bar_share(first, c) for c in colours.values()) < sum(_bar_share(last, c) for c in colours.values()), \
        "the bars of served requests grow as the load goes on"
    assert "live view ended" in updates[-1][1].get("text/plain", ""), "the view replaces itself with one line at the end"


# ------------------------------------------------------ a signal during the chaos step
def test_sigterm_during_the_chaos_step_leaves_no_fault_no_kernel_and_a_report(built_stack):  # noqa: F811 (a fixture)
    state, base = built_stack
    out = base / "interrupted"
    cfg = _cfg(state, routing_policy="failover")
    clients = Clients(cfg)
    record = faults.fault_record_path(cfg)
    runner = subprocess.Popen(
        [str(PYTHON), "-m", "helpers.runner", "run", "-f", str(LOCAL), "-f", str(CI), "-p", "routing_policy", "failover",
         "-p", "localcloud_state_dir", str(state), "--notebooks", "06", "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(record, runner, timeout=180)  # written just before the fault is injected
        assert eventually(lambda: _environment_of(clients, cfg, cfg.faulty_region).get("STATUS") == "404")
        kernels = _children(runner.pid)
        assert kernels, "the kernel runs as the runner's child"
        runner.send_signal(signal.SIGTERM)
        output, _ = runner.communicate(timeout=120)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 128 + signal.SIGTERM, output
    assert not record.exists(), "the fault was undone, so its record is gone"
    for region in cfg.regions:
        assert "STATUS" not in _environment_of(clients, cfg, region)
        for function in ("health", "post-item", "get-item"):
            concurrency = clients.client("lambda", region).get_function_concurrency(FunctionName=cfg.resource_name(function))
            assert "ReservedConcurrentExecutions" not in concurrency, (region, function)
        running = [e for e in clients.client("fis", region).list_experiments().get("experiments", [])
                   if e["state"]["status"] in ("pending", "initiating", "running")]
        assert not running, running
    assert not [pid for pid in kernels if _alive(pid)], "no kernel is left"
    report = json.loads((out / "run.json").read_text())
    assert [(n["name"], n["status"]) for n in report["notebooks"]] == [("06_chaos", "interrupted")]
    assert 'id="run-status">interrupted' in (out / "index.html").read_text()
    assert daemon.status(state)["running"], "a local cloud the run did not start is left running"

