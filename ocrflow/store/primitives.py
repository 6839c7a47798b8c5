"""The primitives a store gives the batch writer (``ocrflow.store.writer``), as olmocr's ``Backend``.

The writer owns the order of a batch's writes and the SQL both dialects share; a store implements
only these few operations on its connection, inside the transaction the writer opens:
:class:`~ocrflow.store.duckdb_writes.DuckDBWrites` (DELETE + INSERT, Arrow staging for bulk) and
:class:`~ocrflow.store.postgres_load.PgLoad` (``ON CONFLICT`` upserts, COPY for bulk).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from ocrflow.store.base import DocumentUpdate
from ocrflow.store.dialect import SqlDialect


class WriteTarget(Protocol):
    """One store connection, seen by the batch writer."""

    sql: SqlDialect
    bulk_threshold: int
    """Row groups at least this large take the store's bulk path (the small ones go row by row)."""

    def transaction(self) -> AbstractContextManager[None]:
        """BEGIN ... COMMIT; ROLLBACK and the error (a store's clear ``StoreError`` where it has one) on failure."""
        ...

    def execute(self, sql_text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement in the transaction; its rows (none for a statement without a result)."""
        ...

    def lock_keys(self, names: Sequence[str]) -> None:
        """Hold transaction-scoped locks on ``names`` (in the given order) until COMMIT, where other writers
        could write the same keys at once (PostgreSQL advisory locks; a DuckDB file has one writer)."""
        ...

    def now_sql(self, now: datetime) -> str:
        """SQL for the current time in a guard (the transaction's own clock where the store has one)."""
        ...

    def upsert_documents(self, docs: list[DocumentUpdate], run_id: str, now: datetime, *,
                         set_extra: str = "", where: str = "") -> None:
        """``INSERT ... ON CONFLICT (sha256) DO UPDATE SET DOCUMENT_UPSERT_SET[, set_extra] [WHERE where]`` of
        ``docs``, the last update per document winning."""
        ...

    def replace(self, table: str, columns: Sequence[str], data: list[list[Any]], *, key: Sequence[str],
                types: Sequence[str] | None = None, leave: str | None = None) -> None:
        """Replace rows by ``key``: the rows of ``table`` with the keys of ``data`` (one list per column,
        distinct keys) become these. ``types``: the columns' SQL types (read from the catalog when None).
        ``leave``: a table whose rows with these keys (its first key column) are deleted first."""
        ...
