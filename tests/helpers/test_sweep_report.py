"""The comparison page: runs grouped by what differs, judged against the model and the cost, rendered offline.

The runs here are report directories written the way a chaos run writes them
(``run.json`` with the parameters, ``chaos_metrics.json`` with its numbers), so
the page is checked on known numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import runner
from helpers.parameters import DEFAULTS, ConfigError
from helpers.sweep_report import (configuration_parameters, group, monthly_usd, pareto_front, read_run, recommendation,
                                  run_dirs, write_page)


def write_run(directory: Path, rto: float | None, band=(5.0, 10.0, 20.0), failover: bool = True, **params) -> Path:
    directory.mkdir(parents=True)
    parameters = {**DEFAULTS, "regions": list(DEFAULTS["regions"]), "faulty_region": "eu-west-1", **params}
    (directory / "run.json").write_text(json.dumps({"status": "passed", "parameters": parameters}))
    p5, median, p95 = band
    (directory / "chaos_metrics.json").write_text(json.dumps({
        "rto_s": rto, "detection_s": 8.0, "dns_convergence_s": 9.0, "error_window_s": 0.0, "errors": 1,
        "requests": 100, "lost_writes": 0, "failover_expected": failover,
        "predicted": {"recovery_time_s": {"p5": p5, "median": median, "p95": p95}}}))
    (directory / "06_chaos.html").write_text("<html>run</html>")
    return directory


@pytest.fixture
def sweep_dir(tmp_path):
    """Two TTLs x two intervals, three runs each: interval 30 is cheaper and slower, TTL 60 slower."""
    root = tmp_path / "sweep"
    for interval in (10, 30):
        for ttl in (10, 60):
            base = {10: 15.0, 30: 40.0}[interval] + {10: 0.0, 60: 50.0}[ttl]
            for k, jitter in enumerate((-2.0, 0.0, 3.0), start=1):
                write_run(root / "runs" / f"i{interval}-t{ttl}" / f"r{k}", base + jitter,
                          band=(base - 6, base, base + 6), health_check_interval=interval, record_ttl=ttl,
                          stack_name=f"mraa-{k}")  # lanes differ in names: never a configuration
    return root


def test_runs_are_grouped_by_the_parameters_that_differ_and_names_are_not_a_configuration(sweep_dir):
    runs = [read_run(p) for p in run_dirs([sweep_dir])]
    assert len(runs) == 12
    assert configuration_parameters(runs) == ["record_ttl", "health_check_interval"]
    configs = group(runs)
    assert [c.label for c in configs] == ["ttl 10, interval 10", "ttl 60, interval 10", "ttl 10, interval 30",
                                          "ttl 60, interval 30"]
    first = configs[0].summary()
    assert (first["runs"], first["recovery_median_s"], first["recovery_min_s"], first["recovery_max_s"]) == (3, 15.0, 13.0, 18.0)
    assert first["within_band"] is True and first["errors"] == 3 and first["requests"] == 300


def test_cost_comes_from_the_cost_model_and_a_faster_interval_costs_more(sweep_dir):
    fast, slow = monthly_usd({**DEFAULTS, "health_check_interval": 10}), monthly_usd({**DEFAULTS, "health_check_interval": 30})
    assert fast > slow > 0


def test_pareto_front_keeps_only_what_nothing_beats_on_both_time_and_cost(sweep_dir):
    configs = group([read_run(p) for p in run_dirs([sweep_dir])])
    front = pareto_front(configs)
    assert [c.label for c in front] == ["ttl 10, interval 30", "ttl 10, interval 10"], \
        "TTL 60 is slower at the same cost: never on the front"


def test_recommendation_is_the_cheapest_settings_meeting_the_target_in_every_run(sweep_dir):
    configs = group([read_run(p) for p in run_dirs([sweep_dir])])
    advice = recommendation(configs, target_rto_s=50)
    assert advice[0].startswith("For a recovery time of at most 50 AWS s, choose ttl 10, interval 30")
    assert "slowest run 43.0 s, model p95 46.0 s" in advice[0]
    assert recommendation(configs, target_rto_s=45)[0].startswith(
        "For a recovery time of at most 45 AWS s, choose ttl 10, interval 10"), "the model's p95 (46 s) must meet it too"
    assert recommendation(configs, target_rto_s=25)[0].startswith("For a recovery time of at most 25 AWS s, choose ttl 10, interval 10")
    assert recommendation(configs, target_rto_s=5)[0].startswith("No settings met 5 AWS s")
    blog = advice[1]
    assert "interval 30, threshold 3, ttl 60" in blog and "the recovery model predicts" in blog


def test_a_run_outside_the_models_band_is_named_on_the_page_with_what_chance_alone_explains(tmp_path):
    write_run(tmp_path / "a", 50.0, band=(5.0, 10.0, 20.0))
    text = write_page(tmp_path / "page", [tmp_path / "a"]).read_text()
    assert "0 of 1 configurations&#x27; medians lie within the model&#x27;s band; outside: every run" in text
    assert "chance alone puts 0.10 of them outside on average" in text, "one run: 10% outside a 5-95% band"


def test_chance_alone_puts_a_median_of_three_outside_a_90_percent_band_one_time_in_seventy():
    from helpers.sweep_report import chance_outside

    assert chance_outside(1) == pytest.approx(0.10)
    assert chance_outside(3) == pytest.approx(2 * (3 * 0.05**2 * 0.95 + 0.05**3))  # two or three runs on one side
    assert chance_outside(5) < chance_outside(3) < chance_outside(1)


def test_no_failover_expected_shows_no_recovery_time(tmp_path):
    write_run(tmp_path / "pause", None, failover=False, fault="replication_pause")
    write_run(tmp_path / "status", 12.0)
    text = write_page(tmp_path / "page", [tmp_path / "pause", tmp_path / "status"]).read_text()
    assert "no failover expected: the region kept serving" in text


def test_compare_groups_runs_from_anywhere_by_what_differs(tmp_path, capsys):
    write_run(tmp_path / "local", 14.0, backend="local")
    write_run(tmp_path / "aws", 16.0, backend="aws", time_scale=1.0, acknowledge_costs=True, create_hosted_zone=False)
    assert runner.main(["compare", str(tmp_path / "local"), str(tmp_path / "aws"), "--out", str(tmp_path / "cmp")]) == 0
    text = (tmp_path / "cmp" / "index.html").read_text()
    assert "configurations differ in: backend, create_hosted_zone, time_scale" not in text  # names are not configuration
    assert "configurations differ in: backend, time_scale" in text
    assert 'href="../local/06_chaos.html"' in text and 'href="../aws/06_chaos.html"' in text


def test_compare_refuses_a_directory_without_runs(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert runner.main(["compare", str(tmp_path / "empty"), "--out", str(tmp_path / "cmp")]) == 2
    assert "holds no chaos run" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="no run.json"):
        (tmp_path / "bare").mkdir()
        (tmp_path / "bare" / "chaos_metrics.json").write_text("{}")
        read_run(tmp_path / "bare")


@pytest.mark.browser
def test_the_comparison_page_renders_offline_in_a_browser(sweep_dir):
    from cdp import Browser

    page = write_page(sweep_dir, title="Sweep", target_rto_s=30)
    browser = Browser(offline=True)
    try:
        browser.open(page.resolve().as_uri())
        widths = browser.evaluate("Array.from(document.images).map(i => i.naturalWidth)")
        links = browser.evaluate("Array.from(document.querySelectorAll('#configurations a')).length")
        outside = [url for url in browser.requested_urls() if not url.startswith(("file://", "data:"))]
    finally:
        browser.close()
    assert len(widths) == 2 and all(w > 0 for w in widths), f"both plots render: {widths}"
    assert links == 12, "a link to every run's report"
    assert not outside, f"requests that would leave the machine: {outside}"
