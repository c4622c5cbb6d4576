"""The chaos step for every fault, on one stack built by 00-05; and a teardown after a failed run."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from helpers.clients import Clients
from helpers.config import validate, with_backend_settings
from helpers.runner import run
from helpers.teardown import inventory
from runbook_runs import (LOCAL, _assert_chaos_metrics, _assert_chaos_run_directory,  # noqa: F401 (built_stack)
                          _assert_fault_caused_no_errors, _quiet, _run, built_stack)

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
    teardown = run([LOCAL], params, notebooks=["08"], out=tmp_path / "teardown", echo=_quiet)
    assert teardown.ok, [(n.name, n.error) for n in teardown.notebooks]
    assert inventory(cfg, Clients(cfg)).empty
