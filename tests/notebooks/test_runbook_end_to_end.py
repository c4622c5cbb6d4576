"""The whole runbook, as `make runbook` runs it, with the CI parameters; and the chaos step for every fault.

These are the slowest tests (about a minute each group): they run the real
notebooks through the runner on a local cloud of their own at ci.yaml's time
scale, and assert on what the notebooks record in the run directory.
"""

from __future__ import annotations

import json
import time
import urllib.parse
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
LOCAL = ROOT / "parameters" / "local.yaml"
CI = ROOT / "parameters" / "ci.yaml"

pytestmark = pytest.mark.notebook


def _quiet(*args, **kwargs):
    pass


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
        assert metrics["detection_s"] <= metrics["dns_convergence_s"] + 0.5 / metrics["time_scale"], \
            "DNS follows the verdict, within one sampler period"
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
    impossible, _ = failover_events.order_findings(found)
    assert not impossible, [(e.name, e.earliest, e.latest) for e in found]
    for event in found:
        assert event.earliest <= event.t <= event.latest + 1e-9, event
    names = [e.name for e in found]
    assert names[0] == "fault injected" and "restore" in names
    page = (out / "06_chaos.html").read_text()
    assert "AWS seconds" in page
    if metrics["failover_expected"]:
        assert "health check unhealthy" in names and "DNS answer changed" in names, names
        assert f"sent {metrics['rto_s']} s after the fault" in page, "the story quotes this run's recovery time"
        assert f"unhealthy {metrics['detection_s']} s after the fault" in page
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
def full_run(tmp_path_factory):
    """`make runbook` with ci.yaml: 00 to 08 in one run, on its own local cloud (started and stopped by the runner)."""
    base = tmp_path_factory.mktemp("runbook")
    result = _run(base / "state", base / "report")
    return result, base / "report", base / "state"


def test_whole_runbook_passes_and_writes_the_report(full_run):
    result, out, state = full_run
    failed = [(n.name, n.error, n.failed_cell) for n in result.notebooks if n.status != "passed"]
    assert not failed, failed
    assert [n.name[:2] for n in result.notebooks] == ["00", "01", "02", "03", "04", "05", "06", "07", "08"]
    for name in ("index.html", "06_chaos.html", "chaos_timeline.csv", "chaos_metrics.json",
                 "chaos_items_by_region.png", "chaos_health_errors.png", "chaos_latency.png"):
        assert (out / name).exists(), name
    assert not daemon.status(state)["running"], "the runner stops the local cloud it started"
    index = (out / "index.html").read_text()
    assert 'id="results"' in index and "lost writes" in index, "the index shows the chaos step's headline numbers"
    assert index.index("chaos_items_by_region.png") < index.index("chaos_latency.png"), "the key plot comes first"


def test_chaos_run_shows_failover_and_failback_in_the_items(full_run):
    _, out, _ = full_run
    metrics = json.loads((out / "chaos_metrics.json").read_text())
    for key in ("fault", "faulty_region", "requests", "errors", "lost_writes", "rto_s", "expected_rto_s",
                "replication_lag_p99_ms"):
        assert key in metrics, key
    _assert_chaos_metrics(metrics, errors_expected=False)
    _assert_fault_caused_no_errors(out, metrics)
    _assert_chaos_run_directory(out, metrics)
    timeline = pd.read_csv(out / "chaos_timeline.csv")
    clock, scale = metrics["clock"], metrics["time_scale"]
    ok = timeline[timeline["status"].between(200, 299)]
    before = ok[ok["sent_at"] < clock["fault_at"]]
    rounding = 0.001 * scale  # metrics are rounded to the AWS millisecond; the last request itself is not "during"
    during = ok[(ok["sent_at"] > clock["fault_at"] + metrics["rto_s"] * scale + rounding)
                & (ok["sent_at"] < clock["restore_at"])]
    after = ok[ok["sent_at"] > clock["restore_at"] + metrics["failback_s"] * scale]
    assert set(before["served_region"]) == {"eu-west-1", "eu-central-1"}, "before the fault both regions serve"
    assert set(during["served_region"]) == {"eu-central-1"}, "during the fault only the healthy region serves"
    assert "eu-west-1" in set(after["served_region"]), "after the repair the region serves again"


def test_consistency_lab_counts_match_the_replayed_log_and_show_each_modes_cost(full_run):
    """07's counts are the replay of its logged requests; MREC loses updates and serves stale reads during the
    partition, MRSC loses nothing, serves no stale strongly consistent read and refuses the minority's writes."""
    from helpers.consistency_metrics import Op, count

    result, out, _ = full_run
    metrics = json.loads((out / "consistency_metrics.json").read_text())
    log = pd.read_csv(out / "consistency_log.csv", keep_default_na=False)
    ops = [Op(r.scenario, r.client, r.kind, r.region, r.item, r.phase, r.began, r.ended, bool(r.ok), r.error,
              r.update_id, int(r.attempt), frozenset(str(r.seen).split()), bool(r.moved)) for r in log.itertuples()]
    for recorded in metrics["scenarios"]:
        # The converged state is every acknowledged update of the scenario that the metrics do not call lost,
        # so replaying with it must reproduce the recorded count of each kind.
        mine = [op for op in ops if op.scenario == recorded["scenario"]]
        assert sum(op.ok for op in mine if op.kind == "write") == recorded["acknowledged_updates"]
        replay = count(recorded["scenario"], mine, metrics["finals"][recorded["scenario"]])
        assert replay.as_dict() == recorded, recorded["scenario"]
    scenarios = {c["scenario"]: c for c in metrics["scenarios"]}
    mrec, mrsc = scenarios["MREC"], scenarios["MRSC"]
    assert mrec["lost_by_phase"]["partition"] > 0 and mrec["stale_by_phase"]["partition"] > 0
    assert (mrsc["lost_updates"], mrsc["stale_reads"]) == (0, 0)
    assert mrsc["refused_writes_by_region"].get(metrics["partitioned_region"], 0) > 0
    index = (out / "index.html").read_text()
    assert 'id="consistency"' in index and "MRSC lost updates" in index, "the index shows the lab's headline"


def test_teardown_notebook_proved_nothing_is_left(full_run):
    result, out, _ = full_run
    assert result.notebooks[-1].status == "passed"
    page = (out / "08_teardown.html").read_text()
    assert "stack ci is gone from eu-west-1, eu-central-1" in page, "08's Verify prints this after an empty inventory"


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


@pytest.mark.parametrize(("fault", "errors_expected", "on_failure"), [
    ("lambda_throttle", True, "none"),
    ("region_outage", True, "retry"),  # the outage also exercises clients that resolve again and retry
    ("replication_pause", False, "none"),
    ("health_status", False, "none"),
])
def test_chaos_step_for_each_fault(built_stack, fault, errors_expected, on_failure):
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


@pytest.fixture(scope="module")
def browser():
    from cdp import Browser

    b = Browser(offline=True)  # the report must work offline: nothing may leave the machine
    yield b
    b.close()


@pytest.mark.browser
def test_report_renders_in_a_real_browser_with_working_links_and_plots(full_run, browser, tmp_path):
    _, out, _ = full_run
    index = (out / "index.html").resolve().as_uri()
    browser.open(index)
    assert browser.evaluate("document.getElementById('run-status').textContent") == "passed"
    links = browser.evaluate("Array.from(document.querySelectorAll('a')).map(a => a.href)")
    local = [link for link in links if link.startswith("file://")]
    assert any(link.endswith("06_chaos.html") for link in local)
    for link in local:
        assert Path(urllib.parse.unquote(link[len("file://"):])).exists(), f"broken link {link}"
    thumbnails = browser.evaluate("Array.from(document.images).map(i => [i.src.split('/').pop(), i.naturalWidth])")
    assert thumbnails and all(width > 0 for _, width in thumbnails), thumbnails

    browser.evaluate("document.querySelector('a[href=\"06_chaos.html\"]').click()")  # follow the link as a reader would
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if browser.evaluate("location.href.endsWith('06_chaos.html') && document.readyState === 'complete'"):
                break
        except RuntimeError:  # the old page's context went away mid-navigation
            pass
        time.sleep(0.05)
    assert browser.evaluate("location.href").endswith("06_chaos.html")
    images = browser.evaluate(
        "Array.from(document.querySelectorAll('.jp-OutputArea-output img')).map(i => [i.naturalWidth, i.naturalHeight])")
    assert len(images) >= 3, "the chaos page shows its three plots"
    assert all(w > 300 and h > 150 for w, h in images), images
    nav = browser.evaluate("Array.from(document.querySelectorAll('nav.runbook-nav a')).map(a => a.getAttribute('href'))")
    assert nav[:1] == ["index.html"] and "05_routing.html" in nav and "07_consistency.html" in nav
    browser.screenshot(tmp_path / "chaos.png")


@pytest.mark.browser
def test_every_report_page_works_offline(full_run, browser):
    """Every page with the network blocked: each image renders and no request leaves the machine."""
    result, out, _ = full_run
    pages = sorted(out.glob("*.html"))
    assert len(pages) == len(result.notebooks) + 1, [p.name for p in pages]  # and the index
    for page in pages:
        browser.open(page.resolve().as_uri())
        images = browser.evaluate("Array.from(document.images).map(i => [i.alt || i.src.slice(0, 30), i.naturalWidth])")
        assert all(width > 0 for _, width in images), (page.name, images)
        assert browser.evaluate("document.querySelectorAll('[data-jp-widget], .jupyter-widgets').length") == 0, page.name
        if page.name != "index.html":
            assert browser.evaluate("document.querySelectorAll('#run-parameters').length") == 1, page.name
            assert "Dry run report" not in browser.evaluate("document.body.innerText"), page.name
    outside = [url for url in browser.requested_urls() if not url.startswith(("file://", "data:"))]
    assert not outside, f"requests that would leave the machine: {sorted(set(outside))}"
    assert "Passed unknown parameter" not in (out / "kernels.log").read_text()
