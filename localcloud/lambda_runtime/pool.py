"""The environment pool: which execution environment serves which request, and when more start or go.

One ``Pool`` per function version and configuration; a code or configuration
change (``UpdateFunctionConfiguration`` of ``STATUS``, for instance) gives the
next invocation a new pool, and the old one's environments are retired as
soon as they are idle, as AWS does after an update. One request at a time per
environment; more environments start on demand, up to ``MAX_ENVIRONMENTS`` per
function (a local cap, AWS's default account concurrency is 1,000). Up to one
request per CPU runs at once (``PARALLEL_INVOCATIONS``); a request that waited
``OVERFLOW_AFTER_S`` for a free environment gets another one (handlers that
sleep or wait on I/O still scale out). Reserved concurrency 0 (or N busy
environments with N reserved) throttles with ``TooManyRequests``.

A request holds its environment for the length of a ``with pool.environment(...)
as lease:`` block; leaving the block gives the environment back (or hands it,
with the next waiting request already sent, to that request).
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from localcloud.lambda_runtime.model import FunctionConfig, TooManyRequests
from localcloud.lambda_runtime.worker import Environment

log = logging.getLogger(__name__)

# Environments per function version; beyond this, requests wait for a free one. On a
# small machine more processes than cores add nothing (docs/design.md: two warm workers
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
# AWS reclaims idle environments after some minutes (not documented exactly).
IDLE_TTL_S = 600.0


class Retired(Exception):
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
        self.env: Environment | None = None
        self.sent_at: float | None = None
        self._wake = threading.Lock()
        self._wake.acquire()

    def wait(self, timeout_s: float | None) -> bool:
        return self._wake.acquire(timeout=-1 if timeout_s is None else max(0.0, timeout_s))

    def wake(self, outcome: str, env: Environment | None = None, sent_at: float | None = None) -> None:
        self.outcome, self.env, self.sent_at = outcome, env, sent_at
        self._wake.release()


class Lease:
    """A slot of a pool held for one request, as a context manager (``Pool.environment``).

    Entering waits for the slot (``Pool.acquire``); leaving gives it back
    (``Pool.release``). ``env`` None means "start one" (then ``adopt`` it);
    ``sent_at`` is when the request was already sent to ``env`` by ``release``.
    """

    __slots__ = ("pool", "reserved", "wait_s", "message", "env", "sent_at")

    def __init__(self, pool: "Pool", reserved: int | None, wait_s: float, message: bytes):
        self.pool, self.reserved, self.wait_s, self.message = pool, reserved, wait_s, message
        self.env: Environment | None = None
        self.sent_at: float | None = None

    def __enter__(self) -> "Lease":
        self.env, self.sent_at = self.pool.acquire(self.reserved, self.wait_s, self.message)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.pool.release(self.env)

    def adopt(self, env: Environment) -> None:
        """Hold ``env``, just started for this request (the pool kills it when it is retired)."""
        self.pool.started(env)
        self.env = env


class Pool:
    """The environments of one function version with one configuration."""

    def __init__(self, config: FunctionConfig, max_environments: int = MAX_ENVIRONMENTS,
                 parallel: int = PARALLEL_INVOCATIONS):
        self.config = config
        self.max_environments = max_environments
        self.parallel = min(parallel, max_environments)
        self.live: set[Environment] = set()  # every environment started for this pool and not yet killed
        self.idle: list[Environment] = []
        self.busy = 0  # environments handling a request, or starting for one
        self.progress = time.monotonic()  # when an invocation last finished
        self.retired = False
        self.waiting: collections.deque[_Waiter] = collections.deque()  # first come, first served
        self.cond = threading.Condition()  # guards all of the above

    def environment(self, reserved: int | None, wait_s: float, message: bytes) -> Lease:
        """``with pool.environment(...) as lease:`` holds a slot for the request ``message`` while the block runs.

        Entering raises ``Retired`` (nothing held) when a newer configuration
        replaced this pool, ``TooManyRequests`` when the request is throttled.
        """
        return Lease(self, reserved, wait_s, message)

    def acquire(self, reserved: int | None, wait_s: float, message: bytes) -> tuple[Environment | None, float | None]:
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
                raise Retired()
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
                    raise Retired()
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
            raise Retired()
        return waiter.env, waiter.sent_at

    def _take_slot(self) -> Environment | None:
        """Under the lock: count one more busy slot; an idle environment for it, or None (start one)."""
        self.busy += 1
        while self.idle:
            env = self.idle.pop()  # most recently used first: the others can go idle and be reaped
            if env.alive():
                return env
            self.live.discard(env)
            env.kill()
        return None

    def started(self, env: Environment) -> None:
        """Register a new environment (so that stopping the runtime kills it)."""
        with self.cond:
            self.live.add(env)

    def release(self, env: Environment | None) -> None:
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


class Pools:
    """Every function's current pool, and the reaper of idle environments."""

    def __init__(self, max_environments: int, idle_ttl_s: float):
        self.max_environments = max_environments
        self.idle_ttl_s = idle_ttl_s
        self._pools: dict[tuple[str, str], Pool] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._reaper: threading.Thread | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._reaper = threading.Thread(target=self._reap, name="lambda-reaper", daemon=True)
        self._reaper.start()

    def stop(self) -> None:
        """Kill every environment, busy or idle (none outlives the local cloud)."""
        self._stopping.set()
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.retire(kill_busy=True)
        if self._reaper is not None:
            self._reaper.join(timeout=2)
            self._reaper = None

    def pool(self, config: FunctionConfig) -> Pool:
        """The pool of ``config``'s function version; a new one (the old retired) when the configuration changed."""
        key = (config.region, f"{config.arn}:{config.version}")
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None and (pool.config is config or pool.config == config):
                return pool
            self._pools[key] = new = Pool(config, self.max_environments)
        if pool is not None:
            log.info("lambda %s in %s: configuration or code changed, retiring %d environment(s)",
                     config.name, config.region, pool.environments)
            pool.retire()
        return new

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

    def _reap(self) -> None:
        """Reclaim environments idle for longer than AWS would keep them (scaled)."""
        ttl = self.idle_ttl_s
        while not self._stopping.wait(min(30.0, max(1.0, ttl / 4))):
            with self._lock:
                pools = list(self._pools.values())
            for pool in pools:
                pool.reap(ttl)
