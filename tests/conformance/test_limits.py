"""docs/limits.md states what the local cloud does not emulate; this keeps its table equal to the code's list."""

from __future__ import annotations

import re
from pathlib import Path

from localcloud.unsupported import ALTERNATIVES

LIMITS = Path(__file__).resolve().parents[2] / "docs" / "limits.md"


def test_the_limits_page_lists_exactly_the_known_gaps_with_their_alternatives():
    text = LIMITS.read_text()
    table = text.split("<!-- unsupported:begin", 1)[1].split("<!-- unsupported:end", 1)[0]
    rows = [line.strip("|").split("|") for line in table.splitlines()[3:] if line.startswith("|")]
    listed = {(service.strip(), operation.strip()): instead.strip() for service, operation, instead in rows}
    assert listed == ALTERNATIVES


def test_the_limits_page_is_linked_from_the_readme():
    readme = (LIMITS.parents[1] / "README.md").read_text()
    assert re.search(r"\]\(docs/limits\.md\)", readme)
