"""Benchmark: MRSC against MREC write latency in one run, next to the modelled inter-Region round trip.

On a local cloud at time scale 1 (AWS time), one client in us-east-1 puts
``WRITES`` items, one after the other, into an MREC global table (replicas in
us-east-1 and us-west-2) and into an MRSC one (the same replicas and a witness
in us-east-2), interleaved so both see the same machine load. An MRSC write
is acknowledged after the round trip to the nearest other Region of its table
(here the witness, ``round_trip_ms`` from ``awsfacts.latency``), so the
difference of the medians, ``mrsc_extra_write_ms``, should follow that round
trip (the ratio is reported beside it), whatever moto's own cost per request.

``python -m bench.consistency`` starts its own local cloud, prints the JSON
and stops it. Takes about 10 s. The lab's run time comes from the runbook
benchmark (``consistency_metrics.json``'s ``run_s``).
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from typing import Any

from awsfacts.latency import round_trip_ms
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
    ddb = _client(status, WRITER)
    suffix = uuid.uuid4().hex[:6]
    mrec, mrsc = f"bench-mrec-{suffix}", f"bench-mrsc-{suffix}"
    _table(ddb, mrec)
    _table(ddb, mrsc, MultiRegionConsistency="STRONG", GlobalTableWitnessUpdates=[{"Create": {"RegionName": WITNESS}}])
    times: dict[str, list[float]] = {mrec: [], mrsc: []}
    for i in range(WRITES):
        for table in (mrec, mrsc):
            began = time.perf_counter()
            ddb.put_item(TableName=table, Item={"item_id": {"S": f"i{i}"}})
            times[table].append((time.perf_counter() - began) * 1000.0)
    rtt = round_trip_ms(WRITER, WITNESS) * status["time_scale"]
    mrec_p50, mrsc_p50 = statistics.median(times[mrec]), statistics.median(times[mrsc])
    return {
        "time_scale": status["time_scale"],
        "writes": WRITES,
        "mrec_write_p50_ms": common.rounded(mrec_p50, 2),
        "mrsc_write_p50_ms": common.rounded(mrsc_p50, 2),
        "mrsc_extra_write_ms": common.rounded(mrsc_p50 - mrec_p50, 2),
        "round_trip_ms": common.rounded(rtt, 2),
        "mrsc_vs_mrec_write": common.rounded(mrsc_p50 / mrec_p50, 2),
    }


if __name__ == "__main__":
    sys.exit(common.main(run, prefix="bench-consistency-", time_scale=TIME_SCALE))
