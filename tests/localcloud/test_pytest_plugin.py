"""The pytest plugin for users' own projects, tested with pytest's own pytester (an inner pytest run)."""

from __future__ import annotations

import os
from importlib.metadata import entry_points

import pytest

pytest_plugins = ["pytester"]

README_EXAMPLE = '''
def test_items_replicate_to_the_other_region(localcloud):
    east, west = (localcloud.client("dynamodb", r) for r in ("us-east-1", "us-west-2"))
    east.create_table(TableName="orders", BillingMode="PAY_PER_REQUEST",
                      KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                      AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    east.get_waiter("table_exists").wait(TableName="orders", WaiterConfig={"Delay": 0.1})
    east.update_table(TableName="orders", ReplicaUpdates=[{"Create": {"RegionName": "us-west-2"}}])
    west.get_waiter("table_exists").wait(TableName="orders", WaiterConfig={"Delay": 0.1})
    east.put_item(TableName="orders", Item={"id": {"S": "1"}})
    import time; time.sleep(0.5)
    assert west.get_item(TableName="orders", Key={"id": {"S": "1"}})["Item"]["id"]["S"] == "1"
'''


def test_the_plugin_is_registered_through_the_pytest11_entry_point():
    plugins = {e.name: e.value for e in entry_points(group="pytest11")}
    assert plugins.get("localcloud") == "localcloud.pytest_plugin"


@pytest.mark.slow  # an inner pytest run that starts and stops a local cloud of its own
def test_the_readme_example_runs_on_a_private_cloud_that_is_stopped_afterwards(pytester):
    pytester.makepyfile(test_user=README_EXAMPLE + '''

def test_what_the_fixture_offers(localcloud):
    import os, pathlib
    assert localcloud.regions == ("us-east-1", "us-west-2") and localcloud.time_scale == 0.1
    assert pathlib.Path(localcloud.ca_bundle).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert localcloud.env["AWS_ENDPOINT_URL"] == localcloud.endpoint and localcloud.api_port > 0
    pathlib.Path(os.environ["PID_FILE"]).write_text(str(localcloud.status["pid"]))
''')
    pid_file = pytester.path / "pid"
    os.environ["PID_FILE"] = str(pid_file)
    try:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    finally:
        del os.environ["PID_FILE"]
    result.assert_outcomes(passed=2)
    pid = int(pid_file.read_text())
    assert not _alive(pid), "the session's local cloud outlived the session"


@pytest.mark.slow  # an inner pytest run that starts and stops a local cloud of its own
def test_regions_and_time_scale_are_chosen_by_overriding_fixtures(pytester):
    pytester.makeconftest('''
import pytest

pytestmark = pytest.mark.slow  # several seconds a test: left out of make test-fast

@pytest.fixture(scope="session")
def localcloud_regions():
    return ("eu-west-1",)

@pytest.fixture(scope="session")
def localcloud_time_scale():
    return 0.05
''')
    pytester.makepyfile(test_user='''
def test_chosen(localcloud):
    assert localcloud.regions == ("eu-west-1",) and localcloud.time_scale == 0.05

def test_a_cloud_of_its_own(localcloud_factory, localcloud):
    own = localcloud_factory(regions=("ap-south-1",), time_scale=0.2)
    assert own.endpoint != localcloud.endpoint and own.time_scale == 0.2
    assert own.client("dynamodb").list_tables()["TableNames"] == []
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (not yet reaped) is not alive
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
