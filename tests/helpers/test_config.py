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
        ({"time_scale": 0}, ["'time_scale'", "0.01 to 1.0"]),
        ({"time_scale": -1.5}, ["'time_scale'", "-1.5"]),
        ({"time_scale": "fast"}, ["'time_scale'", "'fast'", "number"]),
        ({"routing_policy": "random"}, ["'routing_policy'", "weighted, latency, failover"]),
        ({"fault": "meteor"}, ["'fault'", "health_status"]),
        ({"faulty_region": "us-east-1"}, ["'faulty_region'", "eu-west-1, eu-central-1"]),
        ({"health_check_interval": 15}, ["'health_check_interval'", "10, 30"]),
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


@pytest.mark.parametrize(
    ("params", "fragments"),
    [
        ({"time_scale": float("inf")}, ["'time_scale'", "inf", "finite"]),
        ({"time_scale": float("nan")}, ["'time_scale'", "nan", "finite"]),
        ({"time_scale": 1e6}, ["'time_scale'", "1000000.0", "0.01 to 1.0"]),
        ({"time_scale": "1e308"}, ["'time_scale'", "1e308", "0.01 to 1.0"]),
        ({"time_scale": 0.001}, ["'time_scale'", "0.01 to 1.0"]),
        ({"hold_s": float("nan")}, ["'hold_s'", "finite"]),
        ({"steady_s": float("inf")}, ["'steady_s'", "finite"]),
        ({"recovery_s": -1}, ["'recovery_s'", "greater than 0"]),
        ({"hold_s": 7200}, ["'hold_s'", "3600", "FIS"]),
        ({"request_rate": float("inf")}, ["'request_rate'", "finite"]),
        ({"record_ttl": 10**400}, ["'record_ttl'", "between 0 and 86400"]),
        ({"record_ttl": "1" + "0" * 400}, ["'record_ttl'", "finite"]),
        ({"load_clients": 10**30}, ["'load_clients'", "between 1 and 64"]),
        ({"steady_s": 10**400}, ["'steady_s'", "finite"]),
        ({"record_ttl": 2.5}, ["'record_ttl'", "whole number"]),
        ({"regions": ["eu-west-1", "cn-north-1"]}, ["'regions'", "one AWS partition", "cn-north-1 (aws-cn)"]),
        ({"regions": ["us-gov-west-1", "us-east-1"]}, ["'regions'", "one AWS partition", "us-gov-west-1 (aws-us-gov)"]),
        ({"localcloud_state_dir": 42}, ["'localcloud_state_dir'", "42", "string"]),
        ({"localcloud_state_dir": ["a"]}, ["'localcloud_state_dir'", "string"]),
        ({"run_dir": None}, ["'run_dir'", "string"]),
        ({"hosted_zone": 7}, ["'hosted_zone'", "string"]),
        ({"stage": True}, ["'stage'", "string"]),
    ],
)
def test_values_that_would_hang_or_crash_later_are_refused_with_the_parameter_named(params, fragments):
    with pytest.raises(ConfigError) as error:
        validate(params)
    message = str(error.value)
    for fragment in fragments:
        assert fragment in message, message
    assert "\n" not in message and len(message) < 400, "one readable line, even for a 400-digit integer"


def test_regions_of_one_other_partition_are_accepted():
    assert validate({"regions": ["cn-north-1", "cn-northwest-1"]}).regions == ("cn-north-1", "cn-northwest-1")


def test_time_scale_bounds_are_inclusive():
    assert validate({"time_scale": 0.01}).time_scale == 0.01
    assert validate({"time_scale": "1.0"}).time_scale == 1.0


def test_an_unset_faulty_region_is_the_first_region_so_changing_regions_alone_works():
    assert DEFAULTS["faulty_region"] == ""
    cfg = validate({"regions": ["us-east-1", "us-west-2"]})
    assert cfg.faulty_region == "us-east-1"
    assert cfg.healthy_regions == ("us-west-2",)
    assert cfg.public_params()["faulty_region"] == "us-east-1", "the report and the notebooks see the region itself"
    assert validate({"regions": ["us-east-1", "us-west-2"], "faulty_region": "us-west-2"}).faulty_region == "us-west-2"


def test_empty_paths_mean_the_project_defaults():
    from helpers.parameters import DEFAULT_RUN_DIR, DEFAULT_STATE_DIR

    cfg = validate({})
    assert cfg.localcloud_state_dir == str(DEFAULT_STATE_DIR)
    assert cfg.run_dir == str(DEFAULT_RUN_DIR)
    assert validate({"localcloud_state_dir": "/tmp/cloud"}).localcloud_state_dir == "/tmp/cloud"


def test_config_has_one_field_per_declared_parameter_and_nothing_else_but_the_backend_settings():
    import dataclasses

    from helpers.config import Config
    from helpers.parameters import PARAMETERS

    names = [f.name for f in dataclasses.fields(Config)]
    assert names == [p.name for p in PARAMETERS] + ["endpoint_url", "dns_server", "ca_bundle", "api_port"]
    assert list(validate({}).public_params()) == [p.name for p in PARAMETERS]


def test_every_declared_default_passes_its_own_check():
    from helpers.parameters import PARAMETERS

    for parameter in PARAMETERS:
        parameter.parse(parameter.default)  # raises ConfigError if the declaration contradicts itself
