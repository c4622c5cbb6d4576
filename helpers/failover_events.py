"""A chaos run's events on one clock, and the headline numbers, each defined once.

Every function here reads only what a run recorded (``Timeline``): the request
log, the sampler's DNS answers and the health checkers' probes as
GetHealthCheckStatus showed them. Those are the same APIs on the local cloud
and on AWS, so the events and numbers mean the same on both. A ``Timeline``
comes from a ``helpers.chaos.ChaosRun`` or from a run directory's artifacts
(``Timeline.from_dir``), so a sweep or a comparison reads old runs the same way.

Times inside a ``Timeline`` are wall seconds since the experiment started;
every number returned to a reader is in AWS seconds (wall / time_scale).
Each event carries the interval it is known to lie in, and its best time:
a health verdict turns at the CheckedTime of the probe that turned it (Route
53's own clock, exact unless a late poll may have missed probes, when the DNS
change that follows it may show it came earlier); a DNS change
happened after the last sample that did not show it (and not before the
verdict it follows) and no later than the first that did, so its best time is
the middle of that interval, known to within half of it. A headline number
built on an event carries that interval (``headline_bounds``), and the report
prints it beside the number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from awsfacts.route53 import CheckerState, aggregate

# One sentence per headline number: the report shows it next to the number.
DEFINITIONS = {
    "detection_s": "fault injected to the health check turning unhealthy (Route 53's verdict, replayed from the "
                   "checkers' probes with FailureThreshold and the 18% rule; when a late poll missed probes and DNS "
                   "shows the verdict came earlier, the DNS change's time)",
    "dns_convergence_s": "fault injected to the first DNS answer without the region (asked of the zone's own name "
                         "server, no cache in between, every sampler period): the middle of the interval from the last "
                         "sample that still named the region (or the verdict DNS follows, if later) to the first that "
                         "did not, ± half of it",
    "rto_s": "fault injected to the last request that failed on, or was served by, the broken region "
             "(the recovery time the clients saw)",
    "error_window_s": "first failed request sent to the last failed request answered",
}
NO_FAILOVER = "no failover expected: the region kept serving"


@dataclass(frozen=True)
class Timeline:
    """What one chaos run recorded (wall seconds since its start) and the settings needed to read it."""

    requests: pd.DataFrame  # one row per request: sent_at, finished_at, status, resolved_region, served_region, ...
    samples: pd.DataFrame  # kind health (t, region, value), dns (t answered, asked_t, region, value) and
    #                        probe (t seen, region, checker, checked_t, value ok)
    fault_at: float
    restore_at: float
    ended_at: float
    faulty_region: str
    regions: tuple[str, ...]
    time_scale: float
    failure_threshold: int
    failover_expected: bool
    fault_started_at: float | None = None
    restore_started_at: float | None = None
    interval_s: float | None = None  # the health checks' RequestInterval (AWS seconds), to bound missed probes

    def aws(self, wall_s: float | None) -> float | None:
        """A wall duration in AWS seconds."""
        return None if wall_s is None else round(wall_s / self.time_scale, 3)

    @classmethod
    def from_dir(cls, run_dir: str | Path) -> "Timeline":
        """A run directory's ``chaos_timeline.csv``, ``chaos_samples.csv`` and ``chaos_metrics.json``."""
        out = Path(run_dir)
        m = json.loads((out / "chaos_metrics.json").read_text())
        clock = m["clock"]
        return cls(pd.read_csv(out / "chaos_timeline.csv", keep_default_na=False, na_values=[""]),
                   pd.read_csv(out / "chaos_samples.csv"), clock["fault_at"], clock["restore_at"], clock["ended_at"],
                   m["faulty_region"], tuple(m["regions"]), m["time_scale"], m["health_check_failure_threshold"],
                   m["failover_expected"], clock.get("fault_started_at"), clock.get("restore_started_at"),
                   m.get("health_check_interval"))

    @property
    def repair_begins(self) -> float:
        """When the repair call started: a request after it may already reach the repaired region."""
        return self.restore_started_at if self.restore_started_at is not None else self.restore_at

    def clock(self) -> dict[str, float | None]:
        """The experiment's own times (wall seconds since start), as ``chaos_metrics.json`` keeps them."""
        return {"fault_started_at": self.fault_started_at, "fault_at": self.fault_at,
                "restore_started_at": self.restore_started_at, "restore_at": self.restore_at,
                "ended_at": self.ended_at}


# ------------------------------------------------------------------ health verdicts
def probes(tl: Timeline, region: str | None = None) -> pd.DataFrame:
    """The probes of ``region``'s health check (default: the broken one), in CheckedTime order."""
    s = tl.samples
    if s.empty or "kind" not in s:
        return pd.DataFrame(columns=["t", "checked_t", "checker", "value"])
    p = s[(s["kind"] == "probe") & (s["region"] == (region or tl.faulty_region))]
    return p.sort_values("checked_t")


@dataclass(frozen=True)
class VerdictChange:
    """One change of Route 53's verdict, replayed from the probes (wall seconds)."""

    checked: float  # CheckedTime of the probe that turned it: the best estimate
    earliest: float  # earlier when a poll came late and a checker's probes may have been missed
    seen: float  # when a poll first showed it
    healthy: bool


def replay(p: pd.DataFrame, failure_threshold: int, period: float | None = None) -> list[VerdictChange]:
    """Each change of the check's verdict, from its checkers' probes.

    ``p``: probes with ``checked_t``, ``t`` (seen), ``checker`` and ``value`` (1 ok), any order.
    They are replayed through Route 53's rules (``awsfacts.route53``): each checker flips
    after FailureThreshold contrary probes, the check is healthy while more than 18% agree.
    GetHealthCheckStatus shows each checker's latest probe only, so a poll that comes later than
    one probing ``period`` (wall seconds) after the last may miss probes. A missed probe may have
    been contrary already and a checker may have flipped one period earlier per missed probe, so
    a change's ``earliest`` comes from the same replay with each missed probe taken as the probe
    seen after it (``_with_missed_probes``).
    """
    changes = _replay(p, failure_threshold)
    if period is None or p.empty:
        return changes
    filled = _replay(_with_missed_probes(p, period), failure_threshold)
    bounded = []
    for change in changes:
        before = [f.checked for f in filled if f.healthy == change.healthy and f.checked <= change.checked + 1e-9]
        bounded.append(VerdictChange(change.checked, min(change.checked, max(before, default=change.checked)),
                                     change.seen, change.healthy))
    return bounded


def _replay(p: pd.DataFrame, failure_threshold: int) -> list[VerdictChange]:
    p = p.sort_values("checked_t")
    views = {checker: CheckerState() for checker in p["checker"].unique()}
    healthy, changes = True, []
    for checked, seen, checker, ok in zip(p["checked_t"], p["t"], p["checker"], p["value"]):
        views[checker].observe(bool(ok), failure_threshold)
        now = aggregate(v.healthy for v in views.values())
        if now != healthy:
            healthy = now
            changes.append(VerdictChange(float(checked), float(checked), float(seen), now))
    return changes


def _with_missed_probes(p: pd.DataFrame, period: float) -> pd.DataFrame:
    """``p`` with the probes a checker made but no poll saw (a gap of more than 1.5 periods between two seen
    probes): one per period, each with the value of the probe seen after it."""
    missed = []
    for checker, seen in p.sort_values("checked_t").groupby("checker"):
        times, values = seen["checked_t"].tolist(), seen["value"].tolist()
        for (a, b), value, shown in zip(zip(times, times[1:]), values[1:], seen["t"].tolist()[1:]):
            count = round((b - a) / period) - 1
            if b - a > 1.5 * period:
                missed += [{"checked_t": a + k * period, "t": shown, "checker": checker, "value": value}
                           for k in range(1, count + 1)]
    return pd.concat([p[["checked_t", "t", "checker", "value"]], pd.DataFrame(missed)], ignore_index=True) \
        if missed else p


def verdict_changes(tl: Timeline, region: str | None = None) -> list[VerdictChange]:
    """``replay`` of the probes of ``region``'s health check (default: the broken one)."""
    period = tl.interval_s * tl.time_scale if tl.interval_s else None
    return replay(probes(tl, region), tl.failure_threshold, period)


def verdict_steps(tl: Timeline, region: str | None = None) -> list[tuple[float, bool]]:
    """(best time, healthy) for each change of ``region``'s verdict (default: the broken one): the CheckedTime
    of the probe that turned it, or for the broken region's two turns the time the events give them (earlier
    when missed probes let the DNS change that follows show it came earlier: ``_verdict_event``)."""
    changes = verdict_changes(tl, region)
    named = {(e.earliest, e.seen): e.t for e in events(tl) if e.name in ("health check unhealthy", "healthy again")} \
        if (region or tl.faulty_region) == tl.faulty_region else {}
    return [(named.get((c.earliest, c.seen), c.checked), c.healthy) for c in changes]


def phases(p: pd.DataFrame, before: float, period: float) -> tuple[float, ...] | None:
    """Each checker's phase (a fraction of ``period``) from its last probe before ``before`` (same clock)."""
    p = p[p["checked_t"] < before]
    if p.empty:
        return None
    last = p.groupby("checker")["checked_t"].max()
    return tuple(sorted(float((t % period) / period) for t in last))


def checker_phases(tl: Timeline, interval_s: float, region: str | None = None) -> tuple[float, ...] | None:
    """The checkers' phases in the probing schedule before the fault (``interval_s`` in AWS seconds)."""
    return phases(probes(tl, region), tl.fault_at, interval_s * tl.time_scale)


# ------------------------------------------------------------------------ events
@dataclass(frozen=True)
class Event:
    """One event: its best time, the interval it lies in (wall seconds since start), where it comes from."""

    name: str
    t: float
    earliest: float
    latest: float
    source: str
    resolution: str
    seen: float | None = None  # when the sampler first showed it (a sampled event)


def _dns_samples(tl: Timeline, region: str) -> pd.DataFrame:
    s = tl.samples
    if s.empty or "kind" not in s:
        return pd.DataFrame(columns=["t", "value"])
    return s[(s["kind"] == "dns") & (s["region"] == region)].sort_values("t")


def _dns_turn(tl: Timeline, value: int, after: float, before: float | None, stays: bool) -> tuple[float, float] | None:
    """The interval in which the broken region's DNS presence turned to ``value``: from the start of the
    last sample's queries that did not show it (one of them still did) to the end of the first sample that did.

    Runs recorded before samples kept ``asked_t`` (when their queries began) start the interval at
    the last sample's ``t``, as they did then."""
    d = _dns_samples(tl, tl.faulty_region)
    window = d[(d["t"] >= after) & ((d["t"] < before) if before is not None else True)]
    if window.empty:
        return None
    hits = window[window["value"] == value]
    if stays:
        others = window[window["value"] != value]
        if not others.empty:
            hits = hits[hits["t"] > others["t"].iloc[-1]]
    if hits.empty:
        return None
    first = float(hits["t"].iloc[0])
    earlier = d[d["t"] < first]
    if earlier.empty:
        return after, first
    asked = earlier["asked_t"].iloc[-1] if "asked_t" in earlier else float("nan")
    return float(earlier["t"].iloc[-1] if pd.isna(asked) else asked), first


def _ok(requests: pd.DataFrame) -> pd.Series:
    return requests["status"].between(200, 299)


def touched_broken(tl: Timeline) -> pd.Series:
    """Requests that failed on, or were served by, the broken region (a retried request counts its first try)."""
    r = tl.requests
    retried = r["retried_from"].astype(object).fillna("") if "retried_from" in r else pd.Series("", index=r.index)
    return (r["resolved_region"] == tl.faulty_region) | (retried == tl.faulty_region)


def _touched_during_fault(tl: Timeline) -> pd.DataFrame:
    """Requests sent from the fault until the repair began that failed on, or were served by, the broken region."""
    r = tl.requests
    return r[(r["sent_at"] >= tl.fault_at) & (r["sent_at"] < tl.repair_begins) & touched_broken(tl)]


def writes_after_the_clients_left(tl: Timeline, items: pd.DataFrame) -> pd.DataFrame:
    """Items the broken region wrote after the clients had left it and before the repair began (a request sent
    after that may reach the repaired region), each with the ``sent_at`` of its request (NaN when the request
    log has none).

    ``items``: ``item_id``, ``origin_region`` and ``t`` (written, same clock). The clients have left when the
    last request sent after the fault that failed on, or was served by, the region has finished. Only a
    request already in flight when the fault hit can still write there: its Lambda function may finish
    after the outage cut its connection, while its client saw an error and may have retried elsewhere; the
    replicas then keep whichever write came last (last writer wins). So every row here should have been
    sent before ``fault_at``.
    """
    r, touched = tl.requests, _touched_during_fault(tl)
    left = float(touched["finished_at"].max()) if not touched.empty else tl.fault_at
    late = items[(items["origin_region"] == tl.faulty_region) & (items["t"] > left) & (items["t"] < tl.repair_begins)]
    sent = r.drop_duplicates("item_id").set_index("item_id")["sent_at"] if "item_id" in r else pd.Series(dtype=float)
    return late.assign(sent_at=late["item_id"].map(sent))


def _after_verdict(interval: tuple[float, float], verdict: VerdictChange | None) -> tuple[float, float]:
    """A DNS change's sampling interval, starting no earlier than the verdict it follows.

    Route 53 answers a health-checked record from its check's status, so the answer cannot change
    before the verdict does (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover.html).
    A verdict later than the whole interval leaves it as sampled: ``order_findings`` reports that order
    as impossible rather than have it hidden here.
    """
    low, high = interval
    if verdict is None or verdict.earliest > high:
        return interval
    return max(low, verdict.earliest), high


def _dns_event(name: str, interval: tuple[float, float], resolution: str) -> Event:
    earliest, first_seen = interval
    return Event(name, (earliest + first_seen) / 2, earliest, first_seen, "DNS queries to the zone's name server",
                 resolution, first_seen)


def _verdict_event(name: str, verdict: VerdictChange, dns: Event | None, resolution: str) -> Event:
    """A verdict change as an event: at its probe's CheckedTime, unless probes were missed and the DNS change
    that follows it was seen earlier.

    DNS cannot change before the verdict (``_after_verdict``), so a DNS change seen inside the verdict's
    interval bounds it: the verdict's latest time is then the end of the DNS sampling interval, and its
    best time no later than the DNS change's. Without that, a late poll would put detection after the DNS
    convergence it caused. A DNS change seen before the whole verdict interval is left for
    ``order_findings`` to report as impossible.
    """
    t, latest = verdict.checked, verdict.checked
    if dns is not None and verdict.earliest <= dns.latest:
        t, latest = min(t, dns.t), min(latest, dns.latest)
    return Event(name, t, verdict.earliest, latest, "the checkers' probes replayed with FailureThreshold and the 18% rule",
                 resolution, verdict.seen)


def events(tl: Timeline) -> list[Event]:
    """The run's events in causal order, each with its interval, source and resolution."""
    r, region = tl.requests, tl.faulty_region
    poll = ("CheckedTime of the probe (Route 53's clock), seen at the sampler's next GetHealthCheckStatus poll; "
            "exact unless a late poll may have missed a probe (then the interval starts earlier, and ends no later "
            "than the DNS change that follows it)")
    dns_sampled = ("the middle of the sampling interval, ± half of it (DNS is asked every sampler period; the "
                   "interval starts no earlier than the verdict DNS follows)")
    out = [Event("fault injected", tl.fault_at, tl.fault_started_at or tl.fault_at, tl.fault_at,
                 "the fault's API call (start to return)", "the call's duration")]
    p = probes(tl)
    failed = p[(p["checked_t"] >= (tl.fault_started_at or tl.fault_at)) & (p["checked_t"] < tl.restore_at)
               & (p["value"] == 0)]
    if not failed.empty:
        checked = float(failed["checked_t"].iloc[0])
        out.append(Event("first failed health probe", checked, checked, checked, "GetHealthCheckStatus CheckedTime", poll,
                         float(failed["t"].iloc[0])))
    changes = verdict_changes(tl)
    down = next((c for c in changes if not c.healthy and c.checked >= tl.fault_at - 1e-9), None)
    dns_out = _dns_turn(tl, 0, tl.fault_at, tl.restore_at, stays=tl.failover_expected)
    dns_event = _dns_event("DNS answer changed", _after_verdict(dns_out, down), dns_sampled) if dns_out else None
    if down:
        out.append(_verdict_event("health check unhealthy", down, dns_event, poll))
    if dns_event:
        out.append(dns_event)
    during = _touched_during_fault(tl)
    if tl.failover_expected and not during.empty:
        last = float(during["sent_at"].max())
        out.append(Event("last request to the broken region", last, last, last, "the request log", "exact (the client's clock)"))
    out.append(Event("restore", tl.restore_at, tl.restore_started_at or tl.restore_at, tl.restore_at,
                     "the repair's API call (start to return)", "the call's duration"))
    up = next((c for c in changes if c.healthy and c.checked >= tl.repair_begins), None)
    back = _dns_turn(tl, 1, tl.restore_at, None, stays=False) if dns_out else None
    back_event = _dns_event("DNS back", _after_verdict(back, up), dns_sampled) if back else None
    if up:
        out.append(_verdict_event("healthy again", up, back_event, poll))
    if back_event:
        out.append(back_event)
    served = r[(r["sent_at"] >= tl.restore_at) & _ok(r) & (r["served_region"] == region)]
    if dns_out and not served.empty:
        first = float(served["sent_at"].min())
        out.append(Event("first request served by the restored region", first, first, first, "the request log",
                         "exact (the client's clock)"))
    return out


# Pairs that causality orders: the first cannot happen after the second.
CAUSAL_ORDER = (
    ("fault injected", "first failed health probe"),
    ("first failed health probe", "health check unhealthy"),
    ("health check unhealthy", "DNS answer changed"),
    ("fault injected", "restore"),
    ("restore", "healthy again"),
    ("healthy again", "DNS back"),
    ("restore", "first request served by the restored region"),
)


def order_findings(evs: list[Event], time_scale: float) -> tuple[list[str], list[str]]:
    """(impossible orders, orders within the measurement's resolution) for the causal pairs; times in the
    messages are AWS seconds (``evs`` in wall seconds at ``time_scale``).

    An order is impossible when the first event's earliest time is after the second's latest;
    when their intervals overlap and the best times are in the wrong order, the sampling cannot
    tell them apart and the report says so.
    """
    def span(e: Event) -> str:
        low, high = e.earliest / time_scale, e.latest / time_scale
        return f"{low:.1f} AWS s" if high - low < 0.05 else f"{low:.1f} to {high:.1f} AWS s"

    by = {e.name: e for e in evs}
    impossible, uncertain = [], []
    for a, b in CAUSAL_ORDER:
        if a in by and b in by:
            first, second = by[a], by[b]
            if first.earliest > second.latest + 1e-6:
                impossible.append(f"{a} after {b}")
            elif first.t > second.t:
                uncertain.append(f"{a} ({span(first)}) and {b} ({span(second)}) overlap within their resolution, "
                                 f"so their order cannot be told: the best times put {b} first")
    return impossible, uncertain


def events_table(tl: Timeline) -> pd.DataFrame:
    """Event, AWS time, wall time (since the experiment started), interval, source, resolution."""
    rows = [{"event": e.name, "AWS time (s)": tl.aws(e.t), "wall time (s)": round(e.t, 3),
             "interval (AWS s)": f"{tl.aws(e.earliest):.2f} to {tl.aws(e.latest):.2f}" if e.latest > e.earliest
             else "exact", "source": e.source, "resolution": e.resolution} for e in events(tl)]
    return pd.DataFrame(rows, columns=["event", "AWS time (s)", "wall time (s)", "interval (AWS s)", "source",
                                       "resolution"])


# ------------------------------------------------------------ the headline numbers
def detection_s(tl: Timeline) -> float | None:
    """AWS seconds: fault injected to the health check turning unhealthy (``DEFINITIONS``)."""
    e = {x.name: x for x in events(tl)}.get("health check unhealthy")
    return tl.aws(e.t - tl.fault_at) if e else None


def dns_convergence_s(tl: Timeline) -> float | None:
    """AWS seconds: fault injected to the first DNS answer without the region, the middle of its sampling
    interval (``DEFINITIONS``; ``headline_bounds`` gives the interval)."""
    e = {x.name: x for x in events(tl)}.get("DNS answer changed")
    return tl.aws(e.t - tl.fault_at) if e else None


def recovery_time_s(tl: Timeline) -> float | None:
    """AWS seconds: fault injected to the last request that failed on or was served by the broken region.

    Requests sent once the repair call has started are not counted (they may reach the repaired
    region). None when no failover is expected (the region keeps serving: ``NO_FAILOVER``); 0 when no request
    went there after the fault.
    """
    if not tl.failover_expected:
        return None
    during = _touched_during_fault(tl)
    return tl.aws(float(during["sent_at"].max()) - tl.fault_at) if not during.empty else 0.0


def error_window_s(tl: Timeline) -> float:
    """AWS seconds: first failed request sent to the last failed request answered (0 without errors)."""
    failed = tl.requests[~_ok(tl.requests)]
    if failed.empty:
        return 0.0
    return tl.aws(float(failed["finished_at"].max() - failed["sent_at"].min()))


def error_causes(tl: Timeline) -> pd.DataFrame:
    """Failed requests grouped by region and cause (status and message)."""
    r = tl.requests
    failed = r[~_ok(r)]
    if failed.empty:
        return pd.DataFrame(columns=["region", "status", "cause", "requests"])
    cause = failed["error"].fillna("").str.replace(r"\(.*", "", regex=True).str.slice(0, 80)
    frame = pd.DataFrame({"region": failed["resolved_region"].fillna("?"), "status": failed["status"], "cause": cause})
    return frame.value_counts().rename("requests").reset_index()


def headline(tl: Timeline) -> dict[str, Any]:
    """Every headline number of the run (AWS seconds), as ``chaos_metrics.json`` and the index show them."""
    return {"detection_s": detection_s(tl), "dns_convergence_s": dns_convergence_s(tl), "rto_s": recovery_time_s(tl),
            "error_window_s": error_window_s(tl)}


# The event each sampled headline number ends at; the others are exact (the request log's own clock).
_SAMPLED = {"detection_s": "health check unhealthy", "dns_convergence_s": "DNS answer changed"}


def headline_bounds(tl: Timeline) -> dict[str, list[float]]:
    """[earliest, latest] AWS seconds since the fault for each sampled headline number that was measured.

    The number itself is its best estimate inside (``DEFINITIONS``); an exact number has no entry.
    """
    by = {e.name: e for e in events(tl)}
    return {key: [tl.aws(by[name].earliest - tl.fault_at), tl.aws(by[name].latest - tl.fault_at)]
            for key, name in _SAMPLED.items() if name in by and by[name].latest - by[name].earliest > 1e-9}


def with_resolution(value: float | None, bounds: list[float] | None) -> str:
    """A headline number as a reader sees it, in AWS seconds without the unit: ``9.6 ± 1.4`` when it is the
    middle of its interval, ``7.4 (between 5.1 and 7.4)`` when not, the number alone when exact."""
    if value is None:
        return "-"
    if not bounds:
        return f"{value:.1f}"
    low, high = bounds
    if abs((value - low) - (high - value)) < 0.05:
        return f"{value:.1f} ± {(high - low) / 2:.1f}"
    return f"{value:.1f} (between {low:.1f} and {high:.1f})"
