"""The Store's reads and review writes (ocrflow/store/reads.py, shared.py) on both real stores: each answers
with the same records on DuckDB and PostgreSQL, and a rejection is one transaction of the store."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ocrflow.contracts import Contract
from ocrflow.core.evidence import EvidenceRow
from ocrflow.core.models import DocState, RowOutcome
from ocrflow.store.dialect import decode_json
from ocrflow.store.records import Correction
from ocrflow.store.schema import table_name
from tests.support.store import count, make_batch, make_outcome, make_pages, receipt_contract, sha


def _evidence(o: RowOutcome, field: str, confidence: float, *, line_no: int = 0, box: bool = True) -> EvidenceRow:
    return EvidenceRow(doc_sha256=o.doc.sha256, contract=o.contract, field=field, value=f"v-{field}", raw=f"r-{field}",
                       source="ocr", method="rule", confidence=confidence, grounding="exact", line_no=line_no,
                       page_no=1 if box else None, bbox=(10.0, 20.5, 30.0, 40.25) if box else None,
                       page_width=1240 if box else None, page_height=1754 if box else None, engine="embedded")


def _load(store: Any, contracts: dict[str, Contract]) -> tuple[list[RowOutcome], list[RowOutcome]]:
    """Three clean invoices (the first with two line items and evidence) and two quarantined ones."""
    inv = contracts["invoice"]
    clean = [make_outcome(inv, i) for i in range(3)]
    clean[0].lines = [{"line_no": n, "description": f"item {n}", "quantity": 2.0, "line_net_amount": Decimal("5.00"),
                       "page_no": 1, "raw": {"description": f"item {n}"}} for n in (1, 2)]
    dirty = [make_outcome(inv, i, clean=False) for i in (10, 11)]
    batch = make_batch(clean + dirty)
    batch.pages = make_pages(clean[:1] + dirty[:1])
    batch.evidence = [_evidence(clean[0], "invoice_number", 0.95), _evidence(clean[0], "total_amount", 0.35),
                      _evidence(clean[0], "description", 0.8, line_no=1),
                      _evidence(dirty[0], "invoice_number", 0.2, box=False)]
    store.write_batch(batch, contracts)
    return clean, dirty


def test_document_reads_give_the_ledger_as_records(any_store: Any, contracts: dict[str, Contract]) -> None:
    clean, dirty = _load(any_store, contracts)
    doc = any_store.document(dirty[0].doc.sha256)
    assert doc is not None and (doc.path, doc.mime, doc.size_bytes) == ("/in/doc-10.pdf", "application/pdf", 1010)
    assert (doc.state, doc.contract, doc.error) == ("quarantined", "invoice", "missing")
    assert any_store.document(sha(999)) is None
    assert [d.path for d in any_store.documents_in_state(DocState.QUARANTINED)] == ["/in/doc-10.pdf", "/in/doc-11.pdf"]
    assert any_store.documents_in_state("quarantined", "encrypted") == []
    hashes = [o.doc.sha256 for o in clean + dirty] + [sha(999)]
    assert any_store.state_counts(hashes) == {"loaded": 3, "quarantined": 2}
    assert any_store.state_counts([]) == {}
    assert any_store.final_hashes(hashes) == set(hashes[:-1])
    assert [(d.path, d.contract) for d in any_store.quarantined_documents()] == [
        ("/in/doc-10.pdf", "invoice"), ("/in/doc-11.pdf", "invoice")]
    assert any_store.table_exists("invoice") and not any_store.table_exists("no_such_table")
    any_store.query("CREATE TABLE no_such_table (x INTEGER)")  # made since it was asked for: seen now
    assert any_store.table_exists("no_such_table") and any_store.table_exists("invoice")


def test_quarantine_and_page_reads_decode_json_the_same_on_both_stores(any_store: Any,
                                                                         contracts: dict[str, Contract]) -> None:
    _, dirty = _load(any_store, contracts)
    entries = any_store.quarantine_entries()
    assert sorted(e.sha256 for e in entries) == sorted(o.doc.sha256 for o in dirty)
    assert any_store.quarantine_entries("receipt") == []
    entry = any_store.quarantine_entry(dirty[0].doc.sha256)
    assert entry is not None and entry.reasons == [{"field": "invoice_number", "check": "required", "value": None,
                                                    "message": "missing"}]
    assert entry.values["invoice_number"] == "value 10" and entry.raw_values["invoice_number"] == "value 10"
    assert (entry.engine, entry.model, entry.prompt_version) == ("embedded", "rapidocr", "p1")
    assert any_store.quarantine_entry(sha(999)) is None
    assert [e.sha256 for e in any_store.quarantine_by_prefix(dirty[1].doc.sha256[:6])] == [dirty[1].doc.sha256]
    assert any_store.quarantine_by_prefix("%") == []  # a LIKE wildcard is a character here, not "any"
    pages = any_store.stored_pages(dirty[0].doc.sha256)
    assert [p.page_no for p in pages] == [1, 2] and [p.is_fallback for p in pages] == [False, True]
    assert pages[0].lines[0].text == "Invoice 'INV-1' \\ \"quoted\"" and pages[0].lines[0].bbox == (1.0, 2.0, 30.5, 8.2)
    assert pages[0].lines[1].text == "中文 total" and (pages[0].width, pages[0].height) == (1240, 1754)
    assert any_store.stored_pages(sha(999)) == []


def test_clean_row_and_evidence_reads(any_store: Any, contracts: dict[str, Contract]) -> None:
    clean, dirty = _load(any_store, contracts)
    inv = contracts["invoice"]
    row = any_store.contract_row(inv, clean[1].doc.sha256)
    assert row is not None and row.values == clean[1].values  # Decimal, date and text as the contract types them
    assert row.raw_values == clean[1].raw and (row.engine, row.model, row.prompt_version) == ("embedded", "rapidocr",
                                                                                            "p1")
    assert any_store.contract_row(inv, dirty[0].doc.sha256) is None
    evidence = any_store.field_evidence(clean[0].doc.sha256)
    assert [(e.line_no, e.field) for e in evidence] == [(0, "invoice_number"), (0, "total_amount"), (1, "description")]
    assert all(isinstance(e, EvidenceRow) for e in evidence)
    first = evidence[0]
    assert (first.bbox, first.page_no, first.page_width, first.confidence) == ((10.0, 20.5, 30.0, 40.25), 1, 1240, 0.95)
    assert [e.field for e in any_store.field_evidence(clean[0].doc.sha256, line_no=0)] == ["invoice_number",
                                                                                          "total_amount"]
    assert any_store.lowest_confidences() == {clean[0].doc.sha256: 0.35, dirty[0].doc.sha256: 0.2}
    loaded = any_store.loaded_field_confidences()  # the quarantined document's evidence is not among them
    assert [(f.sha256, f.field, f.confidence, f.path, f.engine) for f in loaded] == [
        (clean[0].doc.sha256, "invoice_number", 0.95, "/in/doc-0.pdf", "embedded"),
        (clean[0].doc.sha256, "total_amount", 0.35, "/in/doc-0.pdf", "embedded")]


def test_corrections_and_mark_human_keep_the_box(any_store: Any, contracts: dict[str, Contract]) -> None:
    clean, _ = _load(any_store, contracts)
    s = clean[0].doc.sha256
    notes = [Correction(s, "invoice", "edit", "ann", field="total_amount", old_value="1", new_value="2",
                        at=datetime(2024, 6, 1, 9, 0)),
             Correction(s, "invoice", "approve", "ann", new_value="loaded", at=datetime(2024, 6, 1, 9, 1))]
    any_store.add_corrections(notes)
    back = any_store.corrections(s)
    assert [(c.action, c.field, c.old_value, c.new_value, c.reviewer, c.id) for c in back] == [
        (n.action, n.field, n.old_value, n.new_value, n.reviewer, n.id) for n in notes]
    any_store.mark_human(s, "invoice", {"total_amount": "2.00", "due_date": None}, "ann")
    by_field = {e.field: e for e in any_store.field_evidence(s, line_no=0)}
    total = by_field["total_amount"]
    assert (total.source, total.method, total.confidence, total.value) == ("human", "review:ann", 1.0, "2.00")
    assert (total.bbox, total.page_no) == ((10.0, 20.5, 30.0, 40.25), 1)  # the value is still printed there
    assert (by_field["due_date"].source, by_field["due_date"].bbox) == ("human", None)
    assert by_field["invoice_number"].source == "ocr"  # a field not named stays as the pipeline read it
    reviewed = any_store.reviewed_documents()
    assert [(d.sha256, d.path, d.contract) for d in reviewed] == [(s, "/in/doc-0.pdf", "invoice")]


def test_reject_is_one_transaction_of_the_store(any_store: Any, contracts: dict[str, Contract]) -> None:
    clean, _ = _load(any_store, contracts)
    inv, s = contracts["invoice"], clean[0].doc.sha256
    lines_of = f"SELECT count(*) FROM invoice_line WHERE doc_sha256 = {any_store.sql.mark}"
    assert count(any_store, lines_of, [s]) == 2
    taken = Correction(s, "invoice", "approve", "ann")
    any_store.add_corrections([taken])
    clash = Correction(s, "invoice", "reject", "bob", reason="no", id=taken.id)  # its INSERT fails: a taken key
    with pytest.raises(Exception):  # noqa: B017 - each driver raises its own integrity error
        any_store.reject(s, inv, "rejected in review by bob: no", clash)
    doc = any_store.document(s)
    assert doc is not None and doc.state == "loaded"  # rolled back: nothing of the rejection stays
    assert any_store.contract_row(inv, s) is not None and count(any_store, lines_of, [s]) == 2
    any_store.reject(s, inv, "rejected in review by bob: no", Correction(s, "invoice", "reject", "bob", reason="no"))
    doc = any_store.document(s)
    assert doc is not None and (doc.state, doc.error) == ("failed", "rejected in review by bob: no")
    assert any_store.contract_row(inv, s) is None and count(any_store, lines_of, [s]) == 0
    assert [c.action for c in any_store.corrections(s)] == ["approve", "reject"]


def test_export_parquet_says_when_a_table_is_missing(any_store: Any, tmp_path: Path) -> None:
    def rename(doc: dict[str, Any]) -> None:
        doc["schema"][0]["name"] = doc["schema"][0]["physicalName"] = "never_created"

    contract = receipt_contract(rename)
    assert table_name(contract) == "never_created"
    assert any_store.export_parquet(contract, tmp_path / "out") is False
    assert not (tmp_path / "out").exists()


def test_the_dialect_pieces_run_on_both_stores(any_store: Any) -> None:
    """One array INSERT (JSON as text, naive timestamps), one upsert, one list match: the same rows back."""
    d = any_store.sql
    cols = [("k", d.text), ("ts", d.timestamp), ("doc", d.json)]
    any_store.query(f"CREATE TABLE t_dialect (k {d.text} PRIMARY KEY, ts {d.timestamp}, doc {d.json})")
    data = [["a", "b"], [datetime(2024, 1, 2, 3, 4, 5), datetime(2024, 1, 2, 3, 4, 6)], ['{"x": 1}', "[1, 2]"]]
    any_store.query(d.insert_arrays("t_dialect", cols), d.array_params(cols, data))
    any_store.query(d.upsert("t_dialect", ["k", "ts", "doc"], ["k"]), ["a", datetime(2025, 1, 1), '{"x": 2}'])
    _, rows = any_store.query(f"SELECT k, ts, doc FROM t_dialect WHERE {d.in_list('k')} ORDER BY k", [["a", "b"]])
    got = [(k, d.to_timestamp(ts).replace(tzinfo=None), decode_json(doc, None)) for k, ts, doc in rows]
    assert got == [("a", datetime(2025, 1, 1), {"x": 2}), ("b", datetime(2024, 1, 2, 3, 4, 6), [1, 2])]
