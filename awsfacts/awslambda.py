"""Lambda facts: the payload quota of a synchronous invocation, and the deprecated runtimes.

"Invocation payload (request and response): 6 MB each for synchronous"
(Lambda quotas, https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). A larger
request is refused with ``RequestEntityTooLargeException`` (HTTP 413): "Request must be smaller than
6291456 bytes for the InvokeFunction operation".

Deprecated runtimes (``DEPRECATED``) and the dates from which AWS refuses them: AWS Lambda Developer Guide, "Lambda runtimes", table "Deprecated runtimes" (columns Deprecation
date, Block function create, Block function update), and "Runtime deprecation" (runtime-support-policy):
after "Block function create" ``CreateFunction`` fails, after "Block function update" so does changing a
function's code or configuration; existing functions keep running.
The dates change when AWS extends a schedule: keep this table equal to that page.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024


@dataclass(frozen=True)
class Deprecation:
    deprecated: datetime.date
    block_create: datetime.date
    block_update: datetime.date


_D = datetime.date

DEPRECATED: dict[str, Deprecation] = {
    "python2.7": Deprecation(_D(2021, 7, 15), _D(2022, 5, 30), _D(2022, 6, 30)),
    "python3.6": Deprecation(_D(2022, 7, 18), _D(2022, 8, 29), _D(2022, 9, 29)),
    "python3.7": Deprecation(_D(2023, 12, 4), _D(2024, 1, 9), _D(2026, 2, 28)),
    "python3.8": Deprecation(_D(2024, 10, 14), _D(2026, 2, 28), _D(2026, 3, 31)),
    "python3.9": Deprecation(_D(2025, 12, 15), _D(2026, 6, 1), _D(2026, 7, 1)),
    "nodejs12.x": Deprecation(_D(2023, 3, 31), _D(2023, 4, 30), _D(2023, 5, 31)),
    "nodejs14.x": Deprecation(_D(2023, 12, 4), _D(2024, 1, 9), _D(2026, 2, 28)),
    "nodejs16.x": Deprecation(_D(2024, 6, 12), _D(2026, 2, 28), _D(2026, 3, 31)),
    "nodejs18.x": Deprecation(_D(2025, 9, 1), _D(2026, 2, 3), _D(2026, 3, 9)),
    "java8": Deprecation(_D(2024, 1, 8), _D(2024, 2, 8), _D(2026, 2, 28)),
    "go1.x": Deprecation(_D(2024, 1, 8), _D(2024, 2, 8), _D(2026, 2, 28)),
    "provided": Deprecation(_D(2024, 1, 8), _D(2024, 2, 8), _D(2026, 2, 28)),
    "ruby2.7": Deprecation(_D(2023, 12, 7), _D(2024, 1, 9), _D(2026, 2, 28)),
    "dotnet6": Deprecation(_D(2024, 12, 20), _D(2026, 2, 28), _D(2026, 3, 31)),
}


def refusal(runtime: str) -> str:
    """AWS's InvalidParameterValueException message for a runtime past its block date."""
    return (f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda "
            "functions. We recommend you use a supported runtime while creating or updating functions.")


def blocked_for_create(runtime: str, today: datetime.date) -> bool:
    deprecation = DEPRECATED.get(runtime)
    return deprecation is not None and today >= deprecation.block_create


def blocked_for_update(runtime: str, today: datetime.date) -> bool:
    deprecation = DEPRECATED.get(runtime)
    return deprecation is not None and today >= deprecation.block_update
