"""Stores: DuckDB (default) and PostgreSQL behind one protocol."""

from __future__ import annotations

from typing import Any

from ocrflow.store.base import Batch, DocumentUpdate, RunRecord, SchemaChangeError, Store, StoreError

__all__ = ["Batch", "DocumentUpdate", "RunRecord", "SchemaChangeError", "Store", "StoreError", "open_store"]


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://"))


def open_store(url: str, *, read_only: bool = False) -> Any:
    """A store for a DuckDB path or a postgresql:// URL."""
    if is_postgres_url(url):
        from ocrflow.store.postgres_store import PostgresStore

        return PostgresStore(url, read_only=read_only)
    from ocrflow.store.duckdb_store import DuckDBStore

    return DuckDBStore(url, read_only=read_only)
