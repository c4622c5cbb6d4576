"""The whole runbook, as `make runbook` runs it, with the CI parameters, and its report in a browser.

The slowest tests: they run the real notebooks through the runner on a local cloud of their own at
ci.yaml's time scale, and assert on what the notebooks record in the run directory.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from pathlib import Path

import pandas as pd
import pytest

from localcloud import daemon
from runbook_runs import (_assert_chaos_metrics, _assert_chaos_run_directory, _assert_fault_caused_no_errors,
                          _run)

pytestmark = pytest.mark.notebook


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
    shown = {page: (out / page).read_text().count('src="data:image/png') for page in ("06_chaos.html", "07_consistency.html")}
    assert shown["06_chaos.html"] >= 3 and shown["07_consistency.html"] == 2, \
        f"each notebook's page shows its plots, not only the files it saves: {shown}"
    cut = {page.name: re.findall(r"<td>([^<]*\.\.\.)</td>", page.read_text()) for page in out.glob("0*.html")}
    assert not any(cut.values()), f"tables show their text whole: {cut}"


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
