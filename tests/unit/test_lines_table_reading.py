"""The general table reader on small hand-placed pages: figures in every convention, cells a text line joined,
columns placed by arithmetic where labels are unknown or wrong, discounts, gross amounts, prices per 100,
BR-CO-10 choosing the net column, flagged lines, carried-forward rows, where a table ends, and which rows
are a description's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ocrflow.contracts import default_contracts_dir, load_contract
from ocrflow.core.models import DocumentText, Line, PagePath, PageText, RowOutcome
from ocrflow.pipeline.extract.lines import coerce_lines
from ocrflow.pipeline.extract.table_text import decimal_comma, figure, groups
from ocrflow.pipeline.extract.tables import table_lines
from ocrflow.validate.lines import line_failures
from tests.support.lines import DOC
from tests.support.lines import ln as _ln

INVOICE = load_contract(default_contracts_dir() / "invoice.yaml")


def _doc(*pages: list[Line]) -> DocumentText:
    return DocumentText(doc=DOC, pages=tuple(
        PageText(page_no=i + 1, width=1240, height=1754, lines=tuple(p), path=PagePath.TEXT_LAYER, engine="pdfium",
                 model="text-layer") for i, p in enumerate(pages)))


def _lines(doc: DocumentText, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    lines, failures = coerce_lines(INVOICE, table_lines(doc, INVOICE, values), day_first=True)
    assert failures == []
    return lines


def _rows(lines: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(ln["description"], ln["quantity"], ln["unit_price"], float(ln["line_net_amount"])) for ln in lines]


def _failures(lines: list[dict[str, Any]], values: dict[str, Any]) -> list[str]:
    outcome = RowOutcome(doc=DOC, contract="invoice", contract_version=INVOICE.version, values=values, raw={},
                         lineage={}, lines=lines)
    return [f.check for f in line_failures(INVOICE, outcome)]


def _header(*cells: tuple[str, float], y: float = 100) -> list[Line]:
    return [_ln(text, x, y) for text, x in cells]


def _lower(lines: list[Line], dy: float = 400) -> list[Line]:
    """The same lines further down the page (out of the margins where running headers are looked for)."""
    return [Line(ln.text, (ln.x0, ln.y0 + dy, ln.x1, ln.y1 + dy)) for ln in lines]


def test_figures_in_every_convention_and_what_is_no_figure() -> None:
    values = {t: figure(t) for t in ("1.234,56", "1,234.56", "1 234,56", "12,50-", "(12.50)", "€ 12,50", "19 %",
                                     "20 Stk", "3u", "05.03.2018", "4012345001235", "TB100A4", "2024-05-12")}
    assert {t: (f.value if f else None) for t, f in values.items()} == {
        "1.234,56": Decimal("1234.56"), "1,234.56": Decimal("1234.56"), "1 234,56": Decimal("1234.56"),
        "12,50-": Decimal("-12.50"), "(12.50)": Decimal("-12.50"), "€ 12,50": Decimal("12.50"),
        "19 %": Decimal(19), "20 Stk": Decimal(20), "3u": Decimal(3), "05.03.2018": None, "4012345001235": None,
        "TB100A4": None, "2024-05-12": None}
    assert values["20 Stk"] is not None and values["20 Stk"].unit == "Stk"
    assert decimal_comma(["473,00", "1.234,56", "Version 2.1"]) is True
    assert decimal_comma(["473.00", "1,234.56"]) is False
    # a unit word stays with its figure only where the line ends or another figure follows
    line = Line("1 Wir erlauben uns", (0, 0, 180, 12))
    assert [p.text for p in groups(line)] == ["1", "Wir erlauben uns"]


def test_thousands_follow_the_documents_decimal_convention() -> None:
    """'1.000' is a thousand on a page whose amounts print a decimal comma (bug caught: read as 1.000)."""
    page = [*_header(("Beschreibung", 100), ("Menge", 500), ("Preis", 620), ("Betrag", 800)),
            _ln("Schrauben", 100, 140), _ln("1.000", 500, 140), _ln("0,25", 620, 140), _ln("250,00", 800, 140),
            _ln("Muttern", 100, 170), _ln("2", 500, 170), _ln("1,50", 620, 170), _ln("3,00", 800, 170)]
    lines = _lines(_doc(page))
    assert _rows(lines)[0] == ("Schrauben", 1000.0, 0.25, 250.0)
    assert lines[0]["raw"]["quantity"] == "1000" and "arithmetic" not in lines[0]["raw"]  # 1000 x 0.25 = 250


def test_cells_one_text_line_joined_are_split_and_bound_from_the_right() -> None:
    """A text layer (or an OCR box) that joined description, quantity, price and amount into one line: the
    figures go to the columns from the right (bug caught: binding from the left reads 20 as the price)."""
    page = [*_header(("Beschreibung", 100), ("Menge", 520), ("Einzelpreis", 640), ("Betrag", 860)),
            Line("Trennblätter A4 20 9,90 198,00", (100, 140, 910, 152)),
            _ln("Joghurt Banane", 100, 170), _ln("50", 540, 170), _ln("5,50", 660, 170), _ln("275,00", 860, 170)]
    assert _rows(_lines(_doc(page))) == [("Trennblätter A4", 20.0, 9.9, 198.0), ("Joghurt Banane", 50.0, 5.5, 275.0)]


def test_columns_with_unknown_or_misleading_labels_are_placed_by_arithmetic() -> None:
    """'Wert' names no column, 'Stückkosten' reads as a quantity label ("Stück"): the figures say which is the
    amount, and the column printing units is the quantity (bug caught: labels trusted over the figures)."""
    page = [*_header(("Bezeichnung", 100), ("Umfang", 500), ("Stückkosten", 620), ("Wert", 820)),
            _ln("Beratung", 100, 140), _ln("3 Std", 500, 140), _ln("120,00", 620, 140), _ln("360,00", 820, 140),
            _ln("Reise", 100, 170), _ln("2 Tag", 500, 170), _ln("80,50", 620, 170), _ln("161,00", 820, 170)]
    assert _rows(_lines(_doc(page))) == [("Beratung", 3.0, 120.0, 360.0), ("Reise", 2.0, 80.5, 161.0)]


def test_a_discount_column_makes_the_amount_net_after_it_and_the_line_checks_pass() -> None:
    page = [*_header(("Description", 100), ("Qty", 500), ("Price", 600), ("Disc. %", 700), ("Amount", 820)),
            _ln("Cable", 100, 140), _ln("4", 500, 140), _ln("10.00", 600, 140), _ln("10 %", 700, 140),
            _ln("36.00", 820, 140),
            _ln("Plug", 100, 170), _ln("2", 500, 170), _ln("5.00", 600, 170), _ln("10.00", 820, 170)]
    lines = _lines(_doc(page))
    assert _rows(lines) == [("Cable", 4.0, 10.0, 36.0), ("Plug", 2.0, 5.0, 10.0)]
    assert lines[0]["raw"]["allowance_amount"] == "4.00"
    assert _failures(lines, {"subtotal_amount": Decimal("46.00")}) == []  # without the allowance 40 != 36


def test_a_gross_amount_with_its_tax_column_gives_the_net_amount() -> None:
    page = [*_header(("Item", 100), ("Qty", 500), ("Price", 600), ("VAT", 720), ("Gross", 840)),
            _ln("Mouse", 100, 140), _ln("2", 500, 140), _ln("10.00", 600, 140), _ln("3.80", 720, 140),
            _ln("23.80", 840, 140),
            _ln("Pad", 100, 170), _ln("1", 500, 170), _ln("5.00", 600, 170), _ln("0.95", 720, 170),
            _ln("5.95", 840, 170)]
    lines = _lines(_doc(page))
    assert _rows(lines) == [("Mouse", 2.0, 10.0, 20.0), ("Pad", 1.0, 5.0, 5.0)]
    assert (lines[0]["raw"]["line_gross_amount"], lines[0]["raw"]["line_tax_amount"]) == ("23.80", "3.80")


def test_a_price_per_hundred_units() -> None:
    page = [*_header(("Artikel", 100), ("Menge", 500), ("Preis", 600), ("PE", 700), ("Betrag", 820)),
            _ln("Schrauben M6", 100, 140), _ln("500", 500, 140), _ln("4,20", 600, 140), _ln("100", 700, 140),
            _ln("21,00", 820, 140),
            _ln("Dübel", 100, 170), _ln("200", 500, 170), _ln("3,00", 600, 170), _ln("100", 700, 170),
            _ln("6,00", 820, 170)]
    lines = _lines(_doc(page))
    assert _rows(lines) == [("Schrauben M6", 500.0, 4.2, 21.0), ("Dübel", 200.0, 3.0, 6.0)]
    assert lines[0]["raw"]["price_base_quantity"] == "100"
    assert _failures(lines, {"subtotal_amount": Decimal("27.00")}) == []


def test_a_line_whose_figures_do_not_close_is_flagged_and_the_line_checks_quarantine_it() -> None:
    page = [*_header(("Description", 100), ("Qty", 500), ("Price", 600), ("Amount", 820)),
            _ln("Cable", 100, 140), _ln("2", 500, 140), _ln("10.00", 600, 140), _ln("20.00", 820, 140),
            _ln("Plug", 100, 170), _ln("3", 500, 170), _ln("5.00", 600, 170), _ln("16.00", 820, 170)]
    lines = _lines(_doc(page))
    assert [ln["raw"].get("arithmetic") for ln in lines] == [None, "fails"]
    assert "expect_line_quantity_times_price_to_equal_net" in _failures(lines, {})


def test_br_co_10_chooses_the_net_column_where_no_quantity_or_price_decides() -> None:
    """Two amount columns under labels the reader does not know: the one whose amounts sum to the header's
    net total is the line net amount (bug caught: the rightmost column, here the gross, taken)."""
    page = [*_header(("Description", 100), ("Wert", 700), ("Endbetrag", 860)),
            _ln("Hosting", 100, 140), _ln("100.00", 700, 140), _ln("119.00", 860, 140),
            _ln("Support", 100, 170), _ln("50.00", 700, 170), _ln("59.50", 860, 170)]
    assert [ln["line_net_amount"] for ln in _lines(_doc(page), {"subtotal_amount": Decimal("150.00")})] == \
        [Decimal("100.00"), Decimal("50.00")]
    assert [ln["line_net_amount"] for ln in _lines(_doc(page), {"subtotal_amount": Decimal("178.50")})] == \
        [Decimal("119.00"), Decimal("59.50")]


def test_carried_forward_and_sum_rows_are_no_items_and_totals_end_the_table() -> None:
    """The carried-forward rows print the running sum, 'Sum of items' the sum of all lines (bug caught: read as
    items); the VAT row ends the table, so the line after it is no item."""
    header = _header(("Description", 100), ("Qty", 500), ("Price", 600), ("Amount", 820))
    page1 = [*header, _ln("Cable", 100, 140), _ln("2", 500, 140), _ln("10.00", 600, 140), _ln("20.00", 820, 140),
             _ln("Plug", 100, 170), _ln("4", 500, 170), _ln("10.00", 600, 170), _ln("40.00", 820, 170),
             _ln("Carried forward", 100, 200), _ln("60.00", 820, 200)]
    page2 = [*header, _ln("Brought forward", 100, 140), _ln("60.00", 820, 140),
             _ln("Switch", 100, 170), _ln("1", 500, 170), _ln("30.00", 600, 170), _ln("30.00", 820, 170),
             _ln("Sum of items", 100, 200), _ln("90.00", 820, 200),
             _ln("VAT 20%", 100, 230), _ln("18.00", 820, 230),
             _ln("Extra service", 100, 260), _ln("1", 500, 260), _ln("5.00", 600, 260), _ln("5.00", 820, 260)]
    assert [ln["description"] for ln in _lines(_doc(_lower(page1), _lower(page2)))] == ["Cable", "Plug", "Switch"]


def test_another_tables_header_ends_the_item_table() -> None:
    page = [*_header(("Beschreibung", 100), ("Menge", 500), ("Preis", 620), ("Betrag", 820)),
            _ln("Miete", 100, 140), _ln("1", 500, 140), _ln("500,00", 620, 140), _ln("500,00", 820, 140),
            *_header(("Steuersatz", 300), ("Nettobetrag", 600), ("Steuerbetrag", 820), y=200),
            _ln("19 %", 300, 230), _ln("500,00", 600, 230), _ln("95,00", 820, 230)]
    assert _rows(_lines(_doc(page))) == [("Miete", 1.0, 500.0, 500.0)]


def test_which_description_rows_belong_to_which_item() -> None:
    """A close row wraps the item above; a far one does not; a row numbered as a position, a 'label: value'
    detail and the text at the top of a page without the header are no part of a description."""
    header = _header(("Pos", 40), ("Beschreibung", 100), ("Menge", 500), ("Preis", 620), ("Betrag", 820))
    page1 = [*header,
             _ln("1", 40, 140), _ln("Trennblätter", 100, 140), _ln("20", 500, 140), _ln("9,90", 620, 140),
             _ln("198,00", 820, 140), _ln("A4 gelocht", 100, 154),
             _ln("2", 40, 168), _ln("Lieferung Nr. 4711 folgt separat", 100, 168),
             _ln("Schreibtisch", 100, 280), _ln("1", 500, 280),
             _ln("300,00", 620, 280), _ln("300,00", 820, 280), _ln("Eiche natur", 100, 294),
             _ln("Bruttopreis : 300,00", 100, 308),
             _ln("Notiz weit unten", 100, 400)]
    page2 = [_ln("Rechnung 42 (Fortsetzung)", 100, 120),
             _ln("Stuhl", 100, 140), _ln("2", 500, 140), _ln("50,00", 620, 140), _ln("100,00", 820, 140)]
    assert [ln["description"] for ln in _lines(_doc(page1, page2))] == [
        "Trennblätter\nA4 gelocht", "Schreibtisch\nEiche natur", "Stuhl"]


def test_figures_centred_on_a_description_of_several_lines() -> None:
    """The row above the figures leads the item below when the table's first item shows that layout; in a
    table whose figures stand on the first description line it would wrap the item above."""
    header = _header(("Beschreibung", 100), ("Menge", 500), ("Preis", 620), ("Betrag", 820))
    items = [_ln("Schreibtisch", 100, 140), _ln("höhenverstellbar", 100, 154), _ln("1", 500, 154),
             _ln("300,00", 620, 154), _ln("300,00", 820, 154), _ln("Eiche natur", 100, 168),
             _ln("Stuhl", 100, 190), _ln("drehbar", 100, 204), _ln("2", 500, 204), _ln("50,00", 620, 204),
             _ln("100,00", 820, 204), _ln("schwarz", 100, 218)]
    assert [ln["description"] for ln in _lines(_doc([*header, *items]))] == [
        "Schreibtisch\nhöhenverstellbar\nEiche natur", "Stuhl\ndrehbar\nschwarz"]


def test_a_header_over_two_rows_and_labels_one_text_line_joined() -> None:
    page = [_ln("Menge Beschreibung", 100, 100, 330), _ln("Unit", 600, 92), _ln("price", 600, 106),
            _ln("Line", 820, 92), _ln("total", 820, 106),
            _ln("3", 110, 140), _ln("Paper A4", 200, 140), _ln("4.00", 600, 140), _ln("12.00", 820, 140)]
    assert _rows(_lines(_doc(page))) == [("Paper A4", 3.0, 4.0, 12.0)]
