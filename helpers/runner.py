"""The runbook runner: every numbered notebook in order, with papermill, into one report.

``runbook run [-f PARAMS.yaml]... [-p NAME VALUE]... [--notebooks 00,01] [--out DIR] [--hide-code]``

Papermill's conventions: later files and ``-p`` options override earlier ones and
``-p`` values parse as YAML. Parameters are validated before the first notebook
runs; every notebook declares every parameter (``make params`` writes the cells)
and gets every validated value. For ``backend: local`` the runner starts the local cloud (with the
parameters' time scale) when none is running and stops it at the end, also on
failure. The run is written to ``reports/<run-id>/``: the executed notebooks,
one HTML page per notebook, ``index.html``, the artifacts the notebooks write,
and ``reports/latest`` points at it.

SIGINT (Ctrl-C), SIGTERM (``timeout``, CI cancellation) and SIGHUP (a closed
terminal) stop a run the same way: the running notebook's kernel is
interrupted, so the cell's own cleanup runs (the chaos step undoes its fault),
for at most ``KERNEL_CLEANUP_S``; the local cloud this run started is stopped;
``run.json`` and ``index.html`` say which notebooks passed, failed, were
interrupted or never ran; and the command exits with 128 + the signal's number.
Further signals meanwhile do not cut that short.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from helpers import progress
from helpers.config import PROJECT_ROOT, ConfigError, validate
from helpers.parameters import PARAMETER_NAMES, load_parameters
from helpers.report import export_html, point_latest, write_index

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
NO_DRY_RUN = frozenset({"06_chaos", "07_consistency"})  # notebooks that act on a real stack, so a dry run leaves them out
KERNEL_LOG = "kernels.log"  # what the notebook kernels wrote to standard error
REPORTS_DIR = PROJECT_ROOT / "reports"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
KERNEL_CLEANUP_S = 30.0  # how long an interrupted cell may clean up (undo a fault) before its kernel is killed
KERNEL_KILL_WAIT_S = 10.0  # then how long papermill may take to notice the kernel is gone


class Interrupted(KeyboardInterrupt):
    """A stop signal reached the runner (raised in its main thread, as Ctrl-C raises KeyboardInterrupt)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass
class NotebookResult:
    name: str
    status: str = "not run"  # passed | failed | interrupted | not run
    duration_s: float = 0.0
    html: str = ""
    error: str = ""
    failed_cell: str = ""


@dataclass
class RunResult:
    run_id: str
    out_dir: str
    parameters: dict[str, Any]
    status: str = "running"  # then passed | failed | interrupted
    stopped_by: str = ""  # the signal that interrupted the run (SIGINT, SIGTERM, SIGHUP)
    started_at: str = ""
    duration_s: float = 0.0
    notebooks: list[NotebookResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "passed"

    @property
    def exit_code(self) -> int:
        """0 passed, 1 failed, 128 + the signal's number when a signal stopped the run (the shell's convention)."""
        if self.stopped_by:
            return 128 + signal.Signals[self.stopped_by].value
        return 0 if self.ok else 1


class _StopSignals:
    """While active (main thread only): the first of ``STOP_SIGNALS`` raises ``Interrupted``; later ones,
    and any after ``hold()``, are only remembered, so that the clean-up they asked for is not cut short."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._raising = True
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, _frame: Any) -> None:
        if self.received is None:
            self.received = signum
        if self._raising:
            self._raising = False
            raise Interrupted(signum)

    def hold(self) -> None:
        self._raising = False

    @contextlib.contextmanager
    def deferred(self):
        """A signal in the block takes effect when it ends (a local cloud half started could not be stopped)."""
        self._raising = False
        try:
            yield
        finally:
            self._raising = self.received is None
        if self.received is not None:
            raise Interrupted(self.received)

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}
        return self

    def __exit__(self, *_exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def discover_notebooks(selection: list[str] | None = None, directory: Path | None = None) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) in order, optionally only those whose number is selected."""
    directory = directory or NOTEBOOKS_DIR
    found = sorted(directory.glob("[0-9][0-9]_*.ipynb"))
    if selection:
        wanted = {s.strip()[:2] for s in selection if s.strip()}
        unknown = wanted - {p.name[:2] for p in found}
        if unknown:
            raise ConfigError(f"no notebook numbered {', '.join(sorted(unknown))} in {directory}")
        found = [p for p in found if p.name[:2] in wanted]
    return found


def check_declared_parameters(paths: list[Path]) -> None:
    """Refuse notebooks whose parameters cell does not declare every parameter (its defaults would go unseen)."""
    import papermill

    for path in paths:
        missing = [name for name in PARAMETER_NAMES if name not in papermill.inspect_notebook(str(path))]
        if missing:
            raise ConfigError(f"{path} does not declare the parameter(s) {', '.join(missing)}: "
                              "run `make params` to regenerate its parameters cell")


def _error_summary(error: BaseException) -> str:
    """``Name: value`` of the exception a notebook cell raised (papermill keeps both)."""
    ename = getattr(error, "ename", type(error).__name__)
    evalue = getattr(error, "evalue", str(error))
    return f"{ename}: {evalue}"


def _failing_cell(output_path: Path) -> str:
    """The source of the cell papermill marked as failed in an executed notebook."""
    try:
        nb = json.loads(output_path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return ""
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return "".join(cell.get("source", ""))
    return ""


def run(files: list[str | Path], overrides: list[tuple[str, str]] = (), *, notebooks: list[str] | None = None,
        out: str | Path | None = None, hide_code: bool = False, notebooks_dir: Path | None = None,
        echo=print) -> RunResult:
    """Run the runbook and write its report. Raises ConfigError before running anything if parameters are bad."""
    params = load_parameters(list(files), list(overrides))
    started = time.monotonic()
    out_dir = (Path(out) if out else _new_run_dir()).resolve()
    cfg = validate({**params, "run_dir": str(out_dir)})  # before anything is created
    # The kernels run in notebooks/: pass them the state directory as an absolute path.
    cfg = replace(cfg, localcloud_state_dir=str(Path(cfg.localcloud_state_dir).resolve()))
    notebooks_dir = notebooks_dir or NOTEBOOKS_DIR
    selected = discover_notebooks(notebooks, notebooks_dir)
    if cfg.dry_run and notebooks is None:  # only what can be planned: the chaos experiment needs a real stack
        skipped = [p.stem for p in selected if p.stem in NO_DRY_RUN]
        selected = [p for p in selected if p.stem not in NO_DRY_RUN]
        if skipped:
            echo(f"dry run: not running {', '.join(skipped)} (it needs a real stack; select it to see why)")
    if not selected:
        raise ConfigError(f"no notebooks to run in {notebooks_dir}")
    check_declared_parameters(selected)
    out_dir.mkdir(parents=True, exist_ok=True)

    result = RunResult(run_id=out_dir.name, out_dir=str(out_dir), parameters=cfg.public_params(),
                       started_at=dt.datetime.now().isoformat(timespec="seconds"))
    result.notebooks = [NotebookResult(p.stem) for p in selected]
    with _StopSignals() as signals:
        cloud_was_running = _localcloud_running(cfg)
        try:
            with signals.deferred():
                _ensure_localcloud(cfg, echo)
            for index, (path, nb_result) in enumerate(zip(selected, result.notebooks), start=1):
                _run_one(cfg, path, nb_result, result, out_dir, notebooks_dir, hide_code,
                         f"[{index}/{len(selected)}]", started, echo)
                if nb_result.status != "passed":
                    break
        except Interrupted:  # between notebooks, or once the local cloud has started: nothing else to interrupt
            pass
        finally:
            signals.hold()  # from here on a signal must not cut the clean-up short
            if cfg.uses_local_cloud and not cloud_was_running:  # this run started it
                from localcloud import daemon

                if daemon.stop(cfg.localcloud_state_dir):
                    echo("local cloud stopped")
            result.duration_s = round(time.monotonic() - started, 2)
            if signals.received is not None:
                result.stopped_by = signal.Signals(signals.received).name
                result.status = "interrupted"
                echo(f"\nrunbook interrupted by {result.stopped_by}; not run: "
                     f"{', '.join(n.name for n in result.notebooks if n.status == 'not run') or 'none'}")
            else:
                result.status = "passed" if all(n.status == "passed" for n in result.notebooks) else "failed"
            (out_dir / "run.json").write_text(json.dumps(asdict(result), indent=2) + "\n")
            write_index(result, out_dir)
            if out is None:
                point_latest(out_dir)
    echo(f"runbook {result.status} in {result.duration_s:.1f} s: {out_dir / 'index.html'}")
    return result


def _run_one(cfg, path: Path, nb_result: NotebookResult, result: RunResult, out_dir: Path, notebooks_dir: Path,
             hide_code: bool, counter: str, started: float, echo) -> None:
    """Run one notebook of the run and fill in ``nb_result`` (and its HTML page), also when a signal interrupts it."""
    output = out_dir / path.name
    echo(f"{counter} {path.stem} ...", end="", flush=True)
    t0 = time.monotonic()
    interrupted: Interrupted | None = None
    try:
        # Every notebook declares every parameter and gets every value, validated and settled
        # (faulty_region a region, paths absolute), so that all of them build the same Config.
        execute_notebook(path, output, cfg.public_params(), cwd=notebooks_dir, kernel_log=out_dir / KERNEL_LOG)
        nb_result.status = "passed"
    except Interrupted as signalled:  # its kernel was interrupted and has cleaned up (execute_notebook)
        interrupted = signalled
        nb_result.status = "interrupted"
        nb_result.error = f"interrupted by {signal.Signals(signalled.signum).name}"
    except Exception as error:  # papermill raises PapermillExecutionError for a failing cell
        nb_result.status = "failed"
        nb_result.error = _error_summary(error) + _localcloud_gone(cfg)
        nb_result.failed_cell = _failing_cell(output)
    nb_result.duration_s = round(time.monotonic() - t0, 2)
    echo(f" {nb_result.status} ({nb_result.duration_s:.1f} s, {time.monotonic() - started:.0f} s elapsed)")
    if output.exists():
        nb_result.html = export_html(output, out_dir, hide_code=hide_code, nav=[n.name for n in result.notebooks],
                                     parameters=result.parameters, dry_run=cfg.dry_run)
    if nb_result.status == "failed":
        echo(f"\n{path.name} failed in this cell:\n{_indent(nb_result.failed_cell)}\n{nb_result.error}\n"
             f"executed notebook: {output}")
    if interrupted is not None:
        raise interrupted


def _localcloud_running(cfg) -> bool:
    if not cfg.uses_local_cloud:
        return False
    from localcloud import daemon

    return daemon.status(cfg.localcloud_state_dir)["running"]


def _localcloud_gone(cfg) -> str:
    """A sentence for a failed notebook's error when the local cloud it talked to is no longer running."""
    if not cfg.uses_local_cloud or _localcloud_running(cfg):
        return ""
    return (f" (the local cloud of {cfg.localcloud_state_dir} is not running any more: it was stopped or "
            "killed during the run; the next run starts a new one)")


def execute_notebook(path: Path, output: Path, parameters: dict[str, Any], *, cwd: Path, kernel_log: Path) -> None:
    """Run one notebook with papermill as a report run: no progress bars, the kernel's standard error in ``kernel_log``.

    Progress bars are for people watching a notebook; in a report they would be stale
    widgets, so the kernel inherits ``TQDM_DISABLE=1`` (``helpers.progress`` honours it).

    Papermill runs in a worker thread, so that this (main) thread keeps the
    runner's signal handlers (nbclient would otherwise set its own). When one
    raises ``Interrupted`` here, the kernel gets SIGINT, as Ctrl-C in a notebook
    sends: the running cell's ``finally`` blocks and context managers run (the
    chaos step undoes its fault). The kernel is killed if it has not finished
    within ``KERNEL_CLEANUP_S``; then ``Interrupted`` is raised again.
    """
    import papermill

    managers: list[Any] = []
    errors: list[BaseException] = []
    done = threading.Event()  # not Thread.join: a signal during join can mark a running thread stopped (CPython 3.11)

    def execute() -> None:
        try:
            papermill.execute_notebook(str(path), str(output), parameters=parameters, cwd=str(cwd),
                                       kernel_name="python3", progress_bar=False, log_output=False,
                                       kernel_manager_class=_recorded_kernel_manager(managers))
        except BaseException as error:  # handed to the main thread
            errors.append(error)
        finally:
            done.set()

    with progress.disabled(), _kernel_stderr_to(kernel_log):
        worker = threading.Thread(target=execute, name=f"papermill {path.stem}", daemon=True)
        try:
            worker.start()
            while not done.wait(0.1):  # short waits: the signal handlers run in this thread between them
                pass
        except Interrupted:
            _interrupt_kernels(done, managers)
            raise
    if errors:
        raise errors[0]


def _interrupt_kernels(done: threading.Event, managers: list[Any]) -> None:
    """SIGINT to each kernel (also one still starting) until papermill is ``done``; SIGKILL after ``KERNEL_CLEANUP_S``."""
    deadline = time.monotonic() + KERNEL_CLEANUP_S
    interrupted: set[int] = set()
    while not done.is_set() and time.monotonic() < deadline:
        for manager in managers:
            if id(manager) not in interrupted and _signal_kernel(manager, signal.SIGINT):
                interrupted.add(id(manager))
        done.wait(0.1)
    if not done.is_set():
        for manager in managers:
            _signal_kernel(manager, signal.SIGKILL)
        done.wait(KERNEL_KILL_WAIT_S)


def _recorded_kernel_manager(managers: list[Any]) -> type:
    """nbclient's kernel manager class, keeping each instance in ``managers`` (to reach its kernel's process)."""
    from jupyter_client.manager import AsyncKernelManager  # nbclient's default

    class RecordedKernelManager(AsyncKernelManager):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            managers.append(self)

    return RecordedKernelManager


def _signal_kernel(manager: Any, signum: int) -> bool:
    """Send ``signum`` to a kernel's process group (its own session), as jupyter_client's interrupt does; False
    while it has no process yet."""
    pgid = getattr(manager.provisioner, "pgid", None)
    if not pgid:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)
    return True


def _new_run_dir() -> Path:
    """``reports/<date-time>``, with a suffix when a run already started in the same second."""
    base = REPORTS_DIR / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def _ensure_localcloud(cfg, echo) -> bool:
    """Start the local cloud for a local run when none is running; True if this run started it."""
    if not cfg.uses_local_cloud:
        return False
    from helpers.setup import start_local_cloud

    info = start_local_cloud(cfg)
    if info["started"]:
        echo(f"local cloud started: {info['aws_endpoint']} (time scale {info['time_scale']})")
    return info["started"]


@contextlib.contextmanager
def _kernel_stderr_to(path: Path):
    """Send the standard error of the processes started meanwhile (the kernel) to ``path``.

    A kernel inherits file descriptor 2 and writes its start-up notices there, which
    would break the progress lines; the run directory keeps them. This process's own
    ``sys.stderr`` (Python warnings and log records, papermill's among them) stays
    where it was, so ``kernels.log`` holds only what the kernels wrote.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    own_stderr = sys.stderr
    with open(path, "ab") as log, open(os.dup(saved), "w", buffering=1, encoding="utf-8",
                                       errors="backslashreplace") as terminal:
        os.dup2(log.fileno(), 2)
        sys.stderr = terminal
        try:
            yield
        finally:
            sys.stderr = own_stderr
            terminal.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="runbook", description="Run the multi-region active-active runbook.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run the notebooks in order and write a report")
    p.add_argument("-f", "--parameters-file", action="append", default=[], metavar="PARAMS.yaml",
                   help="a YAML parameter file; later files override earlier ones")
    p.add_argument("-p", "--parameter", action="append", nargs=2, default=[], metavar=("NAME", "VALUE"),
                   help="one parameter (value parsed as YAML); overrides the files")
    p.add_argument("--notebooks", help="comma-separated notebook numbers, e.g. 00,01")
    p.add_argument("--out", help="report directory (default reports/<run-id>, and reports/latest points at it)")
    p.add_argument("--hide-code", action="store_true", help="leave code cells out of the HTML pages")
    from helpers import sweep, sweep_report

    sweep.add_arguments(sub.add_parser("sweep", help="run the chaos step over a grid of settings on one built stack, "
                                       "and compare them on one page"))
    c = sub.add_parser("compare", help="the comparison page of existing runs (run or sweep directories)")
    c.add_argument("dirs", nargs="+", metavar="DIR", help="a run's report directory, or a directory of runs (a sweep)")
    c.add_argument("--out", required=True, help="where to write index.html")
    c.add_argument("--target-rto", type=float, metavar="AWS_SECONDS", help="recommend for this recovery-time target")
    args = parser.parse_args(argv)
    try:
        if args.command == "sweep":
            return sweep.main(args)
        if args.command == "compare":
            print(f"comparison page: {sweep_report.compare(args.dirs, args.out, args.target_rto)}")
            return 0
        result = run(args.parameters_file, [tuple(x) for x in args.parameter],
                     notebooks=args.notebooks.split(",") if args.notebooks else None,
                     out=args.out, hide_code=args.hide_code)
    except ConfigError as error:
        print(f"runbook: {error}", file=sys.stderr)
        return 2
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
