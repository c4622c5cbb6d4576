"""The recovery model predicts what Route 53's rules and the client model imply (pure functions, no cloud)."""

from __future__ import annotations

import pytest

from helpers.client_model import ClientModel
from helpers.recovery_model import Setting, checkers_to_turn, predict

EVEN = tuple(k / 8 for k in range(8))  # the local cloud's 8 checkers, evenly staggered


def _setting(**changes) -> Setting:
    values = dict(interval_s=10, failure_threshold=1, ttl_s=10, phases=EVEN, clients=6, request_period_s=2.5)
    values.update(changes)
    return Setting(**values)


def test_with_eight_checkers_seven_must_fail_and_two_must_recover():
    assert checkers_to_turn(8) == (7, 2), "healthy while more than 18% (2 of 8) say so"
    assert checkers_to_turn(16) == (14, 3)


def test_detection_is_the_seventh_staggered_checker_plus_threshold_minus_one_intervals():
    one = predict(_setting()).detection
    assert 6 / 8 * 10 <= one.p5 and one.p95 <= 7 / 8 * 10, one
    assert one.median == pytest.approx(6.5 / 8 * 10, abs=0.2)
    three = predict(_setting(failure_threshold=3)).detection
    assert three.median == pytest.approx(one.median + 20, abs=0.2)


def test_healthy_again_needs_only_the_second_checker():
    again = predict(_setting()).healthy_again
    assert again.p95 <= 2 / 8 * 10 + 1e-9, again


def test_clients_converge_after_dns_within_their_cache_and_the_worst_case_is_threshold_interval_ttl():
    p = predict(_setting())
    assert p.worst_case_s == 20
    assert p.dns_convergence.median < p.client_convergence.median <= p.client_convergence.p95 <= 20 + 2.5
    no_cache = predict(_setting(client=ClientModel("none"))).client_convergence
    fixed = predict(_setting(client=ClientModel("fixed"))).client_convergence
    assert no_cache.p95 <= p.dns_convergence.p95 + 2.5, "without a cache the next request after DNS moves leaves"
    assert fixed.median > p.client_convergence.median + 10, "a 30 s JVM cache outlives a 10 s TTL"


def test_clients_that_retry_leave_a_failing_region_before_the_health_check_turns():
    failing = dict(requests_fail=True, broken_share=0.5)
    stay = predict(_setting(**failing)).client_convergence
    retry = predict(_setting(client=ClientModel("ttl", "retry"), **failing))
    assert retry.client_convergence.median < retry.detection.median < stay.median


def test_a_region_no_client_is_sent_to_has_nothing_to_recover():
    assert predict(_setting(broken_share=0.0)).client_convergence.p95 == 0.0


def test_without_known_phases_the_checkers_are_independent():
    p = predict(_setting(phases=None)).detection
    assert 0 < p.p5 < p.median < p.p95 <= 10
