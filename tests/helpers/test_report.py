"""The HTML report of a run: pages that work offline, no progress bars, one parameters table, honest logs.

A fixture notebook (tests/fixtures/notebooks_report) holds what the runbook's
notebooks hold: a parameters cell, a progress bar, a plot, something written to
standard error and a dry-run-only section. It runs through the runner, as
``make runbook`` runs the real ones.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

from helpers.report import export_html
from helpers.runner import KERNEL_LOG, run

pytestmark = pytest.mark.slow  # several seconds a test: left out of make test-fast

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks_report"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _quiet(*args, **kwargs):
    pass


def _widget_outputs(notebook: Path) -> list[dict]:
    nb = nbformat.read(str(notebook), as_version=4)
    return [o for c in nb.cells for o in c.get("outputs", []) if WIDGET_VIEW in o.get("data", {})]


@pytest.fixture(scope="module")
def report(tmp_path_factory, localcloud_status):
    """The fixture notebook run as a report run, with a parameter from the command line."""
    out = tmp_path_factory.mktemp("report") / "run"
    params = tmp_path_factory.mktemp("params") / "params.yaml"
    params.write_text(f"time_scale: {localcloud_status['time_scale']}\n"
                      f"localcloud_state_dir: {localcloud_status['state_dir']}\n")
    result = run([params], [("stack_name", "fromcli")], out=out, notebooks_dir=FIXTURES, echo=_quiet)
    assert result.ok, [(n.name, n.error) for n in result.notebooks]
    return out


def test_report_runs_show_no_progress_bars_and_keep_no_widget_state(report):
    assert not _widget_outputs(report / "00_page.ipynb"), "TQDM_DISABLE reaches the kernel and the bars honour it"
    assert "widgets" not in nbformat.read(str(report / "00_page.ipynb"), as_version=4).metadata
    page = (report / "00_page.html").read_text()
    assert "widget-state" not in page and "widget-view" not in page
    outputs = json.dumps([c.get("outputs", []) for c in nbformat.read(str(report / "00_page.ipynb"), as_version=4).cells])
    assert "fixture-bar" not in outputs, "not even as text"


def test_progress_bars_still_show_in_an_interactive_kernel(tmp_path, monkeypatch):
    """The same notebook outside a report run (as in JupyterLab): the bar is a widget."""
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    output = tmp_path / "interactive.ipynb"
    papermill.execute_notebook(str(FIXTURES / "00_page.ipynb"), str(output), cwd=str(FIXTURES),
                               parameters={"run_dir": str(tmp_path)}, kernel_name="python3", progress_bar=False)
    assert _widget_outputs(output), "tqdm.auto draws a widget in a kernel"


def test_pages_load_no_script_or_stylesheet_from_the_network(report):
    for page in report.glob("*.html"):
        text = page.read_text()
        scripts = re.findall(r"<script\b.*?</script>", text, flags=re.IGNORECASE | re.DOTALL)
        assert not [s for s in scripts if re.search(r"https?://", s)], f"{page.name} runs a script from the network"
        tags = re.findall(r"<(?:link|img|iframe|source)\b[^>]*>", text, flags=re.IGNORECASE)
        assert not [t for t in tags if re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", t)], page.name


def test_parameters_cells_fold_into_one_table_of_this_runs_parameters(report):
    page = (report / "00_page.html").read_text()
    assert page.count('id="run-parameters"') == 1
    table = html.unescape(page[page.index('id="run-parameters"'):page.index("</details>")])
    assert "<th>stack_name</th><td><code>'fromcli'</code>" in table, "the run's value, set with -p"
    assert "prefix and runbook:stack tag of every resource" in table, "with its meaning from the parameters cell"
    assert "stack_name='fromcli'" in table.split("</summary>")[0], "the summary names what differs"
    assert "# Parameters" not in page and "Runbook parameters: papermill" not in page, "neither parameters cell is shown"


def test_dry_run_cells_appear_only_in_a_dry_run(report, tmp_path):
    assert "Dry run report" not in (report / "00_page.html").read_text()
    dry = export_html(report / "00_page.ipynb", tmp_path, dry_run=True)
    assert "Dry run report" in (tmp_path / dry).read_text()


def test_kernels_log_holds_only_what_the_kernel_wrote(tmp_path):
    """As the runbook command runs a notebook (no logging set up): papermill's warnings stay on its stderr."""
    log = tmp_path / KERNEL_LOG
    script = ("from pathlib import Path; from helpers.runner import execute_notebook; "
              f"execute_notebook(Path({str(FIXTURES / '00_page.ipynb')!r}), Path({str(tmp_path / 'out.ipynb')!r}), "
              f"{{'run_dir': {str(tmp_path)!r}, 'undeclared': 1}}, cwd=Path({str(FIXTURES)!r}), kernel_log=Path({str(log)!r}))")
    runner = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert "Passed unknown parameter: undeclared" in runner.stderr, "papermill warned, on the runner's stderr"
    assert "written by the kernel to its standard error" in log.read_text()
    assert "Passed unknown parameter" not in log.read_text(), "papermill's own warnings are not the kernel's"


@pytest.mark.browser
def test_every_page_renders_offline_with_every_image(report):
    from cdp import Browser

    browser = Browser(offline=True)
    try:
        images = {}
        for page in sorted(report.glob("*.html")):
            browser.open(page.resolve().as_uri())
            images[page.name] = browser.evaluate("Array.from(document.images).map(i => i.naturalWidth)")
        assert images["00_page.html"], "the page shows the fixture's plot"
        assert all(width > 0 for widths in images.values() for width in widths), images
        shown = browser.evaluate("Array.from(document.images).map(i => [i.clientWidth, i.naturalWidth])")  # index
        assert shown and all(width >= min(natural, 1000) for width, natural in shown), \
            f"the index shows its plots at full size, legends readable: {shown}"
        outside = [url for url in browser.requested_urls() if not url.startswith(("file://", "data:"))]
        assert not outside, f"requests that would leave the machine: {outside}"
    finally:
        browser.close()


def test_the_runbooks_dry_run_sections_are_tagged_dry_run():
    """Each notebook's "Dry run report" heading and its cell carry the tag, so a real run's page leaves them out."""
    notebooks = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    sections = 0
    for path in notebooks:
        cells = nbformat.read(str(path), as_version=4).cells
        for heading, cell in zip(cells, cells[1:]):
            if "dry_run_report(" in cell.source:
                sections += 1
                for tagged in (heading, cell):
                    assert "dry-run" in tagged.metadata.get("tags", []), f"{path.name}: {tagged.source[:40]!r}"
    from helpers.runner import NO_DRY_RUN

    assert sections >= len(notebooks) - len(NO_DRY_RUN), \
        "every notebook but those a dry run leaves out (chaos, consistency) has a dry-run section"


def test_helpers_make_progress_bars_only_through_helpers_progress():
    """tqdm's own classes ignore TQDM_DISABLE in a kernel: a helper importing them would put widgets back in reports."""
    helpers = Path(__file__).resolve().parents[2] / "helpers"
    direct = [p.name for p in helpers.glob("*.py")
              if p.name != "progress.py" and re.search(r"^\s*(from tqdm\b|import tqdm\b)", p.read_text(), re.MULTILINE)]
    assert not direct, f"import tqdm from helpers.progress in {direct}"
