"""The batch writer's primitives on a PostgreSQL connection (a ``WriteTarget``): upserts, COPY in bulk.

:class:`PgLoad` runs inside the transaction ``ocrflow.store.writer`` opens. Every write is an upsert
keyed by the table's PRIMARY KEY, so concurrent writers never store a key twice; groups of at least
``bulk_threshold`` rows are COPied into a temp staging table and upserted with one INSERT ... SELECT
... ON CONFLICT DO UPDATE, smaller ones row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql as pgsql

from ocrflow.store.base import DocumentUpdate
from ocrflow.store.dialect import POSTGRES
from ocrflow.store.documents import DOCUMENT_UPSERT_SET
from ocrflow.store.postgres_copy import array_literal, copy_columns, escape_copy_text
from ocrflow.store.rows import DOCUMENT_COLUMNS, document_columns, document_params, last_per_key
from ocrflow.store.schema import ColumnTypes


def replace_all(key: str, columns: Sequence[str]) -> str:
    """``ON CONFLICT (key) DO UPDATE SET`` every other column to the new row's value."""
    keys = {k.strip() for k in key.split(",")}
    sets = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in keys)
    return f"ON CONFLICT ({key}) DO UPDATE SET {sets}"


class PgLoad:
    """The writes of one transaction on a PostgreSQL connection (``ocrflow.store.writer`` opens and commits it)."""

    sql = POSTGRES

    def __init__(self, conn: psycopg.Connection[Any], *, bulk_threshold: int, types: ColumnTypes) -> None:
        self.conn = conn
        self.bulk_threshold = bulk_threshold
        self.types = types

    def transaction(self) -> AbstractContextManager[Any]:
        return self.conn.transaction()

    def execute(self, sql_text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql_text, list(params) or None)
            return cur.fetchall() if cur.description else []

    def lock_keys(self, names: Sequence[str]) -> None:
        """Transaction-scoped advisory locks, taken in the given order (callers sort: no crosswise waits)."""
        for name in names:
            self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])

    def now_sql(self, now: datetime) -> str:
        return "now()"

    def upsert_documents(self, docs: list[DocumentUpdate], run_id: str, now: datetime, *,
                         set_extra: str = "", where: str = "") -> None:
        """``INSERT ... ON CONFLICT (sha256) DO UPDATE SET ... [WHERE where]``; the last update per document wins."""
        if not docs:
            return
        conflict = (f"ON CONFLICT (sha256) DO UPDATE SET {DOCUMENT_UPSERT_SET}"
                    f"{', ' + set_extra if set_extra else ''}{' WHERE ' + where if where else ''}")
        if len(docs) >= self.bulk_threshold:
            data = document_columns(docs, run_id, now)
            if len(data[0]) >= self.bulk_threshold:
                self._upsert_columns("documents", DOCUMENT_COLUMNS, self.types.of("documents", DOCUMENT_COLUMNS),
                                     data, conflict, key=("sha256",))
                return
        rows = last_per_key([document_params(d, run_id, now) for d in docs])
        self._upsert("documents", DOCUMENT_COLUMNS, rows, conflict, key=("sha256",))

    def replace(self, table: str, columns: Sequence[str], data: list[list[Any]], *, key: Sequence[str],
                types: Sequence[str] | None = None, leave: str | None = None) -> None:
        """Upsert rows with distinct keys (every other column replaced); ``leave``'s rows with these keys
        are deleted first (in bulk: from the staging table)."""
        if not data or not data[0]:
            return
        conflict = replace_all(", ".join(key), columns)
        if len(data[0]) >= self.bulk_threshold:
            col_types = list(types) if types is not None else self.types.of(table, columns)
            self._upsert_columns(table, columns, col_types, data, conflict, key=tuple(key), delete_from=leave)
            return
        if leave:
            self.conn.execute(pgsql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(
                pgsql.Identifier(leave), pgsql.Identifier(key[0])), [data[list(columns).index(key[0])]])
        self._upsert(table, columns, [list(r) for r in zip(*data, strict=True)], conflict, key=tuple(key))

    def _upsert(self, table: str, columns: Sequence[str], rows: list[list[Any]], conflict: str, *,
                key: tuple[str, ...]) -> None:
        """INSERT ... ON CONFLICT: executemany for a few rows; COPY into a temp table + INSERT ... SELECT
        for many. Must run inside a transaction (the staging table is dropped on commit).

        Rows go in key order (sorted here for executemany, ``ORDER BY`` in the bulk INSERT ... SELECT),
        so two workers upserting overlapping rows lock them in the same order (one waits for the other
        instead of deadlocking)."""
        cols = pgsql.SQL(", ").join(pgsql.Identifier(c) for c in columns)
        target = pgsql.Identifier(table)
        if len(rows) < self.bulk_threshold:
            idx = [list(columns).index(k) for k in key]
            rows = sorted(rows, key=lambda r: tuple(r[i] for i in idx))
            marks = pgsql.SQL(", ").join(pgsql.Placeholder() for _ in columns)
            query = pgsql.SQL("INSERT INTO {} ({}) VALUES ({}) " + conflict).format(
                target, cols, marks)
            with self.conn.cursor() as cur:
                cur.executemany(query, rows)
            return
        self._upsert_columns(table, columns, self.types.of(table, columns),
                             [list(c) for c in zip(*rows, strict=True)], conflict, key=key)

    def _upsert_columns(self, table: str, columns: Sequence[str], types: Sequence[str], data: list[list[Any]],
                        conflict: str, *, key: tuple[str, ...], delete_from: str | None = None) -> None:
        """The bulk path: COPY the columns (one list of values each, distinct keys) into a temp table,
        then one INSERT ... SELECT ... ORDER BY key ... ON CONFLICT. Must run inside a transaction.

        The COPY data is built column by column as text (``copy_columns``); a column with one value in
        every row is not copied but cast once in the SELECT. ``delete_from``: a table whose rows with
        the staged keys are deleted first (the quarantine, when rows load clean)."""
        formatted = copy_columns(types, data)
        if formatted is None:  # a value COPY text cannot carry exactly: let psycopg adapt it row by row
            self._copy_rows(table, columns, types, data, conflict, key=key, delete_from=delete_from)
            return
        target = pgsql.Identifier(table)
        stage = pgsql.Identifier(f"_ocrflow_stage_{table}")
        copied: list[str] = []
        payload: list[list[str]] = []
        select: list[pgsql.Composable] = []
        params: list[str | None] = []
        for name, typ, (text, const) in zip(columns, types, formatted, strict=True):
            if const and name not in key:
                select.append(pgsql.SQL("CAST({} AS " + typ + ")").format(pgsql.Placeholder()))
                params.append(text[0])
            else:
                select.append(pgsql.Identifier(name))
                copied.append(name)
                payload.append(escape_copy_text(text))
        copy_cols = pgsql.SQL(", ").join(pgsql.Identifier(c) for c in copied)
        self.conn.execute(pgsql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            stage, copy_cols, target))
        with self.conn.cursor() as cur, cur.copy(pgsql.SQL("COPY {} ({}) FROM STDIN").format(stage, copy_cols)) as copy:
            copy.write("\n".join(map("\t".join, zip(*payload, strict=True))) + "\n")
        self._merge_stage(table, columns, pgsql.SQL(", ").join(select), params, conflict, key=key,
                          delete_from=delete_from)

    def _copy_rows(self, table: str, columns: Sequence[str], types: Sequence[str], data: list[list[Any]],
                   conflict: str, *, key: tuple[str, ...], delete_from: str | None) -> None:
        """COPY row by row with psycopg's adaptation (values ``copy_columns`` does not format)."""
        stage = pgsql.Identifier(f"_ocrflow_stage_{table}")
        self.conn.execute(pgsql.SQL("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP").format(
            stage, pgsql.Identifier(table)))
        cols = pgsql.SQL(", ").join(pgsql.Identifier(c) for c in columns)
        arrays = [i for i, t in enumerate(types) if t.endswith("[]")]
        with self.conn.cursor() as cur, cur.copy(pgsql.SQL("COPY {} ({}) FROM STDIN").format(stage, cols)) as copy:
            for row in zip(*data, strict=True):
                values = list(row)
                for i in arrays:
                    values[i] = array_literal(values[i])
                copy.write_row(values)
        self._merge_stage(table, columns, cols, [], conflict, key=key, delete_from=delete_from)

    def _merge_stage(self, table: str, columns: Sequence[str], select: pgsql.Composable, params: list[str | None],
                     conflict: str, *, key: tuple[str, ...], delete_from: str | None) -> None:
        """DELETE the staged keys from ``delete_from``, then INSERT ... SELECT ... ORDER BY key ... ON CONFLICT."""
        target = pgsql.Identifier(table)
        stage = pgsql.Identifier(f"_ocrflow_stage_{table}")
        if delete_from:
            keys = pgsql.SQL(" AND ").join(pgsql.SQL("d.{k} = s.{k}").format(k=pgsql.Identifier(k)) for k in key)
            self.conn.execute(pgsql.SQL("DELETE FROM {} d USING {} s WHERE {}").format(
                pgsql.Identifier(delete_from), stage, keys))
        cols = pgsql.SQL(", ").join(pgsql.Identifier(c) for c in columns)
        order = pgsql.SQL(", ").join(pgsql.Identifier(k) for k in key)
        self.conn.execute(pgsql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ORDER BY {} " + conflict).format(
            target, cols, select, stage, order), params)
        self.conn.execute(pgsql.SQL("DROP TABLE {}").format(stage))
