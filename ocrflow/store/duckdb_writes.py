"""The batch writer's primitives on a DuckDB connection (a ``WriteTarget``): DELETE + INSERT, Arrow in bulk.

A DuckDB file has one writer (its lock), so nothing here needs a constraint to conflict on: every
replace is DELETE of the keys + INSERT of distinct keys, every ``documents`` upsert is UPDATE + INSERT
of the absent keys, each inside the writer's transaction (``KEYS_BY_CONSTRAINT``). Groups of at least
``bulk_threshold`` rows are staged as one Arrow table per statement (``ocrflow.store.staging``);
smaller ones go row by row (executemany). Both give the same rows (tests compare them).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

import duckdb

from ocrflow.store.base import DocumentUpdate
from ocrflow.store.dialect import ANY_LIMIT, DUCKDB, quote_ident
from ocrflow.store.documents import DOCUMENT_UPSERT_SET
from ocrflow.store.duckdb_tx import transaction
from ocrflow.store.rows import DOCUMENT_COLUMNS, document_columns
from ocrflow.store.schema import ColumnTypes
from ocrflow.store.staging import staging_table


class DuckDBWrites:
    """The writes of one transaction on a DuckDB connection (``ocrflow.store.writer`` opens and commits it)."""

    sql = DUCKDB

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str, *, bulk_threshold: int,
                 types: ColumnTypes) -> None:
        self.con = con
        self.path = path
        self.bulk_threshold = bulk_threshold
        self.types = types

    def transaction(self) -> AbstractContextManager[None]:
        return transaction(self.con, self.path)

    def execute(self, sql_text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.con.execute(sql_text, list(params))
        return cur.fetchall() if cur.description else []

    def lock_keys(self, names: Sequence[str]) -> None:
        """Nothing to lock: the file's lock makes this process its only writer."""

    def now_sql(self, now: datetime) -> str:
        return f"TIMESTAMP '{now.isoformat(sep=' ')}'"

    def upsert_documents(self, docs: list[DocumentUpdate], run_id: str, now: datetime, *,
                         set_extra: str = "", where: str = "") -> None:
        """``INSERT ... ON CONFLICT (sha256) DO UPDATE SET ... [WHERE where]`` of ``docs``, as UPDATE of the
        documents that exist (those passing ``where``) + INSERT of the ones that do not (the table has no
        constraint to conflict on: see ``KEYS_BY_CONSTRAINT``). The last update per document wins."""
        if not docs:
            return
        sets = f"{DOCUMENT_UPSERT_SET}{', ' + set_extra if set_extra else ''}"
        guard = f" AND {where}" if where else ""
        data = document_columns(docs, run_id, now)
        types = self.types.of("documents", DOCUMENT_COLUMNS)
        cols = ", ".join(quote_ident(c) for c in DOCUMENT_COLUMNS)
        absent = " WHERE NOT EXISTS (SELECT 1 FROM documents AS d WHERE d.sha256 = excluded.sha256)"
        update = "UPDATE documents SET {sets} FROM {src} WHERE documents.sha256 = excluded.sha256{guard}"
        if len(data[0]) < self.bulk_threshold:
            src = "(SELECT " + ", ".join(f"CAST(? AS {t}) AS {quote_ident(c)}" for c, t in zip(
                DOCUMENT_COLUMNS, types, strict=True)) + ") AS excluded"
            rows = [list(r) for r in zip(*data, strict=True)]
            self.con.executemany(update.format(sets=sets, src=src, guard=guard), rows)
            self.con.executemany(f"INSERT INTO documents ({cols}) SELECT * FROM {src}{absent}", rows)
            return
        shas = sorted(set(data[0]))
        if len(shas) > ANY_LIMIT:
            self._upsert_bulk(update, {"sets": sets, "guard": guard}, absent, cols, types, data,
                              unguarded=not where)
            return
        # By the batch's keys, so that DuckDB finds the stored documents through the index on sha256
        # (ocrflow.store.indexes) instead of reading the table.
        with self._staged("documents", DOCUMENT_COLUMNS, types, data, key=("sha256",)) as (view, select, params):
            src = f"(SELECT {select} FROM {view}) AS excluded"
            self.con.execute(update.format(sets=sets, src=src, guard=guard) + " AND documents.sha256 = ANY(?)",
                             [*params, shas])
            stored = [r[0] for r in self.con.execute("SELECT sha256 FROM documents WHERE sha256 = ANY(?)",
                                                     [shas]).fetchall()]
            if len(stored) < len(shas):
                self.con.execute(f"INSERT INTO documents ({cols}) SELECT * FROM {src} WHERE NOT "
                                 "(excluded.sha256 = ANY(?))", [*params, stored])

    def _upsert_bulk(self, update: str, parts: dict[str, str], absent: str, cols: str, types: list[str],
                     data: list[list[Any]], *, unguarded: bool) -> None:
        """The upsert of thousands of documents: joins (one pass over ``documents``, not an index lookup each)."""
        with self._staged("documents", DOCUMENT_COLUMNS, types, data, key=("sha256",)) as (view, select, params):
            src = f"(SELECT {select} FROM {view}) AS excluded"
            row = self.con.execute(update.format(src=src, **parts), params).fetchone()
            updated = int(row[0]) if row else 0
            if updated < len(data[0]):
                # Unguarded, an UPDATE that touched nothing means every document is new: no anti-join needed.
                new = absent if updated or not unguarded else ""
                self.con.execute(f"INSERT INTO documents ({cols}) SELECT * FROM {src}{new}", params)

    def replace(self, table: str, columns: Sequence[str], data: list[list[Any]], *, key: Sequence[str],
                types: Sequence[str] | None = None, leave: str | None = None) -> None:
        """Replace rows by ``key`` (distinct keys): DELETE of their keys (and of ``leave``'s rows with them) +
        INSERT, staged in bulk from ``bulk_threshold`` rows, else one row at a time (executemany)."""
        if not data or not data[0]:
            return
        if len(data[0]) >= self.bulk_threshold:
            col_types = list(types) if types is not None else self.types.of(table, columns)
            firsts = sorted(set(data[list(columns).index(key[0])]))
            with self._staged(table, columns, col_types, data, key=key) as (view, select, params):
                if leave:
                    self.con.execute(f"DELETE FROM {leave} WHERE "
                                     f"{self.sql.in_list(quote_ident(key[0]), len(firsts))}", [firsts])
                self._replace_staged(table, columns, key, view, select, params, firsts, data)
            return
        idx = [list(columns).index(k) for k in key]
        rows = [list(r) for r in zip(*data, strict=True)]
        if leave:
            self.con.execute(f"DELETE FROM {leave} WHERE {self.sql.in_list(quote_ident(key[0]), len(rows))}",
                             [data[idx[0]]])
        match = " AND ".join(f"{quote_ident(k)} = ?" for k in key)
        self.con.executemany(f"DELETE FROM {table} WHERE {match}", [[r[i] for i in idx] for r in rows])
        quoted = ", ".join(quote_ident(c) for c in columns)
        self.con.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({self.sql.marks(len(columns))})", rows)

    def _replace_staged(self, table: str, columns: Sequence[str], key: Sequence[str], view: str, select: str,
                        params: list[Any], firsts: list[Any], data: list[list[Any]]) -> None:
        """Replace staged rows with distinct keys: DELETE of their keys + one INSERT ... SELECT. The DELETE
        names the first key column's values (``firsts``) too, so that DuckDB finds the rows through that
        column's index instead of reading the table (``ocrflow.store.indexes``).

        Also where the table has a PRIMARY KEY: DuckDB runs ``INSERT OR REPLACE`` as a MERGE (a join
        plus a GROUP BY over all columns), and replacing rows that exist that way cost ~0.4 ms each
        (4 s for a re-loaded 10,000-row batch here, 0.7 s this way)."""
        src = f"(SELECT {select} FROM {view})"
        first = self.sql.in_list(f"{table}.{quote_ident(key[0])}", len(firsts))
        if len(firsts) > ANY_LIMIT:
            match = " AND ".join(f"{table}.{quote_ident(k)} = s.{quote_ident(k)}" for k in key)
            self.con.execute(f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {src} AS s WHERE {match})", params)
        elif len(key) == 1:
            self.con.execute(f"DELETE FROM {table} WHERE {first}", [firsts])
        else:  # DuckDB uses the index only for a filter on its column alone: rows by it, then the whole key
            cols = list(columns)
            wanted = set(zip(*(data[cols.index(k)] for k in key), strict=True))
            found = self.con.execute(f"SELECT rowid, {', '.join(quote_ident(k) for k in key)} FROM {table} "
                                     f"WHERE {first}", [firsts]).fetchall()
            ids = [r[0] for r in found if tuple(r[1:]) in wanted]
            if ids:
                self.con.execute(f"DELETE FROM {table} WHERE rowid = ANY(?)", [ids])
        quoted = ", ".join(quote_ident(c) for c in columns)
        self.con.execute(f"INSERT INTO {table} ({quoted}) SELECT * FROM {src}", params)

    @contextmanager
    def _staged(self, table: str, columns: Sequence[str], types: Sequence[str], data: list[list[Any]], *,
                key: Sequence[str]) -> Iterator[tuple[str, str, list[Any]]]:
        """Register the staging Arrow table: (view name, SELECT list casting to the table types, its parameters).

        A column with one value in every row (engine, model, run id, timestamps, ...) is not staged
        but sent once as a parameter; the ``key`` columns are always staged."""
        frame, select, params = staging_table(columns, types, data, keep=key)
        view = f"_ocrflow_stage_{table}"
        self.con.register(view, frame)
        try:
            yield view, select, params
        finally:
            self.con.unregister(view)
