"""Keep committed notebooks clean: no outputs, no execution counts (``make strip``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def dirty_cells(path: Path) -> list[int]:
    """Indexes of code cells that carry outputs or an execution count."""
    nb = json.loads(Path(path).read_text())
    return [i for i, cell in enumerate(nb.get("cells", []))
            if cell.get("cell_type") == "code" and (cell.get("outputs") or cell.get("execution_count"))]


def strip(path: Path) -> bool:
    """Remove outputs and execution counts in place; True if the file changed."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    changed = False
    for cell in nb.cells:
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count):
            cell.outputs, cell.execution_count, changed = [], None, True
    for key in ("papermill", "widgets"):
        if key in nb.metadata:
            del nb.metadata[key]
            changed = True
    if changed:
        nbformat.write(nb, str(path))
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.notebook_hygiene")
    parser.add_argument("--strip", action="store_true", help="strip in place instead of only checking")
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    bad = 0
    for path in args.notebooks:
        if args.strip:
            if strip(path):
                print(f"stripped {path}")
        elif dirty_cells(path):
            print(f"{path}: outputs in cells {dirty_cells(path)} (run `make strip`)")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
