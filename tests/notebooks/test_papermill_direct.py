"""Papermill directly on a notebook, as CI users run it without the runner: from the project root and from notebooks/."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.parameters import DEFAULT_STATE_DIR, PROJECT_ROOT

pytestmark = pytest.mark.notebook
PAPERMILL = Path(sys.executable).with_name("papermill")


@pytest.mark.parametrize("cwd", [PROJECT_ROOT, PROJECT_ROOT / "notebooks"], ids=["root", "notebooks"])
def test_papermill_runs_a_notebook_from_the_root_and_from_notebooks(localcloud_status, tmp_path, cwd):
    notebook = Path("notebooks/00_setup.ipynb") if cwd == PROJECT_ROOT else Path("00_setup.ipynb")
    out = tmp_path / "00_setup.ipynb"
    done = subprocess.run(
        [str(PAPERMILL), str(notebook), str(out), "-f", str(PROJECT_ROOT / "parameters" / "local.yaml"),
         "-p", "localcloud_state_dir", localcloud_status["state_dir"], "-p", "time_scale",
         str(localcloud_status["time_scale"]), "-p", "run_dir", str(tmp_path / "run"), "--no-progress-bar"],
        cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = json.dumps(json.loads(out.read_text())["cells"])
    assert localcloud_status["state_dir"] in outputs and "setup checked: ready for step 1" in outputs, \
        "00_setup ran to its end against the running local cloud"


@pytest.mark.parametrize("cwd", [PROJECT_ROOT, PROJECT_ROOT / "notebooks"], ids=["root", "notebooks"])
def test_the_default_state_directory_is_the_projects_whatever_the_working_directory(cwd):
    probe = "from helpers.config import validate; print(validate({}).localcloud_state_dir)"
    done = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == str(DEFAULT_STATE_DIR)
