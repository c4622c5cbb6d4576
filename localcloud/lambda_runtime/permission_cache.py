"""Resource-policy decisions (AddPermission), remembered per function, policy revision, principal and source ARN.

The gateway asks on every request whether API Gateway may invoke the
function; the decision only changes with the policy, so it is computed once
(``localcloud.lambda_permissions.allows``) and looked up after that.
"""

from __future__ import annotations

from typing import Any

from localcloud.lambda_permissions import allows

# Decisions on resource policies remembered per (function, policy revision, principal, source ARNs).
PERMISSION_CACHE_SIZE = 4096


class PermissionCache:
    """Whether a function's resource policy lets a service invoke it, one decision per policy state."""

    def __init__(self, account_id: str):
        self.account_id = account_id
        self._decisions: dict[tuple, bool] = {}

    def permitted(self, fn: Any, service: str, source_arns: tuple[str, ...]) -> bool:
        """Whether moto's function object ``fn`` lets ``service`` invoke it for one of ``source_arns``, one at a time, the first (API Gateway's
        resource template, the same for every request of a route) first: its answer is remembered.

        Lambda's resource policies hold Allow statements only (AddPermission writes no other), so a
        policy allows the request as soon as it allows one of its ARNs.
        """
        policy = getattr(fn, "policy", None)
        statements = policy.statements if policy is not None else []
        # AddPermission gives the policy a new revision id; moto's RemovePermission does not (AWS's
        # does), but it leaves one statement fewer: together they name the policy's state.
        revision = (policy.revision, len(statements)) if policy is not None else None
        for source_arn in source_arns:
            key = (id(fn), revision, service, source_arn)
            permitted = self._decisions.get(key)
            if permitted is None:
                permitted = allows(statements, service, (source_arn,), self.account_id)
                if len(self._decisions) >= PERMISSION_CACHE_SIZE:
                    self._decisions.clear()
                self._decisions[key] = permitted
            if permitted:
                return True
        return False
