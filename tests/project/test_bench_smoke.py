"""The benchmark plumbing works: the committed results have every figure the goals need, and render.

No timing is asserted here: the figures themselves live in bench/results.json
and the table of docs/benchmarks.md (``make bench``).
"""

from __future__ import annotations

import json
import threading
import time
import numbers
from pathlib import Path

import pytest

from bench import __main__ as bench_main
from bench import common, failover, soak

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results.json"
REQUIRED = ("runbook_s", "api_post_rps", "api_get_rps", "moto_put_rps", "moto_get_rps", "replication_lag_p50_ms",
            "replication_lag_p99_ms", "replication_delay_ms", "failover_detection_s", "failover_expected_s",
            "localcloud_start_s", "localcloud_peak_rss_mb", "soak_load_growth_mb_per_h", "soak_idle_growth_mb_per_h")


@pytest.fixture(scope="module")
def results() -> dict:
    return json.loads(RESULTS.read_text())


def test_committed_results_have_every_figure_of_the_issue_as_a_number(results):
    missing = [k for k in REQUIRED if not isinstance(results.get(k), numbers.Real)]
    assert not missing, f"bench/results.json lacks {missing}: run `make bench`"
    assert not results["errors"], f"the committed run had failing benchmarks: {results['errors']}"


def test_committed_results_hold_per_notebook_times_both_concurrencies_and_both_time_scales(results):
    assert set(results["notebook_s"]) >= {"00_setup", "06_chaos"}
    assert any(name.endswith("_teardown") for name in results["notebook_s"]), "the teardown notebook's time"
    for name in ("api_post", "api_get", "moto_put", "moto_get"):
        for c in (1, 8):
            assert isinstance(results[f"{name}_rps_c{c}"], numbers.Real)
    assert set(results["details"]["failover"]) == set(failover.CONFIGS)
    for key in ("cores", "python", "moto", "timestamp"):
        assert results["machine"][key]


def test_every_goal_row_has_value_baseline_ratio_goal_and_verdict(results):
    for row in results["goals"]:
        assert set(row) >= {"figure", "value", "baseline", "ratio", "goal", "met"}
        if row["ratio"] is not None:
            assert row["ratio"] == pytest.approx(row["value"] / row["baseline"], abs=0.01)


def test_tables_render_every_goal_row_as_text_and_markdown(results):
    text = bench_main.table(results)
    markdown = bench_main.table(results, markdown=True)
    for row in results["goals"]:
        assert row["figure"] in text and row["figure"] in markdown
    assert markdown.startswith("| figure |")


def test_goals_judge_figures_against_their_baselines():
    doc = {"runbook_s": 50.0, "replication_delay_ms": 50.0, "replication_lag_p99_ms": 160.0,
           "api_post_rps_c1": 60.0, "moto_put_rps_c1": 100.0, "localcloud_start_s": 2.5,
           "details": {"failover": {
               "default": {"threshold": 1, "ttl_s": 10, "trials": 5, "detection_s": 8.5, "model_detection_s": 8.1,
                           "convergence_s": 14.0, "model_convergence_s": 14.5, "worst_case_s": 20.0},
               "threshold 3": {"threshold": 3, "ttl_s": 10, "trials": 5, "detection_s": 20.0,
                               "model_detection_s": 28.1, "convergence_s": 40.0, "model_convergence_s": 34.4}}}}
    rows = {r["figure"]: r for r in bench_main.goals(doc)}
    assert rows["whole runbook, local cloud (s)"]["met"] is True
    assert rows["API POST /item, 1 client (req/s)"]["ratio"] == 0.6
    assert rows["API POST /item, 1 client (req/s)"]["met"] is True
    assert rows["replication lag p99 (ms)"]["met"] is False
    # detection and convergence are judged against the recovery model's medians, not threshold x interval + TTL
    default = "failover default: {}, median (threshold 1, TTL 10 s, 5 trials) (AWS s)"
    assert rows[default.format("fault to unhealthy")]["baseline"] == 8.1
    assert rows[default.format("fault to unhealthy")]["met"] is True  # 5% off: within 10%
    assert rows[default.format("fault to last request to the failed region")]["met"] is True
    slow = "failover threshold 3: {}, median (threshold 3, TTL 10 s, 5 trials) (AWS s)"
    assert rows[slow.format("fault to unhealthy")]["met"] is False
    assert rows[slow.format("fault to last request to the failed region")]["met"] is False  # 16% off: beyond 15%
    assert rows["local cloud start to ready, median (s)"]["met"] is False


def test_percentile_interpolates_like_numpy():
    assert common.percentile([1, 2, 3, 4], 0.5) == 2.5
    assert common.percentile([5.0], 0.99) == 5.0
    assert common.percentile([], 0.5) is None


def test_measure_interleaved_alternates_slices_and_pools_each_calls_stretches():
    order: list[str] = []
    lock = threading.Lock()  # two workers of one slice start together

    def call(name: str, fail_every: int = 0):
        def run(worker: int, n: int) -> None:
            with lock:
                if not order or order[-1] != name:
                    order.append(name)
            time.sleep(0.002)
            if fail_every and n % fail_every == 0:
                raise RuntimeError("refused")
        return run

    measured = common.measure_interleaved({"a": call("a"), "b": call("b", fail_every=2)}, clients=2, seconds=0.3, rounds=3)
    assert order == ["a", "b"] * 3, "each round runs every call once, in order"
    assert set(measured) == {"a", "b"}
    assert 0 < measured["a"]["requests"] <= 0.3 / 0.002 * 2
    assert measured["b"]["errors"] > 0, "a failed call is counted as an error"
    assert measured["b"]["requests"] < measured["a"]["requests"], "failed calls are not requests"
    assert measured["a"]["rps"] == pytest.approx(measured["a"]["requests"] / 0.3, rel=0.25)


def test_committed_verdicts_are_what_the_code_computes_from_the_committed_figures(results):
    assert bench_main.goals(results) == results["goals"], "bench/results.json was edited or is stale: run `make bench`"
    flat = bench_main.headline(results["details"])
    assert {k: results[k] for k in flat} == flat


def test_the_benchmarks_page_shows_the_table_of_the_committed_results(results):
    page = bench_main.DOCS.read_text()
    assert bench_main.docs_table(page) == bench_main.table(results, markdown=True), \
        "docs/benchmarks.md's table is not bench/results.json's: run `python -m bench --table --write-docs`"


def test_writing_the_table_replaces_only_what_is_between_the_markers(tmp_path, results):
    page = tmp_path / "benchmarks.md"
    page.write_text(f"# Title\n\n{bench_main.TABLE_BEGIN}\nold table\n{bench_main.TABLE_END}\n\nThe rest.\n")
    bench_main.write_docs_table(results, page)
    text = page.read_text()
    assert text.startswith("# Title\n\n") and text.endswith(f"{bench_main.TABLE_END}\n\nThe rest.\n")
    assert "old table" not in text
    assert bench_main.docs_table(text) == bench_main.table(results, markdown=True)


def test_a_page_without_the_markers_is_refused(tmp_path, results):
    page = tmp_path / "benchmarks.md"
    page.write_text("# Title\n")
    with pytest.raises(ValueError, match="bench-table:begin"):
        bench_main.write_docs_table(results, page)


def test_committed_soak_has_both_phases_after_a_warm_up_and_a_verdict(results):
    soaked = results["details"]["soak"]
    assert soaked["warmup_s"] > 0 and soaked["phase_s"] >= 30
    for phase in ("load", "idle"):
        assert soaked[phase]["samples"] >= soaked["phase_s"] / soaked["sample_s"] / 2
        assert results[f"soak_{phase}_growth_mb_per_h"] == soaked[phase]["growth_mb_per_h"]
    assert soaked["load"]["requests"] > 0 and soaked["load"]["errors"] == 0
    assert results["soak_verdict"] == soak.verdict(results["soak_load_growth_mb_per_h"],
                                                   results["soak_idle_growth_mb_per_h"])
    rows = [r for r in results["goals"] if r["figure"].startswith("local cloud memory growth")]
    assert len(rows) == 2 and all(r["unit"] == "MiB/h" for r in rows)


def test_soak_growth_is_the_slope_per_hour_and_the_verdict_holds_the_tolerance():
    assert soak.growth_mb_per_h([(0.0, 100.0), (30.0, 100.5), (60.0, 101.0)]) == pytest.approx(60.0)
    assert soak.growth_mb_per_h([(0.0, 100.0), (1.0, 101.0), (2.0, 100.0)]) == pytest.approx(0.0)
    assert soak.verdict(soak.TOLERANCE_MB_PER_H, -5.0) == soak.VERDICT_BOUNDED
    assert soak.verdict(1.0, soak.TOLERANCE_MB_PER_H + 0.1) == soak.VERDICT_GROWING


def test_merge_replaces_the_benchmarks_that_ran_and_keeps_the_others(results):
    new = {"timestamp": "2030-01-01T00:00:00+00:00", "machine": results["machine"], "bench_s": 1.0, "errors": {},
           "details": {"soak": {**results["details"]["soak"], "soak_idle_growth_mb_per_h": 999.0,
                                "soak_verdict": soak.VERDICT_GROWING}}}
    merged = bench_main.merge(results, new)
    assert merged["soak_idle_growth_mb_per_h"] == 999.0 and merged["soak_verdict"] == soak.VERDICT_GROWING
    idle = next(r for r in merged["goals"] if r["figure"].startswith("local cloud memory growth") and "idle" in r["figure"])
    assert idle["met"] is False, "the goals are judged again on the merged figures"
    assert merged["runbook_s"] == results["runbook_s"], "figures of benchmarks that did not run stay"
    assert merged["runs"]["soak"] == new["timestamp"] and merged["runs"]["runbook"] != new["timestamp"]
    assert merged["goals"] == bench_main.goals(merged)


def test_the_sweep_bench_judges_every_configuration_against_its_band_and_names_the_worst():
    import pandas as pd

    from bench import sweep

    comparison = pd.DataFrame([
        {"health_check_interval": 10, "record_ttl": 10, "fault": "health_status", "runs": 3, "recovery_median_s": 14.0,
         "model_p5_s": 8.0, "model_median_s": 14.5, "model_p95_s": 18.0, "within_band": True, "failover_expected": True},
        {"health_check_interval": 30, "record_ttl": 60, "fault": "health_status", "runs": 3, "recovery_median_s": 95.0,
         "model_p5_s": 60.0, "model_median_s": 120.0, "model_p95_s": 140.0, "within_band": True,
         "failover_expected": True},
        {"health_check_interval": 10, "record_ttl": 10, "fault": "replication_pause", "runs": 3,
         "recovery_median_s": None, "model_p5_s": None, "model_median_s": None, "model_p95_s": None,
         "within_band": None, "failover_expected": False},
    ])
    judged = sweep.judge(comparison)
    assert (judged["configurations"], judged["runs"], judged["within_band"], judged["failover_configurations"]) == \
        (3, 9, 2, 2)
    assert judged["worst"]["configuration"] == "health_check_interval 30, record_ttl 60, fault health_status"
    assert judged["worst"]["ratio"] == round(95 / 120, 2)
    rows = {r["figure"]: r for r in bench_main.goals({"details": {"sweep": {"sweep_s": 540.0, "lanes": 4, **judged}}})}
    assert rows["make sweep: 3 configurations x 3 runs on 4 lanes, local cloud (s)"]["met"] is True
    band = "sweep: configurations whose median recovery time lies in the model's p5-p95 band"
    assert rows[band]["value"] == 2 and rows[band]["met"] is True
