"""The chaos step's plots (matplotlib): what happened, told by the data the experiment recorded."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.chaos import ChaosRun

EVENT_STYLE = {  # event name -> (label, colour, line style)
    "fault": ("fault injected", "#d13212", "-"),
    "unhealthy": ("health check unhealthy", "#ff9900", "--"),
    "dns_changed": ("DNS answer changed", "#8c4fff", ":"),
    "restore": ("fault restored", "#1d8102", "-"),
    "healthy_again": ("healthy again", "#2e73b8", "--"),
}
REGION_COLOURS = ["#2e73b8", "#ff9900", "#1d8102", "#8c4fff", "#d13212"]


def _colours(regions) -> dict[str, str]:
    return {r: REGION_COLOURS[i % len(REGION_COLOURS)] for i, r in enumerate(regions)}


def _mark_events(ax, run: ChaosRun, legend: bool = True) -> None:
    if run.fault_at is not None and run.restore_at is not None:
        ax.axvspan(run.fault_at, run.restore_at, color="#d13212", alpha=0.06, lw=0,
                   label="fault window" if legend else None)
    for name, (label, colour, style) in EVENT_STYLE.items():
        t = run.events.get(name)
        if t is not None:
            ax.axvline(t, color=colour, ls=style, lw=1.6, label=label if legend else None)


def _aws_time_axis(ax, run: ChaosRun) -> None:
    """A second time axis on top, in AWS seconds (real seconds / time scale), when they differ."""
    scale = run.cfg.time_scale
    if scale != 1.0:
        top = ax.secondary_xaxis("top", functions=(lambda x: x / scale, lambda x: x * scale))
        top.set_xlabel("the same, in AWS seconds", fontsize=8)
        top.tick_params(labelsize=8)


def items_by_origin(run: ChaosRun, bins: int = 40):
    """Stacked items per time bin by origin region (read from the items themselves), with the events."""
    cfg = run.cfg
    items = run.items if run.items is not None else pd.DataFrame(columns=["t", "origin_region"])
    fig, ax = plt.subplots(figsize=(11, 4.6))
    edges = np.linspace(0, run.ended_at, bins + 1)
    colours = _colours(cfg.regions)
    bottom = np.zeros(bins)
    width = edges[1] - edges[0]
    for region in cfg.regions:
        counts, _ = np.histogram(items.loc[items["origin_region"] == region, "t"], bins=edges)
        ax.bar(edges[:-1], counts, width=width, bottom=bottom, align="edge", color=colours[region],
               label=f"written in {region}", edgecolor="white", linewidth=0.3)
        bottom += counts
    _mark_events(ax, run)
    _aws_time_axis(ax, run)
    ax.set_title(f"Items by origin region over time: {cfg.fault} in {cfg.faulty_region}")
    ax.set_xlabel(f"seconds since the experiment started (real time; time scale {cfg.time_scale})")
    ax.set_ylabel(f"items written per {width:.1f} s")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    return fig


def health_and_errors(run: ChaosRun):
    """Route 53 health per region, DNS answers per region, and the error rate over time."""
    cfg, samples, req = run.cfg, run.samples, run.requests
    colours = _colours(cfg.regions)
    fig, (ax_h, ax_d, ax_e) = plt.subplots(3, 1, figsize=(11, 6.5), sharex=True)
    for i, region in enumerate(cfg.regions):
        for ax, kind in ((ax_h, "health"), (ax_d, "dns")):
            s = samples[(samples["kind"] == kind) & (samples["region"] == region)] if not samples.empty else samples
            if not s.empty:
                ax.step(s["t"], s["value"] + i * 0.04, where="post", color=colours[region], label=region)
    ax_h.set_ylabel("healthy")
    ax_h.set_yticks([0, 1], ["no", "yes"])
    _aws_time_axis(ax_h, run)
    ax_h.set_title("Route 53 health check status, DNS answers and client errors")
    ax_d.set_ylabel("in DNS answer")
    ax_d.set_yticks([0, 1], ["no", "yes"])
    width = max(run.ended_at / 40, 0.1)
    edges = np.arange(0, run.ended_at + width, width)
    total, _ = np.histogram(req["sent_at"], bins=edges)
    failed, _ = np.histogram(req.loc[~req["status"].between(200, 299), "sent_at"], bins=edges)
    rate = np.divide(failed, total, out=np.zeros_like(failed, dtype=float), where=total > 0) * 100
    ax_e.bar(edges[:-1], rate, width=width, align="edge", color="#d13212", label="errors")
    ax_e.set_ylabel("errors (% of requests)")
    ax_e.set_ylim(0, 105)
    ax_e.set_xlabel(f"seconds since the experiment started (real time; time scale {cfg.time_scale})")
    for ax in (ax_h, ax_d, ax_e):
        _mark_events(ax, run, legend=ax is ax_h)
    ax_h.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax_e.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    return fig


def latency(run: ChaosRun):
    """Request latency over time, by the region that served the request (errors in red)."""
    cfg, req = run.cfg, run.requests
    colours = _colours(cfg.regions)
    fig, ax = plt.subplots(figsize=(11, 3.8))
    ok = req["status"].between(200, 299)
    for region in cfg.regions:
        r = req[ok & (req["served_region"] == region)]
        ax.scatter(r["sent_at"], r["latency_ms"], s=6, color=colours[region], label=f"served by {region}")
    bad = req[~ok]
    if not bad.empty:
        ax.scatter(bad["sent_at"], bad["latency_ms"], s=10, color="#d13212", marker="x", label="error")
    _mark_events(ax, run, legend=False)
    ax.set_yscale("log")
    ax.set_title("Request latency (through DNS, TLS, API Gateway, Lambda and DynamoDB)")
    ax.set_xlabel(f"seconds since the experiment started (real time; time scale {cfg.time_scale})")
    ax.set_ylabel("latency (ms, log scale)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    return fig


def save(fig, run_dir: str | Path, name: str) -> Path:
    """Save a figure as PNG into the run directory (the report links it)."""
    path = Path(run_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path
