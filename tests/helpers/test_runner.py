"""The runner: runs notebooks in order, stops at the first failure, writes the report."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from helpers.config import ConfigError
from helpers.parameters import load_parameters, render_cell
from helpers.runner import discover_notebooks, run

pytestmark = pytest.mark.slow  # several seconds a test: left out of make test-fast

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"


def _quiet(*args, **kwargs):
    pass


@pytest.fixture
def params_file(tmp_path, localcloud_status):
    path = tmp_path / "params.yaml"
    path.write_text(f"stack_name: fixture\ntime_scale: {localcloud_status['time_scale']}\n"
                    f"localcloud_state_dir: {localcloud_status['state_dir']}\n")
    return path


def test_later_files_and_p_options_override_earlier_ones(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("stack_name: one\nrecord_ttl: 5\n")
    b.write_text("stack_name: two\n")
    params = load_parameters([a, b], [("record_ttl", "30"), ("regions", "[us-east-1, us-west-2]")])
    assert params == {"stack_name": "two", "record_ttl": 30, "regions": ["us-east-1", "us-west-2"]}


def test_successful_run_writes_notebooks_html_index_and_artifacts(tmp_path, params_file):
    out = tmp_path / "report"
    result = run([params_file], [("stack_name", "fromcli")], out=out, notebooks_dir=FIXTURES / "notebooks_ok",
                 echo=_quiet)
    assert result.ok
    assert [n.status for n in result.notebooks] == ["passed", "passed"]
    for name in ("00_first.ipynb", "00_first.html", "01_second.html", "index.html", "run.json"):
        assert (out / name).exists(), name
    assert (out / "artifact.csv").read_text() == "stack\nfromcli\n", "-p overrides the file and reaches the notebook"
    index = (out / "index.html").read_text()
    assert 'id="run-status">passed' in index
    assert 'href="00_first.html"' in index and 'href="01_second.html"' in index
    assert "fromcli" in index, "the parameters are listed"
    assert 'href="artifact.csv"' in index
    assert (out / "kernels.log").exists(), "the kernels' start-up notices go to the run directory, not the terminal"
    assert "Passed unknown parameter" not in (out / "kernels.log").read_text(), \
        "every notebook declares every parameter the runner passes"
    page = (out / "01_second.html").read_text()
    assert 'href="index.html"' in page and 'href="00_first.html"' in page, "every page has the same navigation"
    assert "second ran" in page


def test_failing_notebook_stops_the_run_and_reports_the_cell(tmp_path, params_file):
    out = tmp_path / "report"
    lines: list[str] = []
    result = run([params_file], [], out=out, notebooks_dir=FIXTURES / "notebooks_fail",
                 echo=lambda *a, **k: lines.append(" ".join(map(str, a))))
    assert not result.ok
    assert [n.status for n in result.notebooks] == ["passed", "failed", "not run"]
    failed = result.notebooks[1]
    assert "arithmetic is broken on purpose" in failed.error
    assert "assert 1 + 1 == 3" in failed.failed_cell
    printed = "\n".join(lines)
    assert "assert 1 + 1 == 3" in printed and "AssertionError" in printed
    assert not (out / "02_never.ipynb").exists()
    assert json.loads((out / "run.json").read_text())["status"] == "failed"
    assert 'id="run-status">failed' in (out / "index.html").read_text()


def test_cli_exits_non_zero_on_bad_parameters_before_running_anything(tmp_path, params_file):
    out = tmp_path / "never"
    bad = subprocess.run([str(BIN / "runbook"), "run", "-f", str(params_file), "-p", "time_scale", "0", "--out", str(out)],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert "'time_scale'" in bad.stderr
    assert not out.exists()


def test_cli_exits_non_zero_when_a_notebook_fails(tmp_path, params_file, monkeypatch):
    from helpers import runner

    monkeypatch.setattr(runner, "NOTEBOOKS_DIR", FIXTURES / "notebooks_fail")
    code = runner.main(["run", "-f", str(params_file), "--out", str(tmp_path / "r"), "--notebooks", "01"])
    assert code == 1


def test_hide_code_leaves_inputs_out_of_the_html(tmp_path, params_file):
    out = tmp_path / "report"
    run([params_file], [], out=out, notebooks_dir=FIXTURES / "notebooks_ok", hide_code=True, echo=_quiet)
    page = (out / "00_first.html").read_text()
    assert "stack is" in page
    assert "load_config(globals())" not in page


def test_notebook_selection_by_number():
    assert [p.name for p in discover_notebooks(["01"], FIXTURES / "notebooks_ok")] == ["01_second.ipynb"]
    with pytest.raises(ConfigError, match="no notebook numbered 09"):
        discover_notebooks(["09"], FIXTURES / "notebooks_ok")


def test_cli_names_the_file_with_a_yaml_syntax_error_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("stack_name: [unclosed\n")
    result = subprocess.run([str(BIN / "runbook"), "run", "-f", str(bad), "--out", str(tmp_path / "never")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert str(bad) in result.stderr and "not valid YAML" in result.stderr
    assert "Traceback" not in result.stderr
    bad_p = subprocess.run([str(BIN / "runbook"), "run", "-p", "regions", "[eu-west-1", "--out", str(tmp_path / "never")],
                           capture_output=True, text=True, timeout=60)
    assert bad_p.returncode == 2 and "'regions'" in bad_p.stderr and "Traceback" not in bad_p.stderr
    not_a_path = subprocess.run([str(BIN / "runbook"), "run", "-p", "localcloud_state_dir", "42",
                                 "--out", str(tmp_path / "never")], capture_output=True, text=True, timeout=60)
    assert not_a_path.returncode == 2 and "'localcloud_state_dir'" in not_a_path.stderr
    assert "Traceback" not in not_a_path.stderr
    assert not (tmp_path / "never").exists()


def test_notebook_that_does_not_declare_every_parameter_is_refused_before_anything_runs(tmp_path, params_file):
    import nbformat

    directory = tmp_path / "notebooks"
    directory.mkdir()
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                           "display_name": "Python 3"}})
    nb.cells = [nbformat.v4.new_code_cell(render_cell().replace("\nfault: str", "\n# fault: str"),
                                          metadata={"tags": ["parameters"]})]
    nbformat.write(nb, str(directory / "00_stale.ipynb"))
    with pytest.raises(ConfigError, match="00_stale.ipynb does not declare the parameter.*fault.*make params"):
        run([params_file], [], out=tmp_path / "never", notebooks_dir=directory, echo=_quiet)
    assert not (tmp_path / "never").exists()


def test_each_notebook_gets_the_validated_values(tmp_path, params_file):
    """The runner passes the settled parameters: an unset faulty_region reaches the notebooks as the first region."""
    out = tmp_path / "report"
    result = run([params_file], [], out=out, notebooks_dir=FIXTURES / "notebooks_ok", echo=_quiet)
    assert result.ok
    injected = json.loads((out / "00_first.ipynb").read_text())
    source = "".join(c for cell in injected["cells"] if "injected-parameters" in cell["metadata"].get("tags", [])
                     for c in cell["source"])
    assert 'faulty_region = "eu-west-1"' in source
    assert f'run_dir = "{out}"' in source
