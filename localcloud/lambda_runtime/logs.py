"""Invocation logs: framed as Lambda frames them, shipped to CloudWatch Logs in moto's logs backend.

Each invocation's output, framed by ``START``/``END``/``REPORT`` lines, goes to
``/aws/lambda/<function>``, one log stream per execution environment, so
``aws logs tail`` shows it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from localcloud.controlplane import moto_backend
from localcloud.lambda_runtime.model import FunctionConfig

log = logging.getLogger(__name__)

# Invocation logs reach CloudWatch Logs in batches, at most this long after the invocation
# (on AWS, usually within seconds). One write per batch keeps the per-request cost low.
LOG_BATCH_S = 0.05


class LogShipper:
    """A writer thread that puts invocation logs into CloudWatch Logs, in batches."""

    def __init__(self, account_id: str):
        self.account_id = account_id
        self._logs: queue.Queue = queue.Queue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._write, name="lambda-logs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write what is queued, then end the writer thread."""
        self._stopping.set()
        self._logs.put(None)
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def publish(self, config: FunctionConfig, stream: str, text: str) -> None:
        """Hand the invocation's log to the writer thread (CloudWatch Logs in moto)."""
        self._logs.put((config.region, config.log_group, stream, int(time.time() * 1000), text))

    def _write(self) -> None:
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
                    logs = moto_backend("logs", region, self.account_id)
                    logs.ensure_log_group(group)
                    logs.ensure_log_stream(group, stream)
                    if events:
                        logs.put_log_events(group, stream, events)
                except Exception:  # logs are best effort: never fail the local cloud for them
                    log.debug("writing lambda logs to %s failed", group, exc_info=True)
            if None in items:
                return


def log_stream_name() -> str:
    """A log stream per environment, named as Lambda names them: ``2026/11/26/[$LATEST]<hex>``."""
    return datetime.now(timezone.utc).strftime("%Y/%m/%d") + f"/[$LATEST]{uuid.uuid4().hex}"


def frame_log(request_id: str, config: FunctionConfig, output: str, duration_ms: float, max_memory_mb: int | None,
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
