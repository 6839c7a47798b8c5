"""The house (issue 18) stays standing: floors, no SQL text outside the store, a Prefect-free core, small
modules, no import cycles, tests that do not import each other. Read from the source with ``ast``, so a
change that breaks a rule fails here with the file and line, not in a review."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "ocrflow"
MAX_LINES = 400
MAX_LOOSE = 12
SQL = re.compile(r"^\s*(SELECT\s.+\sFROM\s|INSERT\s+INTO\s|UPDATE\s+\S+\s+SET\s|DELETE\s+FROM\s|"
                 r"CREATE\s+(TABLE|INDEX|VIEW|SCHEMA)\s|ALTER\s+TABLE\s|DROP\s+TABLE\s|BEGIN\b|COMMIT\b)",
                 re.IGNORECASE | re.DOTALL)


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(tree: ast.Module, module: str, is_package: bool) -> Iterator[tuple[str, int]]:
    """Imports that run when the module is imported (not inside a function or ``if TYPE_CHECKING``)."""
    base = module if is_package else module.rpartition(".")[0]
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base.split(".")[: len(base.split(".")) - node.level + 1]
                target = ".".join(anchor + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target, node.lineno
            for alias in node.names:  # ``from ocrflow.run import stopping``: the submodule is imported too
                yield f"{target}.{alias.name}", node.lineno


def _all_imports(tree: ast.Module) -> Iterator[tuple[str, int]]:
    """Every absolute import anywhere in the module; ``from a import b`` as ``a`` and ``a.b``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            yield node.module, node.lineno
            for alias in node.names:
                yield f"{node.module}.{alias.name}", node.lineno


def test_every_module_is_small() -> None:
    long = {str(p.relative_to(ROOT)): n for folder in ("ocrflow", "flows", "tasks")
            for p in _modules(ROOT / folder) if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}, f"modules over {MAX_LINES} lines: {long}"
    flow = ROOT / "flows" / "process_documents.py"
    assert len(flow.read_text(encoding="utf-8").splitlines()) <= 150


def test_the_package_has_floors_and_few_loose_modules() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(loose) <= MAX_LOOSE, loose
    for floor in ("core", "pipeline", "run", "eval", "store", "engines", "contracts", "review", "validate", "cli"):
        assert (PACKAGE / floor / "__init__.py").is_file(), floor


def _literal(node: ast.AST) -> str | None:
    """A string constant's text, or an f-string's literal parts joined (each placeholder as `` x ``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else " x "
                       for v in node.values)
    return None


def test_no_sql_text_outside_the_store() -> None:
    found = set()
    for path in _modules(PACKAGE) + _modules(ROOT / "flows") + _modules(ROOT / "tasks"):
        if path.is_relative_to(PACKAGE / "store"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = _literal(node)
            if text is not None and SQL.match(text):
                found.add(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}")
    assert not found, f"SQL text outside ocrflow/store/: {sorted(found)}"


def test_the_core_imports_neither_prefect_nor_flows() -> None:
    """The Prefect-free package: the CLI may start a flow (``ocrflow run --prefect``), nothing else may."""
    found = []
    for path in _modules(PACKAGE):
        if path.is_relative_to(PACKAGE / "cli"):
            continue
        for name, line in _all_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if name.split(".")[0] in ("prefect", "flows", "tasks"):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert found == []


def test_no_import_cycles_at_import_time() -> None:
    modules = {_name(p): p for p in _modules(PACKAGE)}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = {t for t, _ in _top_level_imports(tree, name, path.name == "__init__.py")}
        # a module's own packages are imported before it, whatever it names: no edge back up to them
        graph[name] = {t for t in targets if t in modules and t != name and not name.startswith(t + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert cycles == [], cycles


def test_no_test_module_imports_another() -> None:
    """Shared helpers live in tests/support (and the fake servers in tests/fakes); a test module or a conftest
    is never imported by another module."""
    found = []
    for path in _modules(ROOT / "tests"):
        for name, line in _all_imports(ast.parse(path.read_text(encoding="utf-8"))):
            parts = name.split(".")
            if parts[0] == "tests" and any(p.startswith("test_") or p == "conftest" for p in parts[1:]):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert found == []
