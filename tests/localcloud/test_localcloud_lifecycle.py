"""The local cloud process: start, status, use through the env file, refuse a second start, stop, start again."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import time

import pytest

from localcloud import daemon

pytestmark = pytest.mark.slow  # several seconds a test: left out of make test-fast

BIN = os.path.join(os.path.dirname(__file__), "..", "..", ".venv", "bin")


def _cli(*args, env=None):
    return subprocess.run([os.path.join(BIN, "localcloud"), *args], capture_output=True, text=True, env=env, timeout=60)


def _source_env(env_file: str) -> dict:
    out = subprocess.run(["bash", "-c", f". {env_file} && env"], capture_output=True, text=True, check=True)
    env = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    return env


def _pids_in_group(pgid: int) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid=,pgid="], capture_output=True, text=True).stdout
    return [int(p) for p, g in (line.split() for line in out.splitlines()) if int(g) == pgid]


def test_lifecycle_through_the_cli_and_the_aws_cli(tmp_path):
    state = str(tmp_path / "state")
    started = _cli("start", "--state-dir", state, "--time-scale", "0.5")
    assert started.returncode == 0, started.stderr
    try:
        status = json.loads(_cli("status", "--state-dir", state).stdout)
        for key in ("aws_endpoint", "dns", "api_port", "ca_bundle", "state_dir", "env_file", "pid", "time_scale"):
            assert key in status, key
        assert status["time_scale"] == 0.5
        assert status["aws_endpoint"].startswith("http://127.0.0.1:")
        assert os.path.exists(status["ca_bundle"])

        env = _source_env(status["env_file"])
        listed = subprocess.run(["aws", "dynamodb", "list-tables"], capture_output=True, text=True, env=env, timeout=60)
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout) == {"TableNames": []}

        again = _cli("start", "--state-dir", state)
        assert again.returncode != 0
        assert "already running" in again.stderr

        pid = status["pid"]
        assert _cli("stop", "--state-dir", state).returncode == 0
        assert _cli("status", "--state-dir", state).returncode == 3
        assert _pids_in_group(pid) == [], "no process of the local cloud may be left behind"

        restarted = _cli("start", "--state-dir", state)
        assert restarted.returncode == 0, restarted.stderr
    finally:
        _cli("stop", "--state-dir", state)


def test_ready_and_listening_on_loopback_only(tmp_path):
    t0 = time.monotonic()
    info = daemon.start(tmp_path / "s")
    try:
        assert time.monotonic() - t0 < 30
        host = info["aws_endpoint"].split("//")[1].split(":")[0]
        assert host == "127.0.0.1"
        assert info["dns"].startswith("127.0.0.1:")
    finally:
        daemon.stop(tmp_path / "s")


def test_stop_when_nothing_runs_says_so(tmp_path):
    result = _cli("stop", "--state-dir", str(tmp_path))
    assert result.returncode == 0
    assert "no local cloud" in result.stdout


@pytest.mark.parametrize("scale", [0, -1, float("nan"), float("inf"), 1e308, 2.0])
def test_bad_time_scale_is_refused_before_anything_starts(tmp_path, scale):
    with pytest.raises(daemon.LocalCloudError, match="time scale"):
        daemon.start(tmp_path, time_scale=scale)
    assert not (tmp_path / "status.json").exists()


@pytest.mark.parametrize("scale", ["nan", "inf", "1e308", "0"])
def test_the_cli_refuses_a_bad_time_scale_naming_the_option(tmp_path, scale):
    result = subprocess.run([os.path.join(BIN, "localcloud"), "start", "--state-dir", str(tmp_path), "--time-scale", scale],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--time-scale" in result.stderr and "1.0 is AWS's real time" in result.stderr
    assert not (tmp_path / "status.json").exists()


def test_any_region_name_a_client_uses_is_served(clients, unique, localcloud_status):
    dynamodb = clients.client("dynamodb", "ap-southeast-4")
    dynamodb.create_table(TableName=f"anywhere-{unique}", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
    assert f"anywhere-{unique}" in dynamodb.list_tables()["TableNames"]
    assert f"anywhere-{unique}" not in clients.client("dynamodb", "eu-west-1").list_tables()["TableNames"]
    status = daemon.status(localcloud_status["state_dir"])
    assert "ap-southeast-4" in status["regions"], "the region gets its own loopback address"


def test_a_full_collection_freezes_its_survivors_and_younger_ones_do_not():
    from localcloud.server import freeze_survivors

    gc.collect()
    gc.callbacks.append(freeze_survivors)
    try:
        frozen = gc.get_freeze_count()
        survivor = [[index] for index in range(1000)]  # tracked containers that outlive the collections
        gc.collect(1)
        assert gc.get_freeze_count() == frozen, "a young collection must not freeze anything"
        gc.collect(2)
        assert gc.get_freeze_count() >= frozen + len(survivor), "the survivors of a full collection stay frozen"
    finally:
        gc.callbacks.remove(freeze_survivors)
        gc.unfreeze()


def test_the_setup_step_starts_a_local_cloud_once_and_says_which_call_did(tmp_path):
    from helpers.config import validate
    from helpers.setup import start_local_cloud

    cfg = validate({"localcloud_state_dir": str(tmp_path / "cloud"), "time_scale": 0.1})
    try:
        first = start_local_cloud(cfg)
        again = start_local_cloud(cfg)
        assert first["started"] and not again["started"]
        assert first["running"] and again["pid"] == first["pid"] and first["time_scale"] == 0.1
    finally:
        daemon.stop(cfg.localcloud_state_dir)


def test_state_files_can_be_written_from_many_threads_at_once(tmp_path):
    import threading

    from conftest import in_process_cloud

    errors = []
    with in_process_cloud(tmp_path) as cloud:
        def write():
            try:
                for _ in range(20):
                    cloud.write_state_files()
            except Exception as error:  # noqa: BLE001 - collected for the assertion
                errors.append(error)

        threads = [threading.Thread(target=write) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert json.loads((tmp_path / "status.json").read_text())["aws_endpoint"]
    assert not list(tmp_path.glob("*.tmp")), "no temporary file is left behind"


# ------------------------------------------------------- explicit wiring
def test_a_component_built_without_its_collaborators_stops_the_start_with_a_clear_message(tmp_path):
    from localcloud.cloud import LocalCloud
    from localcloud.component import MissingComponent
    from localcloud.gateway import Gateway
    from localcloud.settings import Settings

    with pytest.raises(MissingComponent, match=r"Gateway needs the certificates, lambda_runtime component"):
        LocalCloud(Settings(state_dir=tmp_path), components=[Gateway])


def test_the_dns_refuses_to_start_without_a_health_checker(tmp_path):
    """Without one, every health-checked record would look healthy and failover would silently do nothing."""
    from conftest import in_process_cloud

    from localcloud.component import MissingComponent
    from localcloud.dns import Dns

    with pytest.raises(MissingComponent, match="needs the health checker"):
        with in_process_cloud(tmp_path, Dns):
            pass


def test_every_component_comes_after_the_ones_it_needs_and_each_is_passed_in():
    from localcloud.cloud import COMPONENTS, collaborators

    names = [component.name for component in COMPONENTS]
    for index, component in enumerate(COMPONENTS):
        for needed in collaborators(component):
            assert needed in names[:index], f"{component.name} needs {needed}, which must come before it"
    assert collaborators(COMPONENTS[names.index("gateway")]) == ["certificates", "lambda_runtime"]


def test_the_status_file_is_one_cloud_status_with_the_contract_keys(tmp_path):
    from conftest import in_process_cloud

    from localcloud.status import CloudStatus

    with in_process_cloud(tmp_path) as cloud:
        cloud.write_state_files()
        written = json.loads(cloud.settings.status_file.read_text())
        parsed = CloudStatus.read(cloud.settings.status_file)
    assert parsed.to_json() == written and parsed.pid == os.getpid()
    for key in ("aws_endpoint", "dns", "api_port", "ca_bundle", "state_dir", "env_file", "pid", "time_scale"):
        assert key in written, key
    with pytest.raises(ValueError, match="lacks aws_endpoint"):
        CloudStatus.from_json({k: v for k, v in written.items() if k != "aws_endpoint"})


# ------------------------------------------------- a PID that is not ours
def test_stop_leaves_alone_a_process_that_merely_has_the_recorded_pid(tmp_path):
    """After a crash the recorded PID may belong to anything: without the state directory's lock held, it is not the cloud."""
    state = tmp_path / "state"
    info = daemon.start(state)
    daemon.stop(state)
    stranger = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        recorded = {**info, "pid": stranger.pid}  # a status file as a crashed cloud leaves it, its PID reused
        recorded.pop("running")
        (state / "status.json").write_text(json.dumps(recorded))
        assert daemon.status(state) == {"running": False, "state_dir": str(state.resolve()), "stale_pid": stranger.pid}
        assert _cli("status", "--state-dir", str(state)).returncode == 3
        stopped = _cli("stop", "--state-dir", str(state))
        assert stopped.returncode == 0 and "no local cloud" in stopped.stdout
        time.sleep(0.2)
        assert stranger.poll() is None, "the unrelated process must survive"
        assert not (state / "status.json").exists(), "the stale status file is removed"
    finally:
        stranger.kill()
        stranger.wait()


def test_a_running_cloud_is_recognised_by_its_lock(tmp_path):
    state = tmp_path / "state"
    info = daemon.start(state)
    try:
        assert daemon.status(state)["running"] and daemon.status(state)["pid"] == info["pid"]
    finally:
        assert daemon.stop(state)
    assert not daemon.status(state)["running"]


# ------------------------------------------------------ the API port
def test_a_cloud_whose_api_port_is_taken_on_a_gateway_address_refuses_to_start(tmp_path):
    """Gateways listen on 127.10.0.N, not 127.0.0.1: a port free on 127.0.0.1 may still be another cloud's API port."""
    import socket

    from localcloud.regions import RegionRegistry
    from localcloud.settings import free_port

    address = RegionRegistry().address("eu-west-1")
    port = free_port()
    with socket.socket() as other_gateway:
        other_gateway.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other_gateway.bind((address, port))
        other_gateway.listen()
        with pytest.raises(daemon.LocalCloudError, match=rf"API port {port} is already in use on {address} "
                                                          r"\(the gateway address of eu-west-1\)"):
            daemon.start(tmp_path / "second", api_port=port)
    assert not daemon.status(tmp_path / "second")["running"]


def test_a_port_counts_as_taken_only_where_something_listens_on_it():
    import socket

    from localcloud.settings import free_port, taken_on

    port = free_port()
    with socket.socket() as listener:
        listener.bind(("127.10.0.7", port))
        listener.listen()
        assert taken_on(port, ["127.10.0.6", "127.10.0.7"]) == "127.10.0.7"
        assert taken_on(port, ["127.0.0.1", "127.10.0.8"]) is None
