"""The chaos step's plots (matplotlib): what happened, told by the data the experiment recorded."""

from __future__ import annotations

import heapq
from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

from helpers import failover_events
from helpers.chaos import ChaosRun
from helpers.colours import ERROR_COLOUR, EVENT_COLOURS, region_colours

EVENT_STYLE = {  # event name (helpers.failover_events) -> (legend label, kind of event in EVENT_COLOURS, line style)
    "fault injected": ("fault injected", "fault", "-"),
    "health check unhealthy": ("health check unhealthy", "health", "--"),
    "DNS answer changed": ("DNS answer changed", "dns", ":"),
    "restore": ("fault restored", "restore", "-"),
    "healthy again": ("healthy again", "health", "-."),
    "DNS back": ("DNS back", "dns", "-."),
}
LEGEND = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "fontsize": 8}  # beside the plot, never over the data
TIME_LABEL = "AWS seconds since the experiment started"


def _aws(run: ChaosRun, wall):
    """Wall seconds (a number or a Series) as AWS seconds: every plot's time axis."""
    return wall / run.cfg.time_scale


def _mark_events(ax, run: ChaosRun, legend: bool = True) -> None:
    if run.fault_at is not None and run.restore_at is not None:
        ax.axvspan(_aws(run, run.fault_at), _aws(run, run.restore_at), color=EVENT_COLOURS["fault"], alpha=0.06, lw=0,
                   label="fault window" if legend else None)
    for name, (label, kind, style) in EVENT_STYLE.items():
        t = run.events.get(name)
        if t is not None:
            ax.axvline(_aws(run, t), color=EVENT_COLOURS[kind], ls=style, lw=1.6, label=label if legend else None)


def _wall_time_axis(ax, run: ChaosRun) -> None:
    """A second time axis on top, in wall-clock seconds (AWS seconds x time scale), when they differ."""
    scale = run.cfg.time_scale
    if scale != 1.0:
        top = ax.secondary_xaxis("top", functions=(lambda x: x * scale, lambda x: x / scale))
        top.set_xlabel(f"wall-clock seconds on the local cloud (time scale {scale:g})", fontsize=8)
        top.tick_params(labelsize=8)


def items_by_origin(run: ChaosRun, bins: int = 40):
    """Stacked items per time bin by origin region (read from the items themselves), with the events."""
    cfg = run.cfg
    items = run.items if run.items is not None else pd.DataFrame(columns=["t", "origin_region"])
    fig, ax = plt.subplots(figsize=(11, 4.6))
    edges = np.linspace(0, _aws(run, run.ended_at), bins + 1)
    colours = region_colours(cfg.regions)
    bottom = np.zeros(bins)
    width = edges[1] - edges[0]
    for region in cfg.regions:
        counts, _ = np.histogram(_aws(run, items.loc[items["origin_region"] == region, "t"]), bins=edges)
        ax.bar(edges[:-1], counts, width=width, bottom=bottom, align="edge", color=colours[region],
               label=f"written in {region}", edgecolor="white", linewidth=0.3)
        bottom += counts
    _mark_events(ax, run)
    _wall_time_axis(ax, run)
    ax.set_title(f"Items by origin region over time: {cfg.fault} in {cfg.faulty_region}")
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel(f"items written per {width:.1f} AWS s")
    ax.legend(**LEGEND)
    fig.tight_layout()
    return fig


def _verdict_steps(run: ChaosRun, region: str) -> tuple[list[float], list[int]] | None:
    """Route 53's verdict on ``region``'s check over time (wall seconds), replayed from its checkers' probes:
    it changes at the best times ``failover_events.verdict_steps`` gives, where the event lines are drawn."""
    tl = run.timeline()
    if failover_events.probes(tl, region).empty:
        return None  # nothing recorded: draw nothing rather than a healthy line
    steps = failover_events.verdict_steps(tl, region)
    xs = [0.0] + [t for t, _ in steps] + [run.ended_at]
    ys = [1] + [int(healthy) for _, healthy in steps]
    return xs, ys + ys[-1:]


def _sampling_intervals(ax, run: ChaosRun, names: tuple[str, ...], label: str) -> None:
    """Shade where each sampled event may lie (``failover_events.Event`` earliest to latest); its line is the best time."""
    for e in failover_events.events(run.timeline()):
        if e.name in names and e.latest > e.earliest:
            kind = EVENT_STYLE[e.name][1]
            ax.axvspan(_aws(run, e.earliest), _aws(run, e.latest), color=EVENT_COLOURS[kind], alpha=0.18, lw=0,
                       label=label)
            label = None  # one legend entry


def health_and_errors(run: ChaosRun):
    """Route 53 health per region, DNS answers per region, and the error rate over time.

    Health is the verdict replayed from the checkers' probes, so its step falls on the
    "health check unhealthy" line; DNS is what the sampler saw, so its step comes at the
    first sample that showed the change, and a shaded band spans the sampling interval
    the change lies in (its event line is the middle).
    """
    cfg, samples, req = run.cfg, run.samples, run.requests
    colours = region_colours(cfg.regions)
    fig, (ax_h, ax_d, ax_e) = plt.subplots(3, 1, figsize=(11, 6.5), sharex=True)
    for i, region in enumerate(cfg.regions):
        steps = _verdict_steps(run, region)
        if steps:
            ax_h.step(_aws(run, np.array(steps[0])), np.array(steps[1]) + i * 0.04, where="post", color=colours[region],
                      label=region)
        s = samples[(samples["kind"] == "dns") & (samples["region"] == region)] if not samples.empty else samples
        if not s.empty:
            ax_d.step(_aws(run, s["t"]), s["value"] + i * 0.04, where="post", color=colours[region],
                      label=f"{region} (sampled)")
    _sampling_intervals(ax_h, run, ("health check unhealthy", "healthy again"),
                        "verdict may have turned this early\n(a late poll may have missed probes)")
    _sampling_intervals(ax_d, run, ("DNS answer changed", "DNS back"),
                        "DNS changed within this sampling\ninterval (line: its middle)")
    ax_h.set_ylabel("healthy\n(replayed probes)")
    ax_h.set_yticks([0, 1], ["no", "yes"])
    _wall_time_axis(ax_h, run)
    ax_h.set_title("Route 53 health check status, DNS answers and client errors")
    ax_d.set_ylabel("in DNS answer")
    ax_d.set_yticks([0, 1], ["no", "yes"])
    end = _aws(run, run.ended_at)
    width = max(end / 40, 0.1)
    edges = np.arange(0, end + width, width)
    total, _ = np.histogram(_aws(run, req["sent_at"]), bins=edges)
    failed, _ = np.histogram(_aws(run, req.loc[~req["status"].between(200, 299), "sent_at"]), bins=edges)
    rate = np.divide(failed, total, out=np.zeros_like(failed, dtype=float), where=total > 0) * 100
    ax_e.bar(edges[:-1], rate, width=width, align="edge", color=ERROR_COLOUR, label="failed requests")
    ax_e.set_ylabel("errors (% of requests)")
    ax_e.set_ylim(0, 105)
    ax_e.set_xlabel(TIME_LABEL)
    for ax in (ax_h, ax_d, ax_e):
        _mark_events(ax, run, legend=ax is ax_h)
    ax_h.legend(**LEGEND)
    ax_d.legend(**LEGEND)
    ax_e.legend(**LEGEND)
    fig.tight_layout()
    return fig


def connection_setups(requests: pd.DataFrame) -> pd.Series:
    """True for each request that opened a connection: a client's first request to a region.

    A client keeps one connection pool per address (``clients.HttpClient``), so its first
    request to a region pays for the DNS lookup, the TCP and the TLS handshake on top of
    the request itself: the slow points at the start of the latency plot. (A region has one
    address on the local cloud; on AWS it answers with several, and a client may open a
    connection to each.)
    """
    target = requests["resolved_region"].fillna("") if "resolved_region" in requests else requests["served_region"]
    return ~pd.DataFrame({"client": requests["client"], "target": target}).duplicated()


def cold_starts(requests: pd.DataFrame) -> pd.Series:
    """True for each successful request that raised the number in flight to its region to a new high.

    A Lambda execution environment serves one request at a time; when all of a function's
    environments are busy, Lambda starts another, and the request waits for its cold start
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html). A new high of
    concurrent requests to a region is when that happens.
    """
    peaks = pd.Series(False, index=requests.index)
    served = requests.dropna(subset=["served_region"]).sort_values("sent_at")
    for _, group in served.groupby("served_region"):
        in_flight: list[float] = []  # a heap of the finish times of the requests still running
        high = 0
        for index, sent, finished in zip(group.index, group["sent_at"], group["finished_at"]):
            while in_flight and in_flight[0] <= sent:
                heapq.heappop(in_flight)
            heapq.heappush(in_flight, finished)
            if len(in_flight) > high:
                high = len(in_flight)
                peaks[index] = True
    return peaks


def latency(run: ChaosRun):
    """Request latency over time, by the region that served the request; connection set-ups ringed,
    cold starts squared, failed requests as x."""
    cfg, req = run.cfg, run.requests
    colours = region_colours(cfg.regions)
    fig, ax = plt.subplots(figsize=(11, 3.8))
    ok = req["status"].between(200, 299)
    for region in cfg.regions:
        r = req[ok & (req["served_region"] == region)]
        ax.scatter(_aws(run, r["sent_at"]), r["latency_ms"], s=6, color=colours[region], label=f"served by {region}")
    setups = req[ok & connection_setups(req)]
    if not setups.empty:
        ax.scatter(_aws(run, setups["sent_at"]), setups["latency_ms"], s=60, facecolors="none", edgecolors="#545b64",
                   linewidths=0.9, label="opened a connection\n(DNS, TCP and TLS first)")
    cold = req[ok & cold_starts(req)]
    if not cold.empty:
        ax.scatter(_aws(run, cold["sent_at"]), cold["latency_ms"], s=70, marker="s", facecolors="none", edgecolors="#545b64",
                   linewidths=0.9, label="waited for a new Lambda\nenvironment (cold start)")
    bad = req[~ok]
    if not bad.empty:
        ax.scatter(_aws(run, bad["sent_at"]), bad["latency_ms"], s=14, color=ERROR_COLOUR, marker="x", label="failed request")
    _mark_events(ax, run)
    _wall_time_axis(ax, run)
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(mticker.LogLocator(subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(mticker.FuncFormatter(lambda value, _: f"{value:g}"))  # 20, not 2x10^1
    ax.yaxis.set_minor_formatter(mticker.NullFormatter())
    ax.set_title("Request latency (through DNS, TLS, API Gateway, Lambda and DynamoDB)")
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel("latency (wall-clock ms, log scale)")
    ax.legend(**LEGEND)
    fig.tight_layout()
    return fig


def replication_lag(run: ChaosRun):
    """Replication lag over time, one series per direction (AWS seconds), and the backlog of probes in flight.

    Each point is a probe item written in one region (x: when) and found in another (y: how long it
    took). While replication from a region is paused its probes pile up and arrive together at the
    resume: the lag rises along the pause and drains at once.
    """
    cfg, lag = run.cfg, run.lag
    colours = region_colours(cfg.regions)
    fig, (ax, ax_b) = plt.subplots(2, 1, figsize=(11, 5.2), sharex=True, gridspec_kw={"height_ratios": (3, 1.4)})
    arrived = lag.dropna(subset=["lag_ms"]) if not lag.empty else lag
    for source in cfg.regions:
        for target in cfg.regions:
            if source == target or arrived.empty:
                continue
            d = arrived[(arrived["source"] == source) & (arrived["target"] == target)]
            if not d.empty:
                ax.scatter(_aws(run, d["t"]), d["lag_ms"] / 1000 / cfg.time_scale, s=10, color=colours[source],
                           label=f"to {target}, written in {source}")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(mticker.LogLocator(subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(mticker.FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(mticker.NullFormatter())
    ax.set_ylabel("replication lag (AWS s, log scale)")
    ax.set_title(f"Replication lag by direction: {cfg.fault} in {cfg.faulty_region}")
    _mark_events(ax, run)
    _wall_time_axis(ax, run)
    ax.legend(**LEGEND)
    if not arrived.empty and "arrived" in arrived:
        grid = np.linspace(0, run.ended_at, 200)
        for source in cfg.regions:
            d = arrived[arrived["source"] == source]
            in_flight = [int(((d["t"] <= t) & (d["arrived"] > t)).sum()) for t in grid]
            ax_b.step(_aws(run, grid), in_flight, where="post", color=colours[source], label=f"from {source}")
    ax_b.set_ylabel("probes in flight\n(the backlog)")
    ax_b.set_xlabel(TIME_LABEL)
    _mark_events(ax_b, run, legend=False)
    ax_b.legend(**LEGEND)
    fig.tight_layout()
    return fig


def save(fig, run_dir: str | Path, name: str) -> Path:
    """Save a figure as PNG into the run directory (the report links it)."""
    path = Path(run_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path
