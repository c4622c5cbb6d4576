"""``lambda.invoke`` on the control plane: the wire side of an invocation (headers, status codes, payload limit).

RequestResponse runs the function and answers its result, Event runs it in
the background (202), DryRun checks that the function exists (204); errors as
the Invoke API reference lists them.
"""

from __future__ import annotations

import base64
import concurrent.futures
import json
import logging
import uuid
from typing import Any

from awsfacts.awslambda import MAX_SYNC_PAYLOAD_BYTES
from localcloud.controlplane import AwsError, Call, Raw
from localcloud.lambda_runtime.model import FunctionNotFound, InvalidRequestContent, TooManyRequests

log = logging.getLogger(__name__)

# "LogType Tail: the last 4 KB of the execution log" (Invoke API reference).
LOG_TAIL_BYTES = 4 * 1024


class InvokeApi:
    """Answers ``lambda:Invoke`` with the runtime (registered on the control plane)."""

    def __init__(self, runtime: Any, controlplane: Any):
        self._runtime = runtime
        self._async = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="lambda-event")
        controlplane.register("lambda", "Invoke", self._invoke_api)

    def stop(self) -> None:
        """Drop asynchronous invocations not started yet."""
        self._async.shutdown(wait=False, cancel_futures=True)

    def _invoke_api(self, call: Call) -> Raw:
        """``lambda.invoke``: RequestResponse runs and answers the result, Event runs in the background (202),
        DryRun checks the function exists (204)."""
        params = call.params
        name = params["FunctionName"]
        qualifier = params.get("Qualifier")
        invocation_type = params.get("InvocationType") or "RequestResponse"
        payload = params.get("Payload") or b""
        if isinstance(payload, str):
            payload = payload.encode()
        request_id = str(uuid.uuid4())
        headers = {"x-amzn-RequestId": request_id}
        if len(payload) > MAX_SYNC_PAYLOAD_BYTES:
            raise AwsError("RequestEntityTooLargeException",
                           f"Request must be smaller than {MAX_SYNC_PAYLOAD_BYTES} bytes for the InvokeFunction operation", 413)
        try:
            if invocation_type == "DryRun":
                self._runtime.function_config(call.region, name, qualifier)
                return _raw(204, headers, b"")
            if invocation_type == "Event":
                self._runtime.function_config(call.region, name, qualifier)
                self._async.submit(self._invoke_event, call.region, name, payload, request_id, qualifier)
                return _raw(202, headers, b"")
            result = self._runtime.invoke(call.region, name, payload, request_id, qualifier=qualifier)
        except FunctionNotFound as error:
            raise AwsError("ResourceNotFoundException", str(error), 404) from None
        except InvalidRequestContent as error:
            raise AwsError("InvalidRequestContentException", str(error), 400) from None
        except TooManyRequests as error:
            body = json.dumps({"Reason": error.reason, "Type": "User", "message": "Rate Exceeded."}).encode()
            return _raw(429, {**headers, "x-amzn-ErrorType": "TooManyRequestsException"}, body)
        headers["X-Amz-Executed-Version"] = result.executed_version
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if params.get("LogType") == "Tail":
            tail = result.log.encode()[-LOG_TAIL_BYTES:]
            headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
        return _raw(200, headers, result.payload)

    def _invoke_event(self, region: str, name: str, payload: bytes, request_id: str, qualifier: str | None) -> None:
        try:
            self._runtime.invoke(region, name, payload, request_id, qualifier=qualifier)
        except Exception as error:  # an asynchronous invocation has no caller to tell
            log.warning("asynchronous invocation %s of %s failed: %s", request_id, name, error)


def _raw(status: int, headers: dict[str, str], body: bytes) -> Raw:
    return Raw(status, {"Content-Type": "application/json", **headers, "Content-Length": str(len(body))}, body)
