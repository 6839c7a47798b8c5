"""A run into a DuckDB file, and a read-only query of that file (what a test reads back after the run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from ocrflow.core.settings import load_settings
from ocrflow.engines.base import Engine
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.run.files_work import run_files
from ocrflow.run.summary import RunSummary
from ocrflow.store.duckdb_store import DuckDBStore


def run_into(inputs: list[str], db: Path, engine: Engine | None = None, **settings: Any) -> RunSummary:
    """``ocrflow run`` in this process: ``inputs`` into the DuckDB file ``db`` (embedded engine by default)."""
    store = DuckDBStore(str(db))
    try:
        return run_files(inputs, load_settings(store=str(db), **settings), store, engine or EmbeddedEngine())
    finally:
        store.close()


def rows(db: Path | str, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
