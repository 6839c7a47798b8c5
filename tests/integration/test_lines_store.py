"""invoice_line in both real stores: standalone UBL/CII files -> rows and lines, re-loads replace lines,
a quarantined document has none in the clean line table, unsafe XML fails with its code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ocrflow.contracts import Contract
from ocrflow.core.models import DocumentRef
from ocrflow.pipeline.einvoice import build_cii_xml, build_ubl_xml
from ocrflow.pipeline.xmldoc import xml_document_result
from ocrflow.run.batch_write import validate_and_build_batch
from ocrflow.run.discover import describe

FIELDS = {"invoice_number": "INV-9", "invoice_date": "2024-05-02", "seller_name": "Acme GmbH",
          "seller_tax_id": "DE999999999", "buyer_name": "Buyer AG", "currency": "EUR",
          "subtotal_amount": 80.0, "tax_amount": 15.2, "total_amount": 95.2}
LINES = [{"name": "Widget", "quantity": 4, "unit_price": 10.0, "amount": 40.0},
         {"name": "Gadget", "quantity": 2, "unit_price": 20.0, "amount": 40.0}]


def _load(store: Any, contracts: dict[str, Contract], paths: list[Path]) -> list[Any]:
    docs = [describe(p) for p in paths]
    refs = [d for d in docs if isinstance(d, DocumentRef)]
    assert len(refs) == len(paths), docs
    results = [xml_document_result(d, contracts) for d in refs]
    store.write_batch(validate_and_build_batch(results, contracts, "run-1"), contracts)
    return results


def _lines(store: Any) -> list[tuple[Any, ...]]:
    _, rows = store.query("SELECT doc_sha256, line_no, description, quantity, unit_price, line_net_amount, "
                          "engine FROM invoice_line ORDER BY doc_sha256, line_no")
    return rows


def test_ubl_and_cii_files_load_the_same_row_and_lines(any_store: Any, contracts: dict[str, Contract],
                                                       tmp_path: Path) -> None:
    ubl = tmp_path / "a.xml"
    ubl.write_bytes(build_ubl_xml(FIELDS, lines=LINES, tax_rate_percent=19.0))
    cii = tmp_path / "b.xml"
    cii.write_bytes(build_cii_xml({**FIELDS, "invoice_number": "INV-10"}, lines=LINES, tax_rate_percent=19.0))
    results = _load(any_store, contracts, [ubl, cii])
    assert [r.state.value for r in results] == ["loaded", "loaded"]
    _, docs = any_store.query("SELECT einvoice_syntax, einvoice_profile, pages FROM documents ORDER BY path")
    assert [tuple(d) for d in docs] == [("ubl", "EN16931", 0), ("cii", "EN16931", 0)]
    lines = _lines(any_store)
    assert len(lines) == 4
    by_doc: dict[str, list[tuple[Any, ...]]] = {}
    for row in lines:
        by_doc.setdefault(row[0], []).append(tuple(row[1:]))
    first, second = by_doc.values()
    assert first == second
    assert [(ln[0], ln[1], float(ln[4])) for ln in first] == [(1, "Widget", 40.0), (2, "Gadget", 40.0)]
    _load(any_store, contracts, [ubl, cii])  # a re-load replaces, never duplicates
    assert len(_lines(any_store)) == 4


def test_lines_that_do_not_add_up_quarantine_the_document_and_leave_no_lines(
        any_store: Any, contracts: dict[str, Contract], tmp_path: Path) -> None:
    path = tmp_path / "c.xml"
    path.write_bytes(build_ubl_xml(FIELDS, lines=LINES))
    _load(any_store, contracts, [path])
    assert len(_lines(any_store)) == 2
    wrong = [LINES[0], {**LINES[1], "amount": 45.0}]
    path.write_bytes(build_ubl_xml(FIELDS, lines=wrong))
    results = _load(any_store, contracts, [path])
    assert results[0].state.value == "quarantined"
    assert "BR-CO-10" in (results[0].error or "")
    assert "quantity x unit price = 40.00" in (results[0].error or "")
    bad = results[0].doc.sha256
    assert [r for r in _lines(any_store) if r[0] == bad] == []
    assert len(_lines(any_store)) == 2  # the first (other) document keeps its lines
    _, q = any_store.query("SELECT raw_values FROM quarantine WHERE doc_sha256 = " +
                           any_store.sql.mark, [bad])
    assert "Gadget" in str(q[0][0])  # the raw lines stay with the quarantine row


def test_unsafe_and_foreign_xml_fail_with_their_code(any_store: Any, contracts: dict[str, Contract],
                                                    tmp_path: Path) -> None:
    evil = tmp_path / "evil.xml"
    evil.write_bytes(b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n'
                     b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&b;</Invoice>')
    results = _load(any_store, contracts, [evil])
    assert (results[0].state.value, results[0].error_code) == ("failed", "xml_unsafe")
    assert "DTD" in (results[0].error or "")
    _, docs = any_store.query("SELECT state, error_code FROM documents")
    assert [tuple(d) for d in docs] == [("failed", "xml_unsafe")]
