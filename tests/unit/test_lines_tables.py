"""Tables from positioned lines: header labels in any language, wrapped descriptions, a table that goes
on over the next page without its header, the end at the totals."""

from __future__ import annotations

from ocrflow.contracts import default_contracts_dir, load_contract
from ocrflow.core.models import DocumentText, Line, PagePath, PageText
from ocrflow.pipeline.extract.lines import coerce_lines
from ocrflow.pipeline.extract.tables import split_number, table_lines
from tests.support.lines import DOC
from tests.support.lines import ln as _ln


def _page(no: int, lines: list[Line]) -> PageText:
    return PageText(page_no=no, width=1000, height=1400, lines=tuple(lines), path=PagePath.TEXT_LAYER,
                    engine="pdfium", model="text-layer")


def _doc(header: list[str]) -> DocumentText:
    h = [_ln(header[0], 100, 200), _ln(header[1], 520, 200), _ln(header[2], 620, 200), _ln(header[3], 800, 200)]
    page1 = [_ln("Rechnung 42", 100, 100), *h,
             _ln("Widget blue", 100, 240), _ln("4", 540, 240), _ln("10,00", 620, 240), _ln("40,00", 820, 240),
             _ln("with a long note", 100, 256),
             _ln("Gadget", 100, 300), _ln("2", 540, 300), _ln("20,00", 620, 300), _ln("40,00", 820, 300)]
    page2 = [_ln("Cable 2m", 100, 80), _ln("1", 540, 80), _ln("1.234,50", 620, 80), _ln("1.234,50", 820, 80),
             _ln("Zwischensumme", 100, 160), _ln("1.314,50", 820, 160),
             _ln("Not an item", 100, 200), _ln("9", 540, 200), _ln("9,00", 820, 200)]
    return DocumentText(doc=DOC, pages=(_page(1, page1), _page(2, page2)))


def test_a_table_over_two_pages_is_read_line_by_line() -> None:
    contract = load_contract(default_contracts_dir() / "invoice.yaml")
    raw = table_lines(_doc(["Beschreibung", "Menge", "Einzelpreis", "Betrag"]), contract)
    lines, failures = coerce_lines(contract, raw, day_first=True)
    assert failures == []
    assert [(ln["description"], ln["quantity"], ln["unit_price"], float(ln["line_net_amount"]), ln["page_no"])
            for ln in lines] == [("Widget blue\nwith a long note", 4.0, 10.0, 40.0, 1), ("Gadget", 2.0, 20.0, 40.0, 1),
                                 ("Cable 2m", 1.0, 1234.5, 1234.5, 2)]
    assert lines[0]["box"][1] == 240


def test_english_and_french_headers_work_the_same() -> None:
    contract = load_contract(default_contracts_dir() / "invoice.yaml")
    for header in (["Description", "Qty", "Unit price", "Amount"], ["Désignation", "Quantité", "Prix unitaire",
                                                                   "Montant"]):
        assert len(table_lines(_doc(header), contract)) == 3


def test_no_header_no_lines() -> None:
    contract = load_contract(default_contracts_dir() / "invoice.yaml")
    assert table_lines(_doc(["Foo", "Bar", "Baz", "Qux"]), contract) == []


def test_numbers_in_either_convention() -> None:
    assert split_number("1.234,56 EUR") == ("1234.56", "EUR")
    assert split_number("1,234.56") == ("1234.56", "")
    assert split_number("3,3333") == ("3.3333", "")
    assert split_number("19 %") == ("19", "")
    assert split_number("3 m²") == ("3", "m²")
