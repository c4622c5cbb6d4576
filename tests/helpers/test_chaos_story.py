"""06's "What just happened" is written from the run's own numbers, and its gap sentence from the measured events."""

from __future__ import annotations

import pandas as pd

from helpers import chaos_story
from helpers.chaos import ChaosRun
from helpers.config import validate
from helpers.recovery_model import Band, Prediction

REQUESTS = pd.DataFrame([{"client": 0, "sent_at": 1.0, "finished_at": 1.01, "status": 201,
                          "resolved_region": "eu-west-1", "served_region": "eu-west-1", "error": "", "retried_from": ""}])


def _run(fault: str, metrics: dict, prediction: Prediction | None = None, **params) -> ChaosRun:
    cfg = validate({"fault": fault, "time_scale": 0.1, **params})
    run = ChaosRun(cfg=cfg, started_at=0.0, fault_at=0.5, restore_at=5.0, ended_at=9.0, requests=REQUESTS,
                   samples=pd.DataFrame(), lag=pd.DataFrame())
    run.metrics = {"faulty_region": "eu-west-1", "errors": 0, "requests": 1, "lost_writes": 0,
                   "replicas_identical": True, **metrics}
    run.prediction = prediction
    return run


PREDICTION = Prediction(detection=Band(8.1, 8.7, 7.6), dns_convergence=Band(8.1, 8.7, 7.6),
                        client_convergence=Band(14.5, 17.8, 9.0), healthy_again=Band(1.9, 2.4, 1.3), worst_case_s=20.0)


def test_clients_that_left_before_detection_are_explained_by_their_retries():
    run = _run("region_outage", {"rto_s": 3.2, "detection_s": 8.0, "dns_convergence_s": 8.2}, PREDICTION,
               client_on_failure="retry")
    sentence = chaos_story.gap_sentence(run)
    assert sentence.startswith("Recovery took 3.2 s against the model's median of 14.5 s")
    assert "before the health check turned at 8.0 s, because their failed requests made them resolve again" in sentence


def test_clients_that_left_before_detection_without_failures_are_explained_by_their_lookups():
    """health_status fails no request: an early recovery is the clients' own lookups, never retries."""
    run = _run("health_status", {"rto_s": 6.1, "detection_s": 8.4, "dns_convergence_s": 9.7}, PREDICTION,
               routing_policy="weighted")
    sentence = chaos_story.gap_sentence(run)
    assert "before the health check turned at 8.4 s" in sentence and "failed requests" not in sentence
    assert "was given the other region while DNS still named both (weighted routing" in sentence


def test_a_late_detection_is_named_as_the_cause():
    run = _run("health_status", {"rto_s": 19.0, "detection_s": 12.0, "dns_convergence_s": 12.1}, PREDICTION)
    assert "detection alone took 12.0 s, beyond the model's 95th percentile of 8.7 s" in chaos_story.gap_sentence(run)


def test_a_typical_run_splits_the_time_into_detection_and_the_clients_cache():
    run = _run("health_status", {"rto_s": 15.0, "detection_s": 8.2, "dns_convergence_s": 8.4}, PREDICTION)
    sentence = chaos_story.gap_sentence(run)
    assert "as predicted" in sentence and "left 6.6 s after DNS changed, when its cached answer expired" in sentence


def test_a_replication_pause_tells_its_backlog_and_no_recovery_time():
    run = _run("replication_pause", {"rto_s": None, "replication_backlog": {"queued": 16, "max_lag_s": 74.1,
                                                                             "drain_s": 0.7}})
    story = chaos_story.what_happened(run)
    assert "No failover expected: the region kept serving" in story
    assert "16 lag probes queued, the largest lag was 74.1 s, and the backlog drained 0.7 s" in story
    assert "Recovery took" not in story


def test_a_dns_gap_inside_the_sampling_interval_is_explained_by_the_sampler():
    run = _run("health_status", {"rto_s": 15.0, "detection_s": 8.0, "dns_convergence_s": 9.6,
                                 "bounds_s": {"dns_convergence_s": [7.8, 11.4]}, "expected_rto_s": 20.0}, PREDICTION)
    sentence = chaos_story.dns_sentence(run)
    assert sentence.startswith("DNS convergence was 9.6 ± 1.8 s against the model's median of 8.1 s")
    assert "lie between 7.8 and 11.4 s, and the model's median lies inside that interval" in sentence
    assert sentence in chaos_story.what_happened(run)
    assert "DNS stopped naming eu-west-1 at 9.6 ± 1.8 s (sampled)" in chaos_story.what_happened(run)


def test_a_dns_gap_beyond_the_sampling_interval_is_named_and_an_agreement_needs_no_sentence():
    late = _run("health_status", {"rto_s": 15.0, "detection_s": 8.0, "dns_convergence_s": 12.5,
                                  "bounds_s": {"dns_convergence_s": [11.2, 13.8]}}, PREDICTION)
    assert "at least 3.2 s after the health check turned at 8.0 s: the name server kept answering from the old " \
           "status that long" in chaos_story.dns_sentence(late)
    early = _run("health_status", {"rto_s": 15.0, "detection_s": 4.5, "dns_convergence_s": 4.9,
                                   "bounds_s": {"dns_convergence_s": [4.5, 5.4]}}, PREDICTION)
    assert ("DNS followed the health check within the sampling's resolution (it turned at 4.5 s, DNS between 4.5 "
            "and 5.4 s), so the gap is detection's") in chaos_story.dns_sentence(early)
    close = _run("health_status", {"rto_s": 15.0, "detection_s": 8.0, "dns_convergence_s": 8.4,
                                   "bounds_s": {"dns_convergence_s": [7.0, 9.8]}}, PREDICTION)
    assert chaos_story.dns_sentence(close) is None


def test_a_recovery_off_the_median_says_whether_it_lies_inside_the_models_band_and_the_wait_carries_dns_resolution():
    inside = _run("health_status", {"rto_s": 12.1, "detection_s": 7.4, "dns_convergence_s": 7.7,
                                    "bounds_s": {"dns_convergence_s": [6.4, 9.0]}}, PREDICTION)
    sentence = chaos_story.gap_sentence(inside)
    assert "shorter than the median but inside the model's 5th to 95th percentile (9.0 to 17.8 s)" in sentence
    assert "left 4.4 ± 1.3 s after DNS changed" in sentence, sentence
    beyond = _run("health_status", {"rto_s": 21.0, "detection_s": 8.0, "dns_convergence_s": 8.1}, PREDICTION)
    assert "longer than the model's 95th percentile (17.8 s)" in chaos_story.gap_sentence(beyond)


def test_the_retry_count_and_its_successes_come_from_the_retried_requests_only():
    requests = pd.DataFrame([
        {"client": 0, "sent_at": 0.1, "finished_at": 0.11, "status": 201, "resolved_region": "eu-west-1",
         "served_region": "eu-west-1", "error": None, "retried_from": None},
        {"client": 0, "sent_at": 1.0, "finished_at": 1.2, "status": 201, "resolved_region": "eu-central-1",
         "served_region": "eu-central-1", "error": None, "retried_from": "eu-west-1"},
        {"client": 1, "sent_at": 1.1, "finished_at": 1.3, "status": 0, "resolved_region": "eu-west-1",
         "served_region": None, "error": "ConnectionRefusedError", "retried_from": "eu-west-1"},
        {"client": 1, "sent_at": 2.0, "finished_at": 2.01, "status": 201, "resolved_region": "eu-central-1",
         "served_region": "eu-central-1", "error": None, "retried_from": None},
    ])
    run = _run("region_outage", {"rto_s": 0.6, "detection_s": 8.0, "dns_convergence_s": 8.2, "errors": 1,
                                 "requests": 4, "error_window_s": 6.0, "expected_rto_s": 20.0}, PREDICTION,
               client_on_failure="retry")
    run.requests = requests
    assert "2 requests were retried after a failure, 1 of them successfully." in chaos_story.what_happened(run)


def test_the_failback_is_told_from_the_repair_healthy_again_dns_back_and_the_first_request_served():
    probes = [{"t": second + k / 8 + 0.02, "kind": "probe", "region": "eu-west-1", "checker": f"checker-{k}",
               "checked_t": second + k / 8, "value": int(not 3.0 <= second + k / 8 < 7.0)}
              for second in range(12) for k in range(8)]
    dns = [{"t": t / 2, "asked_t": t / 2, "kind": "dns", "region": "eu-west-1", "value": int(not 4.0 <= t / 2 < 8.0)}
           for t in range(24)]
    run = _run("health_status", {"rto_s": 9.0, "detection_s": 7.5, "dns_convergence_s": 7.5, "failback_s": 9.0,
                                 "dns_ttl_s": 10.0, "expected_rto_s": 20.0}, PREDICTION)
    run.samples, run.fault_at, run.restore_at, run.ended_at = pd.DataFrame(probes + dns), 3.0, 7.0, 12.0
    sentence = chaos_story.failback_sentence(run)
    assert sentence == ("After the repair the check was healthy again 1.2 s later and DNS named eu-west-1 again at "
                        "7.5 ± 2.5 s; the first request eu-west-1 served again came 9.0 s after the repair, when the "
                        "first client's cached answer (kept 10 s) expired.")
    assert sentence in chaos_story.what_happened(run)
    assert chaos_story.failback_sentence(_run("replication_pause", {"failback_s": 1.0})) is None, "never unhealthy"
