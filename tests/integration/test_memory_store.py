"""Issuer memory in both real stores (ocrflow/store/memory.py): a lesson in one transaction, keys looked up
with their owners, facts replaced by key, issuers listed and forgotten; and the review's schema evolution of a
store an older release made (field_evidence and corrections columns, documents.issuer_id, memory tables)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from ocrflow.contracts import Contract
from ocrflow.store.duckdb_store import DuckDBStore
from ocrflow.store.memory_records import CONSTANT, ID_KEY, LINE_KEY, POSITION, Fact, IssuerKey, Lesson
from tests.support.store import count, make_batch, make_outcome


def _lesson(issuer: str, doc: str, *, hits: int = 1, keys: tuple[str, ...] = ("002345K",)) -> Lesson:
    facts = [Fact(issuer, "receipt", "merchant_name", CONSTANT, "SRIMAJU", value="SRI MAJU", y=0.1, hits=hits,
                  sources=("e:c1",)),
             Fact(issuer, "receipt", "total_amount", POSITION, "same_line|TOTAL|0", label="TOTAL", place="same_line",
                  y=0.8, shape="9.9", hits=hits)]
    return Lesson(issuer, "receipt", doc, "SRI MAJU", new_issuer=hits == 1, corrections=1,
                  keys=[IssuerKey(ID_KEY, k) for k in keys] + [IssuerKey(LINE_KEY, "SRIMAJU")], facts=facts)


def test_a_lesson_is_stored_looked_up_by_key_and_forgotten(any_store: Any, contracts: dict[str, Contract]) -> None:
    outcome = make_outcome(contracts["receipt"], 1)
    any_store.write_batch(make_batch([outcome]), contracts)
    sha = outcome.doc.sha256
    any_store.learn(_lesson("iss-a", sha))
    any_store.learn(_lesson("iss-a", sha, hits=2))  # the same facts again: replaced by key, not doubled
    any_store.learn(_lesson("iss-b", "f" * 64, keys=("002345K", "777777")))
    matches = {(m.issuer_id, m.key): m.owners for m in any_store.issuer_matches("receipt", ["002345K", "777777"])}
    assert matches == {("iss-a", "002345K"): 2, ("iss-b", "002345K"): 2, ("iss-b", "777777"): 1}
    assert any_store.issuer_matches("invoice", ["002345K"]) == []  # another contract's issuers are not looked at
    facts = any_store.issuer_facts("iss-a", "receipt")
    assert [(f.field, f.kind, f.hits, f.sources) for f in facts] == [
        ("merchant_name", CONSTANT, 2, ("e:c1",)), ("total_amount", POSITION, 2, ())]
    issuers = {i.issuer_id: i for i in any_store.issuers()}
    assert (issuers["iss-a"].documents, issuers["iss-a"].corrections, issuers["iss-a"].facts) == (2, 2, 2)
    assert any_store.issuer_documents("iss-a") == [sha]
    assert any_store.forget_issuer("iss-a") == 2
    assert any_store.issuer_facts("iss-a") == [] and any_store.issuer_keys("iss-a") == []
    assert [i.issuer_id for i in any_store.issuers()] == ["iss-b"]
    assert any_store.issuer_documents("iss-a") == []  # its documents keep their rows, not the link
    assert count(any_store, "SELECT count(*) FROM documents") == 1


OLD_EVIDENCE = """CREATE TABLE field_evidence (doc_sha256 VARCHAR NOT NULL, contract VARCHAR, field VARCHAR NOT NULL,
  line_no INTEGER NOT NULL DEFAULT 0, value VARCHAR, raw VARCHAR, page_no INTEGER, x0 DOUBLE, y0 DOUBLE, x1 DOUBLE,
  y1 DOUBLE, page_width INTEGER, page_height INTEGER, source VARCHAR, method VARCHAR, confidence DOUBLE,
  grounding VARCHAR, engine VARCHAR, model VARCHAR, prompt_version VARCHAR, run_id VARCHAR, updated_at TIMESTAMP,
  PRIMARY KEY (doc_sha256, field, line_no))"""
OLD_CORRECTIONS = """CREATE TABLE corrections (id VARCHAR PRIMARY KEY, doc_sha256 VARCHAR NOT NULL, contract VARCHAR,
  field VARCHAR, line_no INTEGER DEFAULT 0, old_value VARCHAR, new_value VARCHAR, action VARCHAR NOT NULL,
  reviewer VARCHAR, reason VARCHAR, "at" TIMESTAMP)"""
OLD_DOCUMENTS = """CREATE TABLE documents (sha256 VARCHAR NOT NULL, path VARCHAR NOT NULL, mime VARCHAR,
  size_bytes BIGINT, pages INTEGER, state VARCHAR NOT NULL, contract VARCHAR, error VARCHAR, attempts INTEGER DEFAULT 0,
  first_seen TIMESTAMP, updated_at TIMESTAMP, run_id VARCHAR, claimed_by VARCHAR, claim_expires TIMESTAMP)"""


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()
    return {str(r[0]) for r in rows}


def test_a_store_an_older_release_made_gets_the_review_and_memory_columns(tmp_path: Path,
                                                                         contracts: dict[str, Contract]) -> None:
    path = str(tmp_path / "old.duckdb")
    con = duckdb.connect(path)
    for ddl in (OLD_EVIDENCE, OLD_CORRECTIONS, OLD_DOCUMENTS):
        con.execute(ddl)
    con.execute("INSERT INTO corrections (id, doc_sha256, action) VALUES ('x', 'd', 'approve')")
    con.close()
    store = DuckDBStore(path)
    try:
        store.init_schema(list(contracts.values()))
        store.init_schema(list(contracts.values()))  # twice: nothing to add the second time
        assert [c.id for c in store.corrections("d")] == ["x"]  # old rows read with the new columns empty
        assert store.corrections("d")[0].old is None
    finally:
        store.close()
    con = duckdb.connect(path)
    try:
        assert {"reviewed_by", "reviewed_at", "memory"} <= _columns(con, "field_evidence")
        assert {"old_raw", "old_page_no", "old_x0", "old_y1", "old_source", "old_method", "old_confidence",
                "issuer_id"} <= _columns(con, "corrections")
        assert "issuer_id" in _columns(con, "documents")
        assert {"issuers", "issuer_keys", "issuer_facts"} <= {str(r[0]) for r in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
    finally:
        con.close()
