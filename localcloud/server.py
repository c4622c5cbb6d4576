"""The local cloud process: ``python -m localcloud.server --state-dir DIR`` (started by ``localcloud start``)."""

from __future__ import annotations

import argparse
import fcntl
import gc
import logging
import signal
import sys
import threading
import time
from pathlib import Path

from localcloud.settings import PortInUse, Settings, add_start_options

EXIT_ALREADY_RUNNING = 3
EXIT_CANNOT_START = 4
LOCK_WAIT_S = 0.5  # how long a start waits for a lock that a status probe may hold


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud.server")
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    add_start_options(parser)
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    state_dir = args.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        state_dir=state_dir, time_scale=args.time_scale, replication_delay_s=args.replication_delay,
        host=args.host, control_port=args.port, dns_port=args.dns_port, api_port=args.api_port,
    )

    # One local cloud per state directory: the lock is held for the life of the process
    # (``localcloud status`` and ``stop`` trust a recorded PID only while it is held).
    lock = open(settings.lock_file, "w")
    if not _take(lock):
        print(f"a local cloud is already running with state directory {state_dir}", file=sys.stderr)
        return EXIT_ALREADY_RUNNING
    settings.status_file.unlink(missing_ok=True)  # left by a cloud that died: its PID is no longer ours

    from localcloud.cloud import LocalCloud
    from localcloud.component import MissingComponent

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())

    try:
        cloud = LocalCloud(settings)
        cloud.start()
    except (MissingComponent, PortInUse) as error:  # a start that cannot work: say why, no traceback
        logging.getLogger("localcloud").error("cannot start: %s", error)
        return EXIT_CANNOT_START
    # moto, botocore's models and the components leave ~100k long-lived objects
    # that every full garbage collection would walk again: a 60-100 ms pause of
    # every request, DNS answer and replicated write on a 2-core machine. Freeze
    # them out of the collector (CPython's advice for long-lived servers).
    gc.collect()
    gc.freeze()
    gc.callbacks.append(freeze_survivors)
    cloud.write_state_files()
    cloud.regions.subscribe(lambda region: cloud.write_state_files())
    logging.getLogger("localcloud").info("ready: %s", cloud.controlplane.endpoint)
    try:
        stopping.wait()
    finally:
        logging.getLogger("localcloud").info("stopping")
        cloud.stop()
        settings.status_file.unlink(missing_ok=True)
        lock.close()
    return 0


def _take(lock) -> bool:
    """Take the state directory's lock; False when another local cloud holds it.

    Retried for a moment: ``localcloud status`` probes the lock (shared, for
    microseconds) while a starting cloud takes it.
    """
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)


def freeze_survivors(phase: str, info: dict[str, int]) -> None:
    """After each full collection, take its survivors out of the collector's sight (``gc.freeze``).

    The local cloud keeps every item, stream record and log event it is given,
    and a full collection walks every object the collector tracks, so without
    this its pauses would grow with what the cloud holds, and every request,
    DNS answer and health probe would wait that long (a waiting API request can
    make the Lambda runtime start another environment). Survivors of a full
    collection are long-lived; once
    frozen, later collections walk only what was allocated since, so pauses
    stay short however much the cloud holds. The trade-off: a frozen object
    that later becomes garbage inside a reference cycle is not reclaimed
    (garbage without cycles is freed by reference counting, as always).
    """
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
