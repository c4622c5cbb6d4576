"""The plots: a region keeps its colour everywhere, never an event's; every plot has a legend and units."""

from __future__ import annotations

import os
import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex, to_rgb

from helpers import chaos_plots, failover_events
from helpers.chaos import ChaosRun
from helpers.colours import EVENT_COLOURS, REGION_PALETTE, region_colours
from helpers.config import validate
from helpers.diagram import architecture_diagram

matplotlib.use("Agg")
REGIONS = ["eu-west-1", "eu-central-1"]


def _lab(colour: str) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of an sRGB colour."""
    def linear(c):
        return ((c + 0.055) / 1.055) ** 2.4 if c > 0.04045 else c / 12.92
    r, g, b = (linear(c) for c in to_rgb(colour))
    x, y, z = ((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, 0.2126 * r + 0.7152 * g + 0.0722 * b,
               (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883)
    def f(t):
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def _distance(a: str, b: str) -> float:
    """CIE76 colour difference: about 2 is just noticeable, above 25 reads as another colour."""
    return float(np.linalg.norm(np.subtract(_lab(a), _lab(b))))


def test_a_region_has_the_same_colour_in_every_run():
    assert region_colours(REGIONS) == {"eu-west-1": "#1f77b4", "eu-central-1": "#ff7f0e"}, \
        "the default regions are blue and orange; a change here recolours every report"
    probe = "from helpers.colours import region_colours; print(region_colours(['us-east-1', 'eu-west-1', 'ap-south-1']))"
    seen = {subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")}
    assert len(seen) == 1, f"no per-process hashing: {seen}"


def test_region_colours_do_not_depend_on_order_and_never_repeat():
    many = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-1", "eu-north-1"]
    colours = region_colours(many)
    assert len(set(colours.values())) == len(many), "us-east-1 hashes onto eu-west-1's blue and moves on"
    assert region_colours(reversed(many)) == colours
    assert region_colours(["eu-west-1", "us-west-2"])["eu-west-1"] == region_colours(REGIONS)["eu-west-1"], \
        "without a clash a region keeps its colour whatever the other regions"
    with pytest.raises(ValueError, match="REGION_PALETTE"):
        region_colours([*many, "sa-east-1"])


def test_region_colours_are_far_from_every_event_colour():
    for region in REGION_PALETTE:
        for kind, event in EVENT_COLOURS.items():
            assert _distance(region, event) > 25, f"region colour {region} looks like the {kind} marker {event}"
    for a in REGION_PALETTE:
        for b in REGION_PALETTE:
            assert a == b or _distance(a, b) > 35, f"regions {a} and {b} look alike"


def _probes(fail_from: float, fail_until: float) -> list[dict]:
    """Eight checkers per region probing every 0.5 s (10 AWS s at time scale 0.05), staggered by 1/16 s;
    eu-west-1's fail between the two times."""
    rows = []
    for start in np.arange(0, 10, 0.5):
        for k in range(8):
            checked = start + k / 16
            for region in REGIONS:
                ok = region != "eu-west-1" or not fail_from <= checked < fail_until
                rows.append({"t": checked + 0.02, "kind": "probe", "region": region, "checker": f"checker-{k}",
                             "checked_t": checked, "value": int(ok)})
    return rows


@pytest.fixture
def run() -> ChaosRun:
    """A small recorded experiment: two regions, the fault at 3 s, the check turns at 3.375 s (the seventh
    checker's failed probe), DNS is sampled every 0.5 s and shows the change at 3.5 s, restored at 7 s."""
    cfg = validate({"regions": REGIONS, "fault": "region_outage", "faulty_region": "eu-west-1", "time_scale": 0.05})
    rows = []
    for client in range(2):
        for i in range(40):
            sent = i * 0.25 + client * 0.1
            broken = 3 <= sent < 4
            region = "eu-central-1" if client or 3 <= sent < 7.5 else "eu-west-1"
            rows.append({"client": client, "sent_at": sent, "finished_at": sent + (0.3 if i == 0 else 0.01),
                         "latency_ms": 300.0 if i == 0 else 10.0, "status": 0 if broken and not client else 201,
                         "resolved_region": region, "served_region": None if broken and not client else region})
    requests = pd.DataFrame(rows).sort_values("sent_at").reset_index(drop=True)
    samples = pd.DataFrame([{"t": t, "asked_t": t, "kind": kind, "region": r,
                             "value": int(r != "eu-west-1" or not 3.5 <= t < 7.2)}
                            for t in np.arange(0, 10, 0.5) for kind in ("health", "dns") for r in REGIONS]
                           + _probes(3.0, 7.0))
    ok = requests[requests["status"] == 201]
    items = pd.DataFrame({"t": ok["sent_at"], "origin_region": ok["served_region"]})
    lag = pd.DataFrame([{"t": t, "source": s, "target": d, "lag_ms": 50.0 if s != "eu-west-1" or not 3 <= t < 7 else
                         (7.1 - t) * 1000, "arrived": t + 0.05 if s != "eu-west-1" or not 3 <= t < 7 else 7.1}
                        for t in np.arange(0, 10, 0.2) for s, d in (REGIONS, REGIONS[::-1])])
    run = ChaosRun(cfg=cfg, started_at=0.0, fault_at=3.0, restore_at=7.0, ended_at=10.0, requests=requests,
                   samples=samples, lag=lag, items=items)
    run.events = {e.name: e.t for e in failover_events.events(run.timeline())}
    return run


@pytest.mark.parametrize("plot", [chaos_plots.items_by_origin, chaos_plots.health_and_errors, chaos_plots.latency,
                                  chaos_plots.replication_lag])
def test_every_chaos_plot_has_a_legend_units_and_the_region_colours(run, plot):
    fig = plot(run)
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    assert legends, f"{plot.__name__} has no legend"
    entries = {t.get_text(): h for legend in legends for t, h in zip(legend.get_texts(), legend.legend_handles)}
    for event in ("fault injected", "health check unhealthy", "DNS answer changed", "fault restored"):
        assert event in entries, f"{plot.__name__}: the legend names the {event!r} line"
    colours = region_colours(REGIONS)
    for region in REGIONS:
        label = next(text for text in entries if text.endswith(region))
        handle = entries[label]
        drawn = handle.get_facecolor() if hasattr(handle, "get_facecolor") else handle.get_color()
        drawn = np.atleast_2d(drawn)[0] if not isinstance(drawn, str) else drawn
        assert to_hex(drawn) == colours[region], f"{plot.__name__}: {region} is drawn in its own colour"
    axes = [ax for ax in fig.axes if ax.get_ylabel()]
    assert any("seconds" in ax.get_xlabel() for ax in fig.axes), "time has its unit"
    assert all(ax.get_ylabel() for ax in fig.axes if ax.get_visible() and ax.has_data()), axes
    matplotlib.pyplot.close(fig)


def test_latency_plot_explains_its_slow_first_requests(run):
    setups = chaos_plots.connection_setups(run.requests)
    first = run.requests.groupby("client")["sent_at"].idxmin()
    assert setups[first].all(), "each client's first request opens its connection"
    assert setups.sum() < len(run.requests) / 4, "later requests reuse it"
    cold = chaos_plots.cold_starts(run.requests)
    assert cold.any() and run.requests.loc[cold, "latency_ms"].max() == 300.0, \
        "the first requests in flight together need new Lambda environments"
    fig = chaos_plots.latency(run)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("opened a connection" in label for label in labels)
    assert any("cold start" in label for label in labels)
    matplotlib.pyplot.close(fig)


def test_cold_starts_are_new_highs_of_requests_in_flight_to_a_region():
    requests = pd.DataFrame({
        "sent_at": [0.0, 0.1, 0.5, 0.6, 0.65], "finished_at": [0.2, 0.3, 0.55, 0.7, 0.8],
        "served_region": ["a", "a", "a", "a", "a"],
    })
    assert chaos_plots.cold_starts(requests).tolist() == [True, True, False, False, False]
    requests.loc[4, "sent_at"] = 0.62  # three in flight at once now: a third environment
    requests.loc[3, "finished_at"] = 0.9
    requests.loc[2, "finished_at"] = 0.9
    assert chaos_plots.cold_starts(requests).tolist() == [True, True, False, False, True]


def test_the_architecture_diagram_frames_each_region_in_its_colour_with_a_legend():
    fig = architecture_diagram(REGIONS)
    legend = fig.axes[0].get_legend()
    assert legend is not None
    texts = [t.get_text() for t in legend.get_texts()]
    colours = region_colours(REGIONS)
    for region in REGIONS:
        handle = legend.legend_handles[texts.index(f"region {region}")]
        assert to_hex(handle.get_edgecolor()) == colours[region]
    matplotlib.pyplot.close(fig)


def test_after_a_late_poll_the_health_step_still_falls_on_the_line_dns_bounds(run):
    missed = ((run.samples["kind"] == "probe") & run.samples["checker"].isin(["checker-5", "checker-6"])
              & run.samples["checked_t"].between(3.0, 4.0, inclusive="left"))
    run.samples = run.samples[~missed]
    found = {e.name: e for e in failover_events.events(run.timeline())}
    verdict = found["health check unhealthy"]
    down = next(c for c in failover_events.verdict_changes(run.timeline()) if not c.healthy)
    assert down.checked > found["DNS answer changed"].latest, "the probe seen first came after DNS had changed"
    assert verdict.t == found["DNS answer changed"].t < down.checked
    run.events = {name: e.t for name, e in found.items()}
    fig = chaos_plots.health_and_errors(run)
    step = next(line for line in fig.axes[0].get_lines() if line.get_label() == "eu-west-1")
    xs, ys = step.get_xdata(), step.get_ydata()
    assert xs[np.flatnonzero(np.diff(ys)) + 1][0] == pytest.approx(verdict.t / run.cfg.time_scale), \
        "the step turns on the 'health check unhealthy' line, not at the late probe"
    matplotlib.pyplot.close(fig)


def test_the_health_step_falls_on_the_unhealthy_line_and_dns_shows_its_sampling_interval(run):
    fig = chaos_plots.health_and_errors(run)
    ax_h, ax_d = fig.axes[0], fig.axes[1]
    aws = 1 / run.cfg.time_scale
    unhealthy, healthy = run.events["health check unhealthy"] * aws, run.events["healthy again"] * aws
    assert (unhealthy, healthy) == (pytest.approx(3.375 * aws), pytest.approx(7.0625 * aws))
    step = next(line for line in ax_h.get_lines() if line.get_label() == "eu-west-1")
    xs, ys = step.get_xdata(), step.get_ydata()
    assert list(xs[np.flatnonzero(np.diff(ys)) + 1]) == [pytest.approx(unhealthy), pytest.approx(healthy)], \
        "the health step turns exactly where the event lines are drawn"
    dns_line = run.events["DNS answer changed"] * aws
    bands = [patch for patch in ax_d.patches if patch.get_label() != "fault window" and patch.get_alpha() == 0.18]
    spans = [(p.get_x(), p.get_x() + p.get_width()) for p in bands]
    assert (pytest.approx(unhealthy), pytest.approx(3.5 * aws)) in spans, \
        "DNS changed between the verdict it follows and the first sample without eu-west-1"
    assert any(low < dns_line < high for low, high in spans), "the DNS line is the middle of its band"
    dns_step = next(line for line in ax_d.get_lines() if line.get_label() == "eu-west-1 (sampled)")
    first_without = dns_step.get_xdata()[np.flatnonzero(np.diff(dns_step.get_ydata()))[0] + 1]
    assert dns_line < first_without, "the sampled DNS step lags the event line by the sampling, shaded"
    legend = [t.get_text() for t in ax_d.get_legend().get_texts()]
    assert any("sampling" in text and "middle" in text for text in legend), legend
    matplotlib.pyplot.close(fig)
