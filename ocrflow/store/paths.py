"""Every path a document was found under (``document_paths``), and the columns added to ``documents``
after its first release (ALTERed into existing files by ``init_schema``, in both dialects).

The same bytes under two names are one document (one sha256, one ``documents`` row) with two rows here;
a run's ``duplicates`` count is the number of paths beyond the first per document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ocrflow.store.dialect import ANY_LIMIT, Dialect, sql_dialect
from ocrflow.store.primitives import WriteTarget

ADDED_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    # table, column, duckdb type, postgres type
    ("documents", "error_code", "VARCHAR", "TEXT"),
    ("documents", "pages_read", "INTEGER", "INTEGER"),
    ("documents", "path_raw", "VARCHAR", "TEXT"),
    ("documents", "einvoice_syntax", "VARCHAR", "TEXT"),
    ("documents", "einvoice_profile", "VARCHAR", "TEXT"),
)
"""Columns of the base tables that a store created by an older release lacks. CREATE TABLE has them
already; these statements add them to existing files and databases (a no-op when present)."""



def added_columns_ddl(dialect: Dialect) -> list[str]:
    """ADD COLUMN IF NOT EXISTS for every column of ``ADDED_COLUMNS`` (both dialects spell it the same)."""
    d = sql_dialect(dialect)
    return [f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {d.pick(duck, pg)}"
            for table, column, duck, pg in ADDED_COLUMNS]


def document_paths_ddl(dialect: Dialect) -> str:
    d = sql_dialect(dialect)
    ts, txt = d.timestamp, d.text
    return f"""CREATE TABLE IF NOT EXISTS document_paths (
  doc_sha256 {txt} NOT NULL, path {txt} NOT NULL, path_raw {txt}, first_seen {ts}, last_seen {ts},
  run_id {txt}, PRIMARY KEY (doc_sha256, path))"""


def path_columns(paths: list[tuple[str, str, str | None]], run_id: str, now: datetime) -> list[list[Any]]:
    """The batch's paths column by column, one per (document, path)."""
    keyed = list({(sha, path): (sha, path, raw) for sha, path, raw in paths}.values())
    n = len(keyed)
    return [[k[0] for k in keyed], [k[1] for k in keyed], [k[2] for k in keyed], [now] * n, [now] * n,
            [run_id] * n]


PATH_TYPES: tuple[tuple[str, str, str], ...] = (
    # name, duckdb type, postgres type
    ("doc_sha256", "VARCHAR", "TEXT"), ("path", "VARCHAR", "TEXT"), ("path_raw", "VARCHAR", "TEXT"),
    ("first_seen", "TIMESTAMP", "TIMESTAMPTZ"), ("last_seen", "TIMESTAMP", "TIMESTAMPTZ"),
    ("run_id", "VARCHAR", "TEXT"),
)
_CONFLICT = ("ON CONFLICT (doc_sha256, path) DO UPDATE SET last_seen = excluded.last_seen, "
             "run_id = excluded.run_id, path_raw = excluded.path_raw")


def write_paths(target: WriteTarget, paths: list[tuple[str, str, str | None]], run_id: str, now: datetime) -> None:
    """Upsert the paths in one statement, inside the batch's transaction (DuckDB, a batch's worth: by the index
    on ``doc_sha256``, :func:`_replace_by_index`)."""
    if not paths:
        return
    cols = [(name, target.sql.pick(duck, pg)) for name, duck, pg in PATH_TYPES]
    data = path_columns(paths, run_id, now)
    conflict = _CONFLICT
    if target.sql.name == "duckdb" and len(set(data[0])) <= ANY_LIMIT:
        _replace_by_index(target, data)
        conflict = ""  # the stored ones are gone: nothing left to conflict with
    target.execute(target.sql.insert_arrays("document_paths", cols, conflict=conflict),
                   target.sql.array_params(cols, data))


def _replace_by_index(target: WriteTarget, data: list[list[Any]]) -> None:
    """DuckDB checks ``ON CONFLICT`` of a two-column key without an index lookup (its cost grew with the table):
    the batch's stored paths are found by ``doc_sha256`` (``ocrflow.store.indexes``) and deleted first, their
    ``first_seen`` carried into ``data``, so that a plain INSERT follows."""
    shas = sorted(set(data[0]))
    found = target.execute("SELECT rowid, doc_sha256, path, first_seen FROM document_paths WHERE "
                           f"{target.sql.in_list('doc_sha256', len(shas))}", [shas])
    stored = {(sha, path): (rowid, first) for rowid, sha, path, first in found}
    hits = [stored[(sha, path)] for sha, path in zip(data[0], data[1], strict=True) if (sha, path) in stored]
    if not hits:
        return
    data[3] = [stored.get((sha, path), (None, seen))[1] for sha, path, seen in zip(data[0], data[1], data[3],
                                                                                    strict=True)]
    target.execute("DELETE FROM document_paths WHERE rowid = ANY(?)", [[rowid for rowid, _ in hits]])
