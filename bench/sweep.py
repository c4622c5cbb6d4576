"""Benchmark: ``make sweep`` (the default grid, 16 configurations x 3 runs) on a local cloud of its own.

``sweep_s`` is the sweep command's wall time from start to exit: the local
cloud's start, each lane's build (00-05), every chaos run, the teardowns and
the comparison page. The sweep's ``comparison.csv`` gives, per configuration,
the measured median recovery time and the model's band (the median over the
configuration's runs of each run's own p5, median and p95): ``within_band``
counts the configurations whose median lies in it, and ``worst`` is the one
whose median lies furthest from the model's median, relative to it.

``python -m bench.sweep`` prints the result as JSON (about 7 minutes).
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

import pandas as pd

from bench import common
from helpers.sweep_report import chance_outside

PARAMETERS = common.PROJECT_ROOT / "parameters" / "local.yaml"
GOAL_S = 600.0  # the goal: the default grid within 10 minutes on 2 cores


def run(parameters: Path = PARAMETERS, timeout_s: float = 3 * GOAL_S) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    out = work / "sweep"
    command = [str(Path(sys.executable).with_name("runbook")), "sweep", "-f", str(parameters),
               "-p", "localcloud_state_dir", str(work / "localcloud"), "--out", str(out)]
    try:
        began = time.perf_counter()
        done = subprocess.run(command, cwd=common.PROJECT_ROOT, capture_output=True, text=True, timeout=timeout_s)
        wall_s = time.perf_counter() - began
        if not (out / "comparison.csv").exists():
            raise RuntimeError(f"the sweep wrote no comparison (exit {done.returncode}):\n{done.stdout[-3000:]}")
        return {"sweep_s": round(wall_s, 1), "exit_code": done.returncode, **judge(pd.read_csv(out / "comparison.csv")),
                "lanes": json.loads((out / "sweep.json").read_text())["lanes"], "not_passed": not_passed(out)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def not_passed(out: Path) -> dict[str, str]:
    """The runs that did not pass, with the error their ``run.json`` gives (kept: the sweep's directory is removed)."""
    found = {}
    for run_json in sorted(out.glob("runs/*/*/run.json")):
        run = json.loads(run_json.read_text())
        if run["status"] != "passed":
            errors = [n["error"] for n in run["notebooks"] if n.get("error")]
            found[str(run_json.parent.relative_to(out))] = f"{run['status']}: {errors[0] if errors else ''}"[:500]
    return found


def judge(comparison: pd.DataFrame) -> dict[str, Any]:
    """How many configurations' measured medians lie in the model's band, and the furthest from its median."""
    failover = comparison[comparison["failover_expected"].astype(bool)].copy()
    failover["ratio"] = failover["recovery_median_s"] / failover["model_median_s"]
    worst = failover.loc[(failover["ratio"] - 1).abs().idxmax()]
    names = [c for c in comparison.columns if c in ("health_check_interval", "health_check_failure_threshold",
                                                     "record_ttl", "fault")]
    return {
        "configurations": int(len(comparison)), "runs": int(comparison["runs"].sum()),
        "within_band": int(failover["within_band"].astype(bool).sum()), "failover_configurations": int(len(failover)),
        "outside_by_chance": round(sum(chance_outside(int(n)) for n in failover["runs"]), 2),
        "worst": {"configuration": ", ".join(f"{n} {worst[n]}" for n in names),
                  "recovery_median_s": float(worst["recovery_median_s"]), "model_median_s": float(worst["model_median_s"]),
                  "model_p5_s": float(worst["model_p5_s"]), "model_p95_s": float(worst["model_p95_s"]),
                  "ratio": round(float(worst["ratio"]), 2), "within_band": bool(worst["within_band"])},
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
