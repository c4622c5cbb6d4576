"""The Lambda runtime component: deployed handlers run in warm worker processes.

moto stores Lambda functions but, without Docker, never runs them. This
component runs them the way the Lambda service does, with one collaborator per
job: ``functions`` (configuration and code from moto), ``pool`` (which
environment serves a request), ``worker`` (the processes and one invocation in
one), ``logs`` (CloudWatch Logs), ``permission_cache`` (resource policies) and
``invoke_api`` (``lambda.invoke`` on the control plane). Other components (the
gateway) call :meth:`LambdaRuntime.invoke` directly.
"""

from __future__ import annotations

import json
import logging
import pickle
import uuid
from dataclasses import replace
from typing import Any, Iterable

from awsfacts.awslambda import MAX_SYNC_PAYLOAD_BYTES
from localcloud.component import Component
from localcloud.lambda_runtime.functions import Functions
from localcloud.lambda_runtime.invoke_api import InvokeApi
from localcloud.lambda_runtime.logs import LogShipper, log_stream_name
from localcloud.lambda_runtime.model import FunctionConfig, InvokeResult, PermissionDenied, TooManyRequests
from localcloud.lambda_runtime.permission_cache import PermissionCache
from localcloud.lambda_runtime.pool import IDLE_TTL_S, MAX_ENVIRONMENTS, Lease, Pools, Retired
from localcloud.lambda_runtime.worker import INIT_TIMEOUT_S, run, start_environment

log = logging.getLogger(__name__)


class LambdaRuntime(Component):
    """Runs deployed Lambda handlers in warm worker processes."""

    name = "lambda_runtime"

    def __init__(self, cloud: Any, max_environments: int = MAX_ENVIRONMENTS):
        super().__init__(cloud)
        self.max_environments = max_environments
        self._functions = Functions(cloud.account_id, cloud.settings.state_dir)
        self._permissions = PermissionCache(cloud.account_id)
        self._pools = Pools(max_environments, cloud.scaled(IDLE_TTL_S))
        self._logs = LogShipper(cloud.account_id)
        self._api = InvokeApi(self, cloud.controlplane)
        self._stopping = False

    # ------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self._stopping = False
        self._logs.start()
        self._pools.start()

    def stop(self) -> None:
        """Kill every worker process (none outlives the local cloud)."""
        self._stopping = True
        self._api.stop()
        self._pools.stop()
        self._logs.stop()

    def status(self) -> dict[str, Any]:
        return {"lambda_environments": self.environment_count()}

    def environment_count(self) -> int:
        """Execution environments alive now (busy or idle), over all functions."""
        return self._pools.environment_count()

    def worker_pids(self) -> list[int]:
        """Process ids of every live environment, busy or idle (for tests and diagnostics)."""
        return self._pools.worker_pids()

    # ---------------------------------------------------------------- invoke
    def invoke(self, region: str, function_name_or_arn: str, payload: bytes, request_id: str | None = None,
               qualifier: str | None = None, caller: tuple[str, tuple[str, ...]] | None = None) -> InvokeResult:
        """Run the function once, synchronously (an Invoke of type RequestResponse).

        ``caller``: ``(service principal, source ARNs)`` of a service invoking it (API Gateway),
        checked against the function's resource policy. Raises FunctionNotFound,
        PermissionDenied, TooManyRequests (throttled) or InvalidRequestContent (payload is not JSON).
        """
        request_id = request_id or str(uuid.uuid4())
        while True:
            fn, fn_region = self._functions.lookup(region, function_name_or_arn, qualifier)
            if caller is not None and not self._permissions.permitted(fn, *caller):
                raise PermissionDenied(f"{caller[0]} may not invoke {fn.function_arn} for {caller[1][0]}")
            config, reserved = self._functions.config(fn, fn_region, qualifier)
            if reserved == 0:
                raise TooManyRequests(
                    f"Rate Exceeded. {config.name} has reserved concurrency 0, so every invocation is throttled",
                    "ReservedFunctionConcurrentInvocationLimitExceeded",
                )
            request = pickle.dumps(("invoke", request_id, int(config.timeout * 1000), config.arn, bytes(payload)))
            try:
                with self._pools.pool(config).environment(reserved, config.timeout + INIT_TIMEOUT_S, request) as lease:
                    return self._invoke_in(lease, config, request_id, request)
            except Retired:  # a newer configuration replaced the pool while this request waited
                continue

    def _invoke_in(self, lease: Lease, config: FunctionConfig, request_id: str, request: bytes) -> InvokeResult:
        """One invocation in the leased environment, started first (its init phase) when there is none."""
        init_ms = None
        if lease.env is None:
            env, init = start_environment(config, request_id, self.cloud.controlplane.endpoint)
            if isinstance(init, InvokeResult):  # the init phase failed
                self._logs.publish(config, log_stream_name(), init.log)
                return init
            lease.adopt(env)
            if self._stopping:  # stop() may have missed it: never leave a worker behind
                env.kill()
                lease.env = None
                raise TooManyRequests(f"Rate Exceeded. the local cloud is stopping ({config.name})", "ServiceStopping")
            init_ms = init
        result = run(lease.env, config, request_id, request, init_ms, lease.sent_at)
        self._logs.publish(config, lease.env.log_stream, result.log)
        return _within_response_quota(result)

    def permits(self, region: str, function_name_or_arn: str, service: str, source_arns: Iterable[str]) -> bool:
        """Whether the function's resource policy (AddPermission) lets ``service`` invoke it for
        one of ``source_arns``. Raises FunctionNotFound."""
        return self._permissions.permitted(self._functions.lookup(region, function_name_or_arn)[0], service,
                                           tuple(source_arns))

    def function_config(self, region: str, function_name_or_arn: str,
                        qualifier: str | None = None) -> tuple[FunctionConfig, int | None]:
        """The function's current configuration in moto, and its reserved concurrency (None if unset)."""
        return self._functions.config(*self._functions.lookup(region, function_name_or_arn, qualifier), qualifier)


def _within_response_quota(result: InvokeResult) -> InvokeResult:
    """A response over Lambda's 6 MB synchronous payload quota becomes the function error Lambda reports
    instead (through API Gateway, a 502)."""
    if len(result.payload) <= MAX_SYNC_PAYLOAD_BYTES:
        return result
    error = {"errorMessage": f"Response payload size exceeded maximum allowed payload size ({MAX_SYNC_PAYLOAD_BYTES} bytes).",
             "errorType": "Function.ResponseSizeTooLarge"}
    return replace(result, payload=json.dumps(error).encode(), function_error="Unhandled")
