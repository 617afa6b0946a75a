"""The code's shape (issue 18): small modules, short functions, no import cycles in hecon/.

These are the maintainers' code standards made checkable: no module in ``hecon/`` over 500 lines,
no function (methods and nested functions included) over 80 lines in ``hecon/``, ``tools/``,
``benchmarks/``, ``inputs/`` and ``examples/``, and no cycle among ``hecon``'s module-level
imports (imports inside functions and under ``if TYPE_CHECKING:`` are deferred, so they cannot
form a cycle at import time).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
FUNCTION_DIRS = ("hecon", "tools", "benchmarks", "inputs", "examples")


def _python_files(*dirs: str) -> list[Path]:
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.py"))


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [f"{path.relative_to(ROOT)}:{node.lineno} {node.name} "
            f"({node.end_lineno - node.lineno + 1} lines)"
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _top_level_imports(body: list[ast.stmt]):
    """Import statements run when the module is imported: the module's own statements and those
    nested in module-level if/try/with blocks, except ``if TYPE_CHECKING:``."""
    for stmt in body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            yield stmt
        elif isinstance(stmt, ast.If):
            if not _is_type_checking(stmt.test):
                yield from _top_level_imports(stmt.body)
            yield from _top_level_imports(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            for block in (stmt.body, *(h.body for h in stmt.handlers), stmt.orelse,
                          stmt.finalbody):
                yield from _top_level_imports(block)
        elif isinstance(stmt, ast.With):
            yield from _top_level_imports(stmt.body)


def _resolve(module: str, is_package: bool, stmt: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` names (PEP 328 relative levels)."""
    if not stmt.level:
        return stmt.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[:len(package) - stmt.level + 1]
    return ".".join(base + ([stmt.module] if stmt.module else []))


def import_graph() -> dict[str, set[str]]:
    """hecon module → the hecon modules it imports at module level.

    ``from package import name`` depends on ``package`` and, when ``name`` is a submodule, on
    ``package.name`` too; importing ``a.b.c`` runs ``a`` and ``a.b`` first, so it depends on
    those packages as well."""
    files = {_module_name(p): p for p in _python_files("hecon")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: set[str] = set()
        for stmt in _top_level_imports(tree.body):
            if isinstance(stmt, ast.Import):
                targets.update(alias.name for alias in stmt.names)
            else:
                base = _resolve(module, is_package, stmt)
                targets.add(base)
                targets.update(f"{base}.{alias.name}" for alias in stmt.names)
        deps = set()
        for target in targets:
            parts = target.split(".")
            deps.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        # a package's own parents are imported before it: not an edge of the module's making
        parents = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
        graph[module] = {d for d in deps if d in files and d != module and d not in parents}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per back edge met by a depth-first search (Tarjan 1972's colouring)."""
    state: dict[str, int] = {}  # 1 = on the DFS stack, 2 = done
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_find_cycles_finds_a_planted_cycle_and_nothing_in_a_tree():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_import_graph_ignores_deferred_imports(tmp_path):
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import os\n"
              "def f():\n    import sys\nimport json\n")
    tree = ast.parse(source)
    assert [a.name for s in _top_level_imports(tree.body) for a in s.names] == [
        "TYPE_CHECKING", "json"]


@pytest.mark.parametrize("path", _python_files("hecon"), ids=lambda p: _module_name(p))
def test_no_module_in_hecon_exceeds_the_line_limit(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


def test_no_function_exceeds_the_line_limit():
    long = [f for p in _python_files(*FUNCTION_DIRS) for f in _long_functions(p)]
    assert not long, "functions over 80 lines:\n" + "\n".join(long)


def test_hecon_has_no_import_cycle():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)
