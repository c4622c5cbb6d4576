"""``python -m bench`` (``make bench``): run every benchmark, print the table, write the results.

    python -m bench                       # everything (about 20 minutes): bench/results.json and the
                                          # table in docs/benchmarks.md
    python -m bench --only api,failover   # some of them; writes only with --out
    python -m bench --only soak --merge   # some of them, merged into bench/results.json and its table
    python -m bench --table               # the table of bench/results.json as it is (no run)
    python -m bench --table --markdown    # the same as Markdown (what docs/benchmarks.md shows)
    python -m bench --table --write-docs  # rewrite docs/benchmarks.md's table from bench/results.json

Each figure is measured in the same run as its baseline (raw moto beside the
API, the configured delay beside replication lag, Route 53's theory beside
failover). ``goals`` in the JSON says, per figure, what it was held to and
whether it met it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from bench import api, common, failover, soak

RESULTS = Path(__file__).resolve().parent / "results.json"
# The page that shows the committed results: the Markdown table sits between these two lines.
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
TABLE_BEGIN = "<!-- bench-table:begin (python -m bench writes this table) -->"
TABLE_END = "<!-- bench-table:end -->"
BENCHMARKS = ("start", "api", "replication", "lambda", "failover", "soak", "consistency", "runbook", "sweep")
SCHEMA = 1

# What each figure is held to (docs/benchmarks.md), on a 2-core machine.
RUNBOOK_GOAL_S = 90.0
API_GOAL_RATIO = 0.5
REPLICATION_MARGIN_MS = 100.0
MRSC_ROUND_TRIP_TOLERANCE = 0.3  # MRSC's extra write latency against the modelled round trip
START_GOAL_S = 2.0
SWEEP_GOAL_S = 600.0  # make sweep's default grid, 16 configurations x 3 runs


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _timed(name: str, run: Callable[[], dict[str, Any]], errors: dict[str, str]) -> dict[str, Any]:
    """Run one benchmark; a failure is recorded and the others still run."""
    _log(f"[bench] {name} ... (load average {common.load_average()})")
    began = time.perf_counter()
    try:
        result = run()
    except Exception as error:  # one broken benchmark must not hide the others' figures
        errors[name] = f"{type(error).__name__}: {error}"
        _log(traceback.format_exc())
        result = {}
    _log(f"[bench] {name} done in {time.perf_counter() - began:.1f} s")
    return result


def measure(only: tuple[str, ...] = BENCHMARKS) -> dict[str, Any]:
    """Run the selected benchmarks and return the results document (flat figures, details, goals)."""
    from bench import consistency, lambda_invoke, localcloud_start, replication, runbook, sweep

    common.quiet_progress_bars()
    began = time.perf_counter()
    load_before = common.load_average()
    errors: dict[str, str] = {}
    details: dict[str, Any] = {}
    if "start" in only:
        details["start"] = _timed("localcloud start", localcloud_start.run, errors)
    if {"api", "replication", "lambda"} & set(only):
        with common.local_cloud(prefix="bench-") as status:
            for name, module in (("api", api), ("replication", replication), ("lambda", lambda_invoke)):
                if name in only:
                    details[name] = _timed(name, lambda m=module: m.run(status), errors)
    if "failover" in only:
        details["failover"] = _timed("failover", failover.run_local, errors)
    if "soak" in only:
        details["soak"] = _timed("soak", soak.run_own, errors)
    if "consistency" in only:
        details["consistency"] = _timed("consistency", consistency.run_own, errors)
    if "runbook" in only:
        details["runbook"] = _timed("runbook", runbook.run, errors)
    if "sweep" in only:
        details["sweep"] = _timed("sweep", sweep.run, errors)
    document = {
        "schema": SCHEMA,
        "timestamp": common.machine_facts()["timestamp"],
        "machine": {**common.machine_facts(), "load_average_before": load_before,
                    "load_average_after": common.load_average()},
        "bench_s": round(time.perf_counter() - began, 1),
        **headline(details),
        "details": details,
        "errors": errors,
    }
    document["goals"] = goals(document)
    return document


def headline(details: dict[str, Any]) -> dict[str, Any]:
    """The flat headline figures from the benchmarks' own results (None when one did not run)."""
    api_result = details.get("api", {})
    repl = details.get("replication", {})
    default = (details.get("failover") or {}).get("default", {})
    book = details.get("runbook", {})
    start = details.get("start", {})
    soaked = details.get("soak", {})
    mrsc = details.get("consistency", {})
    figures: dict[str, Any] = {
        "mrec_write_p50_ms": mrsc.get("mrec_write_p50_ms"),
        "mrsc_write_p50_ms": mrsc.get("mrsc_write_p50_ms"),
        "mrsc_extra_write_ms": mrsc.get("mrsc_extra_write_ms"),
        "mrsc_round_trip_ms": mrsc.get("round_trip_ms"),
        "consistency_lab_s": (mrsc.get("lab") or {}).get("lab_s"),
        "runbook_s": book.get("runbook_s"),
        "notebook_s": book.get("notebook_s"),
        "localcloud_peak_rss_mb": book.get("localcloud_peak_rss_mb"),
        "localcloud_start_s": start.get("localcloud_start_s"),
        "replication_lag_p50_ms": repl.get("replication_lag_p50_ms"),
        "replication_lag_p99_ms": repl.get("replication_lag_p99_ms"),
        "replication_delay_ms": repl.get("replication_delay_ms"),
        "failover_detection_s": default.get("detection_s"),
        "failover_model_detection_s": default.get("model_detection_s"),
        "failover_convergence_s": default.get("convergence_s"),
        "failover_model_convergence_s": default.get("model_convergence_s"),
        "failover_expected_s": default.get("worst_case_s"),
        "soak_load_growth_mb_per_h": soaked.get("soak_load_growth_mb_per_h"),
        "soak_idle_growth_mb_per_h": soaked.get("soak_idle_growth_mb_per_h"),
        "soak_verdict": soaked.get("soak_verdict"),
    }
    for name in ("api_post", "api_get", "moto_put", "moto_get"):
        figures[f"{name}_rps"] = api_result.get(f"{name}_rps")
        for c in api.CONCURRENCY:
            figures[f"{name}_rps_c{c}"] = api_result.get(f"{name}_rps_c{c}")
    for a, m in (("api_post", "moto_put"), ("api_get", "moto_get")):
        figures[f"{a}_vs_{m}"] = api_result.get(f"{a}_vs_{m}")
        for c in api.CONCURRENCY:
            figures[f"{a}_vs_{m}_c{c}"] = api_result.get(f"{a}_vs_{m}_c{c}")
    return figures


def _row(figure: str, value: Any, unit: str, baseline: Any, baseline_label: str, goal: str,
         met: Callable[[float, float | None], bool] | None, ratio: bool = True) -> dict[str, Any]:
    r = round(value / baseline, 2) if ratio and value is not None and baseline else None
    return {"figure": figure, "value": value, "unit": unit, "baseline": baseline, "baseline_is": baseline_label,
            "ratio": r, "goal": goal,
            "met": None if met is None or value is None else bool(met(value, r))}


def goals(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per figure: value, baseline, ratio, goal and whether it was met."""
    rows = [_row("whole runbook, local cloud (s)", doc.get("runbook_s"), "s", RUNBOOK_GOAL_S, "the goal",
                 f"< {RUNBOOK_GOAL_S:.0f} s", lambda v, r: v < RUNBOOK_GOAL_S)]
    for a, m, label in (("api_post", "moto_put", "POST /item"), ("api_get", "moto_get", "GET /item/{id}")):
        verb = m.split("_")[1]
        for c in api.CONCURRENCY:
            rows.append(_row(f"API {label}, {c} client{'s' if c > 1 else ''} (req/s)", doc.get(f"{a}_rps_c{c}"),
                             "req/s", doc.get(f"{m}_rps_c{c}"), f"raw moto {verb}_item, same run",
                             f">= {API_GOAL_RATIO:.1f} x moto", lambda v, r: r is not None and r >= API_GOAL_RATIO))
    delay = doc.get("replication_delay_ms")
    rows.append(_row("replication lag p50 (ms)", doc.get("replication_lag_p50_ms"), "ms", delay,
                     "configured delay", "(none)", None))
    limit = None if delay is None else delay + REPLICATION_MARGIN_MS
    rows.append(_row("replication lag p99 (ms)", doc.get("replication_lag_p99_ms"), "ms", delay, "configured delay",
                     f"< delay + {REPLICATION_MARGIN_MS:.0f} ms",
                     None if limit is None else (lambda v, r: v < limit)))
    repl = doc.get("details", {}).get("replication") or {}
    rows.append(_row("global table writes with replication on (req/s)", repl.get("replicated_put_rps"), "req/s",
                     repl.get("moto_put_rps"), "raw moto put_item, no replica, same run", "(none)", None))
    lam = doc.get("details", {}).get("lambda") or {}
    rows.append(_row("lambda.invoke warm, p50 (ms)", lam.get("warm_invoke_p50_ms"), "ms",
                     lam.get("control_plane_call_p50_ms"), "a control-plane call, same run", "(none)", None))
    rows.append(_row("lambda.invoke cold, get_item function, p50 (ms)", lam.get("cold_invoke_get_item_p50_ms"), "ms",
                     None, "", "(none)", None, ratio=False))
    for name, fo in (doc.get("details", {}).get("failover") or {}).items():
        settings = f"threshold {fo.get('threshold')}, TTL {fo.get('ttl_s')} s, {fo.get('trials')} trials"
        for figure, key, tolerance in (("fault to unhealthy", "detection", failover.DETECTION_TOLERANCE),
                                       ("fault to DNS without the failed region", "dns_convergence",
                                        failover.DETECTION_TOLERANCE),
                                       ("fault to last request to the failed region", "convergence",
                                        failover.CONVERGENCE_TOLERANCE)):
            rows.append(_row(f"failover {name}: {figure}, median ({settings}) (AWS s)", fo.get(f"{key}_s"), "s",
                             fo.get(f"model_{key}_s"), f"the recovery model's median; p95 {_fmt(fo.get(f'model_{key}_p95_s'))}, "
                             f"worst case {_fmt(fo.get('worst_case_s'))}", f"within ±{tolerance:.0%}",
                             lambda v, r, t=tolerance: r is not None and abs(r - 1) <= t))
    rows.append(_row("MRSC write minus MREC's, one client, pair by pair, median, time scale 1 (ms)", doc.get("mrsc_extra_write_ms"), "ms",
                     doc.get("mrsc_round_trip_ms"), "modelled round trip to the nearest other Region",
                     f"within ±{MRSC_ROUND_TRIP_TOLERANCE:.0%}",
                     lambda v, r: r is not None and abs(r - 1) <= MRSC_ROUND_TRIP_TOLERANCE))
    rows.append(_row("MRSC write p50, time scale 1 (ms)", doc.get("mrsc_write_p50_ms"), "ms",
                     doc.get("mrec_write_p50_ms"), "MREC write p50, same run", "(none)", None))
    swept = doc.get("details", {}).get("sweep") or {}
    runs_each = swept["runs"] // swept["configurations"] if swept.get("configurations") else 3
    rows.append(_row(f"make sweep: {swept.get('configurations', 16)} configurations x {runs_each} runs on "
                     f"{swept.get('lanes', '-')} lanes, local cloud (s)", swept.get("sweep_s"), "s", SWEEP_GOAL_S,
                     "the goal", f"<= {SWEEP_GOAL_S:.0f} s", lambda v, r: v <= SWEEP_GOAL_S))
    worst = swept.get("worst") or {}
    rows.append(_row("sweep: configurations whose median recovery time lies in the model's p5-p95 band",
                     swept.get("within_band"), "", swept.get("failover_configurations"),
                     f"configurations with a failover; chance alone leaves {_fmt(swept.get('outside_by_chance'))} "
                     "outside on average",
                     "all of them", lambda v, r: r == 1))
    rows.append(_row(f"sweep: the configuration furthest from the model ({worst.get('configuration', '-')}), "
                     "median recovery time (AWS s)", worst.get("recovery_median_s"), "s", worst.get("model_median_s"),
                     f"the model's median; band {_fmt(worst.get('model_p5_s'))} to {_fmt(worst.get('model_p95_s'))}",
                     "in the band", lambda v, r: bool(worst.get("within_band"))))
    rows.append(_row("consistency lab run time, default parameters (s)", doc.get("consistency_lab_s"), "s", None, "",
                     "(none)", None, ratio=False))
    rows.append(_row("local cloud start to ready, median (s)", doc.get("localcloud_start_s"), "s", START_GOAL_S,
                     "the goal", f"< {START_GOAL_S:.0f} s", lambda v, r: v < START_GOAL_S))
    rows.append(_row("local cloud peak memory during the runbook (MiB)", doc.get("localcloud_peak_rss_mb"), "MiB",
                     None, "", "(none)", None, ratio=False))
    soaked = doc.get("details", {}).get("soak") or {}
    flat = f"<= {soak.TOLERANCE_MB_PER_H:.0f} MiB/h ({soak.VERDICT_BOUNDED})"
    for phase, label in (("load", f"steady API load, {soak.CLIENTS} clients"), ("idle", "idle with health checks")):
        rows.append(_row(f"local cloud memory growth after warm-up, {label} (MiB/h)",
                         doc.get(f"soak_{phase}_growth_mb_per_h"), "MiB/h", soaked.get(phase, {}).get("rss_end_mb"),
                         "server RSS at the end of the phase (MiB)", flat,
                         lambda v, r: v <= soak.TOLERANCE_MB_PER_H, ratio=False))
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def table(doc: dict[str, Any], markdown: bool = False) -> str:
    """The goals as a text (or Markdown) table, with the per-notebook times and the machine."""
    header = ("figure", "value", "baseline", "ratio", "goal", "met?")
    rows = [(g["figure"], _fmt(g["value"]),
             f"{_fmt(g['baseline'])} ({g['baseline_is']})" if g["baseline"] is not None else "-",
             _fmt(g["ratio"]), g["goal"], "-" if g["met"] is None else _fmt(g["met"])) for g in doc["goals"]]
    notebooks = doc.get("notebook_s") or {}
    machine = doc.get("machine", {})
    facts = (f"{machine.get('cores')} cores ({machine.get('cpu')}), Python {machine.get('python')}, "
             f"moto {machine.get('moto')}, {machine.get('platform')}; {doc.get('timestamp')}; load average "
             f"{machine.get('load_average_before')} before, {machine.get('load_average_after')} after; "
             f"bench took {doc.get('bench_s')} s")
    earlier = sorted({when for when in (doc.get("runs") or {}).values() if when != doc.get("timestamp")})
    if earlier:
        later = sorted(name for name, when in doc["runs"].items() if when == doc.get("timestamp"))
        facts += f" ({', '.join(later)} in this run; the others from the run of {', '.join(earlier)})"
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        if notebooks:
            lines += ["", "| notebook | s |", "|---|---|"] + [f"| {k} | {_fmt(v)} |" for k, v in notebooks.items()]
        return "\n".join(lines + ["", f"Machine: {facts}."])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in [header, *rows]]
    if notebooks:
        lines += ["", "per notebook (s): " + ", ".join(f"{k} {_fmt(v)}" for k, v in notebooks.items())]
    if doc.get("errors"):
        lines += ["", "errors: " + json.dumps(doc["errors"])]
    return "\n".join(lines + ["", "machine: " + facts])


def docs_table(page: str) -> str:
    """The table between ``TABLE_BEGIN`` and ``TABLE_END`` in ``page`` (the text of docs/benchmarks.md)."""
    _, begin, rest = page.partition(TABLE_BEGIN + "\n")
    inside, end, _ = rest.partition("\n" + TABLE_END)
    if not begin or not end:
        raise ValueError(f"the benchmarks page lacks the lines {TABLE_BEGIN!r} and {TABLE_END!r} around the table")
    return inside


def write_docs_table(doc: dict[str, Any], path: Path = DOCS) -> None:
    """Replace the table in docs/benchmarks.md with ``doc``'s (the rest of the page is left as it is)."""
    page = path.read_text()
    old = docs_table(page)
    path.write_text(page.replace(TABLE_BEGIN + "\n" + old + "\n" + TABLE_END,
                                 TABLE_BEGIN + "\n" + table(doc, markdown=True) + "\n" + TABLE_END, 1))


def merge(committed: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``committed`` with the benchmarks ``new`` ran replaced by its results; figures and goals recomputed.

    ``runs`` says when each benchmark's figures were taken (the machine facts are the latest run's).
    """
    runs = {name: committed.get("runs", {}).get(name, committed["timestamp"]) for name in committed["details"]}
    runs.update({name: new["timestamp"] for name in new["details"]})
    details = {**committed["details"], **new["details"]}
    errors = {k: v for k, v in committed["errors"].items() if k not in new["details"]}
    document = {**new, **headline(details), "details": details, "errors": {**errors, **new["errors"]}, "runs": runs}
    document["goals"] = goals(document)
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    parser.add_argument("--out", type=Path, help=f"where to write the JSON (default {RESULTS} for a full run)")
    parser.add_argument("--table", action="store_true", help="print the table of an existing results file, run nothing")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--merge", action="store_true",
                        help=f"merge what runs into {RESULTS.name} (the other benchmarks' figures stay) and its table")
    parser.add_argument("--write-docs", action="store_true",
                        help=f"with --table: rewrite the table in {DOCS.name} from the results file")
    args = parser.parse_args(argv)
    if args.table:
        doc = json.loads((args.out or RESULTS).read_text())
        if args.write_docs:
            write_docs_table(doc)
            print(f"written: the table in {DOCS}")
        else:
            print(table(doc, markdown=args.markdown))
        return 0
    only = tuple(n.strip() for n in args.only.split(",")) if args.only else BENCHMARKS
    unknown = set(only) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}: choose from {', '.join(BENCHMARKS)}")
    doc = measure(only)
    if args.merge:
        doc = merge(json.loads(RESULTS.read_text()), doc)
    out = args.out or (RESULTS if only == BENCHMARKS or args.merge else None)
    if out is not None:
        out.write_text(json.dumps(doc, indent=2) + "\n")
    if out == RESULTS:  # the committed results: the page that shows them follows
        write_docs_table(doc)
    print(table(doc, markdown=args.markdown))
    if out is not None:
        print(f"\nwritten: {out}" + (f" and the table in {DOCS}" if out == RESULTS else ""))
    return 1 if doc["errors"] else 0

if __name__ == "__main__":
    sys.exit(main())
