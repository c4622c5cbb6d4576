"""Step 7: delete everything the stack created, in reverse order of ``helpers.stack.STACK``, then prove nothing is left.

First a fault an interrupted chaos run left injected is undone (``helpers.faults``),
so that a FIS experiment it started is stopped before its template is deleted.

Every kind is tried in every region, whatever failed before it: a failing call
(an API error in one region, a throttle, a denied action) is recorded with its
reason and the teardown carries on. Each deletion tolerates what is already
gone, so the teardown can always be re-run. Only resources named or tagged for
this stack are touched; a hosted zone is deleted only if the runbook created it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from helpers import faults, stack
from helpers.clients import Clients
from helpers.config import Config

STEP_COLUMNS = ["step", "region", "ok", "detail"]
INVENTORY_COLUMNS = ["service", "region", "resource"]


def _failure(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def teardown(cfg: Config, clients: Clients) -> pd.DataFrame:
    """Delete every kind of the stack, last built first, in each of its regions; one row per (kind, region).

    A failing deletion is a row with ``ok`` False and the error; the others
    still run. In a dry run the deletions are recorded, not made (``helpers.dryrun``).
    """
    rows = []
    try:  # a row only when an interrupted chaos run left a fault
        if (leftover := faults.undo_leftover_fault(cfg, clients)) is not None:
            rows.append({"step": "leftover fault", "region": leftover.region, "ok": True,
                         "detail": f"undid {leftover.fault}"})
    except Exception as error:  # record and carry on: the deletions below remove what holds the fault
        rows.append({"step": "leftover fault", "region": "", "ok": False, "detail": _failure(error)})
    for kind in reversed(stack.STACK):
        for region in kind.regions(cfg):
            try:
                rows.append({"step": kind.name, "region": region, "ok": True,
                             "detail": _describe(kind.delete(cfg, clients, region))})
            except Exception as error:  # record and carry on: every other kind and region still gets its turn
                rows.append({"step": kind.name, "region": region, "ok": False, "detail": _failure(error)})
    return pd.DataFrame(rows, columns=STEP_COLUMNS)


def _describe(result: Any) -> str:
    if isinstance(result, pd.DataFrame):
        return f"{len(result)} row(s)"
    if isinstance(result, (list, tuple, set)):
        return f"{len(result)} deleted"
    return "" if result is None else str(result)


def inventory(cfg: Config, clients: Clients) -> pd.DataFrame:
    """Every resource of this stack that still exists, kind by kind and region by region.

    A kind that cannot be listed in a region is a row of its own (``not
    listed: <error>``): unknown is not the same as gone.
    """
    rows = []
    for kind in stack.STACK:
        for region in kind.regions(cfg):
            try:
                rows += [dataclasses.asdict(found) for found in kind.inventory(cfg, clients, region)]
            except Exception as error:  # one region's failing API must not hide the others' leftovers
                rows.append({"service": kind.service, "region": region,
                             "resource": f"{kind.name}: not listed ({_failure(error)})"})
    return pd.DataFrame(rows, columns=INVENTORY_COLUMNS)


def what_is_left(cfg: Config, steps: pd.DataFrame, left: pd.DataFrame | None = None) -> str:
    """08's verdict: every deletion that failed and why, and every resource still there; empty when all is gone."""
    failed = steps[~steps["ok"]]
    left = left if left is not None else pd.DataFrame(columns=INVENTORY_COLUMNS)
    lines = [f"- could not delete {row.step} in {row.region}: {row.detail}" for row in failed.itertuples()]
    lines += [f"- left: {row.service} in {row.region}: {row.resource}" for row in left.itertuples()]
    if not lines:
        return ""
    return (f"the teardown of stack {cfg.stack_name} is incomplete ({len(failed)} failed deletion(s), "
            f"{len(left)} resource(s) left); fix the cause and run 08_teardown again:\n" + "\n".join(lines))
