"""Benchmark: the whole runbook on the local cloud, its wall time per notebook, and the local cloud's peak memory.

Runs ``runbook run -f parameters/local.yaml`` (what ``make runbook`` runs)
with a local cloud state directory and an output directory of its own, so
the runner starts the local cloud, runs every notebook and stops it, exactly
as a user's run does. The figures come from the runner's ``run.json``
(``runbook_s`` is its ``duration_s``: local cloud start, every notebook with
papermill, the HTML report, the stop) and from the chaos notebook's
``chaos_metrics.json``. Meanwhile a thread samples the local cloud's process
tree: ``localcloud_peak_rss_mb`` is the largest sum, at one moment, of the
peak resident size (VmHWM) of the server and the Lambda workers alive then.

``python -m bench.runbook`` prints the result as JSON (about a minute).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import common

PARAMETERS = common.PROJECT_ROOT / "parameters" / "local.yaml"
CHAOS_KEYS = ("fault", "rto_s", "expected_rto_s", "detection_s", "dns_convergence_s", "errors", "lost_writes",
              "replication_lag_p50_ms", "replication_lag_p99_ms")


def run(parameters: Path = PARAMETERS, timeout_s: float = 600.0) -> dict[str, Any]:
    """Run every notebook on a fresh local cloud and return wall times, peak memory and the chaos figures."""
    from localcloud import daemon

    work = Path(tempfile.mkdtemp(prefix="bench-runbook-"))
    state_dir, out_dir = work / "localcloud", work / "run"
    runbook = Path(sys.executable).with_name("runbook")
    command = [str(runbook), "run", "-f", str(parameters), "-p", "localcloud_state_dir", str(state_dir),
               "--out", str(out_dir)]

    def server_pid() -> int | None:
        current = daemon.status(state_dir)
        return current.get("pid") if current["running"] else None

    try:
        began = time.perf_counter()
        with common.MemoryWatch(server_pid) as memory:
            done = subprocess.run(command, cwd=common.PROJECT_ROOT, capture_output=True, text=True, timeout=timeout_s)
        wall_s = time.perf_counter() - began
        try:
            report = json.loads((out_dir / "run.json").read_text())
        except FileNotFoundError:
            raise RuntimeError(f"the runbook wrote no run.json (exit {done.returncode}):\n{done.stdout[-3000:]}\n"
                               f"{done.stderr[-3000:]}") from None
        result: dict[str, Any] = {
            "runbook_status": report["status"],
            "runbook_s": report["duration_s"],
            "runbook_process_s": round(wall_s, 2),
            "notebook_s": {nb["name"]: nb["duration_s"] for nb in report["notebooks"]},
            "localcloud_peak_rss_mb": round(memory.peak_mb, 1),
            "localcloud_server_peak_rss_mb": round(memory.server_peak_mb, 1),
            "localcloud_max_processes": memory.max_processes,
        }
        if report["status"] != "passed":
            failed = [nb for nb in report["notebooks"] if nb["status"] == "failed"]
            result["runbook_error"] = (failed[0]["name"] + ": " + failed[0]["error"])[:2000] if failed else done.stdout[-2000:]
        lab = out_dir / "consistency_metrics.json"
        if lab.exists():
            result["consistency"] = {"run_s": json.loads(lab.read_text())["run_s"]}
        chaos = out_dir / "chaos_metrics.json"
        if chaos.exists():
            metrics = json.loads(chaos.read_text())
            result["chaos"] = {k: metrics.get(k) for k in CHAOS_KEYS}
        return result
    finally:
        daemon.stop(state_dir)  # in case the runner died before stopping it
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    """Run the runbook once and print the figures as JSON."""
    print(json.dumps(run(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
