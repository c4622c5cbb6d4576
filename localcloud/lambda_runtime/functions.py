"""Functions as the control plane stores them: moto's function objects, their configuration, their code on disk.

Code and configuration come from moto's Lambda backend: the zip bytes moto
keeps on the function object (``LambdaFunction.code_bytes``, the decoded
``ZipFile``), the handler, runtime, timeout, memory size, environment
variables and reserved concurrency. The zip is extracted once per
``CodeSha256`` under ``<state dir>/lambda/code/<sha256 hex>`` and reused.

Every invocation asks for the function's configuration; it is built once per
function object and version and built again as soon as one of the fields it
comes from changes (an UpdateFunctionConfiguration or UpdateFunctionCode), so
a change still takes effect on the next invocation.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Any

from moto.awslambda.exceptions import LambdaClientError

from localcloud.controlplane import moto_backend
from localcloud.lambda_runtime.model import FunctionConfig, FunctionNotFound

# Configurations remembered per (function object, region, version); all are forgotten past this many.
CONFIG_CACHE_SIZE = 1024

_ARN_RE = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?$")


class Functions:
    """Looks functions up in moto and turns them into what an environment is built from."""

    def __init__(self, account_id: str, state_dir: Path):
        self.account_id = account_id
        self.state_dir = Path(state_dir)
        self._code_dirs: dict[str, str] = {}
        self._code_lock = threading.Lock()
        # (id(fn), region, version) -> (the moto fields the configuration was built from, the configuration)
        self._configs: dict[tuple[int, str, str], tuple[tuple, FunctionConfig]] = {}

    def lookup(self, region: str, function_name_or_arn: str, qualifier: str | None = None) -> tuple[Any, str]:
        """moto's function object and its region (the ARN's, when given one). Raises FunctionNotFound."""
        match = _ARN_RE.match(function_name_or_arn)
        if match:
            region = match.group("region")
        backend = moto_backend("lambda", region, self.account_id)
        try:
            return backend.get_function(function_name_or_arn, qualifier), region
        except LambdaClientError as error:
            if getattr(error, "code", None) == 404 or "not found" in str(error).lower():
                name = match.group("name") if match else function_name_or_arn
                arn = f"arn:aws:lambda:{region}:{self.account_id}:function:{name}"
                raise FunctionNotFound(f"Function not found: {arn}") from None
            raise

    def config(self, fn: Any, region: str, qualifier: str | None) -> tuple[FunctionConfig, int | None]:
        """moto's function ``fn`` as an environment's configuration, and its reserved concurrency (None if unset)."""
        if not str(fn.run_time or "").startswith("python"):
            raise FunctionNotFound(
                f"Function {fn.function_name} uses runtime {fn.run_time!r}: the local cloud runs Python (zip) functions only"
            )
        version = qualifier if qualifier and qualifier != "$LATEST" else "$LATEST"
        reserved = fn.reserved_concurrency
        reserved = None if reserved is None else int(reserved)
        variables = fn.environment_vars or {}
        source = (fn.function_name, fn.function_arn, fn.handler, fn.run_time, fn.timeout, fn.memory_size, fn.role,
                  fn.code_sha_256, fn.code_digest, variables)
        key = (id(fn), region, version)
        cached = self._configs.get(key)
        if cached is not None and cached[0] == source:
            return cached[1], reserved
        config = FunctionConfig(
            region=region,
            name=fn.function_name,
            arn=fn.function_arn,
            version=version,
            handler=fn.handler or "",
            runtime=fn.run_time,
            timeout=float(fn.timeout or 3),
            memory_size=int(fn.memory_size or 128),
            variables=tuple(sorted((str(k), str(v)) for k, v in variables.items())),
            role=fn.role,
            code_sha256=fn.code_sha_256,
            code_dir=self._code_dir(fn),
            identity=id(fn),
        )
        if len(self._configs) >= CONFIG_CACHE_SIZE:
            self._configs.clear()
        # a copy of the variables: moto may change its dict in place, and a change must not go unseen
        self._configs[key] = (source[:-1] + (dict(variables),), config)
        return config, reserved

    def _code_dir(self, fn: Any) -> str:
        """The function's code, extracted once per CodeSha256 under the state directory."""
        digest = fn.code_digest  # hex SHA-256 of the zip bytes
        path = self._code_dirs.get(digest)
        if path is not None:
            return path
        with self._code_lock:
            target = self.state_dir / "lambda" / "code" / digest
            if not target.is_dir():
                code = getattr(fn, "code_bytes", b"")
                if not code:
                    raise FunctionNotFound(
                        f"Function {fn.function_name} has no zip code moto could read (image or missing S3 object): "
                        "deploy it with Code={'ZipFile': ...}"
                    )
                target.parent.mkdir(parents=True, exist_ok=True)
                scratch = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=target.parent))
                with zipfile.ZipFile(io.BytesIO(code)) as archive:
                    archive.extractall(scratch)  # extractall refuses absolute and '..' member paths
                try:
                    os.rename(scratch, target)
                except OSError:  # extracted meanwhile by another local cloud with the same state dir
                    shutil.rmtree(scratch, ignore_errors=True)
            self._code_dirs[digest] = str(target)
            return str(target)
