"""DynamoDB facts: the item size quota, how an item's size is counted, and the nesting depth.

"The maximum item size in DynamoDB is 400 KB, which includes both attribute name binary length (UTF-8
length) and attribute value lengths (again binary length)" (Developer Guide, "Service, account, and table
quotas in Amazon DynamoDB"); "DynamoDB supports nested attributes up to 32 levels deep" (same page).
How each type counts is in "Item sizes and formats"
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
strings and binaries their UTF-8 / byte length, a number about one byte per two significant digits plus
one, null and boolean 1 byte, a list or map 3 bytes plus 1 byte per element plus its elements (a map's
element counts its name too).
"""

from __future__ import annotations

import base64
import math
from decimal import Decimal
from typing import Any

MAX_ITEM_BYTES = 400 * 1024
MAX_NESTING_LEVELS = 32
ITEM_TOO_LARGE = "Item size has exceeded the maximum allowed size"
NESTING_TOO_DEEP = "Nesting Levels have exceeded supported limits"


def _parts(value: Any) -> tuple[str, Any]:
    """``(type, data)`` of an attribute value: DynamoDB JSON (``{"S": "x"}``) or an object with ``type`` and ``value``
    (moto's ``DynamoType``, whose lists and maps hold such objects)."""
    if isinstance(value, dict):
        (kind, data), = value.items()
        return kind, data
    return value.type, value.value


def _binary_bytes(data: str | bytes) -> int:
    """A binary's length: the decoded bytes when it arrives base64-encoded, as DynamoDB JSON carries it."""
    return len(data) if isinstance(data, bytes) else len(base64.b64decode(data))


def number_bytes(text: str) -> int:
    """The size of a Number: one byte per two significant digits, plus one."""
    digits = Decimal(text).normalize().as_tuple().digits
    significant = len(digits) if any(digits) else 1
    return math.ceil(significant / 2) + 1


def value_bytes(value: Any) -> int:
    """The size of one attribute value."""
    kind, data = _parts(value)
    if kind == "S":
        return len(data.encode())
    if kind == "B":
        return _binary_bytes(data)
    if kind == "N":
        return number_bytes(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in data)
    if kind == "BS":
        return sum(_binary_bytes(b) for b in data)
    if kind == "NS":
        return sum(number_bytes(n) for n in data)
    if kind == "L":
        return 3 + sum(1 + value_bytes(v) for v in data)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_bytes(v) for k, v in data.items())
    raise ValueError(f"not a DynamoDB attribute value: {value!r}")


def item_bytes(item: dict[str, Any]) -> int:
    """The size of an item as DynamoDB counts it against ``MAX_ITEM_BYTES``: names plus values."""
    return sum(len(name.encode()) + value_bytes(value) for name, value in item.items())


def nesting_levels(value: Any) -> int:
    """How many lists or maps are nested in one attribute value: 0 for a scalar, 1 for a map of scalars.

    Iterative, so a value nested deeper than Python's recursion limit is measured too.
    """
    deepest = 0
    todo = [(value, 0)]
    while todo:
        current, depth = todo.pop()
        kind, data = _parts(current)
        if kind in ("L", "M"):
            deepest = max(deepest, depth + 1)
            todo.extend((child, depth + 1) for child in (data if kind == "L" else data.values()))
    return deepest
