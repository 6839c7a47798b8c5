"""The lookup indexes that keep a batch write flat (issue 21) exist on both stores after ``init_schema``, also
for a store made without them, and the duplicate check found through the probe column still compares the whole
business key: a stored invoice with the batch's number but another seller is no duplicate."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ocrflow.contracts import Contract
from ocrflow.core.models import DocState
from ocrflow.store.duckdb_store import DuckDBStore
from ocrflow.store.indexes import probe_column
from ocrflow.store.postgres_store import PostgresStore
from tests.support.store import STORE_KINDS, drop_schema, make_batch, make_outcome, require_pg


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path, contracts: dict[str, Contract]) -> Iterator[Any]:
    schema = f"ix_{uuid.uuid4().hex[:10]}"
    url = require_pg() if request.param == "postgres" else ""
    s: Any = DuckDBStore(str(tmp_path / "s.duckdb")) if request.param == "duckdb" else PostgresStore(url, schema=schema)
    yield s
    s.close()
    if url:
        drop_schema(url, schema)


def _indexes(store: Any) -> set[str]:
    if store.dialect == "duckdb":
        return {r[0] for r in store.query("SELECT index_name FROM duckdb_indexes()")[1]}
    return {r[0] for r in store.query("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")[1]}


def test_init_schema_creates_the_lookup_indexes_also_on_an_older_store(store: Any,
                                                                        contracts: dict[str, Contract]) -> None:
    assert probe_column(contracts["invoice"]) == "invoice_number"
    store.init_schema(list(contracts.values()))
    have = _indexes(store)
    assert "ix_invoice_invoice_number" in have and "ix_receipt_total_amount" in have
    if store.dialect == "duckdb":
        assert {"ix_documents_sha256", "ix_pages_doc_sha256", "ix_field_evidence_doc_sha256",
                "ix_document_paths_doc_sha256", "ix_invoice_doc_sha256", "ix_invoice_line_doc_sha256"} <= have
    for name in sorted(have & {"ix_invoice_invoice_number", "ix_documents_sha256"}):
        store.query(f'DROP INDEX "{name}"')  # a store an older release made
    store.init_schema(list(contracts.values()))
    assert have <= _indexes(store)


def test_the_probe_finds_candidates_and_the_whole_key_decides(store: Any, contracts: dict[str, Contract]) -> None:
    store.init_schema(list(contracts.values()))
    inv = contracts["invoice"]
    first = make_outcome(inv, 1, overrides={"seller_tax_id": "DE111", "invoice_number": "INV-7"})
    store.write_batch(make_batch([first]), contracts)
    other_seller = make_outcome(inv, 2, overrides={"seller_tax_id": "DE222", "invoice_number": "INV-7"})
    same_key = make_outcome(inv, 3, overrides={"seller_tax_id": "DE111", "invoice_number": "INV-7"})
    batch = make_batch([other_seller, same_key])
    store.write_batch(batch, contracts)
    states = {d.sha256: d.state for d in batch.documents}
    assert states[other_seller.doc.sha256] is DocState.LOADED
    assert states[same_key.doc.sha256] is DocState.QUARANTINED
    _, rows = store.query("SELECT error FROM documents WHERE sha256 = " + store.sql.mark, [same_key.doc.sha256])
    assert rows[0][0].startswith(f"duplicate of {first.doc.sha256[:12]}")
