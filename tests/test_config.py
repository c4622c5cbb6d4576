"""Parameters are validated before anything is created, with messages that name the fix."""

from __future__ import annotations

import pytest

from helpers.config import DEFAULTS, ConfigError, check_parameter_names, validate, with_backend_settings


def test_defaults_are_valid_and_run_on_the_local_cloud():
    cfg = validate({})
    assert cfg.backend == "local"
    assert cfg.regions == ("eu-west-1", "eu-central-1")


@pytest.mark.parametrize(
    ("params", "fragments"),
    [
        ({"regions": ["eu-west-1", "eu-wset-2"]}, ["'regions'", "eu-wset-2", "not an AWS region", "eu-west-2"]),
        ({"regions": ["eu-west-1", "eu-west-1"]}, ["'regions'", "distinct", "eu-west-1"]),
        ({"regions": ["eu-west-1"]}, ["'regions'", "two or more"]),
        ({"regions": "eu-west-1"}, ["'regions'", "two or more"]),
        ({"table_name": "a"}, ["'table_name'", "'a'", "3-255"]),
        ({"table_name": "bad name!"}, ["'table_name'", "bad name!"]),
        ({"backend": "gcp"}, ["'backend'", "'gcp'", "local, aws"]),
        ({"time_scale": 0}, ["'time_scale'", "greater than 0"]),
        ({"time_scale": -1.5}, ["'time_scale'", "-1.5"]),
        ({"time_scale": "fast"}, ["'time_scale'", "'fast'", "float"]),
        ({"routing_policy": "random"}, ["'routing_policy'", "weighted, latency, failover"]),
        ({"fault": "meteor"}, ["'fault'", "health_status"]),
        ({"faulty_region": "us-east-1"}, ["'faulty_region'", "eu-west-1, eu-central-1"]),
        ({"health_check_interval": 15}, ["'health_check_interval'", "10 or 30"]),
        ({"health_check_failure_threshold": 11}, ["'health_check_failure_threshold'", "1 to 10"]),
        ({"domain_name": "api.elsewhere.test"}, ["'domain_name'", "runbook.test"]),
        ({"stack_name": "Has_Upper"}, ["'stack_name'", "lowercase"]),
        ({"dry_run": "maybe"}, ["'dry_run'", "true or false"]),
        ({"backend": "aws", "time_scale": 0.1}, ["'time_scale'", "real time"]),
        ({"backend": "aws", "time_scale": 1.0}, ["'acknowledge_costs'", "billable"]),
        ({"backend": "aws", "time_scale": 1.0, "acknowledge_costs": True, "fault": "region_outage"},
         ["'fault'", "local cloud"]),
    ],
)
def test_bad_parameter_is_named_with_its_value_and_what_is_allowed(params, fragments):
    with pytest.raises(ConfigError) as error:
        validate(params)
    for fragment in fragments:
        assert fragment in str(error.value)


def test_unknown_parameter_is_an_error_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"unknown parameter.*'regoins'.*did you mean 'regions'"):
        validate({"regoins": ["eu-west-1", "us-east-1"]})
    with pytest.raises(ConfigError):
        check_parameter_names(["stack_name", "nonsense"])


def test_three_regions_and_aws_with_acknowledged_costs_are_accepted():
    cfg = validate({"regions": ["eu-west-1", "eu-central-1", "us-east-1"]})
    assert cfg.regions[2] == "us-east-1"
    aws = validate({"backend": "aws", "time_scale": 1, "acknowledge_costs": True})
    assert with_backend_settings(aws).endpoint_url is None  # AWS's own endpoints


def test_local_backend_settings_come_from_the_running_local_cloud(localcloud_status):
    cfg = with_backend_settings(validate({"time_scale": localcloud_status["time_scale"],
                                          "localcloud_state_dir": localcloud_status["state_dir"]}))
    assert cfg.endpoint_url == localcloud_status["aws_endpoint"]
    assert cfg.dns_server == localcloud_status["dns"]
    assert cfg.api_port == localcloud_status["api_port"]


def test_time_scale_must_match_the_running_local_cloud(localcloud_status):
    with pytest.raises(ConfigError, match="time_scale.*localcloud stop"):
        with_backend_settings(validate({"time_scale": 0.5, "localcloud_state_dir": localcloud_status["state_dir"]}))


def test_local_yaml_matches_the_config_defaults():
    import yaml

    from helpers.config import PROJECT_ROOT

    local = yaml.safe_load((PROJECT_ROOT / "parameters" / "local.yaml").read_text())
    for name, value in local.items():
        expected = DEFAULTS[name]
        expected = list(expected) if isinstance(expected, tuple) else expected
        if name == "faulty_region":
            expected = expected or validate({}).fault_region
        assert value == expected, f"parameters/local.yaml {name}={value!r} but the default is {expected!r}"
