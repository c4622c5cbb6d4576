"""Benchmark: how long ``localcloud start`` takes until the local cloud is ready.

Each run starts a local cloud in a fresh state directory with
``localcloud.daemon.start`` (what ``localcloud start`` and the runbook's
setup use: it returns once the server has written ``status.json``, i.e. the
control plane, DNS, gateways and every data-plane component are up), checks
that it answers (``sts get-caller-identity`` over its endpoint), and stops
it. ``localcloud_start_s`` is the median over ``RUNS``; the first run pays a
cold file cache and is kept apart (``localcloud_first_start_s``).

``python -m bench.localcloud_start`` prints the result as JSON (about 10 s).
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from typing import Any

from bench import common

RUNS = 5


def run(runs: int = RUNS, time_scale: float = common.DEFAULT_TIME_SCALE) -> dict[str, Any]:
    """Start and stop the local cloud ``runs`` + 1 times; start-to-ready seconds (the first run reported apart)."""
    import boto3

    from localcloud import daemon

    samples, stops = [], []
    for _ in range(runs + 1):
        state_dir = tempfile.mkdtemp(prefix="bench-start-")
        try:
            began = time.perf_counter()
            status = daemon.start(state_dir, time_scale=time_scale)
            samples.append(time.perf_counter() - began)
            sts = boto3.client("sts", endpoint_url=status["aws_endpoint"], region_name="us-east-1",
                               aws_access_key_id="testing", aws_secret_access_key="testing")
            sts.get_caller_identity()  # ready means answering
            began = time.perf_counter()
            daemon.stop(state_dir)
            stops.append(time.perf_counter() - began)
        finally:
            daemon.stop(state_dir)
            shutil.rmtree(state_dir, ignore_errors=True)
    first, rest = samples[0], samples[1:]
    return {
        "localcloud_start_s": round(statistics.median(rest), 3),
        "localcloud_start_max_s": round(max(rest), 3),
        "localcloud_first_start_s": round(first, 3),
        "localcloud_start_runs": len(rest),
        "localcloud_stop_s": round(statistics.median(stops), 3),
    }


def main() -> int:
    """Print the start-time figures as JSON."""
    print(json.dumps(run(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
