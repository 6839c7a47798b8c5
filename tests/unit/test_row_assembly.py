"""The one row assembly (ocrflow.pipeline.row): each step observable, and every row path going through it."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any

import pytest

from ocrflow.contracts import Contract, load_contracts
from ocrflow.contracts.model import LINES_KEY
from ocrflow.core.models import DocumentRef, DocumentText, Line, PagePath, PageText
from ocrflow.pipeline.einvoice.model import EmbeddedInvoice
from ocrflow.pipeline.evidence.collect import Reading
from ocrflow.pipeline.extract.rules import extract_fields_with_evidence
from ocrflow.pipeline.extract.vlm_lines import METHOD_HTML, VlmLineChoice
from ocrflow.pipeline.extraction import xml_reading
from ocrflow.pipeline.row import EvidenceBasis, assemble_row, row_lineage
from ocrflow.pipeline.xmldoc import einvoice_row

DOC = DocumentRef(path="inbox/a.pdf", sha256="a" * 64, mime="application/pdf", size_bytes=1)
LINEAGE = row_lineage([1], "embedded", "rapidocr", "", "flow-1")


@pytest.fixture(scope="module")
def contracts() -> dict[str, Contract]:
    return load_contracts()


@pytest.fixture(scope="module")
def invoice(contracts: dict[str, Contract]) -> Contract:
    return contracts["invoice"]


def _row(contract: Contract, raw: dict[str, Any], lines: Any = None, **kw: Any) -> Any:
    return assemble_row(DOC, contract, raw, lines=lines, lineage=LINEAGE, day_first=True, **kw)


def test_an_unreadable_value_becomes_none_and_a_coerce_failure(invoice: Contract) -> None:
    row = _row(invoice, {"invoice_number": "INV-1", "total_amount": "abc", "invoice_date": "2024-13-45"})
    assert row.values["invoice_number"] == "INV-1"
    assert row.values["total_amount"] is None and row.values["invoice_date"] is None
    assert {(f.field, f.check) for f in row.failures} == {("total_amount", "coerce"), ("invoice_date", "coerce")}
    assert row.raw["total_amount"] == "abc"  # the raw value as read stays with the row


def test_document_allowances_and_charges_become_positive_sums_raw_stays_as_printed(invoice: Contract) -> None:
    raw = {"allowance_total_amount": "-14,73", "charge_total_amount": "(5.80)", "subtotal_amount": "-7.67"}
    row = _row(invoice, raw)
    assert row.values["allowance_total_amount"] == Decimal("14.73")
    assert row.values["charge_total_amount"] == Decimal("5.80")
    assert row.values["subtotal_amount"] == Decimal("-7.67")  # only BT-107/108 lose their sign
    assert row.raw["allowance_total_amount"] == "-14,73"
    assert raw == {"allowance_total_amount": "-14,73", "charge_total_amount": "(5.80)", "subtotal_amount": "-7.67"}


def test_the_line_pick_sees_the_coerced_header_and_the_lines_travel_with_it(invoice: Contract) -> None:
    seen: list[Mapping[str, Any]] = []
    picked = [{"description": "A", "quantity": "2", "unit_price": "5.00", "line_net_amount": "10.00",
               "method": "table"},
              {"description": "B", "quantity": "x", "line_net_amount": "3.00"}]

    def pick(values: Mapping[str, Any]) -> list[dict[str, Any]]:
        seen.append(dict(values))
        return picked

    row = _row(invoice, {"subtotal_amount": "13.00", "allowance_total_amount": "-1.00"}, pick)
    assert seen[0]["subtotal_amount"] == Decimal("13.00")
    assert seen[0]["allowance_total_amount"] == Decimal("1.00")  # signs first, then the lines
    assert row.raw[LINES_KEY] is picked
    assert [(ln["line_no"], ln["description"], ln["line_net_amount"]) for ln in row.lines] == [
        (1, "A", Decimal("10.00")), (2, "B", Decimal("3.00"))]
    assert row.lines[0]["method"] == "table" and row.lines[0]["raw"]["quantity"] == "2"
    assert [(f.field, f.check) for f in row.failures] == [("line_items[2].quantity", "coerce")]


def test_a_list_of_lines_is_kept_and_a_contract_without_lines_never_asks(contracts: dict[str, Contract]) -> None:
    invoice = contracts["invoice"]
    lines = [{"description": "A", "line_net_amount": "1.00"}]
    assert _row(invoice, {}, lines).raw[LINES_KEY] is lines
    lineless = next(c for c in contracts.values() if not c.lines)

    def never(values: Mapping[str, Any]) -> list[dict[str, Any]]:
        raise AssertionError("a contract without line columns asked for lines")

    row = _row(lineless, {}, never)
    assert row.lines == [] and LINES_KEY not in row.raw


def test_lineage_fields(invoice: Contract) -> None:
    lineage = row_lineage([1, 2], "vllm", "qwen", "p1", "flow-9")
    row = assemble_row(DOC, invoice, {}, lines=None, lineage=lineage, day_first=True)
    assert {k: row.lineage[k] for k in ("page_numbers", "engine", "model", "prompt_version", "flow_run_id")} == {
        "page_numbers": [1, 2], "engine": "vllm", "model": "qwen", "prompt_version": "p1", "flow_run_id": "flow-9"}
    assert row.lineage["extracted_at"].tzinfo is None
    assert row.lineage is not lineage
    assert (row.doc, row.contract, row.contract_version) == (DOC, "invoice", invoice.version)


def _text() -> DocumentText:
    lines = (Line("Invoice No: INV-2024-17", (10, 10, 300, 30)), Line("Total: 119.00", (10, 40, 300, 60)),
             Line("Description Qty Amount", (10, 80, 300, 100)))
    page = PageText(page_no=1, width=600, height=800, lines=lines, path=PagePath.TEXT_LAYER, engine="pdfium",
                    model="text-layer")
    return DocumentText(doc=DOC, pages=(page,))


def test_evidence_is_attached_per_field_and_per_line_column_only_when_asked(invoice: Contract) -> None:
    text = _text()
    found = extract_fields_with_evidence(text, invoice)
    raw = {"invoice_number": "INV-2024-17", "total_amount": "119.00"}
    lines = [{"description": "Widget", "line_net_amount": "100.00"}]
    bare = _row(invoice, raw, lines)
    assert bare.evidence == []
    row = _row(invoice, raw, lines, evidence=EvidenceBasis(text, found, None))
    header = {e.field: e for e in row.evidence if e.line_no == 0}
    assert set(header) == set(invoice.field_names)
    assert header["invoice_number"].value == "INV-2024-17" and header["invoice_number"].page_no == 1
    assert header["invoice_number"].source == "text_layer"
    assert {e.line_no for e in row.evidence} == {0, 1}
    xml = _row(invoice, raw, lines, evidence=EvidenceBasis(text, found, Reading("einvoice_xml", raw, "einvoice")))
    assert {e.field: e for e in xml.evidence if e.line_no == 0}["total_amount"].source == "einvoice_xml"


def test_a_standalone_xml_and_the_embedded_route_store_the_same_row(invoice: Contract,
                                                                    contracts: dict[str, Contract]) -> None:
    """Both go through the one assembly: a negative BT-107 in the XML is the positive sum either way."""
    fields = {"invoice_number": "CN-7", "subtotal_amount": "-90.00", "allowance_total_amount": "-10.00",
              "tax_amount": "-17.10", "total_amount": "-107.10", "currency": "EUR"}
    lines = ({"line_no": "1", "description": "Return", "line_net_amount": "-100.00"},)
    found = EmbeddedInvoice(fields=fields, source="factur-x.xml [EN16931]", lines=lines)
    standalone = einvoice_row(DOC, invoice, found, day_first=True, flow_run_id="f")
    text = DocumentText(doc=DOC, pages=(), embedded_fields={**fields, LINES_KEY: list(lines)},
                        embedded_source=found.source)
    reading = xml_reading(text, invoice)
    assert reading is not None
    embedded = assemble_row(DOC, invoice, reading.values, lines=list(lines), lineage=LINEAGE, day_first=True)
    assert standalone.values == embedded.values
    assert standalone.values["allowance_total_amount"] == Decimal("10.00")
    assert standalone.lines == embedded.lines and standalone.lines[0]["line_net_amount"] == Decimal("-100.00")
    assert standalone.lineage["engine"] == "einvoice" and standalone.evidence


class _Parser:
    """Records what the vLLM line route asks the page reader handed down to it."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.asked: list[tuple[str, list[int], str]] = []

    def parse(self, doc: DocumentRef, page_numbers: Collection[int], language: str) -> list[tuple[int, str]]:
        self.asked.append((doc.path, sorted(page_numbers), language))
        return [(n, self.reply) for n in sorted(page_numbers)]


def test_the_vlm_line_choice_asks_the_page_reader_it_was_handed(invoice: Contract) -> None:
    page = PageText(page_no=2, width=600, height=800, lines=(Line("x", (0, 0, 10, 10)),), path=PagePath.OCR,
                    engine="vllm", model="m")
    text = DocumentText(doc=DOC, pages=(page,))
    table = ("<table><tr><th>Description</th><th>Qty</th><th>Unit price</th><th>Amount</th></tr>"
             "<tr><td>Widget</td><td>2</td><td>5.00</td><td>10.00</td></tr></table>")
    parser = _Parser(table)
    bad_json = [{"description": "Widget", "line_net_amount": "99.00"}]  # fails the sum against the subtotal
    choice = VlmLineChoice(text, invoice, bad_json, (), parser, "en", True)
    row = _row(invoice, {"subtotal_amount": "10.00"}, choice)
    assert parser.asked == [("inbox/a.pdf", [2], "en")]
    assert [(ln["description"], ln["line_net_amount"], ln["method"]) for ln in row.lines] == [
        ("Widget", Decimal("10.00"), METHOD_HTML)]
