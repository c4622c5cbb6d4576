"""The index's chaos section: every duration with its unit, its interval when sampled, its prediction and definition."""

from __future__ import annotations

import json

from helpers import report
from helpers.failover_events import DEFINITIONS


def test_the_index_shows_each_duration_with_its_interval_prediction_and_definition(tmp_path):
    metrics = {
        "fault": "health_status", "faulty_region": "eu-west-1", "requests": 576, "errors": 0, "lost_writes": 0,
        "replicas_identical": True, "time_scale": 0.1, "failover_expected": True,
        "detection_s": 7.37, "dns_convergence_s": 7.7, "rto_s": 12.145, "error_window_s": 0.0, "failback_s": 2.658,
        "bounds_s": {"dns_convergence_s": [6.4, 9.0]}, "definitions": DEFINITIONS,
        "predicted": {"detection_s": {"p5": 7.6, "median": 8.122, "p95": 8.688},
                      "dns_convergence_s": {"p5": 7.6, "median": 8.122, "p95": 8.688},
                      "recovery_time_s": {"p5": 8.0, "median": 14.487, "p95": 17.754}, "worst_case_s": 20.0},
    }
    (tmp_path / "chaos_metrics.json").write_text(json.dumps(metrics))
    page = report._results_html(tmp_path)
    assert "<td>7.7 ± 1.3 s</td><td>8.1 s (p95 8.7 s)</td><td>0.77 s</td>" in page, page
    assert "<td>7.4 s</td><td>8.1 s (p95 8.7 s)</td>" in page, "detection is exact: no interval"
    assert f"<td>{DEFINITIONS['dns_convergence_s'].replace(chr(39), '&#x27;')}</td>" in page
    assert "took 0.1 of each in wall-clock time" in page
