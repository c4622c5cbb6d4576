"""``make lab``: a command (JupyterLab) with the local cloud, which stops with it when this started it.

``python -m helpers.lab [--state-dir DIR] [--time-scale X] -- COMMAND...``

A local cloud already running for the state directory is used and left running
(someone else started it); otherwise one is started at the given time scale and
stopped when the command exits, however it exits: normally, Ctrl-C (which reaches
JupyterLab too, so it shuts down its kernels itself), or SIGTERM/SIGHUP (passed
on to the command as SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path

from localcloud import daemon

FORWARDED = (signal.SIGTERM, signal.SIGHUP)  # passed on to the command; SIGINT reaches it from the terminal


def _default_sigint() -> None:
    """In the command's process, before it runs: Ctrl-C has its default meaning there."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_with_local_cloud(command: list[str], state_dir: str | Path, time_scale: float, echo=print) -> int:
    """Run ``command`` with a local cloud; stop the cloud afterwards if this call started it. The command's exit code."""
    status = daemon.status(state_dir)
    started = not status["running"]
    if started:
        status = daemon.start(state_dir, time_scale=time_scale)
        echo(f"local cloud started: {status['aws_endpoint']} (time scale {status['time_scale']}); "
             "it stops when JupyterLab exits")
    else:
        echo(f"local cloud already running: {status['aws_endpoint']} (time scale {status['time_scale']}); "
             "left running when JupyterLab exits (`localcloud stop` stops it)")
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, *FORWARDED)}
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the command has it too: wait for it to finish
    # Ignored before the command starts (no window where Ctrl-C kills this launcher), default in the command.
    child = subprocess.Popen(command, preexec_fn=_default_sigint)
    for sig in FORWARDED:
        signal.signal(sig, lambda *_: child.terminate())
    try:
        return child.wait()
    finally:  # with Ctrl-C still ignored: a second one (JupyterLab's "press twice") must not cut the stop short
        if child.poll() is None:
            child.terminate()
            child.wait()
        if started:
            daemon.stop(state_dir)
            echo("local cloud stopped")
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.lab", description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", default=str(daemon.DEFAULT_STATE_DIR), help="default: .localcloud/ in the project")
    parser.add_argument("--time-scale", type=float, default=1.0, help="for a local cloud this starts")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("a command to run is needed, after --")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # from the start to the exit: Ctrl-C is the command's to act on
    code = run_with_local_cloud(command, args.state_dir, args.time_scale)
    return code if code >= 0 else 128 - code  # killed by a signal: the shell's convention


if __name__ == "__main__":
    sys.exit(main())
