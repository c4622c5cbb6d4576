"""Plumbing shared by the benchmarks: a local cloud of their own, a config for it, timing and machine facts.

Every benchmark module has a ``run(status)`` that measures on a running local
cloud (``status`` is what ``localcloud status`` prints) and returns a flat
dict, and a ``main()`` that is just ``common.main(run, ...)``: start a local
cloud in a temporary state directory, run, print JSON, stop it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TIME_SCALE = 0.1  # the runbook's local default (parameters/local.yaml)


def quiet_progress_bars() -> None:
    """Silence the helpers' tqdm bars (waits print nothing useful in a benchmark log)."""
    os.environ.setdefault("TQDM_DISABLE", "1")


@contextlib.contextmanager
def local_cloud(time_scale: float = DEFAULT_TIME_SCALE, prefix: str = "bench-", **start: Any) -> Iterator[dict[str, Any]]:
    """A local cloud of our own in a temporary state directory, stopped and removed afterwards."""
    from localcloud import daemon

    state_dir = tempfile.mkdtemp(prefix=prefix)
    try:
        yield daemon.start(state_dir, time_scale=time_scale, **start)
    finally:
        daemon.stop(state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)


def bench_config(status: dict[str, Any], **params: Any) -> tuple[Any, Any]:
    """A validated ``Config`` (unique stack and table names) and ``Clients`` for the local cloud ``status``."""
    from helpers.clients import Clients
    from helpers.config import config_for_local_cloud

    suffix = uuid.uuid4().hex[:6]
    cfg = config_for_local_cloud(status, **{"stack_name": f"bench{suffix}", "table_name": f"bench-{suffix}", **params})
    return cfg, Clients(cfg)


def main(run: Callable[[dict[str, Any]], dict[str, Any]], *, prefix: str,
         time_scale: float = DEFAULT_TIME_SCALE) -> int:
    """The ``python -m bench.<name>`` entry point: own local cloud, ``run(status)``, JSON on stdout."""
    quiet_progress_bars()
    with local_cloud(time_scale, prefix=prefix) as status:
        print(json.dumps(run(status), indent=2))
    return 0


# ------------------------------------------------------------------ timing
def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by linear interpolation, as numpy and pandas compute it; None when empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


@dataclass
class _Load:
    """What one stretch of back-to-back calls produced (``_drive``); ``_summary`` turns stretches into figures."""

    latencies_s: list[float]
    errors: int
    elapsed_s: float
    cloud_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0


def _drive(call: Callable[[int, int], None], clients: int, seconds: float, server_pid: int | None) -> _Load:
    """Run ``call(worker, n)`` back to back in ``clients`` threads for ``seconds``."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop = threading.Event()
    start = threading.Barrier(clients + 1)

    def worker(index: int) -> None:
        start.wait()
        n = 0
        while not stop.is_set():
            began = time.perf_counter()
            try:
                call(index, n)
            except Exception:
                errors[index] += 1
            else:
                latencies[index].append(time.perf_counter() - began)
            n += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    tree = process_tree(server_pid) if server_pid else []
    start.wait()
    began, cloud_before, own_before = time.perf_counter(), cpu_s(tree), time.process_time()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    cloud_after = cpu_s(tree)
    server = [server_pid] if server_pid else []
    return _Load(
        latencies_s=[x for per in latencies for x in per], errors=sum(errors), elapsed_s=elapsed,
        cloud_cpu_s=cpu_used_s(cloud_before, cloud_after),
        server_cpu_s=cpu_used_s({p: cloud_before[p] for p in server if p in cloud_before}, cloud_after),
        client_cpu_s=time.process_time() - own_before,
    )


def _summary(loads: list[_Load], with_cpu: bool) -> dict[str, Any]:
    """Requests per second and latency percentiles over one or more stretches (and CPU per request)."""
    ms = [x * 1000 for load in loads for x in load.latencies_s]
    elapsed = sum(load.elapsed_s for load in loads)
    result = {
        "rps": round(len(ms) / elapsed, 1),
        "p50_ms": rounded(percentile(ms, 0.50), 2),
        "p99_ms": rounded(percentile(ms, 0.99), 2),
        "mean_ms": round(statistics.fmean(ms), 2) if ms else None,
        "requests": len(ms),
        "errors": sum(load.errors for load in loads),
    }
    if len(loads) > 1:
        result["rps_per_slice"] = [round(len(load.latencies_s) / load.elapsed_s, 1) for load in loads]
    if with_cpu and ms:
        for key, attribute in (("cloud", "cloud_cpu_s"), ("server", "server_cpu_s"), ("client", "client_cpu_s")):
            result[f"{key}_cpu_ms_per_request"] = round(sum(getattr(load, attribute) for load in loads) * 1000 / len(ms), 2)
    return result


def measure_rps(call: Callable[[int, int], None], clients: int, seconds: float,
                server_pid: int | None = None) -> dict[str, Any]:
    """Run ``call(worker, n)`` back to back in ``clients`` threads for ``seconds``: requests/s and latency.

    Failed calls count as errors, not as requests. With ``server_pid`` (the
    local cloud's), also the CPU milliseconds per request spent by the local
    cloud's processes (server and Lambda workers alive at the start) and by
    this process (the clients): on a machine whose cores are all busy,
    throughput is about cores x 1000 / (their sum). The server's own share is
    reported apart (``server_cpu_ms_per_request``): its threads share one GIL,
    so it can never exceed 1000 ms of CPU per second.
    """
    return _summary([_drive(call, clients, seconds, server_pid)], with_cpu=server_pid is not None)


def measure_interleaved(calls: dict[str, Callable[[int, int], None]], clients: int, seconds: float,
                        rounds: int = 4, server_pid: int | None = None) -> dict[str, dict[str, Any]]:
    """``measure_rps`` of several calls, ``seconds`` each, taken in ``rounds`` alternating slices.

    A shared machine's busy moments then weigh on every call alike, so the
    ratio of two calls' throughput is steadier than with one stretch each.
    """
    loads: dict[str, list[_Load]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            loads[name].append(_drive(call, clients, seconds / rounds, server_pid))
    return {name: _summary(stretches, with_cpu=server_pid is not None) for name, stretches in loads.items()}


# ----------------------------------------------------------------- machine
def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (how busy the shared machine was)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine_facts() -> dict[str, Any]:
    """What the figures depend on: cores, CPU, Python, moto, the OS, and the time of the run."""
    cpu = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        moto_version = metadata.version("moto")
    except metadata.PackageNotFoundError:
        moto_version = None
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "moto": moto_version,
        "platform": platform.platform(terse=True),
        "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (Linux ``/proc``), for memory accounting."""
    seen, todo = [], [pid]
    while todo:
        current = todo.pop()
        seen.append(current)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                with contextlib.suppress(OSError):
                    todo.extend(int(c) for c in Path(f"/proc/{current}/task/{task}/children").read_text().split())
    return seen


def cpu_s(pids: list[int]) -> dict[int, float]:
    """User plus system CPU seconds each live process of ``pids`` has used so far (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14 and 15 of stat)
    return used


def cpu_used_s(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two ``cpu_s`` readings by the processes alive at both."""
    return sum(after[pid] - before[pid] for pid in before if pid in after)


def vm_hwm_mb(pid: int) -> float:
    """Peak resident set size (VmHWM) of one process in MiB; 0 if it is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Periodic:
    """Calls ``sample()`` every ``every_s`` in a background thread while the ``with`` block runs."""

    name = "sampler"

    def __init__(self, every_s: float):
        self._every = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self._every):
                return

    def sample(self) -> None:
        raise NotImplementedError


class MemoryWatch(Periodic):
    """Samples the peak memory of a process tree in the background until stopped.

    ``peak_mb``: the largest sum, over one sample, of VmHWM of every process
    alive in the tree (the server and the Lambda workers it had at that moment).
    """

    name = "memory-watch"

    def __init__(self, pid_of: Callable[[], int | None], every_s: float = 0.25):
        super().__init__(every_s)
        self._pid_of = pid_of
        self.peak_mb = 0.0
        self.server_peak_mb = 0.0
        self.max_processes = 0

    def sample(self) -> None:
        pid = self._pid_of()
        if not pid:
            return
        tree = process_tree(pid)
        self.peak_mb = max(self.peak_mb, sum(vm_hwm_mb(p) for p in tree))
        self.server_peak_mb = max(self.server_peak_mb, vm_hwm_mb(pid))
        self.max_processes = max(self.max_processes, len(tree))


