"""The core stays Prefect-free: no module under ocrflow/ (except the CLI, ocrflow/cli/) imports prefect, the
Prefect layer (flows, tasks) or anything below them. Every import statement counts, also inside functions and
under ``TYPE_CHECKING`` (a static scan of the source, as tests/unit/test_import_cycles.py)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("prefect", "flows", "tasks")
ALLOWED_UNDER = ("ocrflow/cli/",)


def imported_modules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, top-level package) of every absolute import anywhere in ``tree`` (relative ones stay inside)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            yield node.lineno, node.module.split(".")[0]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "import_module" \
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            yield node.lineno, node.args[0].value.split(".")[0]


def violations(root: Path = ROOT) -> list[str]:
    out = []
    for path in sorted((root / "ocrflow").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(ALLOWED_UNDER):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        out += [f"{rel}:{line} imports {top}" for line, top in imported_modules(tree) if top in FORBIDDEN]
    return out


def test_the_scan_sees_every_kind_of_import(tmp_path: Path) -> None:
    core = tmp_path / "ocrflow" / "engines"
    core.mkdir(parents=True)
    (core / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import flows.runtime\n")
    (core / "b.py").write_text("def f():\n    from prefect.concurrency.asyncio import concurrency\n")
    (core / "c.py").write_text("import importlib\nimportlib.import_module('tasks.stages')\nfrom . import a\n")
    cli = tmp_path / "ocrflow" / "cli"
    cli.mkdir()
    (cli / "run_cmd.py").write_text("from flows.process_documents import process_documents\n")
    assert violations(tmp_path) == ["ocrflow/engines/a.py:3 imports flows", "ocrflow/engines/b.py:2 imports prefect",
                                    "ocrflow/engines/c.py:2 imports tasks"]


def test_the_core_imports_neither_prefect_nor_the_flows() -> None:
    found = violations()
    assert not found, "the Prefect-free core imports the Prefect layer:\n" + "\n".join(found)
