"""Start, stop and inspect the local cloud process (the Python API behind the ``localcloud`` CLI)."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from awsfacts.time_scale import check_time_scale
from localcloud.server import EXIT_ALREADY_RUNNING, EXIT_CANNOT_START
from localcloud.settings import DEFAULT_REPLICATION_DELAY_S, Settings
from localcloud.status import CloudStatus

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = PROJECT_ROOT / ".localcloud"


def _files(state_dir: Path) -> Settings:
    """Where the local cloud of ``state_dir`` keeps its files (the server's own Settings say so)."""
    return Settings(state_dir=Path(state_dir))


class LocalCloudError(RuntimeError):
    """The local cloud could not be started or stopped; the message says why and what to do."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is not alive
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def _lock_held(state_dir: Path) -> bool:
    """Whether a process holds ``state_dir``'s lock: only a running local cloud of that directory does.

    The server takes the lock (``fcntl.flock``) before anything else and holds
    it until it exits, whatever ends it; the kernel releases it then. A shared
    probe of a few microseconds tells a live cloud from a status file left
    behind, whose PID may since belong to an unrelated process.
    """
    try:
        lock = open(_files(state_dir).lock_file, "rb")
    except FileNotFoundError:
        return False
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False


def status(state_dir: str | Path = DEFAULT_STATE_DIR) -> dict[str, Any]:
    """The running local cloud's status, or ``{"running": False, ...}``.

    Running means: the status file names a live process and this state
    directory's lock is held (``_lock_held``), so a PID reused after a crash
    is never taken for the local cloud.
    """
    state_dir = Path(state_dir).resolve()
    path = _files(state_dir).status_file
    try:
        recorded = CloudStatus.read(path)
    except (FileNotFoundError, ValueError):  # none, or not a local cloud's status
        return {"running": False, "state_dir": str(state_dir)}
    if not _alive(recorded.pid) or not _lock_held(state_dir):
        return {"running": False, "state_dir": str(state_dir), "stale_pid": recorded.pid}
    return {"running": True, **recorded.to_json()}


def _log_tail(log_file: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def start(state_dir: str | Path = DEFAULT_STATE_DIR, *, time_scale: float = 1.0,
          replication_delay: float = DEFAULT_REPLICATION_DELAY_S, port: int = 0, dns_port: int = 0,
          api_port: int = 0, timeout: float = 30.0) -> dict[str, Any]:
    """Start the local cloud in the background and return its status once it is ready."""
    try:
        time_scale = check_time_scale(time_scale)
    except ValueError as error:
        raise LocalCloudError(str(error)) from None
    state_dir = Path(state_dir).resolve()
    current = status(state_dir)
    if current["running"]:
        raise LocalCloudError(
            f"a local cloud is already running for {state_dir} (pid {current['pid']}, "
            f"endpoint {current['aws_endpoint']}, time scale {current['time_scale']}); "
            "run `localcloud stop` first, or use another --state-dir"
        )
    state_dir.mkdir(parents=True, exist_ok=True)
    _files(state_dir).status_file.unlink(missing_ok=True)
    log_file = _files(state_dir).log_file
    command = [
        sys.executable, "-m", "localcloud.server", "--state-dir", str(state_dir),
        "--time-scale", repr(float(time_scale)), "--replication-delay", repr(float(replication_delay)),
        "--port", str(port), "--dns-port", str(dns_port), "--api-port", str(api_port),
    ]
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=str(PROJECT_ROOT),
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            if code == EXIT_ALREADY_RUNNING:
                raise LocalCloudError(f"a local cloud is already running for {state_dir}; run `localcloud stop` first")
            if code == EXIT_CANNOT_START:  # the server logged why, in one line
                reasons = [line.partition("cannot start: ")[2] for line in _log_tail(log_file).splitlines()
                           if "cannot start: " in line]
                raise LocalCloudError(f"the local cloud cannot start: {reasons[-1] if reasons else _log_tail(log_file)}")
            raise LocalCloudError(f"the local cloud exited with code {code} while starting; log {log_file}:\n{_log_tail(log_file)}")
        current = status(state_dir)
        if current["running"] and current.get("pid") == process.pid:
            return current
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    raise LocalCloudError(f"the local cloud was not ready after {timeout:.0f} s; log {log_file}:\n{_log_tail(log_file)}")


def stop(state_dir: str | Path = DEFAULT_STATE_DIR, timeout: float = 15.0) -> bool:
    """Stop the local cloud and all its processes. Returns False if none was running."""
    state_dir = Path(state_dir).resolve()
    current = status(state_dir)
    pid = current.get("pid") or current.get("stale_pid")
    if not current["running"]:
        _files(state_dir).status_file.unlink(missing_ok=True)
        return False
    try:
        os.killpg(pid, signal.SIGTERM)  # the server leads its own session: workers go with it
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)  # anything left in the group (e.g. a stuck worker)
    except ProcessLookupError:
        pass
    _files(state_dir).status_file.unlink(missing_ok=True)
    return True
