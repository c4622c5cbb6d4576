"""The project's layers, read from its source with ``ast``: who may import whom, and no import cycle.

bench -> helpers -> awsfacts, and localcloud -> awsfacts; ``awsfacts`` is
neutral (it imports no other layer), and the Lambda handlers
in ``functions/`` stand alone. The helpers start and stop the local cloud through
its lifecycle API (``localcloud.daemon``: start, stop, status) and use nothing
else of the emulator: what both need to know about AWS is in ``awsfacts``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("awsfacts", "bench", "functions", "helpers", "localcloud")
NEUTRAL = ("awsfacts", "functions")  # import no other layer
LIFECYCLE_API = "localcloud.daemon"  # how the runbook starts and stops the local cloud


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module ``name`` denotes (a module, or the package holding a name), else None."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports(module: str, *, top_level_only: bool) -> set[str]:
    """Project modules ``module`` imports (only those run at import time, with ``top_level_only``)."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    is_package = MODULES[module].name == "__init__.py"
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        found.update(target for target in map(_resolve, names) if target and target != module)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that returns to its start, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_scan_sees_every_package_and_its_imports():
    assert {m.split(".")[0] for m in MODULES} == set(PACKAGES)
    assert "awsfacts.route53" in imports("localcloud.healthchecker", top_level_only=True)
    assert "localcloud.component" in imports("localcloud.dns", top_level_only=True)
    assert "localcloud.daemon" in imports("helpers.setup", top_level_only=False)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("layer", ["helpers", "functions", "awsfacts"])
def test_the_layer_uses_nothing_of_the_local_cloud(layer):
    offending = {
        (module, target)
        for module in MODULES if module.split(".")[0] == layer
        for target in imports(module, top_level_only=False)
        if target.startswith("localcloud")
        and not (layer == "helpers" and target == LIFECYCLE_API)
    }
    assert not offending, f"{layer} must not import the local cloud (AWS facts are in awsfacts): {sorted(offending)}"


def test_the_neutral_packages_and_the_lambda_functions_import_no_other_layer():
    for module in MODULES:
        layer = module.split(".")[0]
        if layer in NEUTRAL:
            foreign = {t for t in imports(module, top_level_only=False) if t.split(".")[0] != layer}
            assert not foreign, f"{module} imports {sorted(foreign)}"


def test_the_local_cloud_does_not_import_the_runbook():
    for module in MODULES:
        if module.startswith("localcloud"):
            foreign = {t for t in imports(module, top_level_only=False) if t.split(".")[0] in ("helpers", "bench")}
            assert not foreign, f"{module} imports {sorted(foreign)}"


def test_no_import_cycle_among_the_projects_modules():
    graph = {module: imports(module, top_level_only=False) for module in MODULES}
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
