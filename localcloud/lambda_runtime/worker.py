"""Execution environments: worker processes running ``localcloud/lambda_worker.py``, and one invocation in one.

The handler module is imported once (the init phase) and the process is
reused for later requests, one request at a time. Requests travel over a
socket pair with ``multiprocessing.connection`` framing: a warm invoke costs
well under a millisecond of overhead.

Environment variables: the function's own, Lambda's reserved ones
(``AWS_REGION``, ``AWS_LAMBDA_FUNCTION_NAME``, ``_HANDLER``,
``LAMBDA_TASK_ROOT``, ...), dummy credentials (on AWS, the execution role's)
and ``AWS_ENDPOINT_URL``, so boto3 inside the handler talks to the local
cloud's control plane.

Limits and errors, as AWS reports them: the function timeout (not scaled by
``time_scale``: handler code runs at real speed) kills the environment and
answers ``Task timed out after N.00 seconds``; a handler exception gives
``Unhandled`` with ``errorMessage``, ``errorType`` and ``stackTrace``; a
crashed process ``Runtime.ExitError``.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import select
import socket
import struct
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from localcloud.lambda_runtime.logs import frame_log, log_stream_name
from localcloud.lambda_runtime.model import FunctionConfig, InvalidRequestContent, InvokeResult

log = logging.getLogger(__name__)

WORKER_SCRIPT = Path(__file__).resolve().parent.parent / "lambda_worker.py"  # started by path, isolated (-I)
# "The Init phase is limited to 10 seconds" (Lambda execution environment lifecycle).
INIT_TIMEOUT_S = 10.0
# The pipe frame of multiprocessing.connection (a signed big-endian length), read in
# chunks of this size: one read takes a whole invocation result.
_FRAME_LENGTH = struct.Struct("!i")
_READ_CHUNK = 64 * 1024


def _now_iso() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class Environment:
    """One worker process and its end of the pipe."""

    def __init__(self, process: subprocess.Popen, conn: Connection, log_stream: str):
        self.process = process
        self.conn = conn
        self.log_stream = log_stream
        self.last_used = time.monotonic()
        self.invocations = 0
        self._poller = select.poll()  # one poll object for the life of the pipe, not a selector per request
        self._kill_lock = threading.Lock()
        self._poller.register(conn.fileno(), select.POLLIN)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def receive(self, timeout_s: float) -> Any:
        """The worker's next message, or None when it sent none within ``timeout_s``.

        Raises EOFError or OSError when the worker closed its end (it ended).
        Reads multiprocessing's frame (a 4-byte big-endian length, then the
        pickle) in one ``read`` where ``Connection.recv_bytes`` takes two: on
        the request path of a busy gateway every system call is also a hand-off
        of the GIL. A worker sends exactly one message per request it was sent
        (``lambda_worker``), so a read never takes the start of the next one.
        """
        if not self._poller.poll(max(0, int(timeout_s * 1000))):
            return None
        fd = self.conn.fileno()
        data = os.read(fd, _READ_CHUNK)
        if len(data) < 4:
            data += _read_exactly(fd, 4 - len(data))
        size = 4 + _FRAME_LENGTH.unpack_from(data)[0]  # the worker's messages are far below 2 GiB
        if len(data) < size:
            data += _read_exactly(fd, size - len(data))
        return pickle.loads(memoryview(data)[4:])

    def kill(self) -> None:
        """End the worker and close the pipe; safe to call from several threads (stop() races a request)."""
        with self._kill_lock:
            if self.process.poll() is None:
                self.process.kill()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover - a kill always ends a process
                log.warning("lambda worker %s did not exit after SIGKILL", self.process.pid)
            if not self.conn.closed:  # closing twice could close a descriptor reused meanwhile
                self.conn.close()


def _read_exactly(fd: int, size: int) -> bytes:
    """``size`` more bytes from the pipe ``fd``; EOFError when the worker closed its end first."""
    parts = []
    while size > 0:
        part = os.read(fd, size)
        if not part:
            raise EOFError("the worker closed its pipe")
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def environment_variables(config: FunctionConfig, log_stream: str, endpoint: str,
                          network: dict[str, str] | None = None) -> dict[str, str]:
    """Environment of a worker: defaults, the function's variables, then Lambda's reserved ones.

    ``network``: the local cloud's DNS and trust store for the function (``LambdaRuntime.network_environment``).
    """
    env = {
        **(network or {}),
        # Not reserved on AWS, so a function may change them.
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        # Points boto3 (1.28+) inside the handler at the local cloud's control plane.
        "AWS_ENDPOINT_URL": endpoint,
    }
    env.update(dict(config.variables))
    env.update({
        "AWS_REGION": config.region,
        "AWS_DEFAULT_REGION": config.region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": config.name,
        "AWS_LAMBDA_FUNCTION_VERSION": config.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_size),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(config.timeout)),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": config.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        # On AWS: the execution role's temporary credentials.
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "LAMBDA_TASK_ROOT": config.code_dir,
        "LAMBDA_RUNTIME_DIR": str(WORKER_SCRIPT.parent),
        "_HANDLER": config.handler,
    })
    return env


def start_environment(config: FunctionConfig, request_id: str, endpoint: str,
                      network: dict[str, str] | None = None) -> tuple[Environment | None, float | InvokeResult]:
    """A new worker, after its init phase: (environment, init ms), or (None, the failed invocation's result)."""
    log_stream = log_stream_name()
    started = time.perf_counter()  # Init Duration covers the runtime's start and the handler's imports
    ours, theirs = socket.socketpair()
    try:
        process = subprocess.Popen(
            [sys.executable, "-I", str(WORKER_SCRIPT), str(theirs.fileno())],
            env=environment_variables(config, log_stream, endpoint, network),
            cwd=config.code_dir,
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
    finally:
        theirs.close()
    env = Environment(process, Connection(ours.detach()), log_stream)
    try:
        message = env.receive(INIT_TIMEOUT_S)
    except (EOFError, OSError, pickle.UnpicklingError):
        message = None
    init_ms = (time.perf_counter() - started) * 1000
    if message is not None and message[0] == "ready":
        return env, init_ms
    timed_out = message is None and env.alive()
    env.kill()
    if message is not None:  # ("init_error", payload, log)
        payload, output = message[1], message[2]
    elif timed_out:
        payload = json.dumps({"errorMessage": _timed_out(request_id, INIT_TIMEOUT_S)}).encode()
        output = ""
    else:
        payload = _exit_error(request_id, env.process.returncode)
        output = ""
    text = f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: init\tStatus: error\n{output}"
    return None, InvokeResult(200, payload, "Unhandled", timed_out, init_ms,
                              frame_log(request_id, config, text, init_ms, None, init_ms), request_id, init_ms, config.version)


def run(env: Environment, config: FunctionConfig, request_id: str, request: bytes,
        init_ms: float | None = None, sent_at: float | None = None) -> InvokeResult:
    """Send one request to a warm environment (unless it was, at ``sent_at``) and wait for the
    answer, at most the function timeout."""
    started = sent_at or time.perf_counter()
    env.invocations += 1
    try:
        if sent_at is None:
            env.conn.send_bytes(request)
        message = env.receive(config.timeout - (time.perf_counter() - started))
    except (EOFError, OSError, TypeError, ValueError, pickle.UnpicklingError):
        # The worker died, or stop() killed it and closed the pipe under our feet.
        message = ("exited",)
    elapsed = (time.perf_counter() - started) * 1000
    if message is None:  # the timeout: Lambda stops the environment
        env.kill()
        text = _timed_out(request_id, config.timeout)
        return InvokeResult(200, json.dumps({"errorMessage": text}).encode(), "Unhandled", True, elapsed,
                            frame_log(request_id, config, text + "\n", elapsed, None, init_ms), request_id, init_ms,
                            config.version)
    kind = message[0]
    if kind == "result":
        _, body, error, output, duration, max_memory_mb = message
        return InvokeResult(200, body, error, False, duration,
                            frame_log(request_id, config, output, duration, max_memory_mb, init_ms),
                            request_id, init_ms, config.version)
    if kind == "invalid_request":
        raise InvalidRequestContent(message[1])
    # The process died during the request (sys.exit, os._exit, a crash).
    try:
        code = env.process.wait(timeout=2)
    except subprocess.TimeoutExpired:
        env.kill()
        code = env.process.returncode
    return InvokeResult(200, _exit_error(request_id, code), "Unhandled", False, elapsed,
                        frame_log(request_id, config, "", elapsed, None, init_ms), request_id, init_ms, config.version)


def _timed_out(request_id: str, seconds: float) -> str:
    """The runtime's message for an invocation (or init) that ran out of time."""
    return f"{_now_iso()} {request_id} Task timed out after {seconds:.2f} seconds"


def _exit_error(request_id: str, code: int | None) -> bytes:
    """The Runtime.ExitError payload of a worker that exited mid-request."""
    return json.dumps({"errorType": "Runtime.ExitError",
                       "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}"}).encode()
