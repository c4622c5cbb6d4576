"""Every parameter is declared once: the notebooks' cells, local.yaml and the README table agree with it."""

from __future__ import annotations

import math

import nbformat
import papermill
import pytest
import yaml

from helpers import parameters
from helpers.config import ConfigError, validate
from helpers.fault_kinds import FAULT_KINDS, fault_kind, fault_table
from helpers.parameters import DEFAULTS, PARAMETER_NAMES, PARAMETERS, load_parameters
from awsfacts.time_scale import check_time_scale


@pytest.mark.parametrize("path", parameters.notebooks(), ids=lambda p: str(p.relative_to(parameters.PROJECT_ROOT)))
def test_notebook_parameters_cell_is_the_generated_one(path):
    cell = parameters.parameters_cell(nbformat.read(str(path), as_version=4), path)
    assert cell.source == parameters.render_cell(), f"{path.name}'s parameters cell has drifted: run `make params`"


@pytest.mark.parametrize("path", parameters.notebooks(), ids=lambda p: str(p.relative_to(parameters.PROJECT_ROOT)))
def test_papermill_reads_every_parameter_with_its_declared_type_and_default(path):
    declared = papermill.inspect_notebook(str(path))
    assert list(declared) == list(PARAMETER_NAMES), "every notebook declares the whole set, in declaration order"
    for p in PARAMETERS:
        default = DEFAULTS[p.name]
        assert declared[p.name]["inferred_type_name"] == p.type.__name__
        assert eval(declared[p.name]["default"]) == (list(default) if isinstance(default, tuple) else default)
        assert declared[p.name]["help"] == p.comment


def test_local_yaml_is_the_generated_one_and_holds_every_default():
    text = parameters.LOCAL_YAML.read_text()
    assert text == parameters.render_local_yaml(), "parameters/local.yaml has drifted: run `make params`"
    loaded = yaml.safe_load(text)
    assert loaded == {k: list(v) if isinstance(v, tuple) else v for k, v in DEFAULTS.items()}
    assert validate(loaded) == validate({})


def test_readme_parameters_table_is_the_generated_one():
    text = parameters.README.read_text()
    begin, end = text.find(parameters.README_BEGIN), text.find(parameters.README_END)
    assert 0 <= begin < end, (f"README.md has no '{parameters.README_BEGIN}' ... '{parameters.README_END}' markers "
                              "around its parameters table: add them and run `make params`")
    table = text[begin + len(parameters.README_BEGIN):end].strip()
    assert table == parameters.render_readme_table(), "the README's parameters table has drifted: run `make params`"


def test_drift_names_an_edited_cell_and_local_yaml(tmp_path, monkeypatch):
    notebook = tmp_path / "00_x.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('stack_name: str = "other"', metadata={"tags": ["parameters"]})]
    nbformat.write(nb, str(notebook))
    local = tmp_path / "local.yaml"
    local.write_text(parameters.render_local_yaml().replace("time_scale: 0.1", "time_scale: 0.2"))
    monkeypatch.setattr(parameters, "NOTEBOOKS_DIR", tmp_path)
    monkeypatch.setattr(parameters, "LOCAL_YAML", local)
    monkeypatch.setattr(parameters, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr(parameters, "notebooks", lambda directory=tmp_path: [notebook])
    found = parameters.drift()
    assert any("00_x.ipynb" in line for line in found)
    assert any("local.yaml" in line for line in found)


def test_write_rewrites_the_cell_and_fails_clearly_without_readme_markers(tmp_path, monkeypatch):
    notebook = tmp_path / "00_x.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Step 0: x"),
                nbformat.v4.new_code_cell('stack_name: str = "other"', metadata={"tags": ["parameters"]})]
    nbformat.write(nb, str(notebook))
    readme = tmp_path / "README.md"
    readme.write_text("# Project\n\n## Parameters\n\nno markers here\n")
    monkeypatch.setattr(parameters, "LOCAL_YAML", tmp_path / "local.yaml")
    monkeypatch.setattr(parameters, "README", readme)
    with pytest.raises(ConfigError, match="parameters:begin.*make params"):
        parameters.write(tmp_path, echo=lambda line: None)
    written = nbformat.read(str(notebook), as_version=4)
    assert written.cells[1].source == parameters.render_cell()
    assert written.cells[0].source == "# Step 0: x", "only the parameters cell changes"
    assert (tmp_path / "local.yaml").read_text() == parameters.render_local_yaml()

    readme.write_text(f"intro\n{parameters.README_BEGIN}\nold table\n{parameters.README_END}\nafter\n")
    parameters.write(tmp_path, echo=lambda line: None)
    text = readme.read_text()
    assert text == f"intro\n{parameters.README_BEGIN}\n{parameters.render_readme_table()}\n{parameters.README_END}\nafter\n"


def test_every_parameter_file_names_only_declared_parameters_and_validates():
    for path in sorted((parameters.PROJECT_ROOT / "parameters").glob("*.yaml")):
        params = load_parameters([path], [])
        assert set(params) <= set(PARAMETER_NAMES), f"{path.name}: {set(params) - set(PARAMETER_NAMES)}"
        validate({**params, "dry_run": True})  # aws.example.yaml needs acknowledge_costs or a dry run


def test_yaml_syntax_error_in_a_file_names_the_file_and_the_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("stack_name: ok\nregions: [eu-west-1, eu-central-1\n")
    with pytest.raises(ConfigError) as error:
        load_parameters([bad], [])
    message = str(error.value)
    assert str(bad) in message and "not valid YAML" in message and "line" in message
    assert "\n" not in message, "one line, not the parser's traceback"


def test_yaml_syntax_error_in_a_p_value_names_the_parameter():
    with pytest.raises(ConfigError) as error:
        load_parameters([], [("regions", "[eu-west-1, eu-central-1")])
    assert "'regions'" in str(error.value) and "-p" in str(error.value)


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path):
    listing = tmp_path / "list.yaml"
    listing.write_text("- stack_name\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_parameters([listing], [])


def test_yaml_infinity_and_nan_from_files_are_refused_with_the_parameter_named(tmp_path):
    path = tmp_path / "p.yaml"
    for text, name in (("time_scale: .inf\n", "time_scale"), ("hold_s: .nan\n", "hold_s"),
                       ("time_scale: 1.0e6\n", "time_scale")):
        path.write_text(text)
        with pytest.raises(ConfigError, match=f"'{name}'"):
            validate(load_parameters([path], []))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, 0, 1e308, 10**400, "fast", None, True, 1.5])
def test_check_time_scale_refuses_what_the_local_cloud_cannot_run(value):
    with pytest.raises(ValueError, match="0.01 to 1.0"):
        check_time_scale(value)


def test_check_time_scale_accepts_its_bounds_and_numeric_text():
    assert check_time_scale(0.01) == 0.01 and check_time_scale("0.1") == 0.1 and check_time_scale(1) == 1.0


def test_fault_choices_and_the_local_only_rule_come_from_the_fault_table():
    fault = next(p for p in PARAMETERS if p.name == "fault")
    assert fault.choices == tuple(k.name for k in FAULT_KINDS)
    for kind in FAULT_KINDS:
        on_aws = {"backend": "aws", "time_scale": 1.0, "dry_run": True, "fault": kind.name}
        if kind.local_only:
            with pytest.raises(ConfigError, match="'fault'.*only the local cloud"):
                validate(on_aws)
        else:
            assert validate(on_aws).fault == kind.name


def test_fault_table_rows_say_everything_a_reader_needs():
    rows = fault_table()
    assert [r["fault"] for r in rows] == [k.name for k in FAULT_KINDS]
    for row in rows:
        assert row["what it does"] and "undone" in row["AWS calls"]
    assert fault_kind("health_status").failover_expected
    assert not fault_kind("replication_pause").failover_expected
    with pytest.raises(KeyError, match="health_status"):
        fault_kind("meteor")


def test_every_fault_operation_can_be_injected_and_restored():
    from helpers import faults

    for kind in FAULT_KINDS:
        operation = type(kind.operation)
        assert operation in faults._inject.registry, f"{kind.name}: no injector for {operation.__name__}"
        assert operation in faults._restore.registry, f"{kind.name}: nothing undoes {operation.__name__}"


def test_parameter_modules_do_not_import_the_runner_or_the_setup():
    """The declarations sit below everything that uses them (no aws_account -> runner -> setup -> aws_account)."""
    import ast

    for module in ("parameters.py", "config.py", "fault_kinds.py", "client_model.py"):
        tree = ast.parse((parameters.PROJECT_ROOT / "helpers" / module).read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        helpers_used = {name for name in imported if name.startswith("helpers.")}
        allowed = {"parameters.py": {"helpers.fault_kinds", "helpers.client_model"}, "config.py": {"helpers.parameters"},
                   "fault_kinds.py": set(), "client_model.py": set()}[module]
        assert helpers_used <= allowed, f"helpers/{module} imports {helpers_used - allowed}"
    aws_account = (parameters.PROJECT_ROOT / "helpers" / "aws_account.py").read_text()
    assert "helpers.runner" not in aws_account


def test_defaults_run_on_the_local_cloud():
    cfg = validate({})
    assert cfg.backend == "local" and math.isfinite(cfg.time_scale) and cfg.faulty_region == cfg.regions[0]
