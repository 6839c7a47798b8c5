"""Loading a batch into PostgreSQL: upserts keyed by ``doc_sha256``, row by row or by COPY.

:class:`PgLoad` runs inside the caller's transaction (``PostgresStore.write_batch`` and
``register``); groups of at least ``bulk_threshold`` rows are COPied into a temp staging table
and upserted with one INSERT ... SELECT ... ON CONFLICT DO UPDATE, smaller ones row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from ocrflow.contracts import Contract
from ocrflow.core.models import RowOutcome
from ocrflow.store.base import Batch, DocumentUpdate
from ocrflow.store.documents import CLEAR_FINAL_CLAIMS_SET, DOCUMENT_UPSERT_SET
from ocrflow.store.evidence import write_evidence_postgres
from ocrflow.store.lines import write_lines_postgres
from ocrflow.store.paths import write_paths_postgres
from ocrflow.store.postgres_copy import array_literal, copy_columns, escape_copy_text
from ocrflow.store.rows import (
    DOCUMENT_COLUMNS,
    PAGE_COLUMNS,
    QUARANTINE_COLUMNS,
    document_columns,
    document_params,
    last_per_key,
    page_params,
    quarantine_params,
    row_columns,
    row_params,
    split_rows,
)
from ocrflow.store.schema import ColumnTypes, contract_columns, table_name


def replace_all(key: str, columns: Sequence[str]) -> str:
    """``ON CONFLICT (key) DO UPDATE SET`` every other column to the new row's value."""
    keys = {k.strip() for k in key.split(",")}
    sets = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in keys)
    return f"ON CONFLICT ({key}) DO UPDATE SET {sets}"


class PgLoad:
    """The writes of one transaction on a PostgreSQL connection (the caller opens and commits it)."""

    def __init__(self, conn: psycopg.Connection[Any], *, bulk_threshold: int, types: ColumnTypes) -> None:
        self.conn = conn
        self.bulk_threshold = bulk_threshold
        self.types = types

    def write_batch(self, batch: Batch, contracts: dict[str, Contract], now: datetime) -> None:
        """Pages, clean/quarantined rows and document states of one batch."""
        self._write_pages(batch, now)
        for (name, clean), outcomes in split_rows(batch, contracts).items():
            if clean:
                self._load_rows(outcomes, contracts[name])
            else:
                self._quarantine_rows(outcomes, contracts[name], now)
        self.upsert_documents(batch.documents, batch.run_id, now, set_extra=CLEAR_FINAL_CLAIMS_SET)
        write_paths_postgres(self.conn, batch.paths, batch.run_id, now)
        write_lines_postgres(self.conn, batch, contracts)
        write_evidence_postgres(self.conn, batch, now)

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

    def _write_pages(self, batch: Batch, now: datetime) -> None:
        rows = [page_params(sha, p, batch.run_id, now) for sha, p in batch.pages]
        if rows:
            keyed = list({(r[0], r[1]): r for r in rows}.values())
            self._upsert("pages", PAGE_COLUMNS, keyed, replace_all("doc_sha256, page_no", PAGE_COLUMNS),
                         key=("doc_sha256", "page_no"))

    def _load_rows(self, outcomes: list[RowOutcome], contract: Contract) -> None:
        """Clean rows of one contract (one per document: ``split_rows``); they leave quarantine."""
        cols = contract_columns(contract, "postgres")
        names, types = [n for n, _ in cols], [t for _, t in cols]
        conflict = replace_all("doc_sha256", names)
        if len(outcomes) >= self.bulk_threshold:
            self._upsert_columns(table_name(contract), names, types, row_columns(outcomes, contract), conflict,
                                 key=("doc_sha256",), delete_from="quarantine")
            return
        self.conn.execute("DELETE FROM quarantine WHERE doc_sha256 = ANY(%s)", [[o.doc.sha256 for o in outcomes]])
        rows = [row_params(o, contract) for o in outcomes]
        self._upsert(table_name(contract), names, rows, conflict, key=("doc_sha256",))

    def _quarantine_rows(self, outcomes: list[RowOutcome], contract: Contract, now: datetime) -> None:
        self.conn.execute(sql.SQL("DELETE FROM {} WHERE doc_sha256 = ANY(%s)").format(
            sql.Identifier(table_name(contract))), [[o.doc.sha256 for o in outcomes]])
        rows = [quarantine_params(o, contract, now) for o in outcomes]
        self._upsert("quarantine", QUARANTINE_COLUMNS, rows, replace_all("doc_sha256", QUARANTINE_COLUMNS),
                     key=("doc_sha256",))

    def _upsert(self, table: str, columns: Sequence[str], rows: list[list[Any]], conflict: str, *,
                key: tuple[str, ...]) -> None:
        """INSERT ... ON CONFLICT: executemany for a few rows; COPY into a temp table + INSERT ... SELECT
        for many. Must run inside a transaction (the staging table is dropped on commit).

        Rows go in key order (sorted here for executemany, ``ORDER BY`` in the bulk INSERT ... SELECT),
        so two workers upserting overlapping rows lock them in the same order (one waits for the other
        instead of deadlocking)."""
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        target = sql.Identifier(table)
        if len(rows) < self.bulk_threshold:
            idx = [list(columns).index(k) for k in key]
            rows = sorted(rows, key=lambda r: tuple(r[i] for i in idx))
            marks = sql.SQL(", ").join(sql.Placeholder() for _ in columns)
            query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) " + conflict).format(
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
        target = sql.Identifier(table)
        stage = sql.Identifier(f"_ocrflow_stage_{table}")
        copied: list[str] = []
        payload: list[list[str]] = []
        select: list[sql.Composable] = []
        params: list[str | None] = []
        for name, typ, (text, const) in zip(columns, types, formatted, strict=True):
            if const and name not in key:
                select.append(sql.SQL("CAST({} AS " + typ + ")").format(sql.Placeholder()))
                params.append(text[0])
            else:
                select.append(sql.Identifier(name))
                copied.append(name)
                payload.append(escape_copy_text(text))
        copy_cols = sql.SQL(", ").join(sql.Identifier(c) for c in copied)
        self.conn.execute(sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            stage, copy_cols, target))
        with self.conn.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(stage, copy_cols)) as copy:
            copy.write("\n".join(map("\t".join, zip(*payload, strict=True))) + "\n")
        self._merge_stage(table, columns, sql.SQL(", ").join(select), params, conflict, key=key,
                          delete_from=delete_from)

    def _copy_rows(self, table: str, columns: Sequence[str], types: Sequence[str], data: list[list[Any]],
                   conflict: str, *, key: tuple[str, ...], delete_from: str | None) -> None:
        """COPY row by row with psycopg's adaptation (values ``copy_columns`` does not format)."""
        stage = sql.Identifier(f"_ocrflow_stage_{table}")
        self.conn.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP").format(stage, sql.Identifier(table)))
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        arrays = [i for i, t in enumerate(types) if t.endswith("[]")]
        with self.conn.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(stage, cols)) as copy:
            for row in zip(*data, strict=True):
                values = list(row)
                for i in arrays:
                    values[i] = array_literal(values[i])
                copy.write_row(values)
        self._merge_stage(table, columns, cols, [], conflict, key=key, delete_from=delete_from)

    def _merge_stage(self, table: str, columns: Sequence[str], select: sql.Composable, params: list[str | None],
                     conflict: str, *, key: tuple[str, ...], delete_from: str | None) -> None:
        """DELETE the staged keys from ``delete_from``, then INSERT ... SELECT ... ORDER BY key ... ON CONFLICT."""
        target = sql.Identifier(table)
        stage = sql.Identifier(f"_ocrflow_stage_{table}")
        if delete_from:
            keys = sql.SQL(" AND ").join(sql.SQL("d.{k} = s.{k}").format(k=sql.Identifier(k)) for k in key)
            self.conn.execute(sql.SQL("DELETE FROM {} d USING {} s WHERE {}").format(
                sql.Identifier(delete_from), stage, keys))
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        order = sql.SQL(", ").join(sql.Identifier(k) for k in key)
        self.conn.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ORDER BY {} " + conflict).format(
            target, cols, select, stage, order), params)
        self.conn.execute(sql.SQL("DROP TABLE {}").format(stage))
