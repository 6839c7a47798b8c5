"""Stores: DuckDB (default) and PostgreSQL behind one protocol, ``Store``.

Modules: ``base`` (the protocol and its records), ``schema`` (DDL and schema evolution), ``rows``
(row shapes), ``documents`` (the documents table's shared SQL), ``duckdb_store`` + ``staging``,
``postgres_store`` + ``postgres_load``/``postgres_copy``/``postgres_claims``.
"""

from __future__ import annotations

from ocrflow.store.base import Batch, DocumentUpdate, RunRecord, SchemaChangeError, Store, StoreError

__all__ = ["Batch", "DocumentUpdate", "RunRecord", "SchemaChangeError", "Store", "StoreError", "open_store"]


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://"))


def open_store(url: str, *, read_only: bool = False, sandbox: bool = False, brief: bool = False) -> Store:
    """A store for a DuckDB path or a postgresql:// URL (each driver is imported only when used).

    ``sandbox``: read-only, for the user's own SQL (``ocrflow query``): no file access, extensions or
    configuration changes on DuckDB, one read in a rolled-back READ ONLY transaction on PostgreSQL
    (``ocrflow.store.sandbox``). ``brief``: a DuckDB writer for one decision (the review's), which waits its turn
    between a run's batches instead of being the file's one writer (``ocrflow.store.duckdb_conn``)."""
    if is_postgres_url(url):
        from ocrflow.store.postgres_store import PostgresStore

        return PostgresStore(url, read_only=read_only, sandbox=sandbox)
    from ocrflow.store.duckdb_store import DuckDBStore

    return DuckDBStore(url, read_only=read_only, sandbox=sandbox, brief=brief)
