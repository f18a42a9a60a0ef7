"""The package's dependency rule, checked over the import graph (module-level and function-level imports alike).

Sub-packages are layers; a module may import its own layer and the layers listed for it, nothing else. There are no
import cycles between modules, nothing imports the CLI, and the modules the released ``scoring.py`` embeds (the
checker core, scoring and the common utilities) import only the standard library at module level. DESIGN.md states
the same rule in prose.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "generator"

#: layer -> the layers it may import (besides itself). "generator" is the package root (version only).
ALLOWED: dict[str, set[str]] = {
    "common": set(),
    "core": {"common"},
    "scoring": {"core", "common"},
    "authoring": {"core", "common"},
    "dataset": {"scoring", "authoring", "core", "common"},
    "generation": {"dataset", "authoring", "scoring", "core", "common"},
    "reports": {"scoring", "common"},
    "running": {"dataset", "authoring", "scoring", "core", "common"},
    "release": {"generation", "dataset", "authoring", "scoring", "core", "common"},
    "rewards": {"running", "scoring", "core", "common"},
    "cli": {"common", "core", "scoring", "authoring", "dataset", "generation", "reports", "running", "release",
            "rewards"},
}
STDLIB_ONLY_AT_MODULE_LEVEL = ("common", "core", "scoring")


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(name: str, path: Path) -> Iterator[tuple[str, bool]]:
    """(imported module, at module level) for every import outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def visit(nodes: list[ast.stmt], top: bool) -> Iterator[tuple[str, bool]]:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                yield from visit(node.orelse, top)
                continue
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield alias.name, top
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                # ``from pkg import sub`` depends on the submodule; the package itself only when a name defined
                # in its __init__ is taken (Python runs a parent's __init__ first either way, which is no edge).
                names_from_package = False
                for alias in node.names:
                    if f"{module}.{alias.name}" in MODULES:
                        yield f"{module}.{alias.name}", top
                    else:
                        names_from_package = True
                if names_from_package:
                    yield module, top
            inner_top = top and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            for field in ("body", "orelse", "finalbody", "handlers"):
                block = getattr(node, field, None)
                if isinstance(block, list) and block and isinstance(block[0], (ast.stmt, ast.ExceptHandler)):
                    children = [c for item in block for c in (item.body if isinstance(item, ast.ExceptHandler)
                                                              else [item])]
                    yield from visit(children, inner_top)

    yield from visit(tree.body, True)


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "generator"


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for target, _ in _imports(name, path):
            if target in MODULES and target != name and target != "generator":
                graph[name].add(target)
    return graph


def test_every_module_belongs_to_a_known_layer() -> None:
    unknown = sorted(m for m in MODULES if m != "generator" and _layer(m) not in ALLOWED)
    assert not unknown, f"modules outside the layers of the dependency rule: {unknown}"


def test_layers_import_only_what_the_rule_allows() -> None:
    violations = []
    for name, targets in _graph().items():
        source = _layer(name)
        if source == "generator":
            continue
        for target in sorted(targets):
            layer = _layer(target)
            if layer != source and layer not in ALLOWED[source]:
                violations.append(f"{name} -> {target}")
    assert not violations, "imports against the dependency rule:\n" + "\n".join(violations)


def test_nothing_imports_the_cli() -> None:
    offenders = sorted(f"{name} -> {target}" for name, targets in _graph().items() if _layer(name) != "cli"
                       for target in targets if _layer(target) == "cli")
    assert not offenders, offenders


def test_no_import_cycles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def strongconnect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                strongconnect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            strongconnect(node)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("layer", STDLIB_ONLY_AT_MODULE_LEVEL)
def test_embedded_layers_import_only_the_standard_library_at_module_level(layer: str) -> None:
    offenders = []
    for name, path in MODULES.items():
        if _layer(name) != layer:
            continue
        for target, top in _imports(name, path):
            root = target.split(".")[0]
            if top and root and root != "generator" and root != "__future__" and root not in sys.stdlib_module_names:
                offenders.append(f"{name} imports {target}")
    assert not offenders, offenders


def test_the_checker_core_does_not_know_about_generation() -> None:
    """The checker core is what every release embeds: no path from it to authoring or generation code."""
    graph = _graph()
    seen: set[str] = set()
    todo = [m for m in MODULES if _layer(m) == "core"]
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        todo.extend(graph[node])
    assert {_layer(m) for m in seen} <= {"core", "common"}, sorted(m for m in seen if _layer(m) not in
                                                                   {"core", "common"})
