"""The parse reply's tables -> the contract's line items: header labels in several languages mapped to the line
columns (not by position), rowspan/colspan, wrapped descriptions, totals rows, pipe tables, pages, hostile HTML."""

from __future__ import annotations

import pytest

from ocrflow.contracts import Contract, load_contracts
from ocrflow.pipeline.extract.html_tables import MAX_SPAN, html_table_lines, tables_of


@pytest.fixture(scope="module")
def invoice() -> Contract:
    return load_contracts()["invoice"]


def _short(lines: list[dict]) -> list[tuple]:
    return [(ln.get("description"), ln.get("quantity"), ln.get("unit_price"), ln.get("line_net_amount"))
            for ln in lines]


def test_german_header_in_its_own_order_maps_by_label(invoice: Contract) -> None:
    reply = """Rechnung 4711

<table>
<tr><th>Betrag</th><th>Menge</th><th>Bezeichnung</th><th>Einzelpreis</th><th>USt %</th></tr>
<tr><td>30,00</td><td>3</td><td>Schraube M4</td><td>10,00</td><td>19 %</td></tr>
<tr><td>1.250,50</td><td>1</td><td>Montage</td><td>1.250,50</td><td>19 %</td></tr>
</table>"""
    lines = html_table_lines([(1, reply)], invoice)
    assert _short(lines) == [("Schraube M4", "3", "10.00", "30.00"), ("Montage", "1", "1250.50", "1250.50")]
    assert [ln["tax_rate"] for ln in lines] == ["19", "19"]
    assert {ln["page_no"] for ln in lines} == {1}


def test_two_row_header_with_colspan_group_and_rowspans(invoice: Contract) -> None:
    reply = """<table>
<tr><th rowspan="2">Désignation</th><th rowspan="2">Quantité</th><th colspan="2">Prix</th></tr>
<tr><th>Prix unitaire</th><th>Montant HT</th></tr>
<tr><td>Papier A4<br>80 g</td><td>2 pcs</td><td>4,50</td><td>9,00</td></tr>
<tr><td>Toner</td><td>1</td><td>60,00</td><td>60,00</td></tr>
<tr><td>livré en carton</td><td></td><td></td><td></td></tr>
<tr><td colspan="3">Total HT</td><td>69,00</td></tr>
<tr><td colspan="3">TVA 20 %</td><td>13,80</td></tr>
</table>"""
    lines = html_table_lines([(2, reply)], invoice)
    assert _short(lines) == [("Papier A4\n80 g", "2", "4.50", "9.00"),
                             ("Toner\nlivré en carton", "1", "60.00", "60.00")]
    assert lines[0]["unit"] == "pcs"  # no unit column: the quantity's unit is kept


def test_a_rowspan_value_is_shared_and_a_colspan_body_cell_fills_one_column(invoice: Contract) -> None:
    reply = """<table>
<tr><th>Item no</th><th>Description</th><th>Qty</th><th>VAT %</th><th>Amount</th></tr>
<tr><td colspan="2">Consulting, March</td><td>10</td><td rowspan="2">19</td><td>1000.00</td></tr>
<tr><td>A-7</td><td>Travel</td><td>1</td><td>250.00</td></tr>
</table>"""
    lines = html_table_lines([(1, reply)], invoice)
    assert [(ln.get("seller_item_id"), ln["description"], ln["tax_rate"], ln["line_net_amount"]) for ln in lines] == \
        [(None, "Consulting, March", "19", "1000.00"), ("A-7", "Travel", "19", "250.00")]


def test_the_table_ends_at_the_totals_and_other_tables_are_ignored(invoice: Contract) -> None:
    reply = """<table><tr><td>Bank</td><td>IBAN</td></tr><tr><td>Sparkasse</td><td>DE12 3456</td></tr></table>

| Description | Qty | Amount |
|---|---:|---:|
| Hosting | 12 | 120.00 |
| Domain | 1 | 15.00 |
| Subtotal | | 135.00 |
| Total | | 160.65 |

<table><tr><th>Description</th><th>Amount</th></tr><tr><td>Not an item</td><td>1.00</td></tr></table>"""
    assert _short(html_table_lines([(1, reply)], invoice)) == [("Hosting", "12", None, "120.00"),
                                                              ("Domain", "1", None, "15.00")]


def test_a_table_goes_on_over_the_next_page_without_a_repeated_header(invoice: Contract) -> None:
    first = ("<table><tr><th>Description</th><th>Qty</th><th>Amount</th></tr>"
             "<tr><td>A</td><td>1</td><td>1.00</td></tr></table>")
    second = ("Page 2\n\n<table><tr><td>B</td><td>2</td><td>4.00</td></tr>"
              "<tr><td>Total</td><td></td><td>5.00</td></tr></table>")
    lines = html_table_lines([(1, first), (2, second)], invoice)
    assert [(ln["description"], ln["page_no"]) for ln in lines] == [("A", 1), ("B", 2)]


def test_no_header_no_lines(invoice: Contract) -> None:
    assert html_table_lines([(1, "<table><tr><td>x</td><td>1.00</td></tr></table>")], invoice) == []
    assert html_table_lines([(1, ""), (2, "just text")], invoice) == []


def test_hostile_html_is_bounded_and_reads_nothing_outside(invoice: Contract, tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    reply = (f'<!DOCTYPE t [<!ENTITY x SYSTEM "file://{secret}">]>'
             '<table><tr><th>Description</th><th>Amount</th></tr>'
             '<tr><td rowspan="100000000" colspan="100000000">&x;</td><td>1.00</td></tr></table>'
             '<table><tr><td>unclosed')
    grids = tables_of(reply)
    assert all(len(row) <= 2 * MAX_SPAN for grid in grids for row in grid)
    assert len(grids[0]) <= MAX_SPAN + 2
    assert "TOPSECRET" not in str(html_table_lines([(1, reply)], invoice))
