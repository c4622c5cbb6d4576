"""Refuses deprecated runtimes past their block dates, as Lambda does (``awsfacts.awslambda``).

moto accepts any runtime, and the local cloud would run a ``python3.7`` handler on the host's Python.
Here ``CreateFunction`` with a runtime past its "Block function create" date, and
``UpdateFunctionConfiguration`` changing to one past its "Block function update" date, answer AWS's
``InvalidParameterValueException`` (HTTP 400). Existing functions keep running, as on AWS.

Overrides (control plane): lambda ``CreateFunction`` and ``UpdateFunctionConfiguration``.
"""

from __future__ import annotations

import datetime
from typing import Any, Callable

from awsfacts.awslambda import blocked_for_create, blocked_for_update, refusal
from localcloud.controlplane import AwsError, Call, Raw


class RuntimePolicy:
    """Checks the runtime of CreateFunction and UpdateFunctionConfiguration, then lets moto answer."""

    def __init__(self, controlplane: Any, today: Callable[[], datetime.date] = datetime.date.today):
        self._today = today
        controlplane.register("lambda", "CreateFunction", self._create_function)
        controlplane.register("lambda", "UpdateFunctionConfiguration", self._update_function_configuration)

    def _create_function(self, call: Call) -> Raw:
        runtime = call.params.get("Runtime")
        if runtime and blocked_for_create(runtime, self._today()):
            raise AwsError("InvalidParameterValueException", refusal(runtime), 400)
        return Raw(*call.forward())

    def _update_function_configuration(self, call: Call) -> Raw:
        runtime = call.params.get("Runtime")
        if runtime and blocked_for_update(runtime, self._today()):
            raise AwsError("InvalidParameterValueException", refusal(runtime), 400)
        return Raw(*call.forward())
