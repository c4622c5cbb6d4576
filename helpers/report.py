"""HTML reports of a run: one page per executed notebook and an ``index.html``.

Every page carries the same navigation (index, previous, next), so a reader
always knows where they are. Plots are embedded in the pages by nbconvert
(as data URIs) and the PNG files the notebooks save are linked from the index.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

NAV_STYLE = (
    "position:sticky;top:0;z-index:10;background:#232f3e;color:#fff;padding:8px 16px;"
    "font:14px system-ui,sans-serif;display:flex;gap:16px;align-items:center"
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


def export_html(notebook: Path, out_dir: Path, *, hide_code: bool = False, nav: list[str] | None = None) -> str:
    """Write ``<name>.html`` for an executed notebook; returns the file name."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = hide_code
    exporter.exclude_input_prompt = hide_code
    exporter.exclude_output_prompt = hide_code
    body, _ = exporter.from_notebook_node(nbformat.read(str(notebook), as_version=4))
    body = body.replace("<body", "<body data-runbook-page", 1)
    marker = body.find(">", body.find("<body")) + 1
    body = body[:marker] + _nav_html(notebook.stem, nav or []) + body[marker:]
    name = notebook.stem + ".html"
    (out_dir / name).write_text(body, encoding="utf-8")
    return name


# The plots a reader should see first, in this order; other PNGs follow alphabetically.
PLOT_ORDER = ("chaos_items_by_region.png", "chaos_health_errors.png", "chaos_latency.png")
RESULT_ROWS = (  # (label, key in chaos_metrics.json, unit)
    ("fault", "fault", ""), ("broken region", "faulty_region", ""), ("requests", "requests", ""),
    ("client errors", "errors", ""), ("lost writes", "lost_writes", ""), ("replicas identical", "replicas_identical", ""),
    ("recovery time (RTO)", "rto_s", " s"), ("expected from the health check and TTL", "expected_rto_s", " s"),
    ("fault to health check unhealthy", "detection_s", " s"), ("restore to traffic back", "failback_s", " s"),
    ("replication lag p50", "replication_lag_p50_ms", " ms"), ("replication lag p99", "replication_lag_p99_ms", " ms"),
)


def _results_html(out_dir: Path) -> str:
    """The chaos step's headline numbers, when the run got that far."""
    path = out_dir / "chaos_metrics.json"
    if not path.exists():
        return ""
    metrics = json.loads(path.read_text())
    rows = "".join(f"<tr><th>{html.escape(label)}</th><td>{html.escape(str(metrics.get(key)))}{unit}</td></tr>"
                   for label, key, unit in RESULT_ROWS if metrics.get(key) is not None)
    return f'<h2>Chaos results</h2>\n<table id="results">{rows}</table>'


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
            artifacts.append(f'<figure><a href="{path.name}"><img src="{path.name}" alt="{html.escape(path.stem)}" '
                             f'style="max-width:480px"></a><figcaption>{html.escape(path.name)}</figcaption></figure>')
        elif path.suffix in (".csv", ".json", ".log") and path.name != "run.json":
            artifacts.append(f'<p><a href="{path.name}">{html.escape(path.name)}</a></p>')
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Runbook report {html.escape(result.run_id)}: {result.status}</title>
<style>
body{{font:15px/1.5 system-ui,sans-serif;margin:0;color:#16191f}} main{{padding:16px 32px;max-width:1100px}}
table{{border-collapse:collapse;margin:8px 0 24px}} td,th{{border:1px solid #d5dbdb;padding:4px 10px;text-align:left;vertical-align:top}}
.status{{color:#fff;background:{colour};padding:2px 10px;border-radius:4px}} pre{{margin:0;white-space:pre-wrap}}
tr.failed td{{background:#fde8e8}} figure{{display:inline-block;margin:8px}}
</style></head>
<body data-runbook-index>
{_nav_html("", [])}
<main>
<h1>Multi-region active-active runbook</h1>
<p>Run <code>{html.escape(result.run_id)}</code> started {html.escape(result.started_at)}:
<span class="status" id="run-status">{result.status}</span> in {result.duration_s:.1f} s
on backend <code>{html.escape(str(result.parameters.get("backend", "")))}</code>.</p>
<h2>Notebooks</h2>
<table id="notebooks"><tr><th>notebook</th><th>status</th><th>duration</th><th>error</th></tr>{"".join(rows)}</table>
{_results_html(out_dir)}
<h2>Artifacts</h2>
<div id="artifacts">{"".join(artifacts) or "<p>none</p>"}</div>
<h2>Parameters</h2>
<table id="parameters">{params}</table>
</main></body></html>
"""
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
