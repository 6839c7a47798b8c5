"""What the store fault tests check after a fault: an inbox of e-invoices with lines, and "only whole batches".

Every document of the inbox is a UBL invoice with two line items (no OCR: quick, and every loaded
document has a header row, two line rows and its field evidence). The checks read a store through
a query function, so the same ones run on a DuckDB file and on a PostgreSQL schema.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from ocrflow.core.settings import load_settings
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.pipeline.einvoice import build_ubl_xml
from ocrflow.run.files_work import run_files
from ocrflow.run.lifecycle import RunOptions
from ocrflow.run.summary import RunSummary
from ocrflow.store import open_store
from tests.support.duck import rows

Query = Callable[[str], list[tuple[Any, ...]]]
LINES_PER_DOC = 2
FIELDS = {"invoice_date": "2024-05-02", "seller_name": "Acme GmbH", "seller_tax_id": "DE999999999",
          "buyer_name": "Buyer AG", "currency": "EUR", "subtotal_amount": 80.0, "tax_amount": 15.2,
          "total_amount": 95.2}
LINES = [{"name": "Widget", "quantity": 4, "unit_price": 10.0, "amount": 40.0},
         {"name": "Gadget", "quantity": 2, "unit_price": 20.0, "amount": 40.0}]


def make_inbox(folder: Path, n: int) -> list[Path]:
    """``n`` distinct invoices (own numbers, so no business-key duplicates), two lines each."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"invoice_{i:03d}.xml"
        path.write_bytes(build_ubl_xml({**FIELDS, "invoice_number": f"F-{i:04d}"}, lines=LINES,
                                       tax_rate_percent=19.0))
        paths.append(path)
    return paths


def run_store(url: str, inbox: Path, *, batch_size: int) -> RunSummary:
    """A run of ``inbox`` into the store at ``url`` in this process, ``batch_size`` documents a batch."""
    store = open_store(url)
    try:
        return run_files([str(inbox)], load_settings(store=url, engine="embedded", documents_in_flight=1), store,
                         EmbeddedEngine(), options=RunOptions(batch_size=batch_size, data_docs=False))
    finally:
        store.close()


def duckdb_query(db: Path) -> Query:
    return lambda q: rows(db, q)


def postgres_query(url: str, schema: str) -> Query:
    def query(q: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            return [tuple(r) for r in con.execute(q.encode()).fetchall()]
    return query


def states(q: Query) -> dict[str, int]:
    return {str(s): int(n) for s, n in q("SELECT state, count(*) FROM documents GROUP BY state")}


def tables_exist(q: Query) -> bool:
    return bool(q("SELECT 1 FROM information_schema.tables WHERE table_name = 'documents' "
                  "AND table_schema = current_schema()"))


def assert_whole_batches(q: Query, *, documents: int, batch_size: int) -> dict[str, int]:
    """Every document registered once; each is loaded with its row, all its lines and its evidence, or
    pending with nothing anywhere; the loaded ones make whole batches. Returns the states."""
    assert q("SELECT count(*), count(DISTINCT sha256) FROM documents") == [(documents, documents)]
    by_state = states(q)
    assert set(by_state) <= {"loaded", "pending"}, by_state
    loaded = {str(s) for (s,) in q("SELECT sha256 FROM documents WHERE state = 'loaded'")}
    assert len(loaded) % batch_size == 0, f"{len(loaded)} loaded: not whole batches of {batch_size}"
    headers = dict(q("SELECT doc_sha256, count(*) FROM invoice GROUP BY doc_sha256"))
    assert headers == dict.fromkeys(loaded, 1), "a header without its document loaded, or twice"
    lines = dict(q("SELECT doc_sha256, count(*) FROM invoice_line GROUP BY doc_sha256"))
    assert lines == dict.fromkeys(loaded, LINES_PER_DOC), "a document without all its lines (or lines alone)"
    evidence = dict(q("SELECT doc_sha256, count(*) FROM field_evidence GROUP BY doc_sha256"))
    assert set(evidence) == loaded, "evidence of a document not loaded, or a loaded one without evidence"
    assert len(set(evidence.values())) <= 1, f"evidence incomplete for some documents: {evidence}"
    assert q("SELECT count(*) FROM quarantine") == [(0,)]
    return by_state


def assert_all_loaded_once(q: Query, *, documents: int) -> None:
    """After the re-run: every document loaded, each row, line and evidence stored exactly once."""
    assert states(q) == {"loaded": documents}
    assert q("SELECT count(*), count(DISTINCT doc_sha256) FROM invoice") == [(documents, documents)]
    assert q("SELECT count(*), count(DISTINCT (doc_sha256, line_no)) FROM invoice_line") == [
        (documents * LINES_PER_DOC, documents * LINES_PER_DOC)]
    evidence = q("SELECT count(*), count(DISTINCT (doc_sha256, field, line_no)), count(DISTINCT doc_sha256) "
                 "FROM field_evidence")
    assert evidence[0][0] == evidence[0][1] and evidence[0][2] == documents, evidence
    assert q("SELECT count(*) FROM documents WHERE claimed_by IS NOT NULL") == [(0,)]
