"""HTML reports of a run: one page per executed notebook and an ``index.html``.

Every page carries the same navigation (index, previous, next), so a reader
always knows where they are. Plots are embedded in the pages by nbconvert
(as data URIs) and the PNG files the notebooks save are linked from the index.

The pages work offline: nbconvert's JupyterLab template without the scripts it
loads from public CDNs (``OFFLINE_TEMPLATE``) and without widget state. The
notebooks' two parameters cells (papermill's ``parameters`` and
``injected-parameters``) give way to one "parameters of this run" table, and
cells tagged ``dry-run`` appear only in a dry run.
"""

from __future__ import annotations

import ast
import html
import json
import os
from pathlib import Path
from typing import Any

from helpers.failover_events import NO_FAILOVER, with_resolution

NAV_STYLE = (
    "position:sticky;top:0;z-index:10;background:#232f3e;color:#fff;padding:8px 16px;"
    "font:14px system-ui,sans-serif;display:flex;gap:16px;align-items:center"
)
PARAMETER_TAGS = ("parameters", "injected-parameters")  # papermill's tags: the cell a notebook declares, the one it injects
DRY_RUN_TAG = "dry-run"  # a cell that shows what a dry run recorded: left out of the pages of a real run
# JupyterLab's page (nbconvert's "lab" template) without what it loads from public CDNs:
# require.js (for widgets and JavaScript outputs, which the notebooks do not make), MathJax
# (the notebooks hold no LaTeX, and it would typeset the dollar amounts of their cost notes)
# and Mermaid (no diagrams in Markdown). The body starts with the navigation and the parameters.
OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block body_header -%}
<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light" data-runbook-page>
{{ resources.runbook_nav }}
<main>
{{ resources.runbook_parameters }}
{%- endblock body_header -%}
"""
PARAMETERS_STYLE = (
    "<style>.runbook-parameters{margin:8px 0 16px calc(var(--jp-cell-prompt-width) + 2 * var(--jp-cell-padding));"
    "font:13px system-ui,sans-serif}"
    ".runbook-parameters table{border-collapse:collapse;margin-top:6px}"
    ".runbook-parameters td,.runbook-parameters th{border:1px solid #d5dbdb;padding:2px 8px;text-align:left}"
    ".runbook-parameters tr.changed th,.runbook-parameters tr.changed td{background:#f2f8fd}</style>"
)


def _nav_html(name: str, names: list[str]) -> str:
    link = 'style="color:#ff9900;text-decoration:none"'
    parts = [f'<a {link} href="index.html">Runbook report</a>']
    if name in names:
        i = names.index(name)
        if i > 0:
            parts.append(f'<a {link} href="{names[i - 1]}.html">&larr; {html.escape(names[i - 1])}</a>')
        parts.append(f"<strong>{html.escape(name)}</strong>")
        if i + 1 < len(names):
            parts.append(f'<a {link} href="{names[i + 1]}.html">{html.escape(names[i + 1])} &rarr;</a>')
    return f'<nav class="runbook-nav" style="{NAV_STYLE}">' + " ".join(parts) + "</nav>"


def _literal(source: str) -> Any:
    """A parameters cell's default as a value (its source text when it is not a literal)."""
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return source


def effective_parameters(notebook: Path, run_parameters: dict[str, Any]) -> list[dict[str, Any]]:
    """Each parameter the notebook declares: its value in this run, its default and its meaning.

    The value is the run's (validated) one; a parameter the run does not know keeps what
    papermill injected, or else the notebook's default.
    """
    import nbformat
    import papermill

    injected = nbformat.read(str(notebook), as_version=4).metadata.get("papermill", {}).get("parameters", {})
    rows = []
    for name, declared in papermill.inspect_notebook(str(notebook)).items():
        default = _literal(declared["default"])
        value = run_parameters[name] if name in run_parameters else injected.get(name, default)
        rows.append({"name": name, "value": value, "default": default, "meaning": declared["help"]})
    return rows


def _parameters_html(rows: list[dict[str, Any]]) -> str:
    """One collapsed table: the summary names the values that differ from the notebook's defaults."""
    if not rows:
        return ""
    changed = [r for r in rows if r["value"] != r["default"]]
    summary = ", ".join(f"{r['name']}={r['value']!r}" for r in changed) or "the notebook's defaults"
    body = "".join(
        f'<tr class="{"changed" if r in changed else "default"}"><th>{html.escape(r["name"])}</th>'
        f'<td><code>{html.escape(repr(r["value"]))}</code></td><td>{html.escape(r["meaning"])}</td></tr>'
        for r in rows
    )
    return (f'{PARAMETERS_STYLE}<details class="runbook-parameters" id="run-parameters"><summary>'
            f"<strong>Parameters of this run</strong> ({len(rows)}; {len(changed)} not the notebook's default): "
            f"{html.escape(summary)}</summary><table><tr><th>parameter</th><th>value</th><th>meaning</th></tr>"
            f"{body}</table></details>")


def export_html(notebook: Path, out_dir: Path, *, hide_code: bool = False, nav: list[str] | None = None,
                parameters: dict[str, Any] | None = None, dry_run: bool = False) -> str:
    """Write ``<name>.html`` for an executed notebook; returns the file name.

    ``parameters`` are the run's effective parameters (``Config.public_params()``); the page
    shows those the notebook declares in place of its parameters cells.
    """
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = set(PARAMETER_TAGS) | (set() if dry_run else {DRY_RUN_TAG})
    config.TemplateExporter.exclude_input = hide_code
    config.TemplateExporter.exclude_input_prompt = hide_code
    config.TemplateExporter.exclude_output_prompt = hide_code
    exporter = HTMLExporter(config=config, template_name="lab", template_file="runbook_offline.html.j2",
                            extra_loaders=[jinja2.DictLoader({"runbook_offline.html.j2": OFFLINE_TEMPLATE})])
    nb = nbformat.read(str(notebook), as_version=4)
    nb.metadata.pop("widgets", None)  # a page never embeds widget state; a widget shows its text form instead
    resources = {"runbook_nav": _nav_html(notebook.stem, nav or []),
                 "runbook_parameters": _parameters_html(effective_parameters(notebook, parameters or {}))}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    name = notebook.stem + ".html"
    (out_dir / name).write_text(body, encoding="utf-8")
    return name


# The plots a reader should see first, in this order; other PNGs follow alphabetically.
PLOT_ORDER = ("chaos_items_by_region.png", "chaos_health_errors.png", "chaos_latency.png", "chaos_replication_lag.png")
RESULT_ROWS = (  # (label, key in chaos_metrics.json, unit): plain values
    ("fault", "fault", ""), ("broken region", "faulty_region", ""), ("requests", "requests", ""),
    ("client errors", "errors", ""), ("lost writes", "lost_writes", ""), ("replicas identical", "replicas_identical", ""),
)
# (label, key in chaos_metrics.json, key of its prediction in metrics["predicted"]): AWS seconds, wall second
DURATION_ROWS = (
    ("detection", "detection_s", "detection_s"), ("DNS convergence", "dns_convergence_s", "dns_convergence_s"),
    ("recovery time (RTO)", "rto_s", "recovery_time_s"), ("error window", "error_window_s", None),
    ("restore to the region serving again", "failback_s", None),
)


def _cell(value: Any) -> str:
    return html.escape("-" if value is None else str(value))


def _results_html(out_dir: Path) -> str:
    """The chaos step's headline numbers (AWS seconds, predicted beside them) and its events, when the run got that far."""
    path = out_dir / "chaos_metrics.json"
    if not path.exists():
        return ""
    metrics = json.loads(path.read_text())
    scale = metrics.get("time_scale") or 1.0
    predicted = metrics.get("predicted") or {}
    definitions, bounds = metrics.get("definitions") or {}, metrics.get("bounds_s") or {}
    rows = "".join(f"<tr><th>{html.escape(label)}</th><td colspan=4>{_cell(metrics.get(key))}</td></tr>"
                   for label, key, _ in RESULT_ROWS if key in metrics)
    for label, key, model in DURATION_ROWS:
        value = metrics.get(key)
        if key == "rto_s" and not metrics.get("failover_expected", True):
            rows += f"<tr><th>{html.escape(label)}</th><td colspan=4>{NO_FAILOVER}</td></tr>"
            continue
        if value is None:
            continue
        band = predicted.get(model) if model else None
        guess = f"{band['median']:.1f} s (p95 {band['p95']:.1f} s)" if band else ""
        rows += (f"<tr><th>{html.escape(label)}</th><td>{html.escape(with_resolution(value, bounds.get(key)))} s</td>"
                 f"<td>{html.escape(guess)}</td><td>{round(value * scale, 3)} s</td>"
                 f"<td>{html.escape(definitions.get(key, ''))}</td></tr>")
    if predicted.get("worst_case_s") is not None:
        worst = predicted["worst_case_s"]
        rows += (f"<tr><th>worst case: threshold x interval + TTL</th><td></td><td>{worst} s</td>"
                 f"<td>{round(worst * scale, 3)} s</td><td>Route 53's documented failover time</td></tr>")
    for label, key in (("replication lag p50", "replication_lag_p50_ms"), ("replication lag p99", "replication_lag_p99_ms")):
        if metrics.get(key) is not None:
            rows += (f"<tr><th>{label}</th><td>{metrics[key]} ms</td><td></td>"
                     f"<td>{round(metrics[key] * scale, 1)} ms</td>"
                     f"<td>{html.escape(definitions.get('replication_lag_ms', ''))}</td></tr>")
    head = ("<tr><th></th><th>measured (AWS time)</th><th>predicted: median (p95)</th><th>wall clock here</th>"
            "<th>definition</th></tr>")
    events = metrics.get("events") or []
    event_rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(e.get(column))}</td>" for column in
                         ("event", "AWS time (s)", "wall time (s)", "interval (AWS s)", "source", "resolution")) + "</tr>"
        for e in events if isinstance(e, dict))
    event_table = ("<h3>Events</h3>\n<table id=\"events\"><tr><th>event</th><th>AWS time (s)</th><th>wall time (s)</th>"
                   f"<th>interval (AWS s)</th><th>source</th><th>resolution</th></tr>{event_rows}</table>") if event_rows else ""
    return (f'<h2>Chaos results</h2>\n<p>Durations in AWS seconds (what the experiment takes on AWS); this run '
            f'took {scale:g} of each in wall-clock time (time scale {scale:g}). A sampled duration shows the interval '
            f'it is known to lie in: ± half of it around its middle.</p>\n'
            f'<table id="results">{head}{rows}</table>\n{event_table}')


def _consistency_html(out_dir: Path) -> str:
    """The consistency lab's headline numbers (``helpers.consistency_report.HEADLINE_ROWS``), when it ran."""
    from helpers.consistency_report import HEADLINE_ROWS, METRICS_FILE

    path = out_dir / METRICS_FILE
    if not path.exists():
        return ""
    numbers = json.loads(path.read_text()).get("headline", {})
    rows = "".join(f"<tr><th>{html.escape(label)}</th><td>{html.escape(str(numbers[key]))}</td></tr>"
                   for label, key in HEADLINE_ROWS if key in numbers)
    return f'<h2>Consistency lab</h2>\n<table id="consistency">{rows}</table>'


def _artifact_order(path: Path) -> tuple[int, str]:
    return (PLOT_ORDER.index(path.name) if path.name in PLOT_ORDER else len(PLOT_ORDER), path.name)


def write_index(result: Any, out_dir: Path) -> Path:
    """Write ``index.html``: title, status, duration, parameters, notebooks and artifacts."""
    ok = result.status == "passed"
    colour = "#1d8102" if ok else "#d13212"
    rows = []
    for nb in result.notebooks:
        link = f'<a href="{nb.html}">{html.escape(nb.name)}</a>' if nb.html else html.escape(nb.name)
        error = f"<pre>{html.escape(nb.error)}</pre>" if nb.error else ""
        rows.append(f'<tr class="{nb.status.replace(" ", "-")}"><td>{link}</td><td>{nb.status}</td>'
                    f"<td>{nb.duration_s:.1f} s</td><td>{error}</td></tr>")
    params = "".join(
        f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(str(v))}</code></td></tr>"
        for k, v in sorted(result.parameters.items())
    )
    artifacts = []
    for path in sorted(out_dir.iterdir(), key=_artifact_order):
        if path.suffix in (".png",):
            artifacts.append(f'<figure><a href="{path.name}"><img src="{path.name}" alt="{html.escape(path.stem)}">'
                             f'</a><figcaption>{html.escape(path.name)}</figcaption></figure>')
        elif path.suffix in (".csv", ".json", ".log") and path.name != "run.json":
            artifacts.append(f'<p><a href="{path.name}">{html.escape(path.name)}</a></p>')
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Runbook report {html.escape(result.run_id)}: {result.status}</title>
<style>
body{{font:15px/1.5 system-ui,sans-serif;margin:0;color:#16191f}} main{{padding:16px 32px;max-width:1280px}}
table{{border-collapse:collapse;margin:8px 0 24px}} td,th{{border:1px solid #d5dbdb;padding:4px 10px;text-align:left;vertical-align:top}}
.status{{color:#fff;background:{colour};padding:2px 10px;border-radius:4px}} pre{{margin:0;white-space:pre-wrap}}
tr.failed td{{background:#fde8e8}} figure{{margin:16px 0}} figure img{{display:block;max-width:100%;height:auto}}
</style></head>
<body data-runbook-index>
{_nav_html("", [])}
<main>
<h1>Multi-region active-active runbook</h1>
<p>Run <code>{html.escape(result.run_id)}</code> started {html.escape(result.started_at)}:
<span class="status" id="run-status">{result.status}</span> in {result.duration_s:.1f} s of wall-clock time
on backend <code>{html.escape(str(result.parameters.get("backend", "")))}</code>.</p>
<h2>Notebooks</h2>
<table id="notebooks"><tr><th>notebook</th><th>status</th><th>duration (wall clock)</th><th>error</th></tr>{"".join(rows)}</table>
{_results_html(out_dir)}
{_consistency_html(out_dir)}
<h2>Artifacts</h2>
<div id="artifacts">{"".join(artifacts) or "<p>none</p>"}</div>
<h2>Parameters of this run</h2>
<table id="parameters">{params}</table>
</main></body></html>
"""
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def point_latest(out_dir: Path) -> None:
    """Point ``latest`` beside ``out_dir`` at it (atomically: a reader never finds it missing)."""
    latest = out_dir.parent / "latest"
    tmp = out_dir.parent / ".latest.tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(out_dir.name)
    os.replace(tmp, latest)
