"""Runs deployed Lambda handlers in warm worker processes."""

from __future__ import annotations

from localcloud.cloud import Component


class LambdaRuntime(Component):
    """Runs deployed Lambda handlers in warm worker processes."""

    name = "lambda"
