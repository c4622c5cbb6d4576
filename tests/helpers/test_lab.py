"""`make lab`: the local cloud it started stops with JupyterLab; one it found running is left alone.

A short Python command stands in for JupyterLab.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import eventually
from helpers.lab import run_with_local_cloud
from localcloud import daemon

pytestmark = pytest.mark.slow  # several seconds a test: left out of make test-fast


def _quiet(*args, **kwargs):
    pass


def test_a_local_cloud_it_started_stops_when_the_command_exits(tmp_path):
    state = tmp_path / "state"
    seen = tmp_path / "seen"
    probe = (f"from localcloud import daemon; open({str(seen)!r}, 'w').write(str(daemon.status({str(state)!r})['running']));"
             " raise SystemExit(3)")
    code = run_with_local_cloud([sys.executable, "-c", probe], state, time_scale=0.1, echo=_quiet)
    assert code == 3, "the command's exit code comes back"
    assert seen.read_text() == "True", "the cloud ran while the command did"
    assert not daemon.status(state)["running"], "and stopped when it exited"


def test_a_local_cloud_that_was_already_running_is_left_running(localcloud_status):
    lines: list[str] = []
    code = run_with_local_cloud([sys.executable, "-c", "pass"], localcloud_status["state_dir"], time_scale=0.1,
                                echo=lines.append)
    assert code == 0
    assert daemon.status(localcloud_status["state_dir"])["running"]
    assert "left running" in lines[0]


def _lab_process(tmp_path):
    """The launcher as `make lab` runs it, in a process group of its own (as a terminal's foreground job)."""
    state, pid_file = tmp_path / "state", tmp_path / "command.pid"
    stand_in = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(120)"
    command = [sys.executable, "-m", "helpers.lab", "--state-dir", str(state), "--time-scale", "0.1",
               "--", sys.executable, "-c", stand_in]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL)
    assert eventually(lambda: pid_file.exists() and pid_file.read_text(), timeout=60), "the command starts"
    assert daemon.status(state)["running"]
    return process, state, int(pid_file.read_text())


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_ctrl_c_ends_the_command_and_then_the_cloud_even_when_pressed_again(tmp_path):
    process, state, command_pid = _lab_process(tmp_path)
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does: the whole foreground group
        time.sleep(0.05)  # and again, as JupyterLab asks (its "press twice to quit"), while the cloud stops
    assert process.returncode == 128 + signal.SIGINT, "the launcher waited for the command, not died first"
    assert _gone(command_pid)
    assert not daemon.status(state)["running"]


def test_sigterm_is_passed_on_to_the_command_and_the_cloud_stops(tmp_path):
    process, state, command_pid = _lab_process(tmp_path)
    process.send_signal(signal.SIGTERM)  # to the launcher only, as a process manager or a closed terminal would
    assert process.wait(timeout=60) == 128 + signal.SIGTERM
    assert _gone(command_pid), "the command got the signal too"
    assert not daemon.status(state)["running"]
