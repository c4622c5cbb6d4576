"""The Lambda runtime of the local cloud: deployed handlers run in warm worker processes.

moto stores Lambda functions but, without Docker, never runs them. This
component runs them the way the Lambda service does:

* **Code and configuration** come from moto's Lambda backend (the control
  plane): the zip bytes moto keeps on the function object
  (``LambdaFunction.code_bytes``, the decoded ``ZipFile``), the handler,
  runtime, timeout, memory size, environment variables and reserved
  concurrency. The zip is extracted once per ``CodeSha256`` under
  ``<state dir>/lambda/code/<sha256 hex>`` and reused.
* **Execution environments** are processes running ``lambda_worker.py``: the
  handler module is imported once (init phase) and the process is reused for
  later requests, one request at a time per environment; more environments
  start on demand, up to ``MAX_ENVIRONMENTS`` per function (a local cap, AWS's
  default account concurrency is 1,000). Up to one request per CPU runs at
  once (``PARALLEL_INVOCATIONS``); a request that waited ``OVERFLOW_AFTER_S``
  for a free environment gets another one (handlers that sleep or wait on
  I/O still scale out). Requests travel over a socket pair
  with ``multiprocessing.connection`` framing: a warm invoke costs well under
  a millisecond of overhead.
* **Environment variables:** the function's own, Lambda's reserved ones
  (``AWS_REGION``, ``AWS_LAMBDA_FUNCTION_NAME``, ``_HANDLER``,
  ``LAMBDA_TASK_ROOT``, ...), dummy credentials (on AWS, the execution role's)
  and ``AWS_ENDPOINT_URL``, so boto3 inside the handler talks to the local
  cloud's control plane.
* **Updates:** a code or configuration change (``UpdateFunctionConfiguration``
  of ``STATUS``, for instance) applies to the next invocation: it starts new
  environments, and the old ones are retired as soon as they are idle, as AWS
  does after an update.
* **Limits and errors, as AWS reports them:** the function timeout (not scaled
  by ``time_scale``: handler code runs at real speed) kills the environment
  and answers ``Task timed out after N.00 seconds``; a handler exception gives
  ``X-Amz-Function-Error: Unhandled`` with ``errorMessage``, ``errorType`` and
  ``stackTrace``; a crashed process ``Runtime.ExitError``; reserved
  concurrency 0 (or N busy environments with N reserved) throttles with
  ``TooManyRequestsException`` (429).
* **Logs:** each invocation's output, framed by ``START``/``END``/``REPORT``
  lines, is written to CloudWatch Logs (``/aws/lambda/<function>``) in moto's
  logs backend, so ``aws logs tail`` shows it.

``lambda.invoke`` is answered through the control plane's override mechanism
(``controlplane.register("lambda", "Invoke", ...)``); other components (the
gateway) call :meth:`LambdaRuntime.invoke` directly.
"""

from __future__ import annotations

import base64
import collections
import concurrent.futures
import json
import logging
import os
import pickle
import queue
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Iterable

from moto.awslambda.exceptions import LambdaClientError

from localcloud.component import Component
from localcloud.controlplane import AwsError, Call, Raw, moto_backend
from localcloud.lambda_permissions import allows

log = logging.getLogger(__name__)

WORKER_SCRIPT = Path(__file__).with_name("lambda_worker.py")
# "The Init phase is limited to 10 seconds" (Lambda execution environment lifecycle).
INIT_TIMEOUT_S = 10.0
# Environments per function version; beyond this, requests wait for a free one. On a
# small machine more processes than cores add nothing (DESIGN.md: two warm workers
# already reach moto's throughput).
MAX_ENVIRONMENTS = 4
# Invocations of one function version that run at once while they make progress: one per
# CPU. More busy worker processes than cores only take turns on them and evict each
# other's caches (measured on 2 cores: with 4 busy environments instead of 2, each request
# costs about 0.5 ms more CPU, and fewer requests per second go through). When no
# invocation has finished for OVERFLOW_AFTER_S (the busy handlers sleep or wait on I/O
# rather than compute), a waiting request gets another environment, up to
# MAX_ENVIRONMENTS, as Lambda scales out.
PARALLEL_INVOCATIONS = max(2, os.cpu_count() or 1)
OVERFLOW_AFTER_S = 0.1
# "LogType Tail: the last 4 KB of the execution log" (Invoke API reference).
LOG_TAIL_BYTES = 4 * 1024
# Synchronous invocation payload limit: 6 MB (Lambda quotas).
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
# AWS reclaims idle environments after some minutes (not documented exactly).
IDLE_TTL_S = 600.0
# Invocation logs reach CloudWatch Logs in batches, at most this long after the invocation
# (on AWS, usually within seconds). One write per batch keeps the per-request cost low.
LOG_BATCH_S = 0.05
# The pipe frame of multiprocessing.connection (a signed big-endian length), read in
# chunks of this size: one read takes a whole invocation result.
_FRAME_LENGTH = struct.Struct("!i")
_READ_CHUNK = 64 * 1024
# Decisions on resource policies remembered per (function, policy revision, principal, source ARNs).
PERMISSION_CACHE_SIZE = 4096

_ARN_RE = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?$")


class FunctionNotFound(LookupError):
    """No such function (Invoke answers ResourceNotFoundException, 404)."""


class TooManyRequests(RuntimeError):
    """The invocation was throttled (Invoke answers TooManyRequestsException, 429)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class PermissionDenied(PermissionError):
    """The function's resource policy does not let the calling service invoke it (``invoke(caller=...)``)."""


class InvalidRequestContent(ValueError):
    """The payload is not JSON (Invoke answers InvalidRequestContentException, 400)."""


@dataclass
class InvokeResult:
    """What one invocation produced, as the Invoke API reports it."""

    status_code: int = 200
    payload: bytes = b""
    function_error: str | None = None  # "Unhandled" when the handler raised, timed out or crashed
    timed_out: bool = False
    duration_ms: float = 0.0
    log: str = ""
    request_id: str = ""
    init_duration_ms: float | None = None  # set on a cold start
    executed_version: str = "$LATEST"


@dataclass(frozen=True)
class FunctionConfig:
    """What an execution environment is built from; a change means new environments."""

    region: str
    name: str
    arn: str
    version: str
    handler: str
    runtime: str
    timeout: float
    memory_size: int
    variables: tuple[tuple[str, str], ...]
    role: str
    code_sha256: str
    code_dir: str
    identity: int  # the moto object: a deleted and re-created function gets new environments

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"


def _now_iso() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class _Environment:
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


class _Retired(Exception):
    """The pool was replaced by a newer configuration while waiting: try the new one."""


class _Waiter:
    """A request waiting for a slot of a pool, and how the wait ended.

    ``release`` hands the slot of a finished invocation straight to the
    longest-waiting request and, when the environment is reusable, writes that
    request into its pipe at once (``sent_at``): the worker starts on it
    without waiting for the waiting thread to be scheduled.
    """

    __slots__ = ("message", "outcome", "env", "sent_at", "_wake")

    def __init__(self, message: bytes):
        self.message = message
        self.outcome: str | None = None  # "env" (an environment), "slot" (start one), "retired"
        self.env: _Environment | None = None
        self.sent_at: float | None = None
        self._wake = threading.Lock()
        self._wake.acquire()

    def wait(self, timeout_s: float | None) -> bool:
        return self._wake.acquire(timeout=-1 if timeout_s is None else max(0.0, timeout_s))

    def wake(self, outcome: str, env: _Environment | None = None, sent_at: float | None = None) -> None:
        self.outcome, self.env, self.sent_at = outcome, env, sent_at
        self._wake.release()


class _Pool:
    """The environments of one function version with one configuration."""

    def __init__(self, config: FunctionConfig, max_environments: int = MAX_ENVIRONMENTS,
                 parallel: int = PARALLEL_INVOCATIONS):
        self.config = config
        self.max_environments = max_environments
        self.parallel = min(parallel, max_environments)
        self.live: set[_Environment] = set()  # every environment started for this pool and not yet killed
        self.idle: list[_Environment] = []
        self.busy = 0  # environments handling a request, or starting for one
        self.progress = time.monotonic()  # when an invocation last finished
        self.retired = False
        self.waiting: collections.deque[_Waiter] = collections.deque()  # first come, first served
        self.cond = threading.Condition()  # guards all of the above

    def acquire(self, reserved: int | None, wait_s: float, message: bytes) -> tuple[_Environment | None, float | None]:
        """A slot for the request ``message``: ``(environment, sent_at)``.

        The environment is an idle one (``sent_at`` None: send the request),
        one handed over by ``release`` with the request already sent at
        ``sent_at``, or None when the caller should start a new one. Up to
        ``parallel`` requests run at once; when none has finished for
        ``OVERFLOW_AFTER_S`` while this one waited, up to ``max_environments``.
        """
        began = time.monotonic()
        deadline = began + wait_s
        with self.cond:
            if self.retired:
                raise _Retired()
            # Reserved concurrency counts every request in flight, queued here or running (AWS throttles
            # the one beyond it at once); scaling out below never goes past it either.
            if reserved is not None and self.busy + len(self.waiting) >= reserved:
                raise TooManyRequests(
                    f"Rate Exceeded. {self.config.name} has reserved concurrency {reserved} and "
                    f"{self.busy + len(self.waiting)} requests in flight",
                    "ReservedFunctionConcurrentInvocationLimitExceeded",
                )
            limit = self.max_environments if reserved is None else min(self.max_environments, reserved)
            if self.busy < self.parallel and not self.waiting:
                return self._take_slot(), None
            waiter = _Waiter(message)
            self.waiting.append(waiter)
        while True:
            now = time.monotonic()
            overflow_at = max(began, self.progress) + OVERFLOW_AFTER_S
            if waiter.wait(min(deadline, overflow_at) - now if now < overflow_at else deadline - now):
                break
            with self.cond:
                if waiter not in self.waiting:
                    pass  # release() or retire() took it and is about to wake it
                elif self.retired:
                    self.waiting.remove(waiter)
                    raise _Retired()
                elif time.monotonic() >= max(began, self.progress) + OVERFLOW_AFTER_S and self.busy < limit:
                    self.waiting.remove(waiter)  # the busy ones sleep or wait: scale out, as Lambda does
                    return self._take_slot(), None
                elif time.monotonic() >= deadline:
                    self.waiting.remove(waiter)
                    raise TooManyRequests(
                        f"Rate Exceeded. {self.config.name} already runs {self.busy} environments "
                        f"(the local cloud's limit per function is {self.max_environments})",
                        "ConcurrentInvocationLimitExceeded",
                    )
                else:
                    continue
            waiter.wait(None)
            break
        if waiter.outcome == "retired":
            raise _Retired()
        return waiter.env, waiter.sent_at

    def _take_slot(self) -> _Environment | None:
        """Under the lock: count one more busy slot; an idle environment for it, or None (start one)."""
        self.busy += 1
        while self.idle:
            env = self.idle.pop()  # most recently used first: the others can go idle and be reaped
            if env.alive():
                return env
            self.live.discard(env)
            env.kill()
        return None

    def started(self, env: _Environment) -> None:
        """Register a new environment (so that stopping the runtime kills it)."""
        with self.cond:
            self.live.add(env)

    def release(self, env: _Environment | None) -> None:
        """Give back a slot (and its environment, if it is still usable).

        With a request waiting, the slot passes to it: the environment gets
        its request here and now, or it is told to start an environment.
        """
        with self.cond:
            self.progress = time.monotonic()
            # returncode is set wherever we saw the worker end (kill, or wait after a crash);
            # _take_slot() still polls the process before reusing an idle one.
            reusable = env is not None and env.process.returncode is None and not self.retired
            waiter = self.waiting.popleft() if self.waiting and not self.retired else None
            if waiter is None:
                self.busy -= 1
                if reusable:
                    env.last_used = time.monotonic()
                    self.idle.append(env)
                elif env is not None:
                    self.live.discard(env)
            elif not reusable and env is not None:
                self.live.discard(env)
        if waiter is not None and reusable:
            try:
                env.conn.send_bytes(waiter.message)
            except (OSError, ValueError):  # the worker ended since its answer: the waiter starts another
                with self.cond:
                    self.live.discard(env)
                reusable = False
            else:
                waiter.wake("env", env, time.perf_counter())
                return
        if waiter is not None:
            waiter.wake("slot")
        if env is not None and not reusable:
            env.kill()

    def retire(self, kill_busy: bool = False) -> None:
        """No new requests: kill idle environments now, busy ones when they finish (or now, ``kill_busy``)."""
        with self.cond:
            self.retired = True
            doomed = list(self.live) if kill_busy else self.idle
            self.live.difference_update(self.idle)
            self.idle = []
            waiting, self.waiting = list(self.waiting), collections.deque()
        for waiter in waiting:
            waiter.wake("retired")
        for env in doomed:
            env.kill()

    def reap(self, idle_ttl_s: float) -> None:
        cutoff = time.monotonic() - idle_ttl_s
        with self.cond:
            old = [env for env in self.idle if env.last_used < cutoff]
            self.idle = [env for env in self.idle if env.last_used >= cutoff]
            self.live.difference_update(old)
        for env in old:
            env.kill()

    @property
    def environments(self) -> int:
        with self.cond:
            return self.busy + len(self.idle)


class LambdaRuntime(Component):
    """Runs deployed Lambda handlers in warm worker processes."""

    name = "lambda_runtime"

    def __init__(self, cloud: Any, max_environments: int = MAX_ENVIRONMENTS):
        super().__init__(cloud)
        self.max_environments = max_environments
        self._pools: dict[tuple[str, str], _Pool] = {}
        self._decisions: dict[tuple, bool] = {}  # resource-policy answers (_permitted)
        self._lock = threading.Lock()
        self._code_dirs: dict[str, str] = {}
        self._code_lock = threading.Lock()
        self._logs: queue.Queue = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._async = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="lambda-event")
        cloud.controlplane.register("lambda", "Invoke", self._invoke_api)

    # ------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self._stopping.clear()
        for target, name in ((self._log_writer, "lambda-logs"), (self._reaper, "lambda-reaper")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Kill every worker process (none outlives the local cloud)."""
        self._stopping.set()
        self._logs.put(None)
        self._async.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.retire(kill_busy=True)
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads.clear()

    def status(self) -> dict[str, Any]:
        return {"lambda_environments": self.environment_count()}

    def environment_count(self) -> int:
        """Execution environments alive now (busy or idle), over all functions."""
        with self._lock:
            pools = list(self._pools.values())
        return sum(pool.environments for pool in pools)

    def worker_pids(self) -> list[int]:
        """Process ids of every live environment, busy or idle (for tests and diagnostics)."""
        with self._lock:
            pools = list(self._pools.values())
        pids: list[int] = []
        for pool in pools:
            with pool.cond:
                pids += [env.pid for env in pool.live]
        return sorted(pids)

    # ---------------------------------------------------------------- invoke
    def invoke(self, region: str, function_name_or_arn: str, payload: bytes, request_id: str | None = None,
               qualifier: str | None = None, caller: tuple[str, tuple[str, ...]] | None = None) -> InvokeResult:
        """Run the function once, synchronously (an Invoke of type RequestResponse).

        ``caller``: ``(service principal, source ARNs)`` of a service invoking it (API Gateway),
        checked against the function's resource policy. Raises FunctionNotFound,
        PermissionDenied, TooManyRequests (throttled) or InvalidRequestContent (payload is not JSON).
        """
        request_id = request_id or str(uuid.uuid4())
        while True:
            fn, fn_region = self._moto_function(region, function_name_or_arn, qualifier)
            if caller is not None and not self._permitted(fn, *caller):
                raise PermissionDenied(f"{caller[0]} may not invoke {fn.function_arn} for {caller[1][0]}")
            config, reserved = self._config(fn, fn_region, qualifier)
            if reserved == 0:
                raise TooManyRequests(
                    f"Rate Exceeded. {config.name} has reserved concurrency 0, so every invocation is throttled",
                    "ReservedFunctionConcurrentInvocationLimitExceeded",
                )
            pool = self._pool(config)
            request = pickle.dumps(("invoke", request_id, int(config.timeout * 1000), config.arn, bytes(payload)))
            try:
                env, sent_at = pool.acquire(reserved, config.timeout + INIT_TIMEOUT_S, request)
            except _Retired:
                continue
            break
        init_ms = None
        try:
            if env is None:
                env, init = self._start_environment(config, request_id)
                if isinstance(init, InvokeResult):  # the init phase failed
                    self._publish_log(config, _log_stream_name(), init.log)
                    return init
                pool.started(env)
                if self._stopping.is_set():  # stop() may have missed it: never leave a worker behind
                    env.kill()
                    env = None
                    raise TooManyRequests(f"Rate Exceeded. the local cloud is stopping ({config.name})", "ServiceStopping")
                init_ms = init
            result = self._run(env, config, request_id, request, init_ms, sent_at)
            self._publish_log(config, env.log_stream, result.log)
            return result
        finally:
            pool.release(env)

    def permits(self, region: str, function_name_or_arn: str, service: str, source_arns: Iterable[str]) -> bool:
        """Whether the function's resource policy (AddPermission) lets ``service`` invoke it for
        one of ``source_arns``. Raises FunctionNotFound."""
        return self._permitted(self._moto_function(region, function_name_or_arn)[0], service, tuple(source_arns))

    def _permitted(self, fn: Any, service: str, source_arns: tuple[str, ...]) -> bool:
        """``permits`` for moto's function object, one source ARN at a time, the first (API Gateway's
        resource template, the same for every request of a route) first: its answer is remembered.

        Lambda's resource policies hold Allow statements only (AddPermission writes no other), so a
        policy allows the request as soon as it allows one of its ARNs.
        """
        policy = getattr(fn, "policy", None)
        statements = policy.statements if policy is not None else []
        # AddPermission gives the policy a new revision id; moto's RemovePermission does not (AWS's
        # does), but it leaves one statement fewer: together they name the policy's state.
        revision = (policy.revision, len(statements)) if policy is not None else None
        for source_arn in source_arns:
            key = (id(fn), revision, service, source_arn)
            permitted = self._decisions.get(key)
            if permitted is None:
                permitted = allows(statements, service, (source_arn,), self.cloud.account_id)
                if len(self._decisions) >= PERMISSION_CACHE_SIZE:
                    self._decisions.clear()
                self._decisions[key] = permitted
            if permitted:
                return True
        return False

    def _moto_function(self, region: str, function_name_or_arn: str, qualifier: str | None = None) -> tuple[Any, str]:
        """moto's function object and its region (the ARN's, when given one). Raises FunctionNotFound."""
        match = _ARN_RE.match(function_name_or_arn)
        if match:
            region = match.group("region")
        backend = moto_backend("lambda", region, self.cloud.account_id)
        try:
            return backend.get_function(function_name_or_arn, qualifier), region
        except LambdaClientError as error:
            if getattr(error, "code", None) == 404 or "not found" in str(error).lower():
                name = match.group("name") if match else function_name_or_arn
                arn = f"arn:aws:lambda:{region}:{self.cloud.account_id}:function:{name}"
                raise FunctionNotFound(f"Function not found: {arn}") from None
            raise

    def function_config(self, region: str, function_name_or_arn: str, qualifier: str | None = None) -> tuple[FunctionConfig, int | None]:
        """The function's current configuration in moto, and its reserved concurrency (None if unset)."""
        return self._config(*self._moto_function(region, function_name_or_arn, qualifier), qualifier)

    def _config(self, fn: Any, region: str, qualifier: str | None) -> tuple[FunctionConfig, int | None]:
        if not str(fn.run_time or "").startswith("python"):
            raise FunctionNotFound(
                f"Function {fn.function_name} uses runtime {fn.run_time!r}: the local cloud runs Python (zip) functions only"
            )
        version = qualifier if qualifier and qualifier != "$LATEST" else "$LATEST"
        reserved = fn.reserved_concurrency
        config = FunctionConfig(
            region=region,
            name=fn.function_name,
            arn=fn.function_arn,
            version=version,
            handler=fn.handler or "",
            runtime=fn.run_time,
            timeout=float(fn.timeout or 3),
            memory_size=int(fn.memory_size or 128),
            variables=tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items())),
            role=fn.role,
            code_sha256=fn.code_sha_256,
            code_dir=self._code_dir(fn),
            identity=id(fn),
        )
        return config, (None if reserved is None else int(reserved))

    # --------------------------------------------------------------- helpers
    def _pool(self, config: FunctionConfig) -> _Pool:
        key = (config.region, f"{config.arn}:{config.version}")
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None and pool.config == config:
                return pool
            self._pools[key] = new = _Pool(config, self.max_environments)
        if pool is not None:
            log.info("lambda %s in %s: configuration or code changed, retiring %d environment(s)",
                     config.name, config.region, pool.environments)
            pool.retire()
        return new

    def _code_dir(self, fn: Any) -> str:
        """The function's code, extracted once per CodeSha256 under the state directory."""
        digest = fn.code_digest  # hex SHA-256 of the zip bytes
        path = self._code_dirs.get(digest)
        if path is not None:
            return path
        with self._code_lock:
            target = Path(self.cloud.settings.state_dir) / "lambda" / "code" / digest
            if not target.is_dir():
                code = getattr(fn, "code_bytes", b"")
                if not code:
                    raise FunctionNotFound(
                        f"Function {fn.function_name} has no zip code moto could read (image or missing S3 object): "
                        "deploy it with Code={'ZipFile': ...}"
                    )
                target.parent.mkdir(parents=True, exist_ok=True)
                scratch = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=target.parent))
                import io

                with zipfile.ZipFile(io.BytesIO(code)) as archive:
                    archive.extractall(scratch)  # extractall refuses absolute and '..' member paths
                try:
                    os.rename(scratch, target)
                except OSError:  # extracted meanwhile by another local cloud with the same state dir
                    shutil.rmtree(scratch, ignore_errors=True)
            self._code_dirs[digest] = str(target)
            return str(target)

    def _environment_variables(self, config: FunctionConfig, log_stream: str) -> dict[str, str]:
        """Environment of a worker: defaults, the function's variables, then Lambda's reserved ones."""
        env = {
            # Not reserved on AWS, so a function may change them.
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            # Points boto3 (1.28+) inside the handler at the local cloud's control plane.
            "AWS_ENDPOINT_URL": self.cloud.controlplane.endpoint,
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

    def _start_environment(self, config: FunctionConfig, request_id: str) -> tuple[_Environment | None, float | InvokeResult]:
        """A new worker, after its init phase: (environment, init ms), or (None, the failed invocation's result)."""
        log_stream = _log_stream_name()
        started = time.perf_counter()  # Init Duration covers the runtime's start and the handler's imports
        ours, theirs = socket.socketpair()
        try:
            process = subprocess.Popen(
                [sys.executable, "-I", str(WORKER_SCRIPT), str(theirs.fileno())],
                env=self._environment_variables(config, log_stream),
                cwd=config.code_dir,
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        env = _Environment(process, Connection(ours.detach()), log_stream)
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
                                  _frame_log(request_id, config, text, init_ms, None, init_ms), request_id, init_ms, config.version)

    def _run(self, env: _Environment, config: FunctionConfig, request_id: str, request: bytes,
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
                                _frame_log(request_id, config, text + "\n", elapsed, None, init_ms), request_id, init_ms,
                                config.version)
        kind = message[0]
        if kind == "result":
            _, body, error, output, duration, max_memory_mb = message
            return InvokeResult(200, body, error, False, duration,
                                _frame_log(request_id, config, output, duration, max_memory_mb, init_ms),
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
                            _frame_log(request_id, config, "", elapsed, None, init_ms), request_id, init_ms, config.version)

    # ------------------------------------------------------------------ logs
    def _publish_log(self, config: FunctionConfig, stream: str, text: str) -> None:
        """Hand the invocation's log to the writer thread (CloudWatch Logs in moto)."""
        self._logs.put((config.region, config.log_group, stream, int(time.time() * 1000), text))

    def _log_writer(self) -> None:
        """Write invocation logs to CloudWatch Logs: every ``LOG_BATCH_S``, one PutLogEvents per log stream.

        Under load this is one write (and one wake-up of this thread) per
        batch instead of per invocation; events keep their order in each
        stream, as PutLogEvents requires.
        """
        while True:
            items = [self._logs.get()]
            if items[0] is not None:
                self._stopping.wait(LOG_BATCH_S)
            while True:
                try:
                    items.append(self._logs.get_nowait())
                except queue.Empty:
                    break
            batches: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
            for item in items:
                if item is not None:
                    region, group, stream, timestamp, text = item
                    batches.setdefault((region, group, stream), []).extend(
                        {"timestamp": timestamp, "message": line} for line in text.splitlines() if line)
            for (region, group, stream), events in batches.items():
                try:
                    logs = moto_backend("logs", region, self.cloud.account_id)
                    logs.ensure_log_group(group)
                    logs.ensure_log_stream(group, stream)
                    if events:
                        logs.put_log_events(group, stream, events)
                except Exception:  # logs are best effort: never fail the local cloud for them
                    log.debug("writing lambda logs to %s failed", group, exc_info=True)
            if None in items:
                return

    def _reaper(self) -> None:
        """Reclaim environments idle for longer than AWS would keep them (scaled)."""
        ttl = self.cloud.scaled(IDLE_TTL_S)
        while not self._stopping.wait(min(30.0, max(1.0, ttl / 4))):
            with self._lock:
                pools = list(self._pools.values())
            for pool in pools:
                pool.reap(ttl)

    # ------------------------------------------------------------- Invoke API
    def _invoke_api(self, call: Call) -> Raw:
        """``lambda.invoke``: RequestResponse runs and answers the result, Event runs in the background (202),
        DryRun checks the function exists (204)."""
        params = call.params
        name = params["FunctionName"]
        qualifier = params.get("Qualifier")
        invocation_type = params.get("InvocationType") or "RequestResponse"
        payload = params.get("Payload") or b""
        if isinstance(payload, str):
            payload = payload.encode()
        request_id = str(uuid.uuid4())
        headers = {"x-amzn-RequestId": request_id}
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise AwsError("RequestEntityTooLargeException",
                           f"Request must be smaller than {MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation", 413)
        try:
            if invocation_type == "DryRun":
                self.function_config(call.region, name, qualifier)
                return _raw(204, headers, b"")
            if invocation_type == "Event":
                self.function_config(call.region, name, qualifier)
                self._async.submit(self._invoke_event, call.region, name, payload, request_id, qualifier)
                return _raw(202, headers, b"")
            result = self.invoke(call.region, name, payload, request_id, qualifier=qualifier)
        except FunctionNotFound as error:
            raise AwsError("ResourceNotFoundException", str(error), 404) from None
        except InvalidRequestContent as error:
            raise AwsError("InvalidRequestContentException", str(error), 400) from None
        except TooManyRequests as error:
            body = json.dumps({"Reason": error.reason, "Type": "User", "message": "Rate Exceeded."}).encode()
            return _raw(429, {**headers, "x-amzn-ErrorType": "TooManyRequestsException"}, body)
        headers["X-Amz-Executed-Version"] = result.executed_version
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if params.get("LogType") == "Tail":
            tail = result.log.encode()[-LOG_TAIL_BYTES:]
            headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
        return _raw(200, headers, result.payload)

    def _invoke_event(self, region: str, name: str, payload: bytes, request_id: str, qualifier: str | None) -> None:
        try:
            self.invoke(region, name, payload, request_id, qualifier=qualifier)
        except Exception as error:  # an asynchronous invocation has no caller to tell
            log.warning("asynchronous invocation %s of %s failed: %s", request_id, name, error)


def _raw(status: int, headers: dict[str, str], body: bytes) -> Raw:
    return Raw(status, {"Content-Type": "application/json", **headers, "Content-Length": str(len(body))}, body)


def _timed_out(request_id: str, seconds: float) -> str:
    """The runtime's message for an invocation (or init) that ran out of time."""
    return f"{_now_iso()} {request_id} Task timed out after {seconds:.2f} seconds"


def _exit_error(request_id: str, code: int | None) -> bytes:
    """The Runtime.ExitError payload of a worker that exited mid-request."""
    return json.dumps({"errorType": "Runtime.ExitError",
                       "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}"}).encode()


def _log_stream_name() -> str:
    """A log stream per environment, named as Lambda names them: ``2026/11/26/[$LATEST]<hex>``."""
    return datetime.now(timezone.utc).strftime("%Y/%m/%d") + f"/[$LATEST]{uuid.uuid4().hex}"


def _frame_log(request_id: str, config: FunctionConfig, output: str, duration_ms: float, max_memory_mb: int | None,
               init_ms: float | None = None) -> str:
    """The invocation's log as Lambda writes it: START, the function's output, END, REPORT."""
    if output and not output.endswith("\n"):
        output += "\n"
    report = (f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
              f"Billed Duration: {max(1, int(duration_ms + 0.999))} ms\tMemory Size: {config.memory_size} MB\t"
              f"Max Memory Used: {max_memory_mb or 0} MB")
    if init_ms is not None:
        report += f"\tInit Duration: {init_ms:.2f} ms"
    return f"START RequestId: {request_id} Version: {config.version}\n{output}END RequestId: {request_id}\n{report}\n"
