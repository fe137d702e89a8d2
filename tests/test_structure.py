"""Layering rules for src/arenapref, checked on the import graph that `ast` reads from the source.

Every import counts, including ones inside functions (the package defers heavy imports to keep the CLI
fast, and a deferred import is still a dependency: a cycle through one breaks as soon as someone moves it
to the top). The rules are the issue's "layers stay apart": no import cycles between modules, no import of
another subpackage's private (`_`-prefixed) names, and no production import of `arenapref.testing`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

PACKAGE = "arenapref"
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module an ImportFrom names (relative imports resolved against the importing module)."""
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, path: Path, known: set[str]) -> Iterator[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import in the file, at any depth.

    `from a.b import c` counts as an import of `a.b.c` when that is a module, else of `a.b` (name `c`).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, path, node)
            if target.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield (sub, None, node.lineno) if sub in known else (target, alias.name, node.lineno)


def _nearest_module(name: str, known: set[str]) -> str:
    while name not in known and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


@cache
def _graph() -> tuple[dict[str, set[str]], list[tuple[str, str, str | None, int]]]:
    modules = _modules()
    known = set(modules)
    edges: dict[str, set[str]] = {m: set() for m in modules}
    found: list[tuple[str, str, str | None, int]] = []
    for module, path in modules.items():
        for target, name, line in _imports(module, path, known):
            target = _nearest_module(target, known)
            found.append((module, target, name, line))
            if target != module:
                edges[module].add(target)
    return edges, found


def _private(name: str) -> bool:
    """A private name: one leading underscore, not a dunder such as ``__version__``."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _subpackage(module: str) -> str:
    """The top-level subpackage a module belongs to (`arenapref.compare.near` -> `compare`)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted, for a stable message."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_graph_sees_function_level_imports() -> None:
    """The checks below are only as good as the graph: it must hold imports made inside functions."""
    edges, _ = _graph()
    assert len(edges) > 50
    lazy = [
        (m, t)
        for m, p in _modules().items()
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef)
        for inner in ast.walk(node)
        if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith(f"{PACKAGE}.")
        for t in [_nearest_module(inner.module or "", set(edges))]
        if t != m
    ]
    assert lazy, "expected at least one function-level import in the package"
    assert all(t in edges[m] for m, t in lazy)


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    edges, _ = _graph()
    cycles = _cycles(edges)
    assert not cycles, "import cycles between modules:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def _private_imports(found: list[tuple[str, str, str | None, int]]) -> list[str]:
    return [
        f"{module}:{line} imports {name} from {target}"
        for module, target, name, line in found
        if name is not None and _private(name) and _subpackage(module) != _subpackage(target)
    ]


def test_private_rule_tells_other_subpackages_from_the_same_one() -> None:
    found: list[tuple[str, str, str | None, int]] = [
        ("arenapref.executors.guard", "arenapref.compare.guard", "_side", 3),
        ("arenapref.compare.run", "arenapref.compare.guard", "_side", 4),
        ("arenapref.executors.guard", "arenapref.compare.guard", "prefix_side", 5),
    ]
    assert _private_imports(found) == [
        "arenapref.executors.guard:3 imports _side from arenapref.compare.guard"
    ]


def test_no_private_names_across_subpackages() -> None:
    bad = _private_imports(_graph()[1])
    assert not bad, "private names imported from another subpackage:\n" + "\n".join(bad)


def test_production_code_does_not_import_testing() -> None:
    _, found = _graph()
    bad = [
        f"{module}:{line} imports {target}"
        for module, target, _, line in found
        if _subpackage(target) == "testing" and _subpackage(module) != "testing"
    ]
    assert not bad, "production code imports arenapref.testing:\n" + "\n".join(bad)
