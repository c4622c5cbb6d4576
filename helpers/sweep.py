"""``runbook sweep``: many chaos configurations on one built stack, and a page that compares them.

``runbook sweep -f parameters/local.yaml --grid health_check_interval=10,30 --grid record_ttl=10,60 --repeat 3``

1. The grid (``helpers.sweep_grid``) and every cell are validated with the
   runbook's own rules before anything is built; the plan, its duration and (on
   AWS) its cost are printed (``helpers.sweep_plan``).
2. Each lane builds its stack once with notebooks 00-05 (``runbook run``).
3. Each lane takes the next run, reconfigures its stack in place when the cell
   needs other health checks or records (the helpers notebooks 04 and 05 use,
   waiting until Route 53 reports the change), and runs notebook 06 with
   papermill into ``DIR/runs/<cell>/r<k>/``, a report of its own. A lane is a
   process of its own (``helpers.sweep_lane``) that does this on command.
4. Each lane tears its stack down with notebook 08, and ``DIR/index.html``
   compares every configuration (``helpers.sweep_report``).

The sweep's plan is kept in ``DIR/sweep.json``. ``--resume DIR`` runs what has
not passed yet (the stack is rebuilt or found by the same get-or-create
notebooks); ``--teardown DIR`` removes every lane's stack after a failed or
interrupted sweep. SIGINT, SIGTERM and SIGHUP reach the running notebooks (the
chaos step undoes its fault), no new run starts, the page is written with what
finished, and the stacks stay for ``--resume`` or ``--teardown``.
"""

from __future__ import annotations

import argparse
import functools
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from helpers.progress import DISABLE_VARIABLE as NO_PROGRESS_BARS
from helpers.config import PROJECT_ROOT, ConfigError, validate, with_backend_settings
from helpers.fault_kinds import fault_kind
from helpers.parameters import load_parameters
from helpers.report import point_latest
from helpers.sweep_grid import DEFAULT_GRID, Cell, cells, check_grid, parse_grid
from helpers.sweep_plan import Estimate, estimate, lane_params, run_params

SWEEP_FILE = "sweep.json"
BUILD_NOTEBOOKS = "00,01,02,03,04,05"
CHAOS_NOTEBOOK = "06"
TEARDOWN_NOTEBOOK = "08"
DEFAULT_LANES = {"local": 4, "aws": 1}
SWEEPS_DIR = PROJECT_ROOT / "reports" / "sweeps"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# What papermill reports when a kernel exits before it answers (on a busy machine, kernels started side by side can
# race for the same ports): worth one more try, unlike a failing cell.
KERNEL_START_FAILURE = "Kernel died before replying to kernel_info"


# ------------------------------------------------------------------ the plan, kept in sweep.json
@dataclass
class Sweep:
    """A sweep's plan: what ``--resume`` and ``--teardown`` read back from ``DIR/sweep.json``."""

    out_dir: str
    base: dict[str, Any]  # every parameter, validated and plain
    grid: dict[str, list[Any]]
    repeat: int
    lanes: int
    phases: str  # auto: each cell's steady/hold/recovery from the model; given: the parameters' own
    target_rto_s: float | None = None
    created_at: str = field(default_factory=lambda: dt.datetime.now().isoformat(timespec="seconds"))

    @property
    def path(self) -> Path:
        return Path(self.out_dir)

    def cells(self) -> list[Cell]:
        return cells(self.base, {k: tuple(v) for k, v in self.grid.items()})

    @functools.cached_property
    def runs(self) -> list[PlannedRun]:
        """Every run, repetitions of a cell together (consecutive runs share the stack's configuration); computed
        once (each cell's phases come from the model)."""
        found = []
        for cell in self.cells():
            params = run_params(self.base, cell.params, self.phases)
            found += [PlannedRun(cell, k, params, self.path / "runs" / cell.slug / f"r{k}") for k in range(1, self.repeat + 1)]
        return found

    def lane_params(self, lane: int) -> dict[str, Any]:
        return lane_params(self.base, lane)

    def save(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / SWEEP_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, out_dir: str | Path) -> Sweep:
        path = Path(out_dir) / SWEEP_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"{out_dir} is not a sweep's directory: it has no {SWEEP_FILE}") from None
        return cls(**{**data, "out_dir": str(Path(out_dir).resolve())})


@dataclass(frozen=True)
class PlannedRun:
    cell: Cell
    repetition: int
    params: dict[str, Any]
    dir: Path

    @property
    def name(self) -> str:
        return f"{self.cell.label} #{self.repetition}"

    @property
    def passed(self) -> bool:
        """It ran to the end before (what ``--resume`` skips)."""
        try:
            status = json.loads((self.dir / "run.json").read_text())["status"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            return False
        return status == "passed" and (self.dir / "chaos_metrics.json").exists()


def plan(files: list[str], overrides: list[tuple[str, str]], grid_specs: list[str], *, repeat: int = 3,
         lanes: int | None = None, phases: str = "auto", target_rto_s: float | None = None,
         out: str | Path | None = None) -> Sweep:
    """A validated sweep (nothing built): ConfigError on any bad parameter, grid value or cell."""
    if repeat < 1:
        raise ConfigError(f"--repeat {repeat}: a sweep runs each cell at least once")
    if phases not in ("auto", "given"):
        raise ConfigError(f"--phases {phases!r}: allowed values are auto, given")
    if target_rto_s is not None and target_rto_s <= 0:
        raise ConfigError(f"--target-rto {target_rto_s}: a recovery time in AWS seconds, greater than 0")
    out_dir = Path(out) if out else SWEEPS_DIR / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = validate({**load_parameters(files, overrides), "run_dir": str(out_dir.resolve())}).public_params()
    grid = parse_grid(grid_specs) if grid_specs else check_grid(DEFAULT_GRID)
    lanes = DEFAULT_LANES[base["backend"]] if lanes is None else lanes
    if lanes < 1:
        raise ConfigError(f"--lanes {lanes}: at least one")
    runs = len(cells(base, grid)) * repeat
    sweep = Sweep(str(out_dir.resolve()), base, {k: list(v) for k, v in grid.items()}, repeat, min(lanes, runs), phases,
                  target_rto_s)
    region_wide = sorted({c.params.get("fault", base["fault"]) for c in sweep.cells()
                          if fault_kind(c.params.get("fault", base["fault"])).region_wide})
    if region_wide and sweep.lanes > 1:
        raise ConfigError(f"fault {', '.join(region_wide)} breaks the whole region, for every lane's stack at once, so "
                          f"lanes would break each other's runs: use --lanes 1 (lambda_throttle also breaks the API, "
                          "for one stack only)")
    for lane in range(lanes):
        validate(sweep.lane_params(lane))
    sweep.runs  # every cell's run parameters, validated
    return sweep


def _estimate(sweep: Sweep) -> Estimate:
    runs = sweep.runs
    groups = [run.cell.reconfigured() for run in runs]
    changes = sum(1 for a, b in zip(groups, groups[1:]) if a != b)
    interval_changes = sum(1 for a, b in zip(groups, groups[1:]) if a.get("health_check_interval") != b.get("health_check_interval"))
    return estimate([r.params for r in runs], sweep.lanes, changes, interval_changes)


def describe(sweep: Sweep) -> str:
    """What the sweep will do, how long it takes and what it costs: printed before anything is built."""
    grid = "; ".join(f"{k} = {', '.join(map(str, v))}" for k, v in sweep.grid.items())
    lines = [f"sweep of {len(sweep.cells())} configurations x {sweep.repeat} repetitions ({grid})",
             _estimate(sweep).describe()]
    if sweep.phases == "auto":
        lines.append("each cell holds the fault past Route 53's worst case and the recovery model's p95 "
                     "(--phases given keeps steady_s, hold_s and recovery_s as set)")
    return "\n".join(lines)


# ------------------------------------------------------------------ running
class _LaneProcess:
    """A lane's process (``helpers.sweep_lane``): runs notebooks and reconfigures the stack, one command at a time."""

    def __init__(self, log: Path) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as stderr:
            self.process = subprocess.Popen([sys.executable, "-m", "helpers.sweep_lane"], cwd=PROJECT_ROOT,
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                            start_new_session=True,
                                            env={**os.environ, NO_PROGRESS_BARS: "1"})  # the sweep prints one line per run

    def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        """Send one command and wait for its answer; a lane that died answers ``failed``."""
        try:
            self.process.stdin.write(json.dumps(command) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            return {"status": "failed", "error": f"the lane's process ended (exit {self.process.poll()})"}
        return json.loads(line)

    def signal(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def close(self) -> None:
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


class _Runner:
    """Runs notebooks in the lanes' processes (each in its own session) and passes stop signals on to them."""

    def __init__(self, echo: Callable[..., None]) -> None:
        self.echo = echo
        self.stopping = threading.Event()
        self.signal: int | None = None
        self._lanes: set[_LaneProcess] = set()
        self._lock = threading.Lock()

    def lane(self, log: Path) -> _LaneProcess | None:
        """A new lane process (None once the sweep is stopping)."""
        with self._lock:
            if self.stopping.is_set():
                return None
            process = _LaneProcess(log)
            self._lanes.add(process)
            return process

    def retire(self, process: _LaneProcess) -> None:
        with self._lock:
            self._lanes.discard(process)
        process.close()

    def runbook(self, lane: _LaneProcess, params: dict[str, Any], notebooks: str, out_dir: Path) -> str:
        """Run notebooks with ``params`` into ``out_dir`` in ``lane``; the run's status (passed, failed, interrupted).

        A run whose kernel died while starting is run again, once (``KERNEL_START_FAILURE``).
        """
        status = self._runbook(lane, params, notebooks, out_dir)
        if status == "failed" and KERNEL_START_FAILURE in _text(out_dir / "run.json") and not self.stopping.is_set():
            self.echo(f"{out_dir.name}: a kernel died while starting; running it again")
            status = self._runbook(lane, params, notebooks, out_dir)
        return status

    def _runbook(self, lane: _LaneProcess, params: dict[str, Any], notebooks: str, out_dir: Path) -> str:
        if self.stopping.is_set():
            return "not run"
        out_dir.mkdir(parents=True, exist_ok=True)
        params_file = out_dir / "parameters.yaml"
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))
        return lane.ask({"runbook": {"parameters_file": str(params_file), "notebooks": notebooks,
                                     "out": str(out_dir)}})["status"]

    def stop(self, signum: int, _frame: Any = None) -> None:
        if self.signal is None:
            self.signal = signum
            self.echo(f"\n{signal.Signals(signum).name}: stopping the running notebooks (each undoes its fault); "
                      "no new run starts")
        self.stopping.set()
        with self._lock:
            for lane in self._lanes:
                lane.signal(signum)


def _text(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


@dataclass
class _Progress:
    """Counts finished runs and estimates the time left: the runs' timelines plus the overhead runs have shown."""

    runs: list[PlannedRun]
    lanes: int
    echo: Callable[..., None]
    usd: float = 0.0  # the plan's cost estimate (AWS), spread evenly over the runs
    started: float = field(default_factory=time.monotonic)
    finished_runs: list[PlannedRun] = field(default_factory=list)
    overheads: list[float] = field(default_factory=list)  # wall seconds a run took beyond its own timeline
    lock: threading.Lock = field(default_factory=threading.Lock)

    def finished(self, run: PlannedRun, status: str, wall_s: float) -> None:
        with self.lock:
            self.finished_runs.append(run)
            self.overheads.append(max(0.0, wall_s - _timeline_wall_s(run.params)))
            overhead = sum(self.overheads) / len(self.overheads)
            left_runs = [r for r in self.runs if r not in self.finished_runs]
            left = sum(_timeline_wall_s(r.params) + overhead for r in left_runs) / self.lanes
            cost = (f", about ${self.usd * len(self.finished_runs) / len(self.runs):.2f} of ${self.usd:.2f} spent"
                    if self.usd else "")
            self.echo(f"[{len(self.finished_runs)}/{len(self.runs)}] {run.name}: {status}{_headline(run.dir)} "
                      f"({wall_s:.0f} s; {_clock(time.monotonic() - self.started)} elapsed, about {_clock(left)} left"
                      f"{cost})")


def _timeline_wall_s(params: dict[str, Any]) -> float:
    """The wall seconds of a run's own timeline (steady, hold, recovery) on its backend."""
    return (params["steady_s"] + params["hold_s"] + params["recovery_s"]) * params["time_scale"]


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def _headline(run_dir: Path) -> str:
    try:
        metrics = json.loads((run_dir / "chaos_metrics.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return ""
    if metrics.get("rto_s") is None:
        return ", no failover expected" if not metrics.get("failover_expected", True) else ""
    band = (metrics.get("predicted") or {}).get("recovery_time_s") or {}
    model = f", model {band['p5']:.0f}-{band['p95']:.0f}" if band else ""
    return f", recovery time {metrics['rto_s']:.1f} AWS s{model}"


class _Queue:
    """The runs left; a lane takes one of its current configuration first, so that it reconfigures rarely."""

    def __init__(self, runs: list[PlannedRun]) -> None:
        self._runs = list(runs)
        self._lock = threading.Lock()

    def take(self, current: dict[str, Any] | None) -> PlannedRun | None:
        with self._lock:
            if not self._runs:
                return None
            same = next((r for r in self._runs if r.cell.reconfigured() == current), None)
            run = same or self._runs[0]
            self._runs.remove(run)
            return run

    def put_back(self, run: PlannedRun) -> None:
        """A run a lane could not start goes back for another lane."""
        with self._lock:
            self._runs.insert(0, run)


def _lane(sweep: Sweep, lane: int, queue: _Queue, runner: _Runner, progress: _Progress, failures: list[str],
          building: threading.Lock) -> None:
    """Build lane ``lane``'s stack, then run what the queue gives it until it is empty or the sweep stops."""
    params = sweep.lane_params(lane)
    lane_dir = sweep.path / "lanes" / f"lane{lane + 1}"
    process = runner.lane(lane_dir / "lane.log")
    if process is None:
        return
    try:
        with building:  # one build at a time: the first lane starts its runs while the next builds
            status = runner.runbook(process, params, BUILD_NOTEBOOKS, lane_dir / "build")
        if status != "passed":
            if not runner.stopping.is_set():
                failures.append(f"lane {lane + 1}: building its stack {status} (see {lane_dir / 'build' / 'index.html'})")
            return
        current = Cell(tuple((name, params[name]) for name in sweep.grid)).reconfigured()  # as 04 and 05 built it
        while not runner.stopping.is_set() and (run := queue.take(current)) is not None:
            names = {k: params[k] for k in ("stack_name", "table_name", "hosted_zone", "domain_name")}
            run_params_ = {**run.params, **names, "run_dir": str(run.dir)}
            t0 = time.monotonic()
            if run.cell.reconfigured() != current:
                answer = process.ask({"reconfigure": run_params_})
                if answer["status"] != "ok":  # the lane's stack is in an unknown state: leave the rest to the others
                    failures.append(f"lane {lane + 1}: reconfiguring for {run.name} failed: {answer.get('error')}")
                    queue.put_back(run)
                    return
                current = run.cell.reconfigured()
            status = runner.runbook(process, run_params_, CHAOS_NOTEBOOK, run.dir)
            progress.finished(run, status, time.monotonic() - t0)
    finally:
        runner.retire(process)


def run(sweep: Sweep, *, resume: bool = False, echo: Callable[..., None] = print) -> int:
    """Run a planned sweep (or what is left of it); 0 when every run passed, 1 if any failed, 128+N on signal N."""
    from helpers.sweep_report import write_page

    if (sweep.path / SWEEP_FILE).exists() and not resume:
        raise ConfigError(f"{sweep.path} holds a sweep already: resume it with --resume {sweep.path}, or choose "
                          "another --out")
    runs = sweep.runs
    left = [r for r in runs if not r.passed]
    echo(describe(sweep))
    if resume:
        echo(f"resuming: {len(runs) - len(left)} of {len(runs)} runs passed before, {len(left)} to run")
    if sweep.base["dry_run"]:
        sweep.save()
        return _dry_run(sweep, echo)
    cloud_started = _start_local_cloud(sweep, echo)  # refuses a running local cloud of another time scale
    sweep.save()
    runner = _Runner(echo)
    previous = {sig: signal.signal(sig, runner.stop) for sig in STOP_SIGNALS} \
        if threading.current_thread() is threading.main_thread() else {}
    failures: list[str] = []
    try:
        lanes = min(sweep.lanes, len(left))
        progress = _Progress(left, lanes, echo, usd=_estimate(sweep).usd * len(left) / len(runs))
        queue = _Queue(left)
        building = threading.Lock()
        threads = [threading.Thread(target=_lane, args=(sweep, lane, queue, runner, progress, failures, building),
                                    name=f"sweep lane {lane + 1}", daemon=True) for lane in range(lanes)]
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            for thread in threads:
                thread.join(0.2)
        if runner.signal is None and not failures:  # a resumed sweep's earlier attempt may have built every lane
            _teardown_lanes(sweep, runner, echo, range(sweep.lanes if resume else lanes))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        page = write_page(sweep.path, title=f"Sweep {sweep.path.name}", target_rto_s=sweep.target_rto_s)
        if cloud_started:
            from localcloud import daemon

            daemon.stop(sweep.base["localcloud_state_dir"])
            echo("local cloud stopped" + (", and the stacks with it" if runner.signal is not None or failures else ""))
    for failure in failures:
        echo(failure)
    if (runner.signal is not None or failures) and not cloud_started:
        echo(f"the stacks are kept: resume with `runbook sweep --resume {sweep.path}`, or remove them with "
             f"`runbook sweep --teardown {sweep.path}`")
    elif runner.signal is not None or failures:
        echo(f"resume with `runbook sweep --resume {sweep.path}` (it builds the stacks again)")
    failed = [r for r in runs if not r.passed]
    if sweep.path.parent == SWEEPS_DIR:
        point_latest(sweep.path)
    echo(f"sweep {'interrupted' if runner.signal else 'finished'}: {len(runs) - len(failed)} of {len(runs)} runs "
         f"passed; comparison page: {page}")
    if runner.signal is not None:
        return 128 + runner.signal
    return 1 if failed or failures else 0


def _start_local_cloud(sweep: Sweep, echo: Callable[..., None]) -> bool:
    """Start the local cloud at the sweep's time scale when none runs; True if this sweep started it."""
    cfg = validate(sweep.base)
    if not cfg.uses_local_cloud:
        return False
    from helpers.setup import start_local_cloud

    info = start_local_cloud(cfg)
    with_backend_settings(cfg)  # a running cloud at another time scale is refused here, before anything is built
    if info["started"]:
        echo(f"local cloud started: {info['aws_endpoint']} (time scale {info['time_scale']})")
    return info["started"]


def _teardown_lanes(sweep: Sweep, runner: _Runner, echo: Callable[..., None], lanes: range) -> list[str]:
    """Notebook 08 for each lane, side by side; the lanes whose teardown did not pass."""
    results: dict[int, str] = {}

    def one(lane: int) -> None:
        lane_dir = sweep.path / "lanes" / f"lane{lane + 1}"
        process = runner.lane(lane_dir / "lane.log")
        if process is None:
            results[lane] = "not run"
            return
        try:
            results[lane] = runner.runbook(process, sweep.lane_params(lane), TEARDOWN_NOTEBOOK, lane_dir / "teardown")
        finally:
            runner.retire(process)

    threads = [threading.Thread(target=one, args=(lane,), daemon=True) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failed = [f"lane {lane + 1}: teardown {status}" for lane, status in sorted(results.items()) if status != "passed"]
    echo("teardown: " + ("; ".join(failed) if failed else f"every lane's stack deleted ({len(results)})"))
    return failed


def teardown(out_dir: str | Path, echo: Callable[..., None] = print) -> int:
    """``--teardown DIR``: delete every lane's stack of a sweep (after a failure or an interruption)."""
    sweep = Sweep.load(out_dir)
    cloud_started = _start_local_cloud(sweep, echo)
    try:
        failed = _teardown_lanes(sweep, _Runner(echo), echo, range(sweep.lanes))
    finally:
        if cloud_started:
            from localcloud import daemon

            daemon.stop(sweep.base["localcloud_state_dir"])
    return 1 if failed else 0


def would_run(sweep: Sweep) -> list[str]:
    """What a dry run lists after the build's calls: each run, with how long it holds the fault and watches."""
    return [f"would run: {run.name} (hold {run.params['hold_s']:g} s, recovery {run.params['recovery_s']:g} s)"
            for run in sweep.runs]


def _dry_run(sweep: Sweep, echo: Callable[..., None]) -> int:
    """A dry run lists the build's calls (lane 1's notebooks 00-05, nothing made) and the runs it would make."""
    runner = _Runner(echo)
    lane_dir = sweep.path / "lanes" / "lane1"
    process = runner.lane(lane_dir / "lane.log")
    try:
        status = runner.runbook(process, sweep.lane_params(0), BUILD_NOTEBOOKS, lane_dir / "dry-run")
    finally:
        runner.retire(process)
    for line in would_run(sweep):
        echo(line)
    echo(f"dry run of the build {status}: {lane_dir / 'dry-run' / 'index.html'}")
    return 0 if status == "passed" else 1


# ------------------------------------------------------------------ command line
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--parameters-file", action="append", default=[], metavar="PARAMS.yaml",
                        help="a YAML parameter file; later files override earlier ones")
    parser.add_argument("-p", "--parameter", action="append", nargs=2, default=[], metavar=("NAME", "VALUE"),
                        help="one parameter (value parsed as YAML); overrides the files")
    parser.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2",
                        help="a parameter and the values to try (repeat for more); default: "
                             + "; ".join(f"{k}={','.join(map(str, v))}" for k, v in DEFAULT_GRID.items()))
    parser.add_argument("--repeat", type=int, default=3, help="runs of each configuration (default 3)")
    parser.add_argument("--lanes", type=int, help="stacks run side by side (default: 4 on the local cloud, 1 on AWS)")
    parser.add_argument("--phases", default="auto", choices=("auto", "given"),
                        help="auto: hold each fault as long as the cell needs; given: steady_s, hold_s, recovery_s as set")
    parser.add_argument("--target-rto", type=float, metavar="AWS_SECONDS",
                        help="recommend the cheapest configuration whose recovery time meets this target")
    parser.add_argument("--out", help="the sweep's directory (default reports/sweeps/<date-time>)")
    parser.add_argument("--resume", metavar="DIR", help="run what a stopped sweep in DIR has not finished")
    parser.add_argument("--teardown", metavar="DIR", help="delete every stack of the sweep in DIR")


def main(args: argparse.Namespace) -> int:
    if args.teardown:
        return teardown(args.teardown)
    if args.resume:
        if args.grid or args.parameters_file or args.parameter:
            raise ConfigError("--resume takes the grid and parameters from the sweep's sweep.json: give no -f, -p or --grid")
        return run(Sweep.load(args.resume), resume=True)
    sweep = plan(args.parameters_file, [tuple(x) for x in args.parameter], args.grid, repeat=args.repeat,
                 lanes=args.lanes, phases=args.phases, target_rto_s=args.target_rto, out=args.out)
    return run(sweep)
