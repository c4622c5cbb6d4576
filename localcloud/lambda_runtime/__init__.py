"""The Lambda runtime of the local cloud: deployed handlers run in warm worker processes.

One job per module: ``runtime`` (the component: invoke), ``functions``
(configuration and code from moto), ``pool`` (environments reserved and
released per request), ``worker`` (the worker processes, one invocation in
one), ``logs`` (CloudWatch Logs), ``permission_cache`` (resource-policy
decisions), ``invoke_api`` (``lambda.invoke`` on the control plane) and
``model`` (configuration, result, errors). The worker process itself is
``localcloud/lambda_worker.py``.
"""

from localcloud.lambda_runtime.model import (FunctionConfig, FunctionNotFound, InvalidRequestContent, InvokeResult,
                                             PermissionDenied, TooManyRequests)
from localcloud.lambda_runtime.runtime import LambdaRuntime

__all__ = ["FunctionConfig", "FunctionNotFound", "InvalidRequestContent", "InvokeResult", "LambdaRuntime",
           "PermissionDenied", "TooManyRequests"]
