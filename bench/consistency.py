"""Benchmark: MRSC against MREC write latency in one run, and the consistency lab's run time.

**Latency**, on a local cloud at time scale 1 (AWS time): one client in
us-east-1 writes ``WRITES`` items into an MREC global table (replicas in
us-east-1 and us-west-2) and into an MRSC one (the same replicas and a witness
in us-east-2), interleaved so both see the same machine load
(``helpers.consistency_lab.measure_write_latency``, the lab's own definition).
An MRSC write is acknowledged after the round trip to the nearest other Region
of its table (here the witness, ``awsfacts.latency``), so the median pairwise
difference, ``mrsc_extra_write_ms`` (± its standard error,
``mrsc_extra_write_error_ms``), should follow that round trip (the ratio is
reported beside it), whatever moto's own cost per request.

**Lab run time**, on a second local cloud at the runbook's default time scale:
``create_lab_tables`` and then ``run_lab`` with the default parameters (the
lab's tables only, no API stack: the lab does not use it), ``lab_s`` timing
``run_lab`` alone, as the lab's notebook step does.

``python -m bench.consistency`` starts its own local clouds, prints the JSON
and stops them. Takes about half a minute.
"""

from __future__ import annotations

import sys
import time
import uuid
from typing import Any

from bench import common

WRITES = 40
WRITER, OTHER, WITNESS = "us-east-1", "us-west-2", "us-east-2"
TIME_SCALE = 1.0


def _client(status: dict[str, Any], region: str) -> Any:
    import boto3

    return boto3.client("dynamodb", region_name=region, endpoint_url=status["aws_endpoint"],
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _table(ddb: Any, name: str, **update: Any) -> None:
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    ddb.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": OTHER}}], **update)
    deadline = time.monotonic() + 60
    while ddb.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} did not become ACTIVE")
        time.sleep(0.2)


def run(status: dict[str, Any]) -> dict[str, Any]:
    """Median MRSC and MREC put latency (ms) from one client, interleaved, and the modelled round trip."""
    from helpers.consistency_lab import measure_write_latency

    ddb = _client(status, WRITER)
    suffix = uuid.uuid4().hex[:6]
    mrec, mrsc = f"bench-mrec-{suffix}", f"bench-mrsc-{suffix}"
    _table(ddb, mrec)
    _table(ddb, mrsc, MultiRegionConsistency="STRONG", GlobalTableWitnessUpdates=[{"Create": {"RegionName": WITNESS}}])
    latency = measure_write_latency(ddb, WRITER, mrec, mrsc, [WRITER, OTHER, WITNESS], status["time_scale"],
                                    WRITES, item=lambda i: {"item_id": {"S": f"i{i}"}})
    return {
        "time_scale": latency.time_scale,
        "writes": latency.writes,
        "mrec_write_p50_ms": common.rounded(latency.mrec_wall_ms, 2),
        "mrsc_write_p50_ms": common.rounded(latency.mrsc_wall_ms, 2),
        "mrsc_extra_write_ms": common.rounded(latency.extra_aws_ms, 2),
        "mrsc_extra_write_error_ms": common.rounded(latency.extra_error_aws_ms, 2),
        "round_trip_ms": common.rounded(latency.model_extra_ms, 2),
        "mrsc_vs_mrec_write": common.rounded(latency.mrsc_wall_ms / latency.mrec_wall_ms, 2),
    }


def run_lab(status: dict[str, Any]) -> dict[str, Any]:
    """The lab's run time with the default parameters on the local cloud ``status``, and its headline."""
    from helpers.consistency_lab import create_lab_tables, delete_lab_tables, run_lab as lab
    from helpers.consistency_report import headline

    cfg, clients = common.bench_config(status)
    create_lab_tables(cfg, clients)
    began = time.perf_counter()
    result = lab(cfg, clients)
    lab_s = time.perf_counter() - began
    delete_lab_tables(cfg, clients)
    return {"time_scale": status["time_scale"], "consistency_updates": cfg.consistency_updates,
            "partition_s": cfg.partition_s, "lab_s": common.rounded(lab_s, 1), "headline": headline(result)}


def run_own() -> dict[str, Any]:
    """Both measurements, each on a local cloud of its own (latency at time scale 1, the lab at the default)."""
    with common.local_cloud(TIME_SCALE, prefix="bench-consistency-") as status:
        result = run(status)
    with common.local_cloud(prefix="bench-consistency-lab-") as status:
        result["lab"] = run_lab(status)
    return result


if __name__ == "__main__":
    common.quiet_progress_bars()
    import json

    print(json.dumps(run_own(), indent=2))
    sys.exit(0)
