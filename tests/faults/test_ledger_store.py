"""The ledger columns and document_paths in both stores, including a store created before they existed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ocrflow.core.models import DocState
from ocrflow.store.base import Batch, DocumentUpdate
from ocrflow.store.duckdb_store import DuckDBStore
from ocrflow.store.postgres_store import PostgresStore
from tests.support.store import STORE_KINDS, drop_schema, require_pg

OLD_DOCUMENTS = """CREATE TABLE documents (
  sha256 TEXT NOT NULL, path TEXT NOT NULL, mime TEXT, size_bytes BIGINT, pages INTEGER, state TEXT NOT NULL,
  contract TEXT, error TEXT, attempts INTEGER DEFAULT 0, first_seen TIMESTAMP, updated_at TIMESTAMP, run_id TEXT,
  claimed_by TEXT, claim_expires TIMESTAMP{key})"""


@pytest.fixture(params=STORE_KINDS)
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A store whose documents table has the shape of the previous release."""
    if request.param == "duckdb":
        store: Any = DuckDBStore(str(tmp_path / "old.duckdb"))
        store.con.execute(OLD_DOCUMENTS.format(key=""))
        yield store
        store.close()
        return
    url, schema = require_pg(), f"ocrflow_test_{uuid.uuid4().hex[:10]}"
    store = PostgresStore(url, schema=schema)
    store.query(OLD_DOCUMENTS.format(key=", PRIMARY KEY (sha256)"))
    try:
        yield store
    finally:
        store.close()
        drop_schema(url, schema)


def test_an_old_store_gains_the_ledger_columns_and_keeps_every_path(old_store: Any) -> None:
    old_store.init_schema([])
    old_store.init_schema([])  # idempotent
    old_store.register([DocumentUpdate("a" * 64, "in/x.pdf", "application/pdf", 10, DocState.FAILED,
                                       error="PDF is encrypted", error_code="encrypted", pages_read=0,
                                       path_raw="in/x%E9.pdf")], "r1")
    old_store.write_batch(Batch("r1", paths=[("a" * 64, "in/x.pdf", "in/x%E9.pdf"), ("a" * 64, "in/y.pdf", None),
                                             ("a" * 64, "in/y.pdf", None)]), {})
    _, rows = old_store.query("SELECT state, error_code, pages_read, path_raw FROM documents")
    assert [tuple(r) for r in rows] == [("failed", "encrypted", 0, "in/x%E9.pdf")]
    _, paths = old_store.query("SELECT path, path_raw, run_id FROM document_paths ORDER BY path")
    assert [tuple(r) for r in paths] == [("in/x.pdf", "in/x%E9.pdf", "r1"), ("in/y.pdf", None, "r1")]
    old_store.write_batch(Batch("r2", paths=[("a" * 64, "in/y.pdf", None)]), {})
    _, seen = old_store.query("SELECT path, run_id FROM document_paths ORDER BY path")
    assert [tuple(r) for r in seen] == [("in/x.pdf", "r1"), ("in/y.pdf", "r2")]
