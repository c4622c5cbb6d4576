"""The consistency lab's report: plots side by side, the artifacts, and "What just happened" written from the numbers.

Every number here comes from ``helpers.consistency_metrics`` (through the
``LabResult`` of ``helpers.consistency_lab``); ``consistency_metrics.json``
holds them for the index page (``helpers.report``) and the benchmark.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from helpers.colours import region_colours
from helpers.consistency_lab import SCENARIOS, LabResult, WriteLatency
from helpers.consistency_metrics import PHASES, ops_frame, summary_table

METRICS_FILE = "consistency_metrics.json"
LOG_FILE = "consistency_log.csv"
# The index page's rows: (label, key in consistency_metrics.json's "headline").
HEADLINE_ROWS = (
    ("MREC lost updates", "mrec_lost_updates"), ("MREC stale reads", "mrec_stale_reads"),
    ("MREC read-your-writes violations", "mrec_read_your_writes_violations"),
    ("MRSC lost updates", "mrsc_lost_updates"), ("MRSC stale reads", "mrsc_stale_reads"),
    ("MRSC writes refused in the partitioned region", "mrsc_refused_writes"),
    ("MRSC conflict exceptions", "mrsc_conflict_exceptions"),
    ("MRSC write latency over MREC, AWS ms (model)", "mrsc_extra_write_ms"), ("lab run time (s)", "run_s"),
)


def headline(result: LabResult) -> dict[str, Any]:
    """The numbers the index page and the README show."""
    mrec, mrsc = result.counts_of("MREC"), result.counts_of("MRSC")
    return {
        "mrec_lost_updates": mrec.lost_updates, "mrec_stale_reads": mrec.stale_reads,
        "mrec_read_your_writes_violations": mrec.read_your_writes_violations,
        "mrsc_lost_updates": mrsc.lost_updates, "mrsc_stale_reads": mrsc.stale_reads,
        "mrsc_refused_writes": mrsc.refused_writes_by_region.get(result.partitioned_region, 0),
        "mrsc_conflict_exceptions": mrsc.conflict_exceptions,
        "mrsc_extra_write_ms": (f"{result.write_latency.extra_aws_ms:.1f} ± "
                                f"{result.write_latency.extra_error_aws_ms:.1f} "
                                f"({result.write_latency.model_extra_ms:.1f})"),
        "run_s": round(result.run_s, 1),
    }


def write_artifacts(result: LabResult, run_dir: str | Path) -> dict[str, Any]:
    """``consistency_log.csv`` (one row per request) and ``consistency_metrics.json``; the metrics written."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ops_frame(result.log).to_csv(run_dir / LOG_FILE, index=False)
    metrics = {
        "headline": headline(result),
        "partitioned_region": result.partitioned_region,
        "partition_s": result.partition_s,
        "run_s": round(result.run_s, 2),
        "round_trips_ms": result.round_trips_ms,
        "write_latency": result.write_latency.as_dict(),
        "scenarios": [c.as_dict() for c in result.counts],
        "finals": {scenario: {item: sorted(ids) for item, ids in items.items()}
                   for scenario, items in result.finals.items()},
    }
    (run_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def summary(result: LabResult) -> pd.DataFrame:
    return summary_table(result.counts)


def latency_table(result: LabResult) -> pd.DataFrame:
    """What MRSC adds to a write, measured (AWS ms) beside the model, and the local cloud's own part."""
    w = result.write_latency
    frame = pd.DataFrame([
        {"figure": f"MREC write, {w.region}", "wall ms (this machine)": round(w.mrec_wall_ms, 2),
         "AWS ms": None, "model, AWS ms": None,
         "what it is": "the local cloud's own cost of a write (moto, HTTP, this machine): not AWS's, not scaled"},
        {"figure": f"MRSC write, {w.region}", "wall ms (this machine)": round(w.mrsc_wall_ms, 2),
         "AWS ms": None, "model, AWS ms": None, "what it is": "the same, plus the modelled round trip, scaled"},
        {"figure": "MRSC minus MREC, pair by pair (median)", "wall ms (this machine)": round(w.extra_wall_ms, 2),
         "AWS ms": round(w.extra_aws_ms, 1), "model, AWS ms": round(w.model_extra_ms, 1),
         "what it is": f"the round trip to {w.peer}, the nearest other Region of the MRSC table (wall / time "
                       f"scale {w.time_scale:g}; standard error ± {w.extra_error_aws_ms:.1f} AWS ms)"},
        {"figure": "of which the local cloud's own work", "wall ms (this machine)": round(w.local_extra_wall_ms, 2),
         "AWS ms": None, "model, AWS ms": None,
         "what it is": "the extra beyond the scaled round trip: applying the write to the other replicas at once "
                       "(not AWS's; divided by the time scale it inflates the AWS figure above)"},
    ]).set_index("figure")
    return frame.astype(object).where(frame.notna(), "")  # a figure that does not apply is blank, not NaN


def _labels(ax: plt.Axes) -> None:
    """Scenario names slanted and anchored at their bar."""
    ax.tick_params(axis="x", labelsize=8)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")


def anomalies_plot(result: LabResult) -> plt.Figure:
    """Lost updates, stale reads and read-your-writes violations per scenario, by phase, side by side."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=False)
    names = [s.name for s in SCENARIOS]
    for ax, (title, field) in zip(axes, (("lost updates", "lost_by_phase"), ("stale reads", "stale_by_phase"))):
        frame = pd.DataFrame({p: [getattr(result.counts_of(n), field).get(p, 0) for n in names] for p in PHASES},
                             index=names)
        frame.plot.bar(stacked=True, ax=ax, rot=20)
        ax.set_title(title + " (by phase)")
        _labels(ax)
    ryw = pd.Series([result.counts_of(n).read_your_writes_violations for n in names], index=names)
    ryw.plot.bar(ax=axes[2], rot=20, color="#d13212")
    axes[2].set_title("read-your-writes violations (moved client)")
    _labels(axes[2])
    fig.tight_layout()
    return fig


def availability_and_latency_plot(result: LabResult) -> plt.Figure:
    """Write availability per Region during the partition, and write/read latency, per scenario."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 4.2))
    names = [s.name for s in SCENARIOS]
    availability = pd.DataFrame({n: result.counts_of(n).write_availability.get("partition", {}) for n in names}).T
    colours = region_colours(availability.columns)  # a region's colour in every plot of the report
    (availability * 100).plot.bar(ax=left, rot=20, color=[colours[r] for r in availability.columns])
    left.set_title(f"write availability during the partition of {result.partitioned_region} (%)")
    left.set_ylim(0, 125)  # room above the 100% bars for the legend, which then hides no bar
    left.set_yticks(range(0, 101, 20))
    left.legend(loc="upper center", ncol=len(availability.columns), frameon=False)
    _labels(left)
    latency = pd.DataFrame({"write p50": [result.counts_of(n).write_p50_ms for n in names],
                            "write p95": [result.counts_of(n).write_p95_ms for n in names],
                            "read p50": [result.counts_of(n).read_p50_ms for n in names]}, index=names)
    latency.plot.bar(ax=right, rot=20)
    right.set_title("latency under the lab's load (wall-clock ms on this machine, not AWS's)")
    top = float(latency.max().max()) if latency.notna().any().any() else 1.0
    right.set_ylim(0, 1.25 * top)  # the legend sits above the tallest bar
    right.legend(loc="upper center", ncol=len(latency.columns), frameon=False)
    _labels(right)
    fig.tight_layout()
    return fig


def _local_part(latency: WriteLatency) -> str:
    """What of the measured MRSC extra is not the scaled round trip, in words (within resolution, or not)."""
    if abs(latency.local_extra_wall_ms) <= 2 * latency.extra_error_wall_ms:
        return ("Scaled back to AWS time the difference matches the round trip within twice its standard error, "
                "which the time scale magnifies as it does this machine's noise.")
    return (f"{latency.local_extra_wall_ms:.2f} wall ms of it is beyond the scaled round trip: the local cloud's own "
            "work for a synchronous write and this machine's noise, both magnified by the time scale.")


def what_just_happened(result: LabResult) -> str:
    """Three to five sentences, generated from the counts."""
    mrec, mrsc = result.counts_of("MREC"), result.counts_of("MRSC")
    latency = result.write_latency
    region = result.partitioned_region
    remedies = [c for c in result.counts if c.scenario.startswith("MREC + ")]
    fixed = [c.scenario.removeprefix("MREC + ") for c in remedies if c.lost_updates == 0]
    stale_left = [c.scenario.removeprefix("MREC + ") for c in remedies if c.stale_reads > 0]
    availability = mrec.write_availability.get("partition", {})
    lines = [
        f"Under MREC, {mrec.lost_updates} of {mrec.acknowledged_updates} acknowledged updates were lost "
        f"({mrec.lost_by_phase.get('partition', 0)} of them acknowledged during the partition of {region}): "
        "last writer wins kept one Region's version of each item and silently dropped the other's. "
        f"{mrec.stale_reads} of {mrec.reads} strongly consistent reads were stale and the client that moved "
        f"Region missed its own write {mrec.read_your_writes_violations} time(s), while every Region kept "
        f"accepting writes (at least {min(availability.values(), default=1.0):.0%} of attempts).",
        f"Under MRSC nothing acknowledged was lost ({mrsc.lost_updates}) and no strongly consistent read was stale "
        f"({mrsc.stale_reads}); the price: {region} refused "
        f"{mrsc.refused_writes_by_region.get(region, 0)} writes while isolated (FIS pause replication), "
        f"{mrsc.conflict_exceptions} "
        f"concurrent writes got ReplicatedWriteConflictException ({mrsc.retries} retries), and a write took "
        f"{latency.extra_aws_ms:.1f} ± {latency.extra_error_aws_ms:.1f} AWS ms longer than under MREC (one client "
        f"alone, {latency.writes} writes each), "
        f"where the model says {latency.model_extra_ms:.1f} ms: the round trip from {latency.region} to "
        f"{latency.peer}. {_local_part(latency)} A write itself costs the local cloud "
        f"{latency.mrec_wall_ms:.1f} wall ms here, this machine's cost, not AWS's; under the lab's load "
        f"(every client at once) queueing adds more (write p50 {mrec.write_p50_ms:.1f} ms MREC, "
        f"{mrsc.write_p50_ms:.1f} ms MRSC, wall).",
        f"The MREC mitigations lost no update where they hold: {', '.join(fixed) or 'none'}; stale reads remain with "
        f"{', '.join(stale_left) or 'none'}, because reads elsewhere still see the Region-local replica.",
        "On AWS the same trade-off holds at real scale: MRSC writes wait for a round trip to the nearest other "
        "Region of the table (milliseconds inside a Region set); both modes bill each replicated write in every "
        "Region of the table (00's estimate counts the witness too; the DynamoDB pricing page has the rates).",
    ]
    return "\n\n".join(lines)
