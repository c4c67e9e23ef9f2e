"""The house's shape: packages follow the data flow, modules stay small, imports never cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "medsopt"
# Data flows one way: a package may import packages of its own rank or lower, never higher.
RANK = {
    "dmd": 0,
    # The client talks to the service only through the generated stubs (medsopt.v1): it is
    # shipped to EPR teams and must import nothing of the engine, so it imports no rank above 0.
    "client": 0,
    "authoring": 1,
    "formulary": 2,
    "rules": 3,
    "engine": 4,
    "committee": 5,
    "store": 6,
    "analytics": 6,
    "service": 7,
    "scan": 7,
    "reports": 7,
    "feedback": 6,
    "audit": 7,
    "cli": 8,
}
# Generated protobuf stubs and the entry points are outside the flow.
OUTSIDE = {"v1", "__init__", "__main__"}
MAX_LINES = 400


def modules() -> dict[str, Path]:
    return {
        ".".join(("medsopt", *path.relative_to(PACKAGE).with_suffix("").parts)): path
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] != "v1"
    }


def top_level_imports(path: Path) -> set[str]:
    """medsopt modules imported when `path` is imported (imports inside functions excluded)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("medsopt"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("medsopt"))
    return found


def package_of(module: str) -> str:
    return module.split(".")[1]


def test_no_module_is_over_400_lines() -> None:
    long = {
        name: n
        for name, path in modules().items()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, long


def test_every_package_has_a_place_in_the_flow() -> None:
    packages = {package_of(m) for m in modules()} - OUTSIDE
    assert packages <= set(RANK), packages - set(RANK)


def test_no_package_imports_one_downstream_of_it() -> None:
    upstream_imports = []
    for name, path in modules().items():
        source = package_of(name)
        if source in OUTSIDE:
            continue
        for target in top_level_imports(path):
            wanted = package_of(target) if target.count(".") else target
            if wanted in RANK and RANK[wanted] > RANK[source]:
                upstream_imports.append(f"{name} imports {target}")
    assert not upstream_imports, upstream_imports


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of `graph` (module -> modules it imports), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, trail: list[str]) -> list[str]:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*trail[trail.index(target) :], target]
            if target not in state and (found := visit(target, [*trail, target])):
                return found
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return []


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_no_import_cycles() -> None:
    known = modules()
    graph = {
        name: {t for t in top_level_imports(path) if t in known and t != name}
        for name, path in known.items()
    }
    # A package's __init__ is imported with any of its modules: not a cycle of ours.
    graph = {n: {t for t in ts if not n.startswith(f"{t}.")} for n, ts in graph.items()}
    assert not (cycle := find_cycle(graph)), " -> ".join(cycle)


def test_the_client_imports_only_the_generated_stubs() -> None:
    found = {
        target
        for name, path in modules().items()
        if package_of(name) == "client"
        for target in top_level_imports(path)
        if not target.startswith(("medsopt.client", "medsopt.v1"))
    }
    assert not found, found


@pytest.mark.parametrize("package", ["dmd", "formulary", "rules", "engine"])
def test_pure_packages_import_no_grpc(package: str) -> None:
    leaks = [
        str(path)
        for path in (PACKAGE / package).rglob("*.py")
        if any(word in path.read_text() for word in ("import grpc", "from grpc", "google.protobuf"))
    ]
    assert not leaks
