"""One warm Lambda execution environment: a process that imports a handler once and runs it per request.

Started by ``localcloud.lambda_runtime`` as ``python -I lambda_worker.py FD``
with a clean environment (the function's variables plus Lambda's reserved
ones), the working directory set to the extracted code (``LAMBDA_TASK_ROOT``),
and ``FD`` one end of a socket pair. It then behaves like the Lambda Python
runtime (awslambdaric):

* **init phase:** puts the task root first on ``sys.path``, imports the module
  named by ``_HANDLER`` (``module.function``) and reports ``ready``, or the
  error the runtime reports (``Runtime.ImportModuleError``,
  ``Runtime.HandlerNotFound``, or the exception raised by the module);
* **invoke phase:** for each request, parses the event as JSON, calls
  ``handler(event, context)`` and answers with the result serialised as JSON,
  or with ``{"errorMessage", "errorType", "requestId", "stackTrace"}`` when the
  handler raised (the environment stays warm, as on AWS), or
  ``Runtime.MarshalError`` when the result is not JSON-serialisable.

Everything the handler prints (``print``, ``logging``) is captured per request
and returned as that request's log. One request at a time: the runtime never
sends another before the answer. The process exits when the runtime closes the
pipe or when its parent process is gone (a watchdog thread checks, so even a
handler stuck in a loop does not outlive the local cloud).

Only the standard library is imported here, so a cold start costs the
interpreter start plus the handler's own imports.
"""

from __future__ import annotations

import decimal
import io
import json
import logging
import os
import pickle
import resource
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

# Messages (pickled tuples) on the pipe, runtime -> worker:
#   ("invoke", request_id, timeout_ms, invoked_function_arn, payload_bytes)
# worker -> runtime:
#   ("ready", init_ms, log) | ("init_error", payload_bytes, log)
#   ("result", payload_bytes, error_type_or_None, log, duration_ms, max_memory_mb)
#   ("invalid_request", message)


class _Capture(io.TextIOBase):
    """stdout/stderr of the handler: text collected for the current request's log."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.lock = threading.Lock()

    def write(self, text: str) -> int:  # type: ignore[override]
        with self.lock:
            self.parts.append(text)
        return len(text)

    def take(self) -> str:
        with self.lock:
            text, self.parts = "".join(self.parts), []
        return text

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"


class LambdaContext:
    """The context object of the Lambda Python runtime."""

    def __init__(self, request_id: str, timeout_ms: int, invoked_function_arn: str):
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_ms / 1000.0

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the runtime stops this invocation."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


class _LambdaJsonEncoder(json.JSONEncoder):
    """The runtime's encoder: like json, plus Decimal (awslambdaric does the same)."""

    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            return float(o)
        return super().default(o)


def _error_payload(error: BaseException, request_id: str | None, error_type: str | None = None, tb: Any = None) -> bytes:
    # Like the Lambda runtime, show the function's frames, not the runtime's own.
    frames = [f for f in traceback.extract_tb(tb if tb is not None else error.__traceback__) if f.filename != __file__]
    stack = traceback.format_list(frames)
    data = {"errorMessage": str(error), "errorType": error_type or type(error).__name__}
    if request_id:
        data["requestId"] = request_id
    data["stackTrace"] = stack
    return json.dumps(data).encode()


def _watch_parent(parent: int) -> None:
    """Exit when the local cloud process is gone (our parent changes to init or a subreaper)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def _load_handler(capture: _Capture) -> tuple[Any, tuple]:
    """Import the handler (the init phase). Returns (handler, message for the runtime)."""
    started = time.perf_counter()
    spec = os.environ.get("_HANDLER", "")
    module_name, _, function_name = spec.rpartition(".")
    try:
        if not module_name or not function_name:
            error = ValueError(f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)")
            return None, ("init_error", _error_payload(error, None, "Runtime.MalformedHandlerName"), capture.take())
        module_name = module_name.replace("/", ".")
        try:
            import importlib

            module = importlib.import_module(module_name)
        except ImportError as error:
            message = f"Unable to import module '{module_name}': {error}"
            return None, ("init_error", _error_payload(ImportError(message), None, "Runtime.ImportModuleError", error.__traceback__), capture.take())
        handler = getattr(module, function_name, None)
        if not callable(handler):
            error = AttributeError(f"Handler '{function_name}' missing on module '{module_name}'")
            return None, ("init_error", _error_payload(error, None, "Runtime.HandlerNotFound"), capture.take())
    except Exception as error:  # an exception at import time of the handler's module
        print(f"[ERROR] {type(error).__name__}: {error}", file=sys.stderr)
        return None, ("init_error", _error_payload(error, None), capture.take())
    return handler, ("ready", (time.perf_counter() - started) * 1000, capture.take())


def _resolver_module() -> Any:
    """``lambda_resolver.py`` beside this script (``-I`` keeps this directory off ``sys.path``)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lambda_resolver.py")
    spec = importlib.util.spec_from_file_location("_localcloud_lambda_resolver", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def main(fd: int) -> int:
    conn = Connection(fd)
    capture = _Capture()
    sys.stdout = sys.stderr = capture
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()

    # The runtime's own root handler, in the Lambda Python runtime's text format.
    request_filter = _RequestIdFilter()
    root_handler = logging.StreamHandler(capture)
    root_handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"))
    root_handler.formatter.converter = time.gmtime  # type: ignore[union-attr]
    root_handler.addFilter(request_filter)
    logging.getLogger().addHandler(root_handler)

    _resolver_module().install_from_environment(dict(os.environ))  # names resolve through the local cloud's DNS
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    sys.path.insert(0, task_root)
    # A function may extend PYTHONPATH (Lambda allows it); -I made the interpreter ignore it.
    sys.path.extend(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)
    handler, message = _load_handler(capture)
    conn.send_bytes(pickle.dumps(message))
    if handler is None:
        return 1

    while True:
        try:
            request = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return 0
        _, request_id, timeout_ms, arn, payload = request
        request_filter.request_id = request_id
        try:
            event = json.loads(payload) if payload and payload.strip() else {}
        except ValueError as error:
            conn.send_bytes(pickle.dumps(("invalid_request", f"Could not parse request body into json: {error}")))
            continue
        context = LambdaContext(request_id, timeout_ms, arn)
        started = time.perf_counter()
        error_type = None
        try:
            result = handler(event, context)
        except Exception as error:
            # As the Python runtime logs it: "[ERROR] Type: message" and the traceback.
            print(f"[ERROR] {type(error).__name__}: {error}\n" + "".join(traceback.format_tb(error.__traceback__)), end="")
            body = _error_payload(error, request_id)
            error_type = "Unhandled"
        else:
            try:
                body = json.dumps(result, cls=_LambdaJsonEncoder).encode()
            except (TypeError, ValueError) as error:
                body = _error_payload(Exception(f"Unable to marshal response: {error}"), request_id, "Runtime.MarshalError", None)
                error_type = "Unhandled"
        duration = (time.perf_counter() - started) * 1000
        max_memory_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # ru_maxrss is in KB on Linux
        conn.send_bytes(pickle.dumps(("result", body, error_type, capture.take(), duration, max_memory_mb)))


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
