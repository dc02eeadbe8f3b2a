"""The shape of src/ as rules that fail when broken: no import cycles (imports inside functions
count), short modules, one public name per function, and registries that match the config."""

from __future__ import annotations

import ast
import collections
from pathlib import Path

import grimp
import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_LINES = 300


def module_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph("src", include_external_packages=False)
    return {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the groups of modules that import each other in a circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            groups.append(group)

    for node in graph:
        if node not in index:
            visit(node)
    return groups


def test_cycle_finder_finds_a_circle() -> None:
    circle = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert sorted(map(sorted, strongly_connected(circle))) == [["a", "b", "c"], ["d"]]


def test_no_import_cycles_even_through_imports_inside_functions() -> None:
    # A package's __init__ is imported by its own modules only as their parent, never for names.
    cycles = [sorted(g) for g in strongly_connected(module_graph()) if len(g) > 1]
    assert cycles == []


def test_no_module_is_longer_than_one_sitting() -> None:
    long = {
        str(path.relative_to(SRC)): n
        for path in SRC.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_no_two_public_functions_share_a_name() -> None:
    where = collections.defaultdict(list)
    for path in SRC.rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                where[node.name].append(str(path.relative_to(SRC)))
    # Every entry point has a main(argv) for run_main; that name is the convention, not a clash.
    clashes = {name: paths for name, paths in where.items() if len(paths) > 1 and name != "main"}
    assert clashes == {}


@pytest.mark.parametrize(
    ("module", "registry", "literal"),
    [
        ("src.models.mlp", "ACTIVATIONS", "Activation"),
        ("src.models.losses", "LOSSES", "Loss"),
        ("src.models.optim", "OPTIMIZERS", "OptimizerName"),
        ("src.models.optim", "SCHEDULERS", "SchedulerName"),
        ("src.tuning.samplers", "SAMPLERS", "SamplerName"),
        ("src.tuning.samplers", "PRUNERS", "PrunerName"),
    ],
)
def test_each_registry_offers_exactly_the_names_the_config_accepts(
    module: str, registry: str, literal: str
) -> None:
    import importlib

    from src.config import names

    table = getattr(importlib.import_module(module), registry)
    assert list(table) == list(names.names_of(getattr(names, literal)))


def test_a_registry_that_disagrees_with_its_names_cannot_be_built() -> None:
    from typing import Literal

    from src.config.names import by_name

    with pytest.raises(TypeError, match=r"missing \['b'\], extra \['c'\]"):
        by_name(Literal["a", "b"], {"a": 1, "c": 2})
