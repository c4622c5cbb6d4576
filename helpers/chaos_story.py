"""The chaos step in words: "What just happened", written from the run's own numbers for the fault that ran.

Every sentence quotes the run (AWS seconds first); the gap between measured and
predicted recovery is explained from the measured events, not asserted.
"""

from __future__ import annotations

import pandas as pd

from helpers import failover_events
from helpers.chaos import ChaosRun
from helpers.fault_kinds import fault_kind
from helpers.virtual_clients import client_model


def _s(value: float | None) -> str:
    """A duration as the story quotes it: AWS seconds to a tenth, as every table shows them."""
    return failover_events.with_resolution(value, None)


def gap_sentence(run: ChaosRun) -> str:
    """One sentence on why the measured recovery time differs from the model's median (or matches it)."""
    m, p = run.metrics, run.prediction
    if p is None or m["rto_s"] is None:
        return failover_events.NO_FAILOVER + "."
    rto, det, dns = m["rto_s"], m["detection_s"], m["dns_convergence_s"]
    band = p.client_convergence
    head = f"Recovery took {rto:.1f} s against the model's median of {band.median:.1f} s (95th percentile {band.p95:.1f} s)"
    retrying = fault_kind(run.cfg.fault).requests_fail and client_model(run.cfg).on_failure == "retry"
    if det is not None and rto < det:
        if retrying:
            why = "because their failed requests made them resolve again and the other region answered"
        else:  # nothing failed, so only a lookup can have moved them: DNS still named both regions
            why = ("because every client that resolved again in the meantime (its cached answer expired) was given "
                   "the other region while DNS still named both")
            if run.cfg.routing_policy == "weighted":
                why += " (weighted routing picks one per query, at random by weight)"
        return f"{head}: the clients left {m['faulty_region']} before the health check turned at {det:.1f} s, {why}."
    wait = None if dns is None else rto - dns
    model_wait = band.median - p.dns_convergence.median
    if det is not None and det > p.detection.p95:
        return (f"{head}: detection alone took {det:.1f} s, beyond the model's 95th percentile of "
                f"{p.detection.p95:.1f} s, so the checkers' probes came later than their schedule (a busy machine "
                "delays them).")
    if abs(rto - band.median) <= 0.15 * max(band.median, 1e-9):
        what = "as predicted"
    else:
        side = "shorter" if rto < band.median else "longer"
        inside = band.p5 <= rto <= band.p95
        what = (f"{side} than the median but inside the model's 5th to 95th percentile ({band.p5:.1f} to "
                f"{band.p95:.1f} s)" if inside else f"{side} than the model's {'5th' if side == 'shorter' else '95th'} "
                f"percentile ({band.p5 if side == 'shorter' else band.p95:.1f} s)")
    if wait is None:
        return f"{head}: {what}."
    bounds = m.get("bounds_s", {}).get("dns_convergence_s")
    give = f" ± {(bounds[1] - bounds[0]) / 2:.1f}" if bounds else ""  # DNS is sampled: the wait inherits its resolution
    why = "when a failed request made it resolve again" if retrying else "when its cached answer expired"
    return (f"{head}, {what}: the health check turned {det:.1f} s after the fault (model {p.detection.median:.1f} s, "
            f"from where the fault fell in the checkers' schedule), and the last client still using "
            f"{m['faulty_region']} left {max(wait, 0):.1f}{give} s after DNS changed, {why} (model {model_wait:.1f} s).")


def dns_sentence(run: ChaosRun) -> str | None:
    """One sentence on measured against predicted DNS convergence when they differ by more than 10%: whether
    the DNS sampler's resolution covers the gap, or DNS followed the verdict (the gap is detection's), or
    DNS lagged the verdict (None when they agree or nothing was measured)."""
    m, p = run.metrics, run.prediction
    dns, bounds = m.get("dns_convergence_s"), m.get("bounds_s", {}).get("dns_convergence_s")
    if p is None or dns is None:
        return None
    model = p.dns_convergence.median
    if abs(dns - model) <= 0.1 * max(model, 1e-9):
        return None
    head = (f"DNS convergence was {failover_events.with_resolution(dns, bounds)} s against the model's median of "
            f"{model:.1f} s")
    if not bounds:
        return f"{head}."
    low, high = bounds
    if low <= model <= high:
        return (f"{head}: the sampler asks DNS once per period, so the change is known only to lie between "
                f"{low:.1f} and {high:.1f} s, and the model's median lies inside that interval.")
    det = m.get("detection_s")
    if det is None:
        return f"{head}: the change lies between {low:.1f} and {high:.1f} s."
    if low <= det + 1e-3:
        return (f"{head}: DNS followed the health check within the sampling's resolution (it turned at {det:.1f} s, "
                f"DNS between {low:.1f} and {high:.1f} s), so the gap is detection's: where the fault fell in the "
                f"checkers' schedule (model {p.detection.median:.1f} s, 5th to 95th percentile {p.detection.p5:.1f} "
                f"to {p.detection.p95:.1f} s).")
    return (f"{head}: DNS changed between {low:.1f} and {high:.1f} s, at least {low - det:.1f} s after the health "
            f"check turned at {det:.1f} s: the name server kept answering from the old status that long (the model "
            "assumes no delay).")


def failback_sentence(run: ChaosRun) -> str | None:
    """How traffic came back after the repair: healthy again, DNS back and the first request the region
    served, each counted from the repair call's return (AWS seconds); None when the check never turned."""
    m, tl, region = run.metrics, run.timeline(), run.cfg.faulty_region
    by = {e.name: e for e in failover_events.events(tl)}
    up, back = by.get("healthy again"), by.get("DNS back")
    if up is None or m.get("failback_s") is None:
        return None

    def since(t: float) -> float:
        return tl.aws(t - tl.restore_at)

    dns = ""
    if back is not None:
        bounds = [since(back.earliest), since(back.latest)] if back.latest > back.earliest else None
        dns = f" and DNS named {region} again at {failover_events.with_resolution(since(back.t), bounds)} s"
    why = ""
    if m.get("dns_ttl_s") is not None:
        cache = client_model(run.cfg).cache_s(m["dns_ttl_s"])
        why = (f", when the first client's cached answer (kept {cache:g} s) expired" if cache else
               ", at the clients' next request (they do not cache DNS)")
    return (f"After the repair the check was healthy again {_s(since(up.t))} s later{dns}; the first request "
            f"{region} served again came {_s(m['failback_s'])} s after the repair{why}.")


def _causes(run: ChaosRun) -> str:
    causes = failover_events.error_causes(run.timeline())
    if causes.empty:
        return "none"
    return "; ".join(f"{row.requests} x {row.status or 'no answer'} {row.cause.strip() or ''} in {row.region}".strip()
                     for row in causes.head(3).itertuples())


def what_happened(run: ChaosRun) -> str:
    """Markdown: this run's story, for the fault that ran, quoting its numbers."""
    cfg, m = run.cfg, run.metrics
    kind = fault_kind(cfg.fault)
    region = cfg.faulty_region
    parts = [f"**{cfg.fault} in {region}**: {kind.explanation}."]
    req = run.requests
    ok = req["status"].between(200, 299)
    if kind.failover_expected:
        dns = failover_events.with_resolution(m["dns_convergence_s"], m.get("bounds_s", {}).get("dns_convergence_s"))
        parts.append(
            f"The health check turned unhealthy {_s(m['detection_s'])} s after the fault (the CheckedTime of the "
            f"probe that turned it) and DNS stopped naming {region} at {dns} s (sampled); the last request that "
            f"reached {region} was sent {_s(m['rto_s'])} s after the fault (the recovery time). The worst case Route 53 "
            f"documents, threshold x interval + TTL, is {m['expected_rto_s']:.0f} s.")
        parts.append(gap_sentence(run))
        dns_gap = dns_sentence(run)
        if dns_gap:
            parts.append(dns_gap)
    if kind.requests_fail:
        failed = req[~ok]
        refused = int(failed["error"].fillna("").str.contains("Connection|Refused|Timeout|MaxRetry", case=False).sum())
        parts.append(f"{m['errors']} of {m['requests']} requests failed over an error window of {_s(m['error_window_s'])} s "
                     f"(causes: {_causes(run)}).")
        if refused:
            parts.append(f"{refused} of them were connection errors: the region's endpoint refused connections.")
        was_retried = req.get("retried_from", pd.Series("", index=req.index)).fillna("") != ""
        retried = int(was_retried.sum())
        model = client_model(cfg)
        parts.append(model.describe() + (f" {retried} requests were retried after a failure, "
                                         f"{int((ok & was_retried).sum())} of them successfully."
                                         if model.on_failure == "retry" else
                                         " None retried: each failed until its cached answer expired."))
    elif kind.failover_expected:
        parts.append(f"No request failed ({m['errors']} errors): {region} kept serving while its health check said "
                     "otherwise, so the clients that still had its address were served there until they resolved again.")
    if kind.failover_expected and (back := failback_sentence(run)):
        parts.append(back)
    if not kind.failover_expected:
        backlog = m["replication_backlog"]
        served = int((ok & (req["served_region"] == region) & req["sent_at"].between(run.fault_at, run.restore_at)).sum())
        parts.append(
            f"{failover_events.NO_FAILOVER.capitalize()} ({served} writes were served in {region} during the pause, "
            f"with {m['errors']} errors). Replication from {region} stopped for {cfg.hold_s:g} s: "
            f"{backlog['queued']} lag probes queued, the largest lag was {_s(backlog['max_lag_s'])} s, and the backlog "
            f"drained {_s(backlog['drain_s'])} s after the repair began.")
    parts.append(f"{m['lost_writes']} acknowledged writes were lost; the replicas are "
                 f"{'identical' if m['replicas_identical'] else 'NOT identical'}. Times are AWS seconds: on the local "
                 f"cloud (time scale {cfg.time_scale:g}) each took {cfg.time_scale:g} of that in wall-clock time.")
    return "\n\n".join(parts)
