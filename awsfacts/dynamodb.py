"""DynamoDB facts: global-table versions and what AWS answers for the legacy one.

Global tables version 2017.11.29 (Legacy) "should be avoided for new global
tables" (DynamoDB Developer Guide, "Global tables version 2017.11.29 (Legacy)"),
and AWS now refuses ``CreateGlobalTable`` for new ones with a
``ValidationException`` (HTTP 400) whose message is ``LEGACY_CREATE_REFUSED``.
Without a legacy global table, the other legacy operations find none
(``GlobalTableNotFoundException``) and ``ListGlobalTables``, which lists only
legacy global tables, lists none.
"""

CURRENT_GLOBAL_TABLE_VERSION = "2019.11.21"
LEGACY_GLOBAL_TABLE_VERSION = "2017.11.29"

LEGACY_CREATE_REFUSED = (
    "One or more parameter values were invalid: DynamoDB global tables version 2017.11.29 is not supported. "
    "We recommend using DynamoDB global tables version 2019.11.21, instead of version 2017.11.29 (Legacy)."
)


def legacy_table_not_found(name: str) -> str:
    """The message of ``GlobalTableNotFoundException`` for the global table ``name``."""
    return f"Global table not found: Global table with name: '{name}' does not exist."


# CreateTable: AWS answers CREATING and the table turns ACTIVE a few seconds later (scaled locally).
TABLE_CREATION_S = 5.0
