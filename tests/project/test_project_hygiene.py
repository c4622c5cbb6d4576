"""House rules that keep the repository honest."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from helpers.notebook_hygiene import dirty_cells

ROOT = Path(__file__).resolve().parents[2]


def test_committed_notebooks_have_no_outputs():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "tests" / "fixtures").rglob("*.ipynb"))
    assert notebooks
    dirty = {str(p.relative_to(ROOT)): dirty_cells(p) for p in notebooks if dirty_cells(p)}
    assert not dirty, f"strip these notebooks with `make strip`: {dirty}"


def test_environment_yml_installs_the_project_through_pip_only():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    conda = [d for d in deps if isinstance(d, str)]
    assert all(re.match(r"^(python(=[\d.]+)?|pip)$", d) for d in conda), f"only python and pip from conda: {conda}"
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert pip == ["-e .[dev]"], "dependencies live in pyproject.toml only"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    python = next(d for d in conda if d.startswith("python"))
    minimum = project["requires-python"].removeprefix(">=")
    assert tuple(map(int, python.split("=")[1].split("."))) >= tuple(map(int, minimum.split("."))), \
        "environment.yml's python must satisfy requires-python"


def test_every_dependency_has_a_pinned_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for dep in project["dependencies"] + project["optional-dependencies"]["dev"]:
        assert re.search(r">=[\d.]+,<[\d.]+", dep), f"{dep} needs a lower and an upper bound"


def test_notebooks_follow_the_template():
    import nbformat

    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        assert nb.cells[0].source.startswith(f"# Step {int(path.name[:2])}:"), f"{path.name}: title '# Step N: ...'"
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: exactly one cell tagged 'parameters'"
        sources = [c.source for c in nb.cells]
        assert any(s.startswith("## Verify") for s in sources), f"{path.name}: a '## Verify' section"
        assert any(s.startswith("## What just happened") for s in sources), f"{path.name}: '## What just happened'"
        assert any("load_config(globals()" in s for s in sources), f"{path.name}: parameters validated by load_config"


def test_no_backend_branches_outside_config_and_the_setup_notebook():
    # A comparison with a backend name, or asking the config which backend this is (the runner and the sweep may:
    # they start the local cloud).
    pattern = re.compile(r"backend\s*(==|!=|in)\s*['\"(]|\bcfg\.backend\b|uses_local_cloud")
    offenders = []
    for path in list((ROOT / "helpers").glob("*.py")) + list((ROOT / "functions").glob("*.py")):
        if path.name in ("config.py", "runner.py", "sweep.py"):
            continue
        offenders += [f"{path.name}:{i}" for i, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        if path.name.startswith("00_"):
            continue
        if pattern.search(path.read_text()):
            offenders.append(path.name)
    assert not offenders, f"one code path (docs/design.md, principle 1): {offenders}"


def _section(text: str, heading: str) -> str:
    """The body of the Markdown section ``heading`` (a whole heading line), up to the next heading."""
    lines = text.split(f"\n{heading}\n", 1)
    assert len(lines) == 2, f"no section {heading!r}"
    return re.split(r"\n#{1,6} ", lines[1], maxsplit=1)[0]


def test_design_lists_exactly_the_operations_the_local_cloud_overrides(localcloud_status):
    text = (ROOT / "docs" / "design.md").read_text()
    section = _section(text, "### Where the local cloud answers instead of moto")
    listed = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("service", "---"):
            listed.update(f"{cells[0]}:{op.strip()}" for op in cells[1].split(","))
    assert listed == set(localcloud_status["overrides"])


def test_readme_shows_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make runbook" in text and "make test" in text
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_fits_a_newcomer_and_links_every_page_it_sends_them_to():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 250, "the README is an entry point: depth goes to docs/"
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    for wanted in ("Quick start", "The runbook", "Parameters", "The local cloud", "Run it on your AWS account",
                   "Troubleshooting", "Layout"):
        assert wanted in headings, f"the README has no '## {wanted}' section"
    for page in ("docs/design.md", "docs/benchmarks.md", "docs/iam-policy.json"):
        assert f"]({page}" in text, f"the README does not link {page}"
    for page in re.findall(r"\]\((docs/[^)#]+)", text):
        if page != "docs/iam-policy.json":  # generated from helpers.aws_account
            assert (ROOT / page).exists(), f"the README links {page}, which does not exist"


def test_links_between_the_docs_pages_resolve():
    for page in sorted((ROOT / "docs").glob("*.md")):
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            if target.endswith("iam-policy.json"):
                continue  # generated from helpers.aws_account
            assert (page.parent / target).resolve().exists(), f"{page.name} links {target}, which does not exist"


def test_code_passes_the_linter():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

