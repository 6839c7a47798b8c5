"""No import cycles between project modules (ocrflow/, flows/, tasks/), counting every import statement.

Imports inside functions and under ``TYPE_CHECKING`` count too: a function-level import only hides a
cycle until the function runs. Importing ``a.b.c`` also runs ``a/__init__.py`` and ``a/b/__init__.py``,
so those packages are edges as well (except the importer's own parent packages, already importing).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ocrflow", "flows", "tasks")

Graph = dict[str, set[str]]


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under the project packages."""
    out: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _is_package(name: str, files: dict[str, Path]) -> bool:
    return name in files and files[name].name == "__init__.py"


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Every dotted name an import statement anywhere in ``tree`` may load."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _targets(name: str, importer: str, files: dict[str, Path]) -> set[str]:
    """Project modules that importing ``name`` runs: the module and its parent packages."""
    parts = name.split(".")
    own_parents = {".".join(importer.split(".")[:i]) for i in range(1, importer.count(".") + 1)}
    found = {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & set(files)
    return found - own_parents - {importer}


def import_graph() -> Graph:
    files = module_files()
    graph: Graph = {name: set() for name in files}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for imported in _imported_names(tree, name, _is_package(name, files)):
            graph[name] |= _targets(imported, name, files)
    return graph


def strongly_connected(graph: Graph) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (the import cycles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def _describe(component: list[str], graph: Graph) -> str:
    members = set(component)
    edges = [f"{a} -> {b}" for a in component for b in sorted(graph[a] & members)]
    return "; ".join(edges)


def test_graph_counts_function_level_relative_and_package_imports() -> None:
    tree = ast.parse("def f():\n    from .b import c\n    import ocrflow.x.y\n")
    assert set(_imported_names(tree, "ocrflow.a", is_package=False)) == {"ocrflow.b", "ocrflow.b.c", "ocrflow.x.y"}
    files = {"ocrflow": Path("__init__.py"), "ocrflow.x": Path("__init__.py"), "ocrflow.x.y": Path("y.py")}
    assert _targets("ocrflow.x.y", "ocrflow.a", files) == {"ocrflow.x", "ocrflow.x.y"}


def test_no_import_cycles() -> None:
    graph = import_graph()
    cycles = [_describe(c, graph) for c in strongly_connected(graph)]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


if __name__ == "__main__":
    found = strongly_connected(import_graph())
    for comp in found:
        print("cycle:", _describe(comp, import_graph()))
    print(f"{len(found)} cycle(s)")
