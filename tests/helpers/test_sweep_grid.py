"""A sweep's grid and plan: every value, cell and lane checked before anything is built."""

from __future__ import annotations

import pytest

from helpers import runner
from helpers.parameters import DEFAULTS, ConfigError, check
from helpers.sweep import Sweep, plan
from helpers.sweep_grid import DEFAULT_GRID, cells, check_grid, parse_grid
from helpers.sweep_plan import a_priori_prediction, auto_phases, lane_params


def test_a_grid_names_parameters_and_their_values_parsed_as_their_declarations_say():
    grid = parse_grid(["record_ttl=10,60", "fault=health_status,region_outage", "client_dns_cache=ttl,none"])
    assert grid == {"record_ttl": (10, 60), "fault": ("health_status", "region_outage"),
                    "client_dns_cache": ("ttl", "none")}


@pytest.mark.parametrize("spec, reason", [
    (["recordttl=10"], "unknown parameter(s) 'recordttl' (did you mean 'record_ttl'?)"),
    (["record_ttl=10,abc"], "parameter 'record_ttl' has value 'abc': expected a finite number"),
    (["health_check_interval=10,20"], "parameter 'health_check_interval' has value 20: allowed values are 10, 30"),
    (["fault=health_status,meteor"], "parameter 'fault' has value 'meteor': allowed values are"),
    (["regions=eu-west-1"], "parameter 'regions' cannot vary within a sweep: it is fixed when the stack is built"),
    (["time_scale=0.1,0.2"], "parameter 'time_scale' cannot vary within a sweep"),
    (["record_ttl"], "expected NAME=VALUE[,VALUE...]"),
    (["record_ttl=10", "record_ttl=60"], "names 'record_ttl' twice"),
    (["record_ttl=10,10"], "the value(s) 10 appear twice"),
])
def test_a_bad_grid_is_refused_with_the_reason(spec, reason):
    with pytest.raises(ConfigError) as refused:
        parse_grid(spec)
    assert reason in str(refused.value)


def test_a_fixed_parameter_is_refused_naming_what_a_sweep_can_vary():
    with pytest.raises(ConfigError) as refused:
        parse_grid(["stack_name=a,b"])
    assert "runbook compare" in str(refused.value) and "record_ttl" in str(refused.value)


def test_cells_are_every_combination_with_reconfigurations_varying_slowest():
    base = check(dict(DEFAULTS))
    found = cells(base, check_grid({"fault": ("health_status", "region_outage"), "record_ttl": (10, 60)}))
    assert [c.params for c in found] == [
        {"fault": "health_status", "record_ttl": 10}, {"fault": "region_outage", "record_ttl": 10},
        {"fault": "health_status", "record_ttl": 60}, {"fault": "region_outage", "record_ttl": 60}]
    assert found[0].label == "health_status, ttl 10" and found[0].slug == "health_status-ttl10"
    assert found[0].reconfigured() == {"record_ttl": 10}


def test_default_grid_is_sixteen_valid_cells():
    assert len(cells(check(dict(DEFAULTS)), check_grid(DEFAULT_GRID))) == 16


def test_a_cell_the_runbooks_rules_refuse_is_refused_before_anything_is_built():
    base = check({**DEFAULTS, "backend": "aws", "time_scale": 1.0, "dry_run": True, "create_hosted_zone": False,
                  "consistency_lab": False})
    with pytest.raises(ConfigError) as refused:
        cells(base, check_grid({"fault": ("health_status", "region_outage")}))
    assert "cell region_outage is not a valid run" in str(refused.value)
    assert "only the local cloud can do this fault" in str(refused.value)


def test_the_sweep_command_refuses_bad_input_before_starting_anything(tmp_path, capsys):
    out = tmp_path / "sweep"
    state = tmp_path / "state"
    code = runner.main(["sweep", "-p", "localcloud_state_dir", str(state), "--grid", "regions=eu-west-1",
                        "--out", str(out)])
    assert code == 2
    assert "cannot vary within a sweep" in capsys.readouterr().err
    assert not out.exists(), "nothing written"
    assert not state.exists(), "no local cloud started"


@pytest.mark.parametrize("options, reason", [
    (dict(repeat=0), "--repeat 0"), (dict(lanes=0), "--lanes 0"), (dict(target_rto_s=-1.0), "--target-rto -1.0"),
])
def test_sweep_options_are_checked(tmp_path, options, reason):
    with pytest.raises(ConfigError) as refused:
        plan([], [], ["record_ttl=10"], out=tmp_path / "s", **options)
    assert reason in str(refused.value)


def test_a_fault_that_breaks_the_whole_region_needs_one_lane(tmp_path):
    with pytest.raises(ConfigError, match="region_outage breaks the whole region, for every lane's stack"):
        plan([], [], ["fault=health_status,region_outage"], lanes=2, out=tmp_path / "s")
    assert plan([], [], ["fault=health_status,region_outage"], lanes=1, out=tmp_path / "s").lanes == 1


def test_each_lane_has_its_own_stack_names_and_is_a_valid_run():
    base = check(dict(DEFAULTS))
    second = lane_params(base, 1)
    assert (second["stack_name"], second["table_name"], second["hosted_zone"], second["domain_name"]) == \
        ("mraa-2", "MyGlobalTable-2", "runbook-2.test", "api.runbook-2.test")
    check(second)
    with pytest.raises(ConfigError, match="--lanes 1"):
        lane_params({**base, "create_hosted_zone": False}, 1)


def test_auto_phases_hold_the_fault_past_the_worst_case_and_the_models_p95():
    params = check({**DEFAULTS, "health_check_interval": 30, "health_check_failure_threshold": 3, "record_ttl": 60})
    phases = auto_phases(params)
    prediction = a_priori_prediction(params)
    assert phases["hold_s"] > max(prediction.worst_case_s, prediction.client_convergence.p95)
    assert phases["recovery_s"] > prediction.healthy_again.p95
    assert prediction.worst_case_s == 30 * 3 + 60


def test_the_ttl_clients_receive_on_the_local_cloud_is_whole_wall_seconds():
    from helpers.config import validate

    assert validate({"time_scale": 0.1}).received_ttl_s(10) == 10
    assert validate({"time_scale": 0.05}).received_ttl_s(10) == 20  # 0.5 s rounds up to 1 s on the wire
    assert validate({"backend": "aws", "time_scale": 1.0, "dry_run": True}).received_ttl_s(0) == 0


def test_resume_runs_only_what_has_not_passed(tmp_path):
    sweep = plan([], [], ["record_ttl=10,60"], repeat=2, out=tmp_path / "s")
    runs = sweep.runs
    done, failed = runs[0], runs[1]
    for run, status in ((done, "passed"), (failed, "failed")):
        run.dir.mkdir(parents=True)
        (run.dir / "run.json").write_text(f'{{"status": "{status}"}}')
        (run.dir / "chaos_metrics.json").write_text("{}")
    sweep.save()
    again = Sweep.load(sweep.path)
    assert again == sweep
    left = [r for r in again.runs if not r.passed]
    assert [r.dir for r in left] == [r.dir for r in runs[1:]], "the passed run is skipped, the failed one runs again"


def test_a_second_sweep_into_the_same_directory_is_refused(tmp_path):
    from helpers.sweep import run

    sweep = plan([], [], ["record_ttl=10"], out=tmp_path / "s")
    sweep.save()
    with pytest.raises(ConfigError, match="--resume"):
        run(sweep, echo=lambda *a, **k: None)


AWS = [("backend", "aws"), ("time_scale", "1.0"), ("create_hosted_zone", "false"), ("hosted_zone", "example.com"),
       ("domain_name", "api.example.com"), ("consistency_lab", "false")]


def test_on_aws_a_sweep_needs_consent_and_states_its_hours_and_cost_first(tmp_path):
    from helpers.sweep import describe

    with pytest.raises(ConfigError, match="acknowledge_costs"):
        plan([], AWS, [], out=tmp_path / "refused")
    sweep = plan([], [*AWS, ("acknowledge_costs", "true")], [], out=tmp_path / "s")
    assert sweep.lanes == 1, "every lane on AWS is a stack to pay for"
    assert sweep.grid["fault"] == ["health_status", "lambda_throttle"], "the default grid runs on AWS too"
    text = describe(sweep)
    assert "48 chaos runs on 1 lane(s): about " in text and " h on AWS" in text
    dollars = float(text.split("about $")[1].split(" ")[0])
    assert dollars > 0
    dry = plan([], [*AWS, ("dry_run", "true")], [], out=tmp_path / "dry")
    assert dry.base["dry_run"], "a dry run needs no consent"


def test_a_dry_run_lists_every_run_and_a_sweep_has_no_more_lanes_than_runs(tmp_path):
    from helpers.sweep import would_run

    sweep = plan([], [("dry_run", "true")], ["record_ttl=10,60"], repeat=1, lanes=4, out=tmp_path / "s")
    assert sweep.lanes == 2, "two runs need two lanes at most"
    lines = would_run(sweep)
    assert [line.split(" (")[0] for line in lines] == ["would run: ttl 10 #1", "would run: ttl 60 #1"]
    assert all(f"hold {r.params['hold_s']:g} s" in line for r, line in zip(sweep.runs, lines))
