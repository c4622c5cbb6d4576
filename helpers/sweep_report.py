"""The comparison page of many chaos runs: ``DIR/index.html`` of a sweep, and ``runbook compare``.

Every run is a report directory with its ``run.json`` (the parameters) and
``chaos_metrics.json`` (the numbers notebook 06 defines, in AWS seconds).
Runs are grouped into *configurations* by the parameters that differ between
them (``configuration_parameters``), leaving out what names a stack or sets how
long a run watches. For each configuration the page shows the measured
recovery time (median, spread, every repetition) beside the model's predicted
band (the runs' own predictions, ``helpers.recovery_model``), detection, DNS
convergence, errors, lost writes and the configuration's fixed monthly cost on
AWS (``helpers.aws_account.cost_estimate``, 00's cost model); a plot of
recovery time against cost with its Pareto front; a recommendation written
from the numbers; and a link to every run's own report. The page is one file:
its plots are embedded, it loads nothing.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from helpers.parameters import PARAMETER_NAMES, ConfigError
from helpers.sweep_grid import BLOG_SETTINGS, SHORT

PAGE = "index.html"
# Parameters that never make two runs different configurations: the stack's names (a sweep's lanes differ in
# them), where things are kept, and how long a run watches (steady_s, hold_s, recovery_s, which only need to
# cover the recovery) or what else the runbook does (the consistency lab).
NOT_CONFIGURATION = frozenset({
    "stack_name", "table_name", "hosted_zone", "domain_name", "create_hosted_zone", "run_dir", "localcloud_state_dir",
    "aws_profile", "acknowledge_costs", "dry_run", "steady_s", "hold_s", "recovery_s", "consistency_lab",
    "partition_s", "consistency_updates",
})
FAULT_PARAMETERS = ("fault", "faulty_region")  # what breaks, not what is configured: a setting must meet the target under each


@dataclass
class RunRecord:
    """One chaos run as the page reads it."""

    dir: Path
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    monthly_usd: float | None

    @property
    def predicted(self) -> dict[str, float]:
        return (self.metrics.get("predicted") or {}).get("recovery_time_s") or {}


@dataclass
class Configuration:
    """The runs that share every configuration parameter."""

    values: dict[str, Any]  # the differing parameters' values
    runs: list[RunRecord] = field(default_factory=list)

    @property
    def label(self) -> str:
        if not self.values:
            return "every run"
        return ", ".join(str(v) if k == "fault" else f"{SHORT.get(k, k)} {v}" for k, v in self.values.items())

    def _median(self, key: str) -> float | None:
        values = [r.metrics[key] for r in self.runs if r.metrics.get(key) is not None]
        return round(statistics.median(values), 3) if values else None

    @property
    def failover_expected(self) -> bool:
        return any(r.metrics.get("failover_expected", True) for r in self.runs)

    @property
    def recovery_times(self) -> list[float]:
        return [r.metrics["rto_s"] for r in self.runs if r.metrics.get("rto_s") is not None]

    @property
    def recovery_median(self) -> float | None:
        return self._median("rto_s")

    @property
    def band(self) -> dict[str, float] | None:
        """The model's band: the median over the runs of each run's own p5, median and p95."""
        bands = [r.predicted for r in self.runs if r.predicted]
        if not bands:
            return None
        return {q: round(statistics.median(b[q] for b in bands), 3) for q in ("p5", "median", "p95")}

    @property
    def within_band(self) -> bool | None:
        median, band = self.recovery_median, self.band
        if median is None or band is None:
            return None
        return band["p5"] <= median <= band["p95"]

    @property
    def monthly_usd(self) -> float | None:
        costs = {r.monthly_usd for r in self.runs}
        return costs.pop() if len(costs) == 1 else None

    def summary(self) -> dict[str, Any]:
        band = self.band or {}
        times = self.recovery_times
        return {
            **self.values, "runs": len(self.runs),
            "recovery_median_s": self.recovery_median, "recovery_min_s": min(times) if times else None,
            "recovery_max_s": max(times) if times else None,
            "model_p5_s": band.get("p5"), "model_median_s": band.get("median"), "model_p95_s": band.get("p95"),
            "within_band": self.within_band, "detection_median_s": self._median("detection_s"),
            "dns_convergence_median_s": self._median("dns_convergence_s"),
            "error_window_median_s": self._median("error_window_s"),
            "errors": sum(int(r.metrics.get("errors") or 0) for r in self.runs),
            "requests": sum(int(r.metrics.get("requests") or 0) for r in self.runs),
            "lost_writes": sum(int(r.metrics.get("lost_writes") or 0) for r in self.runs),
            "usd_per_month": self.monthly_usd, "failover_expected": self.failover_expected,
        }


# ------------------------------------------------------------------ reading runs
def run_dirs(paths: Iterable[str | Path]) -> list[Path]:
    """The chaos runs in ``paths``: each a run directory, or a directory holding runs (a sweep)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if (path / "chaos_metrics.json").exists():
            found.append(path)
        elif path.is_dir():
            inside = sorted(p.parent for p in path.rglob("chaos_metrics.json"))
            if not inside:
                raise ConfigError(f"{path} holds no chaos run (no chaos_metrics.json in it or below it)")
            found += inside
        else:
            raise ConfigError(f"{path} is not a directory")
    return list(dict.fromkeys(p.resolve() for p in found))


def monthly_usd(parameters: dict[str, Any]) -> float | None:
    """The configuration's fixed monthly cost on AWS, from 00's cost model (None for parameters it cannot read)."""
    from helpers.aws_account import cost_estimate
    from helpers.config import validate

    known = {k: v for k, v in parameters.items() if k in PARAMETER_NAMES}
    try:
        cfg = validate({**known, "dry_run": True})
    except ConfigError:
        return None
    return round(float(cost_estimate(cfg)["usd_per_month"].sum()), 2)


def read_run(path: Path) -> RunRecord:
    metrics = json.loads((path / "chaos_metrics.json").read_text())
    try:
        parameters = json.loads((path / "run.json").read_text())["parameters"]
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        raise ConfigError(f"{path} has chaos_metrics.json but no run.json with its parameters") from None
    return RunRecord(path, parameters, metrics, monthly_usd(parameters))


def configuration_parameters(runs: list[RunRecord]) -> list[str]:
    """The parameters whose values differ between the runs, in declaration order."""
    return [name for name in PARAMETER_NAMES if name not in NOT_CONFIGURATION
            and len({json.dumps(r.parameters.get(name), sort_keys=True) for r in runs}) > 1]


def group(runs: list[RunRecord]) -> list[Configuration]:
    """The runs grouped by the parameters that differ between them, in the order the runs came."""
    names = configuration_parameters(runs)
    groups: dict[str, Configuration] = {}
    for run in runs:
        values = {name: _shown(run.parameters.get(name)) for name in names}
        key = json.dumps(values, sort_keys=True)
        groups.setdefault(key, Configuration(values)).runs.append(run)
    return list(groups.values())


def _shown(value: Any) -> Any:
    return ",".join(value) if isinstance(value, list) else value


# ------------------------------------------------------------------ judging
def pareto_front(configs: list[Configuration]) -> list[Configuration]:
    """The configurations no other beats on both median recovery time and monthly cost, cheapest first."""
    points = [c for c in configs if c.recovery_median is not None and c.monthly_usd is not None]
    front = [c for c in points if not any(
        o.recovery_median <= c.recovery_median and o.monthly_usd <= c.monthly_usd
        and (o.recovery_median < c.recovery_median or o.monthly_usd < c.monthly_usd) for o in points)]
    return sorted(front, key=lambda c: (c.monthly_usd, c.recovery_median))


@dataclass
class Setting:
    """A configuration without what breaks: the same settings under every fault the runs tried."""

    values: dict[str, Any]
    configs: list[Configuration]

    @property
    def label(self) -> str:
        """The differing values, or (one setting only) its Route 53 settings, so a sentence always names them."""
        if self.values:
            return Configuration(self.values).label
        first = self.configs[0].runs[0].parameters
        return Configuration({k: first.get(k) for k in BLOG_SETTINGS}).label

    @property
    def worst_s(self) -> float | None:
        times = [t for c in self.configs for t in c.recovery_times]
        return max(times) if times else None

    @property
    def model_p95_s(self) -> float | None:
        values = [c.band["p95"] for c in self.configs if c.band]
        return max(values) if values else None

    @property
    def monthly_usd(self) -> float | None:
        costs = {c.monthly_usd for c in self.configs}
        return costs.pop() if len(costs) == 1 else None


def settings(configs: list[Configuration]) -> list[Setting]:
    found: dict[str, Setting] = {}
    for config in configs:
        if not config.failover_expected:
            continue
        values = {k: v for k, v in config.values.items() if k not in FAULT_PARAMETERS}
        found.setdefault(json.dumps(values, sort_keys=True), Setting(values, [])).configs.append(config)
    return list(found.values())


def recommendation(configs: list[Configuration], target_rto_s: float | None) -> list[str]:
    """Sentences written from the numbers: the cheapest setting that meets the target, and the blog's settings."""
    candidates = [s for s in settings(configs) if s.worst_s is not None and s.monthly_usd is not None]
    if not candidates:
        return ["No run expected a failover, so there is no recovery time to compare."]
    faults = sorted({str(r.parameters.get("fault")) for c in configs for r in c.runs})
    under = f"under {' and '.join(faults)}"
    sentences = []
    if target_rto_s is None and len(candidates) == 1:
        only = candidates[0]
        sentences.append(f"Every run recovered within {only.worst_s:.1f} AWS s {under}, with settings that cost "
                         f"${only.monthly_usd:.2f} a month. Give a target with --target-rto to check it against yours.")
    elif target_rto_s is None:
        fastest = min(candidates, key=lambda s: (s.worst_s, s.monthly_usd))
        cheapest = min(candidates, key=lambda s: (s.monthly_usd, s.worst_s))
        sentences.append(f"Give a target with --target-rto to get a recommendation. The fastest settings are "
                         f"{fastest.label}: every run recovered within {fastest.worst_s:.1f} AWS s {under}, "
                         f"${fastest.monthly_usd:.2f} a month. The cheapest are {cheapest.label}: "
                         f"${cheapest.monthly_usd:.2f} a month, runs recovered within {cheapest.worst_s:.1f} AWS s.")
    else:
        meeting = [s for s in candidates if s.worst_s <= target_rto_s
                   and (s.model_p95_s is None or s.model_p95_s <= target_rto_s)]
        if meeting:
            best = min(meeting, key=lambda s: (s.monthly_usd, s.worst_s))
            sentences.append(
                f"For a recovery time of at most {target_rto_s:g} AWS s, choose {best.label}: the cheapest settings "
                f"whose every run recovered within the target {under} (slowest run {best.worst_s:.1f} s, model p95 "
                f"{best.model_p95_s:.1f} s), at ${best.monthly_usd:.2f} a month.")
        else:
            fastest = min(candidates, key=lambda s: s.worst_s)
            sentences.append(f"No settings met {target_rto_s:g} AWS s in every run {under}; the fastest, "
                             f"{fastest.label}, recovered within {fastest.worst_s:.1f} s.")
    sentences.append(_blog_sentence(configs, candidates))
    return sentences


def _blog_sentence(configs: list[Configuration], candidates: list[Setting]) -> str:
    """What the blog's own settings gave, measured if the runs include them, else predicted by the model."""
    described = ", ".join(f"{SHORT.get(k, k)} {v}" for k, v in BLOG_SETTINGS.items())
    matches = [s for s in candidates if all(
        all(r.parameters.get(k) == v for c in s.configs for r in c.runs) for k, v in BLOG_SETTINGS.items())]
    if matches:
        s = matches[0]
        return (f"The blog's settings (Route 53 console and traffic-policy defaults: {described}) recovered within "
                f"{s.worst_s:.1f} AWS s in every run, at ${s.monthly_usd:.2f} a month.")
    from helpers.sweep_plan import a_priori_prediction

    params = {**configs[0].runs[0].parameters, **BLOG_SETTINGS}
    try:
        predicted = a_priori_prediction(params).client_convergence
    except (KeyError, ValueError):
        return f"The blog's settings ({described}) were not among these runs."
    return (f"The blog's settings (Route 53 console and traffic-policy defaults: {described}) were not among these "
            f"runs; the recovery model predicts a median of {predicted.median:.0f} AWS s (p95 {predicted.p95:.0f} s) "
            f"for them, at ${monthly_usd(params) or 0:.2f} a month.")


def chance_outside(runs: int, band: float = 0.90) -> float:
    """The probability that the median of ``runs`` runs falls outside a ``band`` interval of one run's distribution
    (5th to 95th percentile by default) when the model is right: more than half of the runs on one side."""
    tail = (1 - band) / 2
    need = runs // 2 + 1
    one_side = sum(math.comb(runs, k) * tail**k * (1 - tail) ** (runs - k) for k in range(need, runs + 1))
    return 2 * one_side


def band_sentence(configs: list[Configuration]) -> str:
    """How many medians lie in the model's band, and how many would lie outside by chance alone."""
    judged = [c for c in configs if c.within_band is not None]
    if not judged:
        return "No configuration has both a measured recovery time and a prediction."
    outside = [c.label for c in judged if c.within_band is False]
    expected = sum(chance_outside(len(c.recovery_times)) for c in judged)
    chance = (f"Even a right model leaves a median outside its 5-95% band now and then: for these {len(judged)} "
              f"configurations, chance alone puts {expected:.2f} of them outside on average.")
    if not outside:
        return f"Every configuration's measured median lies within the model's band. {chance}"
    return (f"{len(judged) - len(outside)} of {len(judged)} configurations' medians lie within the model's band; "
            f"outside: {'; '.join(outside)} (each run's own report explains its gap). {chance}")


# ------------------------------------------------------------------ plots
def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def recovery_plot(configs: list[Configuration]):
    """Per configuration: the model's p5-p95 band and median, every run as a dot, the measured median."""
    import matplotlib.pyplot as plt

    shown = [c for c in configs if c.failover_expected]
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(shown) + 1.6))
    for y, config in enumerate(shown):
        band = config.band
        if band:
            ax.plot([band["p5"], band["p95"]], [y, y], color="#9ecae1", lw=9, solid_capstyle="butt",
                    label="model: p5 to p95" if y == 0 else None)
            ax.plot([band["median"]], [y], marker="|", color="#08519c", ms=14, mew=2,
                    label="model: median" if y == 0 else None)
        times = config.recovery_times
        ax.plot(times, [y] * len(times), "o", color="#333333", ms=4, alpha=0.7, label="each run" if y == 0 else None)
        if config.recovery_median is not None:
            ax.plot([config.recovery_median], [y], "D", color="#ff7f0e", ms=7, mec="black",
                    label="measured median" if y == 0 else None)
    ax.set_yticks(range(len(shown)), [c.label for c in shown], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("recovery time: fault to the last request that failed on or was served by the broken region (AWS s)")
    ax.set_xlim(left=0)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_title("Recovery time per configuration: measured against the model")
    return fig


def cost_plot(configs: list[Configuration], target_rto_s: float | None):
    """Median recovery time against monthly cost; the Pareto front joined; the target as a line."""
    import matplotlib.pyplot as plt

    points = [c for c in configs if c.recovery_median is not None and c.monthly_usd is not None]
    front = pareto_front(points)
    fig, ax = plt.subplots(figsize=(10, 5))
    faults = sorted({str(c.values.get("fault", "")) for c in points})
    markers = dict(zip(faults, "osD^v<>"))
    x = _dodged(points)
    for config in points:
        times = config.recovery_times
        on_front = config in front
        ax.errorbar(x[id(config)], config.recovery_median,
                    yerr=[[config.recovery_median - min(times)], [max(times) - config.recovery_median]],
                    fmt=markers[str(config.values.get("fault", ""))], color="#ff7f0e" if on_front else "#7f7f7f",
                    mec="black", ms=7, capsize=3, lw=1)
        if on_front:  # the table names every configuration; the plot names the ones worth choosing
            ax.annotate(config.label, (x[id(config)], config.recovery_median), fontsize=7,
                        xytext=(6, -10), textcoords="offset points")
    if front:
        ax.step([x[id(c)] for c in front], [c.recovery_median for c in front], where="post", color="#ff7f0e",
                lw=1.5, label="Pareto front (nothing both cheaper and faster), named")
    if target_rto_s is not None:
        ax.axhline(target_rto_s, color="#d62728", ls="--", lw=1.2, label=f"target {target_rto_s:g} AWS s")
    for fault, marker in markers.items():
        if fault:
            ax.plot([], [], marker, color="#7f7f7f", mec="black", label=fault)
    ax.set_xlabel("fixed cost on AWS (USD per month: health checks, their traffic, zone, records or traffic policy);\n"
                  "configurations of one cost are spread sideways, fastest first")
    ax.set_ylabel("recovery time, median (AWS s); bars: min to max")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_title("Recovery time against cost")
    return fig


def _dodged(points: list[Configuration]) -> dict[int, float]:
    """Each configuration's x position: its cost, with the configurations of one cost spread sideways (fastest
    leftmost) over a small part of the axis, so that none hides another."""
    costs = sorted({c.monthly_usd for c in points})
    width = 0.25 * min((b - a for a, b in zip(costs, costs[1:])), default=max(costs[0], 1.0))
    x: dict[int, float] = {}
    for cost in costs:
        same = sorted((c for c in points if c.monthly_usd == cost), key=lambda c: c.recovery_median)
        step = width / max(len(same) - 1, 1)
        for i, config in enumerate(same):
            x[id(config)] = cost + (i - (len(same) - 1) / 2) * step if len(same) > 1 else cost
    return x


# ------------------------------------------------------------------ the page
def _number(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        value = f"{value:.1f}" if abs(value) >= 1 or value == 0 else f"{value:.3g}"
    return html.escape(f"{value}{unit}")


def _table(configs: list[Configuration], page_dir: Path, names: list[str]) -> str:
    head = "".join(f"<th>{html.escape(SHORT.get(n, n))}</th>" for n in names)
    head += ("<th>runs</th><th>recovery time, median (min to max)</th><th>model: median (p5 to p95)</th>"
             "<th>median within the band?</th><th>detection, median</th><th>DNS convergence, median</th>"
             "<th>error window, median</th><th>errors / requests</th><th>lost writes</th><th>USD per month</th>"
             "<th>reports</th>")
    rows = []
    for config in configs:
        s = config.summary()
        cells = "".join(f"<td>{html.escape(str(config.values.get(n)))}</td>" for n in names)
        links = " ".join(f'<a href="{html.escape(_link(r.dir, page_dir))}">{i}</a>' for i, r in enumerate(config.runs, 1))
        if config.failover_expected:
            recovery = (f"{_number(s['recovery_median_s'])} s ({_number(s['recovery_min_s'])} to "
                        f"{_number(s['recovery_max_s'])})")
            model = f"{_number(s['model_median_s'])} s ({_number(s['model_p5_s'])} to {_number(s['model_p95_s'])})"
            verdict = {True: "yes", False: "NO", None: "-"}[s["within_band"]]
        else:
            recovery, model, verdict = "no failover expected: the region kept serving", "-", "-"
        rows.append(
            f'<tr class="{"outside" if s["within_band"] is False else ""}">{cells}<td>{s["runs"]}</td><td>{recovery}</td>'
            f"<td>{model}</td><td>{verdict}</td><td>{_number(s['detection_median_s'], ' s')}</td>"
            f"<td>{_number(s['dns_convergence_median_s'], ' s')}</td><td>{_number(s['error_window_median_s'], ' s')}</td>"
            f"<td>{s['errors']} / {s['requests']}</td><td>{s['lost_writes']}</td>"
            f"<td>{_number(s['usd_per_month'])}</td><td>{links}</td></tr>")
    return f'<table id="configurations"><tr>{head}</tr>{"".join(rows)}</table>'


def _link(run_dir: Path, page_dir: Path) -> str:
    target = run_dir / "06_chaos.html"
    if not target.exists():
        target = run_dir / "index.html"
    return os.path.relpath(target, page_dir)


def write_page(page_dir: str | Path, run_paths: Iterable[str | Path] | None = None, *, title: str = "Comparison of runs",
               target_rto_s: float | None = None) -> Path:
    """Write ``page_dir/index.html`` (and its data as ``comparison.csv``) for the runs in ``run_paths``
    (default: every run below ``page_dir``); the page says so when there is no run yet."""
    page_dir = Path(page_dir)
    page_dir.mkdir(parents=True, exist_ok=True)
    try:
        runs = [read_run(p) for p in run_dirs(run_paths if run_paths is not None else [page_dir])]
    except ConfigError:
        if run_paths is not None:
            raise
        runs = []
    configs = group(runs)
    names = configuration_parameters(runs)
    if runs:
        pd.DataFrame([c.summary() for c in configs]).to_csv(page_dir / "comparison.csv", index=False)
        recovery_png = _png(recovery_plot(configs)) if any(c.failover_expected for c in configs) else ""
        cost_png = _png(cost_plot(configs, target_rto_s)) if any(c.recovery_median is not None for c in configs) else ""
        advice = "".join(f"<p>{html.escape(s)}</p>" for s in recommendation(configs, target_rto_s))
        band_note = f"<p>{html.escape(band_sentence(configs))}</p>"
        fixed = {k: v for k, v in runs[0].parameters.items() if k in PARAMETER_NAMES and k not in names
                 and k not in NOT_CONFIGURATION}
        body = f"""
<h2>Recommendation</h2>
<div id="recommendation">{advice}</div>
{band_note}
<h2>Recovery time per configuration</h2>
<figure><img id="recovery-plot" alt="recovery time per configuration" src="data:image/png;base64,{recovery_png}"></figure>
<h2>Recovery time against cost</h2>
<figure><img id="cost-plot" alt="recovery time against cost" src="data:image/png;base64,{cost_png}"></figure>
<h2>Every configuration</h2>
<p>Times in AWS seconds (what the same experiment takes on AWS). Recovery time: fault injected to the last
request that failed on, or was served by, the broken region; detection: to the health check turning unhealthy;
DNS convergence: to the first DNS answer without the region (definitions in helpers/failover_events.py). The
model's band is each run's own prediction from its measured inputs. Cost: the fixed monthly cost of the
configuration on AWS from 00's cost model, without your own traffic.</p>
{_table(configs, page_dir, names)}
<h2>What is the same in every run</h2>
<table id="fixed">{"".join(f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(str(v))}</code></td></tr>" for k, v in fixed.items())}</table>
"""
    else:
        body = "<p>No run has finished yet.</p>"
    differing = ", ".join(names) or "nothing (the runs share one configuration)"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body{{font:15px/1.5 system-ui,sans-serif;margin:0;color:#16191f}} main{{padding:16px 32px;max-width:1400px}}
table{{border-collapse:collapse;margin:8px 0 24px;font-size:13px}} td,th{{border:1px solid #d5dbdb;padding:4px 8px;text-align:left;vertical-align:top}}
tr.outside td{{background:#fde8e8}} figure{{margin:16px 0}} figure img{{display:block;max-width:100%;height:auto}}
</style></head>
<body data-runbook-comparison>
<main>
<h1>{html.escape(title)}</h1>
<p>{len(runs)} chaos run(s) in {len(configs)} configuration(s); configurations differ in: {html.escape(differing)}.</p>
{body}
</main></body></html>
"""
    path = page_dir / PAGE
    path.write_text(page, encoding="utf-8")
    return path


def compare(paths: list[str], out: str | Path, target_rto_s: float | None = None) -> Path:
    """``runbook compare DIR DIR ... --out OUT``: the comparison page of existing runs."""
    return write_page(out, paths, title="Comparison of runs", target_rto_s=target_rto_s)
