"""Events on one clock with their intervals, and the headline numbers, from a recorded run (no cloud)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from helpers import failover_events as fe

CHECKERS = [f"checker-{k}" for k in range(8)]
SCALE = 0.1  # wall = AWS x 0.1: the checkers probe every 1 s of wall time


def _probes(fail_from: float, fail_until: float, end: float = 12.0) -> list[dict]:
    """Each checker probes at k/8 s past every second; probes fail between the two times."""
    rows = []
    for second in range(int(end)):
        for k, checker in enumerate(CHECKERS):
            checked = second + k / 8
            rows.append({"t": checked + 0.05, "kind": "probe", "region": "a", "checker": checker, "checked_t": checked,
                         "value": int(not fail_from <= checked < fail_until)})
    return rows


def _timeline(samples: list[dict], failover: bool = True, **changes) -> fe.Timeline:
    requests = pd.DataFrame([
        {"sent_at": 2.0, "finished_at": 2.01, "status": 201, "resolved_region": "a", "served_region": "a"},
        {"sent_at": 3.4, "finished_at": 3.41, "status": 429, "resolved_region": "a", "served_region": None,
         "error": "Rate exceeded (throttled)"},
        {"sent_at": 4.2, "finished_at": 4.25, "status": 201, "resolved_region": "a", "served_region": "a"},
        {"sent_at": 5.0, "finished_at": 5.01, "status": 201, "resolved_region": "b", "served_region": "b"},
        # sent while the repair call ran (7.95 to 8.0 s): the repair may already have taken effect
        {"sent_at": 7.97, "finished_at": 7.98, "status": 201, "resolved_region": "a", "served_region": "a"},
        {"sent_at": 9.5, "finished_at": 9.51, "status": 201, "resolved_region": "a", "served_region": "a"},
    ])
    values = dict(requests=requests, samples=pd.DataFrame(samples), fault_at=3.0, restore_at=8.0, ended_at=12.0,
                  faulty_region="a", regions=("a", "b"), time_scale=SCALE, failure_threshold=1,
                  failover_expected=failover, fault_started_at=2.95, restore_started_at=7.95)
    values.update(changes)
    return fe.Timeline(**values)


def _dns(times_out: tuple[float, float]) -> list[dict]:
    return [{"t": t / 4, "kind": "dns", "region": "a", "value": int(not times_out[0] <= t / 4 < times_out[1])}
            for t in range(48)]


def test_the_check_turns_when_the_seventh_checker_fails_and_back_when_the_second_recovers():
    tl = _timeline(_probes(3.0, 8.0) + _dns((4.0, 8.5)))
    changes = fe.verdict_changes(tl)
    assert [(c.checked, c.healthy) for c in changes] == [(3.75, False), (8.125, True)], changes
    assert all(c.earliest == c.checked for c in changes), "every probe was seen: the CheckedTime is exact"
    assert fe.detection_s(tl) == pytest.approx(7.5), "0.75 wall seconds at time scale 0.1"


def test_events_come_in_causal_order_each_inside_its_interval():
    tl = _timeline(_probes(3.0, 8.0) + _dns((4.0, 8.5)))
    found = fe.events(tl)
    names = [e.name for e in found]
    assert names == ["fault injected", "first failed health probe", "health check unhealthy", "DNS answer changed",
                     "last request to the broken region", "restore", "healthy again", "DNS back",
                     "first request served by the restored region"]
    for e in found:
        assert e.earliest <= e.t <= e.latest, e
    dns = found[names.index("DNS answer changed")]
    assert (dns.earliest, dns.latest) == (3.75, 4.0), "between the last sample with the region and the first without"
    assert dns.t == pytest.approx(3.875), "the best estimate is the middle of the sampling interval"
    down = found[names.index("health check unhealthy")]
    assert (down.earliest, down.t, down.latest) == (3.75, 3.75, 3.75), "the verdict turned at the probe's CheckedTime"
    assert down.seen == pytest.approx(3.8), "the sampler's poll only showed it later"
    assert fe.order_findings(found, SCALE) == ([], [])


def test_an_order_that_sampling_cannot_resolve_is_reported_as_uncertain_and_an_impossible_one_as_such():
    # The injection call ran from 2.8 s to 3.0 s and a probe at 2.875 s already failed: fault and
    # first failure lie within the call's duration of each other.
    tl = _timeline(_probes(2.85, 8.0) + _dns((4.0, 8.5)), fault_started_at=2.8)
    impossible, uncertain = fe.order_findings(fe.events(tl), SCALE)
    assert not impossible and len(uncertain) == 1
    assert uncertain[0] == ("fault injected (28.0 to 30.0 AWS s) and first failed health probe (28.8 AWS s) overlap "
                            "within their resolution, so their order cannot be told: the best times put first "
                            "failed health probe first")
    early = _timeline(_probes(3.0, 8.0) + _dns((3.0, 8.5)))
    impossible, _ = fe.order_findings(fe.events(early), SCALE)
    assert impossible == ["health check unhealthy after DNS answer changed"]


def test_the_headline_numbers_follow_their_definitions():
    tl = _timeline(_probes(3.0, 8.0) + _dns((4.0, 8.5)))
    assert fe.recovery_time_s(tl) == pytest.approx((4.2 - 3.0) / SCALE), "the last request to a, sent at 4.2 s, before the repair began"
    assert fe.dns_convergence_s(tl) == pytest.approx(8.75), "the middle of 3.75-4.0 s, 3 s after the fault"
    assert fe.headline_bounds(tl) == {"dns_convergence_s": [pytest.approx(7.5), pytest.approx(10.0)]}, \
        "detection is exact (every probe seen), DNS known to its sampling interval"
    assert fe.error_window_s(tl) == pytest.approx(0.01 / SCALE)
    assert set(fe.headline(tl)) == {"detection_s", "dns_convergence_s", "rto_s", "error_window_s"}
    causes = fe.error_causes(tl)
    assert causes.to_dict(orient="records") == [{"region": "a", "status": 429, "cause": "Rate exceeded ", "requests": 1}]


def test_without_an_expected_failover_there_is_no_recovery_time_and_no_healthy_again():
    tl = _timeline([{"t": t / 4, "kind": "dns", "region": "a", "value": 1} for t in range(48)] + _probes(99, 99),
                   failover=False)
    assert fe.recovery_time_s(tl) is None
    names = [e.name for e in fe.events(tl)]
    assert names == ["fault injected", "restore"], "never unhealthy: no detection, no 'healthy again'"


def test_a_timeline_reads_back_from_a_run_directory(tmp_path):
    tl = _timeline(_probes(3.0, 8.0) + _dns((4.0, 8.5)))
    tl.requests.to_csv(tmp_path / "chaos_timeline.csv", index=False)
    tl.samples.to_csv(tmp_path / "chaos_samples.csv", index=False)
    (tmp_path / "chaos_metrics.json").write_text(json.dumps({
        "clock": tl.clock(), "faulty_region": "a", "regions": ["a", "b"], "time_scale": SCALE,
        "health_check_failure_threshold": 1, "failover_expected": True}))
    again = fe.Timeline.from_dir(tmp_path)
    assert fe.headline(again) == fe.headline(tl)
    assert fe.events_table(again).equals(fe.events_table(tl))


def test_a_late_poll_that_may_have_missed_probes_widens_the_verdict_interval():
    seen = [row for row in _probes(3.0, 8.0)
            if not (row["checker"] in ("checker-6", "checker-7") and 3.0 <= row["checked_t"] < 5.0)]
    tl = _timeline(seen + _dns((4.0, 8.5)), interval_s=10)
    down = next(c for c in fe.verdict_changes(tl) if not c.healthy)
    assert down.checked == 5.75, "checker-6's first failure seen was its probe at 5.75 s"
    assert down.earliest == pytest.approx(3.75), "its probe at 3.75 s was missed: the check may have turned then"
    found = {e.name: e for e in fe.events(tl)}
    impossible, _ = fe.order_findings(list(found.values()), SCALE)
    assert not impossible, "DNS changing at 4 s is within the widened interval"
    verdict, dns = found["health check unhealthy"], found["DNS answer changed"]
    assert (verdict.earliest, verdict.latest) == (pytest.approx(3.75), 4.0), \
        "DNS follows the verdict, so the DNS change seen by 4 s bounds the verdict's interval"
    assert verdict.t == dns.t == pytest.approx(3.875), "the verdict's best time is no later than the DNS change's"
    assert fe.detection_s(tl) <= fe.dns_convergence_s(tl), "detection never reads later than the DNS convergence"


def test_a_dns_change_seen_before_an_exact_verdict_does_not_move_it_but_is_reported_impossible():
    tl = _timeline(_probes(3.0, 8.0) + _dns((3.0, 8.5)))
    found = {e.name: e for e in fe.events(tl)}
    verdict = found["health check unhealthy"]
    assert (verdict.earliest, verdict.t, verdict.latest) == (3.75, 3.75, 3.75), "every probe was seen: it stays exact"
    impossible, _ = fe.order_findings(list(found.values()), SCALE)
    assert impossible == ["health check unhealthy after DNS answer changed"]


def test_the_broken_region_writes_after_the_clients_left_only_what_was_in_flight_when_the_fault_hit():
    tl = _timeline(_probes(3.0, 8.0) + _dns((4.0, 8.5)))
    tl.requests["item_id"] = [f"i{k}" for k in range(len(tl.requests))]
    in_flight = pd.DataFrame([{"item_id": "early", "sent_at": 2.9, "finished_at": 3.0, "status": 0,
                               "resolved_region": "b", "served_region": None, "retried_from": "a"}])
    tl = _timeline([], requests=pd.concat([tl.requests, in_flight], ignore_index=True))
    items = pd.DataFrame([
        {"item_id": "i2", "origin_region": "a", "t": 4.22},  # the last request to a (4.2 to 4.25 s): before it left
        {"item_id": "early", "origin_region": "a", "t": 5.5},  # its connection was cut, its write still landed
        {"item_id": "i3", "origin_region": "b", "t": 5.0},  # the other region
        {"item_id": "i4", "origin_region": "a", "t": 7.975},  # sent once the repair had begun
        {"item_id": "stray", "origin_region": "a", "t": 6.0},  # no request sent it
    ])
    late = fe.writes_after_the_clients_left(tl, items)
    assert late["item_id"].tolist() == ["early", "stray"]
    assert late["sent_at"].iloc[0] == 2.9 and pd.isna(late["sent_at"].iloc[1])
    assert not (late["sent_at"] < tl.fault_at).all(), "the notebook's check fails on a write nobody sent"
