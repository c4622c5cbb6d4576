"""Lambda resource-based policies: may a service invoke a function on behalf of a source ARN?

``AddPermission`` writes statements of the form::

    {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"},
     "Action": "lambda:InvokeFunction", "Resource": <function ARN>,
     "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:eu-west-1:123456789012:abc/*/GET/item/*"}}}

moto stores them (``fn.policy.statements``) but nothing reads them. API
Gateway does, on every request: without a statement that lets it invoke the
function, the request fails with 500 ("Execution failed due to configuration
error: Invalid permissions on Lambda function"). ``allows`` evaluates the
parts of IAM's policy logic that such statements use: Effect (an explicit
Deny wins), Principal, Action, and conditions on ``aws:SourceArn`` and
``aws:SourceAccount`` with the ARN and string operators. A condition on a key
the request does not carry fails, as in IAM.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Iterable

INVOKE_ACTIONS = {"lambda:invokefunction", "lambda:*", "*"}


def allows(statements: Iterable[dict[str, Any]], service: str, source_arns: Iterable[str], source_account: str) -> bool:
    """Whether the statements let ``service`` invoke the function for one of ``source_arns``."""
    source_arns = tuple(source_arns)
    allowed = False
    for statement in statements:
        if not _applies(statement, service, source_arns, source_account):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _applies(statement: dict[str, Any], service: str, source_arns: tuple[str, ...], account: str) -> bool:
    principal = statement.get("Principal")
    if principal != "*":
        principal = principal if isinstance(principal, dict) else {}
        if service not in _values(principal.get("Service")) and "*" not in _values(principal.get("AWS")):
            return False
    if not any(action.lower() in INVOKE_ACTIONS for action in _values(statement.get("Action"))):
        return False
    for operator, conditions in (statement.get("Condition") or {}).items():
        for key, expected in (conditions or {}).items():
            actual = {"aws:sourcearn": source_arns, "aws:sourceaccount": (account,)}.get(key.lower())
            if actual is None or not any(_compare(operator, a, e) for a in actual for e in _values(expected)):
                return False
    return True


def _compare(operator: str, actual: str, expected: str) -> bool:
    operator = operator.lower()
    if operator in ("arnequals", "stringequals"):
        return actual == expected
    if operator == "stringlike":
        return _glob(expected).fullmatch(actual) is not None
    if operator == "arnlike":
        # "Each of the six colon-delimited components of the ARN is checked separately and each
        # can include multi-character match wildcards (*) or single-character match wildcards (?)."
        # (IAM User Guide, Condition operators: ARN condition operators)
        actual_parts, expected_parts = actual.split(":", 5), expected.split(":", 5)
        return len(actual_parts) == len(expected_parts) == 6 and all(
            _glob(e).fullmatch(a) is not None for a, e in zip(actual_parts, expected_parts))
    return False  # an operator these statements do not use: the condition is not met


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    """IAM wildcards: ``*`` any run of characters, ``?`` any one character; the rest literal."""
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), re.DOTALL)
