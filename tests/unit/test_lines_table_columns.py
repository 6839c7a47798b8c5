"""Page tables whose printed lines broke the line checks, read right (generic rules, docs/line_items.md):
an unnamed tax column with a gross line total, a header whose labels wrap onto rows below it, a running
footer on a table that goes over the page end, and header labels over a line table not read as totals."""

from __future__ import annotations

from decimal import Decimal

from ocrflow.contracts import default_contracts_dir, load_contract
from ocrflow.core.models import DocumentText, Line, PagePath, PageText, RowOutcome
from ocrflow.pipeline.coerce import coerce_row
from ocrflow.pipeline.extract.lines import coerce_lines, unsigned_adjustments
from ocrflow.pipeline.extract.rules import extract_fields
from ocrflow.pipeline.extract.tables import table_lines
from ocrflow.validate.lines import line_failures
from tests.support.lines import DOC
from tests.support.lines import ln as _ln

INVOICE = load_contract(default_contracts_dir() / "invoice.yaml")


def _doc(*pages: list[Line]) -> DocumentText:
    return DocumentText(doc=DOC, pages=tuple(
        PageText(page_no=i + 1, width=1000, height=1400, lines=tuple(p), path=PagePath.TEXT_LAYER, engine="pdfium",
                 model="text-layer") for i, p in enumerate(pages)))


def _failures(lines: list[dict], values: dict) -> list[str]:
    outcome = RowOutcome(doc=DOC, contract="invoice", contract_version=INVOICE.version, values=values, raw={},
                         lineage={}, lines=lines)
    return [f.message for f in line_failures(INVOICE, outcome)]


def _lines(doc: DocumentText) -> list[dict]:
    lines, failures = coerce_lines(INVOICE, table_lines(doc, INVOICE), day_first=True)
    assert failures == []
    return lines


def test_a_line_total_with_its_tax_column_is_gross_and_the_tax_column_steals_no_figure() -> None:
    header = [_ln("Product", 20, 100), _ln("Qty", 500, 100), _ln("Price", 600, 100), _ln("Tax(%)", 700, 100),
              _ln("Tax", 800, 100), _ln("Total", 900, 100)]
    row = [_ln("Memory card 16 GB", 20, 140), _ln("1", 510, 140), _ln("278.61", 600, 140), _ln("14.50%", 700, 140),
           _ln("40.39", 800, 140), _ln("319.00", 900, 140)]
    (line,) = _lines(_doc([*header, *row, _ln("Grand Total", 700, 200), _ln("319.00", 900, 200)]))
    assert (line["quantity"], line["unit_price"], float(line["line_net_amount"]), line["tax_rate"]) == \
        (1.0, 278.61, 278.61, 14.5)
    assert line["raw"]["line_gross_amount"] == "319.00" and line["raw"]["line_tax_amount"] == "40.39"
    assert _failures([line], {"total_amount": 319}) == []  # 1 x 278.61 = 278.61: the arithmetic check passes


def test_a_tax_column_does_not_make_a_net_total_gross() -> None:
    header = [_ln("Description", 20, 100), _ln("Qty", 500, 100), _ln("Unit price", 600, 100), _ln("VAT", 800, 100),
              _ln("Amount", 900, 100)]
    row = [_ln("Cable", 20, 140), _ln("2", 510, 140), _ln("10.00", 600, 140), _ln("3.80", 800, 140),
           _ln("20.00", 900, 140)]
    (line,) = _lines(_doc([*header, *row]))
    assert float(line["line_net_amount"]) == 20.0 and "line_gross_amount" not in line["raw"]


def _hosting_page(items: list[tuple[str, str]], *, y0: float, totals: bool) -> list[Line]:
    out = [_ln("Menge Beschreibung", 240, y0), _ln("Rabatt %", 870, y0), _ln("VK-Preis", 990, y0),
           _ln("Zeilenbetrag", 1090, y0, 1190), _ln("Ohne", 1016, y0 + 18), _ln("Ohne MwSt.", 1093, y0 + 18, 1190),
           _ln("MwSt.", 1011, y0 + 36)]
    y = y0 + 70
    for name, amount in items:
        out += [_ln(name, 290, y), _ln(amount, 1026, y), _ln(amount, 1156, y),
                _ln("Grundgebühr pro Einheit", 314, y + 28)]
        y += 60
    if totals:
        out += [_ln("Total EUR", 857, y + 20), _ln("34,73", 1147, y + 20)]
    return [*out, _ln("QualityHost AG", 117, 1300), _ln("Vorstand: A. Person", 473, 1300),
            _ln("Bankverbindung", 830, 1300), _ln("IBAN DE30 5075 0094", 830, 1318)]


def test_wrapped_header_labels_and_a_running_footer_are_no_lines_nor_header_values() -> None:
    doc = _doc(_hosting_page([("1 Small Business", "3,89"), ("1 Exchange", "5,39")], y0=700, totals=False),
               _hosting_page([("1 Exchange", "25,45")], y0=700, totals=True))
    lines = _lines(doc)
    assert [(ln["description"], float(ln["line_net_amount"])) for ln in lines] == \
        [("1 Small Business\nGrundgebühr pro Einheit", 3.89), ("1 Exchange\nGrundgebühr pro Einheit", 5.39),
         ("1 Exchange\nGrundgebühr pro Einheit", 25.45)]
    fields = extract_fields(doc, INVOICE)
    # "Ohne MwSt." / "MwSt." label the table's columns: the first line's figures are no subtotal or tax
    assert fields["subtotal_amount"] is None and fields["tax_amount"] is None
    assert _failures(lines, {"subtotal_amount": 34.73}) == []


def test_printed_document_allowances_and_charges_reconcile_the_lines_with_the_net_total() -> None:
    """Lines 202.70, charges 5.80, allowances printed as -14,73: net total 193.77 (BR-CO-10 with BR-CO-13)."""
    page = [_ln("Positionssumme", 440, 200), _ln("202,70", 1060, 200),
            _ln("Gesamtbetrag der Zuschläge", 440, 260), _ln("5,80", 1080, 260),
            _ln("Gesamtbetrag der Abschläge", 440, 320), _ln("-14,73", 1060, 320),
            _ln("Rechnungssumme ohne USt.", 440, 380), _ln("193,77", 1060, 380),
            _ln("Bruttosumme", 440, 440), _ln("215,07", 1060, 440)]
    fields = extract_fields(_doc(page), INVOICE)
    assert (fields["allowance_total_amount"], fields["charge_total_amount"]) == ("-14,73", "5,80")
    values, _ = coerce_row(INVOICE, fields, day_first=True)
    values = unsigned_adjustments(values)
    assert values["allowance_total_amount"] == Decimal("14.73")
    lines = [{"line_no": 1, "description": "A", "line_net_amount": Decimal("147.30")},
             {"line_no": 2, "description": "B", "line_net_amount": Decimal("55.40")}]
    assert _failures(lines, values) == []
    assert _failures(lines, {**values, "charge_total_amount": None}) != []  # without the charges they do not add up


def test_a_correction_with_negative_lines_applies_its_allowances_in_its_sign() -> None:
    """A corrective invoice (negative quantities) states its allowance total as 0.23: net -7.90 + 0.23 = -7.67."""
    lines = [{"line_no": 1, "description": "A", "line_net_amount": Decimal("-5.00")},
             {"line_no": 2, "description": "B", "line_net_amount": Decimal("-2.90")}]
    values = {"subtotal_amount": Decimal("-7.67"), "allowance_total_amount": Decimal("0.23")}
    assert _failures(lines, values) == []
    assert _failures(lines, {**values, "subtotal_amount": Decimal("-8.13")}) != []
    positive = [{**ln, "line_net_amount": -ln["line_net_amount"]} for ln in lines]
    assert _failures(positive, {**values, "subtotal_amount": Decimal("7.67")}) == []


def test_a_single_digit_quantity_with_its_unit_is_read() -> None:
    header = [_ln("Beschreibung", 400, 100), _ln("Nettopreis", 710, 100), _ln("Menge", 835, 100),
              _ln("Nettobetrag", 1031, 100)]
    rows = [_ln("Miettage", 400, 140), _ln("86,5500", 728, 140), _ln("2 Tag(e)", 828, 140), _ln("173,10", 1068, 140),
            _ln("Fahrkarte", 400, 180), _ln("8,41", 753, 180), _ln("1 Stk", 849, 180), _ln("8,41", 1084, 180)]
    lines = _lines(_doc([*header, *rows]))
    assert [(ln["quantity"], ln["unit"], ln["unit_price"]) for ln in lines] == [(2.0, "Tag(e)", 86.55),
                                                                               (1.0, "Stk", 8.41)]
