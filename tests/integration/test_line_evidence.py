"""Line items get field_evidence rows (line_no > 0: page, row box, source, method, confidence) in both stores,
beside the header's (line_no 0) under the table's key (doc_sha256, field, line_no); and a PDF with an embedded
CII invoice records its syntax and profile in documents, like a standalone XML file."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

from ocrflow.contracts import Contract
from ocrflow.core.models import DocumentRef
from ocrflow.core.results import DocResult
from ocrflow.core.settings import load_settings
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.pipeline.einvoice import attach_xml, build_cii_xml
from ocrflow.pipeline.processor import Processor
from ocrflow.run.batch_write import validate_and_build_batch
from ocrflow.run.discover import describe
from tests.pdfs import write_lines_pdf

FIELDS = {"invoice_number": "HX-204", "invoice_date": "2024-06-03", "seller_name": "Hybrid Works GmbH",
          "seller_tax_id": "DE123456789", "buyer_name": "Kunde AG", "currency": "EUR", "subtotal_amount": 70.0,
          "tax_amount": 13.3, "total_amount": 83.3}
LINES = [{"name": "Hex bolts M8", "quantity": 10, "unit_price": 2.5, "amount": 25.0},
         {"name": "Washers", "quantity": 30, "unit_price": 1.5, "amount": 45.0}]


def _process(path: Path, tmp_path: Path) -> DocResult:
    doc = describe(path)
    assert isinstance(doc, DocumentRef), doc
    return Processor(load_settings(store=str(tmp_path / "unused.duckdb")), EmbeddedEngine()).process(doc)


def _store(store: Any, contracts: dict[str, Contract], results: list[DocResult]) -> None:
    store.write_batch(validate_and_build_batch(results, contracts, "run-1"), contracts)


def _line_evidence(store: Any) -> list[tuple[Any, ...]]:
    _, rows = store.query("SELECT line_no, field, value, source, method, confidence, page_no, x0, y0, x1, y1 "
                          "FROM field_evidence WHERE line_no > 0 ORDER BY line_no, field")
    return [tuple(r) for r in rows]


def test_hybrid_pdf_records_cii_profile_and_exact_line_evidence(any_store: Any, contracts: dict[str, Contract],
                                                                tmp_path: Path) -> None:
    pdf = tmp_path / "hybrid.pdf"
    write_lines_pdf(pdf, ["Rechnung HX-204", "Hybrid Works GmbH", "Hex bolts M8   10   2.50   25.00",
                          "Washers   30   1.50   45.00", "Summe netto 70.00", "Gesamtbetrag 83.30 EUR"])
    attach_xml(pdf, build_cii_xml(FIELDS, lines=LINES, tax_rate_percent=19.0), name="factur-x.xml",
               created=date(2024, 6, 3))
    result = _process(pdf, tmp_path)
    assert (result.einvoice_syntax, result.einvoice_profile) == ("cii", "EN16931")
    _store(any_store, contracts, [result])
    _, docs = any_store.query("SELECT state, einvoice_syntax, einvoice_profile FROM documents")
    assert [tuple(d) for d in docs] == [("loaded", "cii", "EN16931")]
    rows = _line_evidence(any_store)
    columns = len(contracts["invoice"].lines) - 1
    assert len(rows) == 2 * columns
    assert {(r[3], r[4], r[5]) for r in rows if r[2] is not None} == {("einvoice_xml", "xml:line_items", 1.0)}
    desc = {r[0]: r for r in rows if r[1] == "description"}
    assert [desc[1][2], desc[2][2]] == ["Hex bolts M8", "Washers"]
    # the XML has no coordinates, but the hybrid PDF's page prints the line: its page and row box are kept
    assert desc[1][6] == 1 and None not in desc[1][7:] and desc[1][8] < desc[2][8]


def test_table_lines_keep_page_row_box_and_a_confidence(any_store: Any, contracts: dict[str, Contract],
                                                        demo_dir: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "invoice_two_pages.pdf"
    shutil.copy(demo_dir / "docs" / "invoice_two_pages.pdf", pdf)
    result = _process(pdf, tmp_path)
    assert result.row is not None and result.row.lines
    _store(any_store, contracts, [result])
    rows = _line_evidence(any_store)
    lines = {ln["line_no"]: ln for ln in result.row.lines}
    assert len(rows) == len(lines) * (len(contracts["invoice"].lines) - 1)
    assert {(r[3], r[4]) for r in rows} == {("text_layer", "table")}
    for no, field, value, _, _, confidence, page_no, *box in rows:
        assert page_no == lines[no]["page_no"]
        assert box == [float(v) for v in lines[no]["box"]]  # every column of a line: the line's row box
        if value is not None:
            assert 0.0 < confidence <= 1.0, (no, field)
    assert {r[6] for r in rows} == {1, 2}  # the table goes over two pages
    _store(any_store, contracts, [_process(pdf, tmp_path)])  # a re-load replaces, never duplicates
    assert len(_line_evidence(any_store)) == len(rows)
    _, header = any_store.query("SELECT count(*) FROM field_evidence WHERE line_no = 0")
    assert header[0][0] == len(contracts["invoice"].fields)
