"""The package's shape (issue 10): the import-linter contracts of pyproject.toml hold, and no
module imports itself through others, counting imports inside functions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0

    def visit(module: str) -> None:
        nonlocal counter
        index[module] = low[module] = counter
        counter += 1
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if not imported.startswith("agent"):
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in sorted(graph.modules):
        if module.startswith("agent") and module not in index:
            visit(module)
    return groups


def test_no_import_cycle_even_through_imports_inside_functions():
    graph = grimp.build_graph("agent")
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for name in ("agent.a", "agent.b", "agent.c"):
        graph.add_module(name)
    graph.add_import(importer="agent.a", imported="agent.b")
    graph.add_import(importer="agent.b", imported="agent.c")
    graph.add_import(importer="agent.c", imported="agent.a")
    assert _cycles(graph) == [["agent.a", "agent.b", "agent.c"]]


def test_import_linter_contracts_are_kept():
    # Beside this interpreter (a venv that is not on PATH), else on PATH.
    beside = Path(sys.executable).parent / "lint-imports"
    command = str(beside) if beside.exists() else "lint-imports"
    result = subprocess.run([command], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
