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


def test_checker_phases_come_from_the_probes_before_the_fault():
    tl = _timeline(_probes(3.0, 8.0))
    assert fe.checker_phases(tl, interval_s=10) == pytest.approx(tuple(k / 8 for k in range(8)))


def test_a_dns_change_lies_between_the_start_of_the_last_queries_that_named_the_region_and_the_first_that_did_not():
    # each sample's 16 queries run from asked_t to t; the last that named "a" began at 4.2 s
    samples = [{"t": t / 4, "asked_t": t / 4 - 0.05, "kind": "dns", "region": "a",
                "value": int(not 4.5 <= t / 4 < 8.5)} for t in range(48)]
    tl = _timeline(_probes(3.0, 8.0) + samples)
    dns = next(e for e in fe.events(tl) if e.name == "DNS answer changed")
    assert (dns.earliest, dns.latest, dns.t) == (pytest.approx(4.2), 4.5, pytest.approx(4.35))
    assert fe.headline_bounds(tl)["dns_convergence_s"] == [pytest.approx(12.0), pytest.approx(15.0)]


def test_a_dns_change_starts_no_earlier_than_the_verdict_it_follows():
    # sampled every second: the last sample with "a" at 3.0 s, the first without at 4.0 s; the verdict at 3.75 s
    samples = [{"t": float(t), "asked_t": float(t), "kind": "dns", "region": "a", "value": int(not 4 <= t < 9)}
               for t in range(12)]
    tl = _timeline(_probes(3.0, 8.0) + samples)
    found = {e.name: e for e in fe.events(tl)}
    dns, down = found["DNS answer changed"], found["health check unhealthy"]
    assert (dns.earliest, dns.latest) == (down.t, 4.0), "Route 53 answers from the check's status"
    assert fe.dns_convergence_s(tl) == pytest.approx(8.75), "3.875 s: after the verdict, not 3.5 s before it"
    assert fe.order_findings(list(found.values()), SCALE) == ([], [])
    back, up = found["DNS back"], found["healthy again"]
    assert back.earliest == up.t == 8.125 and back.latest == 9.0


@pytest.mark.parametrize("period", [0.25, 0.4])
def test_the_dns_interval_holds_the_true_change_and_its_middle_is_closer_than_the_first_sample_that_shows_it(period):
    """DNS changes a random delay (up to a period: propagation) after the verdict; sampled every ``period``
    at any phase, the interval holds the change and its middle is on average nearer than the late end."""
    verdict = 3.75  # the seventh checker's failed probe
    middle_errors, late_errors = [], []
    for k in range(40):
        phase, delay = (k % 20) / 20 * period, (k * 7 % 40) / 40 * period
        true_change = verdict + delay
        samples = [{"t": phase + j * period, "asked_t": phase + j * period, "kind": "dns", "region": "a",
                    "value": int(not true_change <= phase + j * period < 8.5)} for j in range(int(12 / period))]
        tl = _timeline(_probes(3.0, 8.0) + samples)
        measured = fe.dns_convergence_s(tl)
        low, high = fe.headline_bounds(tl).get("dns_convergence_s", [measured, measured])  # exact: no interval
        truth = (true_change - tl.fault_at) / SCALE
        eps = 1e-3  # AWS seconds are rounded to the millisecond
        assert (verdict - tl.fault_at) / SCALE - eps <= low <= truth + eps and truth - eps <= high <= low + period / SCALE + eps
        middle_errors.append(abs(measured - truth))
        late_errors.append(high - truth)
    assert max(middle_errors) <= period / SCALE / 2 + 1e-3, "never off by more than the ± it states"
    assert sum(middle_errors) < 0.75 * sum(late_errors), (sum(middle_errors), sum(late_errors))


def test_a_headline_number_is_printed_with_the_interval_it_is_known_to_lie_in():
    assert fe.with_resolution(8.75, [7.5, 10.0]) == "8.8 ± 1.2"
    assert fe.with_resolution(7.4, [5.1, 7.4]) == "7.4 (between 5.1 and 7.4)"
    assert fe.with_resolution(12.0, None) == "12.0"
    assert fe.with_resolution(None, None) == "-"


def test_a_probe_missed_inside_a_streak_of_failures_widens_the_verdict_interval_with_a_threshold():
    """Threshold 3: checker-6 flips on its third failure (5.75 s), but its probe at 4.75 s was never seen, so the
    replay counts two failures there and the check turns on checker-7's flip (5.875 s); it may have turned at 5.75."""
    seen = [row for row in _probes(3.0, 8.0) if not (row["checker"] == "checker-6" and row["checked_t"] == 4.75)]
    tl = _timeline(seen + _dns((5.8, 10.5)), interval_s=10, failure_threshold=3)
    down = next(c for c in fe.verdict_changes(tl) if not c.healthy)
    assert down.checked == 5.875, "without the missed probe the replay turns on checker-7"
    assert down.earliest == pytest.approx(5.75), "with it taken as a failure, checker-6 turns the check at 5.75 s"
    impossible, _ = fe.order_findings(fe.events(tl), SCALE)
    assert not impossible, "DNS changing at 5.8 s is within the widened interval"


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
