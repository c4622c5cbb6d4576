"""Global tables version 2017.11.29 (Legacy): refused for new tables, as AWS does today.

moto has no ``CreateGlobalTable`` and its crash used to reach clients as a
retried HTTP 500. AWS itself no longer lets new global tables use the legacy
version (``awsfacts.dynamodb``), so the local cloud answers exactly as AWS does:
``CreateGlobalTable`` is a ``ValidationException`` that names version 2019.11.21;
``DescribeGlobalTable``, ``UpdateGlobalTable``, ``DescribeGlobalTableSettings``
and ``UpdateGlobalTableSettings`` find no legacy global table;
``ListGlobalTables`` lists none. Current global tables (``UpdateTable``
``ReplicaUpdates``) are the ``replication`` component's.

Overrides (control plane): the six dynamodb operations above.
"""

from __future__ import annotations

from typing import Any

from awsfacts.dynamodb import LEGACY_CREATE_REFUSED, legacy_table_not_found
from localcloud.component import Component
from localcloud.controlplane import AwsError, Call

_NOT_FOUND = ("DescribeGlobalTable", "UpdateGlobalTable", "DescribeGlobalTableSettings", "UpdateGlobalTableSettings")


class LegacyGlobalTables(Component):
    """Answers the 2017.11.29 global-table API as AWS answers an account without legacy global tables."""

    name = "legacy_global_tables"

    def __init__(self, cloud: Any):
        super().__init__(cloud)
        cp = cloud.controlplane
        cp.register("dynamodb", "CreateGlobalTable", self._create)
        cp.register("dynamodb", "ListGlobalTables", self._list)
        for operation in _NOT_FOUND:
            cp.register("dynamodb", operation, self._not_found)

    @staticmethod
    def _create(call: Call) -> dict[str, Any]:
        raise AwsError("ValidationException", LEGACY_CREATE_REFUSED, 400)

    @staticmethod
    def _list(call: Call) -> dict[str, Any]:
        return {"GlobalTables": []}

    @staticmethod
    def _not_found(call: Call) -> dict[str, Any]:
        raise AwsError("GlobalTableNotFoundException", legacy_table_not_found(call.params["GlobalTableName"]), 400)
