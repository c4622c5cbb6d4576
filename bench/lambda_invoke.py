"""Benchmark: warm and cold Lambda invocation latency through ``lambda.invoke`` on the local cloud.

* **warm:** repeated invocations of a tiny function whose environment stays
  up; next to it, a plain control-plane call (``GetFunctionConfiguration``,
  answered by moto alone) in the same run for scale: a warm invoke's whole
  round trip (boto3, HTTP, the override, the pipe to the worker and back)
  should stay well under 5 ms;
* **cold:** each invocation follows an ``UpdateFunctionConfiguration``, which
  retires the environment (as on AWS), so it pays a process start and the
  handler's imports: once for the tiny function (stdlib only) and once for the
  backend's ``get_item`` (which imports boto3, as the real functions do).

``run(status)`` takes a running local cloud's status and returns a flat dict
(milliseconds), in about 10 s. ``python -m bench.lambda_invoke`` starts a local
cloud of its own, prints the result as JSON and stops it.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
import uuid
import zipfile
from typing import Any, Callable

from bench import common

WARM_INVOCATIONS = 200
COLD_INVOCATIONS = 5
TINY = "def handler(event, context):\n    return {'ok': True}\n"


def _stats(prefix: str, samples_s: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {
        f"{prefix}_p50_ms": common.rounded(common.percentile(ms, 0.50), 3),
        f"{prefix}_p99_ms": common.rounded(common.percentile(ms, 0.99), 3),
        f"{prefix}_mean_ms": round(statistics.fmean(ms), 3),
        f"{prefix}_n": len(ms),
    }


def _time(call: Callable[[], Any], times: int) -> list[float]:
    samples = []
    for _ in range(times):
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return samples


def run(status: dict[str, Any]) -> dict[str, Any]:
    """Measure warm and cold invocation latency on the running local cloud ``status``."""
    import boto3

    from helpers.lambdas import package_functions

    region = "eu-west-1"
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    lam = session.client("lambda", endpoint_url=status["aws_endpoint"])
    iam = session.client("iam", endpoint_url=status["aws_endpoint"])
    suffix = uuid.uuid4().hex[:6]
    role = iam.create_role(RoleName=f"bench-lambda-{suffix}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("tiny.py", TINY)
    functions = {
        "tiny": (f"bench-tiny-{suffix}", "tiny.handler", buffer.getvalue()),
        "get_item": (f"bench-get-{suffix}", "get_item.handler", package_functions()),
    }
    for name, handler, code in functions.values():
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler=handler,
                            Code={"ZipFile": code}, Environment={"Variables": {"TABLE_NAME": "unused", "RUN": "0"}})

    result: dict[str, Any] = {"region": region}
    try:
        tiny = functions["tiny"][0]

        def invoke_tiny() -> None:
            response = lam.invoke(FunctionName=tiny, Payload=b"{}")
            if response.get("FunctionError"):
                raise RuntimeError(response["Payload"].read())
            response["Payload"].read()

        invoke_tiny()  # start the environment and warm the HTTP connection
        _time(lambda: lam.get_function_concurrency(FunctionName=tiny), 20)
        result.update(_stats("warm_invoke", _time(invoke_tiny, WARM_INVOCATIONS)))
        result.update(_stats("control_plane_call", _time(lambda: lam.get_function_concurrency(FunctionName=tiny), WARM_INVOCATIONS)))
        result["warm_invoke_vs_control_plane_call"] = round(result["warm_invoke_p50_ms"] / result["control_plane_call_p50_ms"], 2)

        for label, (name, _, _) in functions.items():
            samples = []
            for run_number in range(1, COLD_INVOCATIONS + 1):
                lam.update_function_configuration(FunctionName=name, Environment={
                    "Variables": {"TABLE_NAME": "unused", "RUN": str(run_number)}})
                began = time.perf_counter()
                lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read()
                samples.append(time.perf_counter() - began)
            result.update(_stats(f"cold_invoke_{label}", samples))
    finally:
        for name, _, _ in functions.values():
            lam.delete_function(FunctionName=name)
        iam.delete_role(RoleName=f"bench-lambda-{suffix}")
    return result


def main() -> int:
    """Start a local cloud of our own, run the benchmark, print JSON, stop it."""
    return common.main(run, prefix="bench-lambda-")


if __name__ == "__main__":
    sys.exit(main())
