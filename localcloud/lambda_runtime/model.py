"""What an invocation is about: a function's configuration, the result, and the errors Invoke reports."""

from __future__ import annotations

from dataclasses import dataclass


class FunctionNotFound(LookupError):
    """No such function (Invoke answers ResourceNotFoundException, 404)."""


class TooManyRequests(RuntimeError):
    """The invocation was throttled (Invoke answers TooManyRequestsException, 429)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class PermissionDenied(PermissionError):
    """The function's resource policy does not let the calling service invoke it (``invoke(caller=...)``)."""


class InvalidRequestContent(ValueError):
    """The payload is not JSON (Invoke answers InvalidRequestContentException, 400)."""


@dataclass
class InvokeResult:
    """What one invocation produced, as the Invoke API reports it."""

    status_code: int = 200
    payload: bytes = b""
    function_error: str | None = None  # "Unhandled" when the handler raised, timed out or crashed
    timed_out: bool = False
    duration_ms: float = 0.0
    log: str = ""
    request_id: str = ""
    init_duration_ms: float | None = None  # set on a cold start
    executed_version: str = "$LATEST"


@dataclass(frozen=True)
class FunctionConfig:
    """What an execution environment is built from; a change means new environments."""

    region: str
    name: str
    arn: str
    version: str
    handler: str
    runtime: str
    timeout: float
    memory_size: int
    variables: tuple[tuple[str, str], ...]
    role: str
    code_sha256: str
    code_dir: str
    identity: int  # the moto object: a deleted and re-created function gets new environments

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"
