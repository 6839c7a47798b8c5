"""Draw an English demo invoice as a born-digital PDF (real text layer), continuing onto more pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

from ocrflow.demo.invoice_spec import InvoiceSpec
from ocrflow.demo.parts import Item, Party
from ocrflow.demo.pdf import MARGIN, PAGE_H, PAGE_W, ROW_H, Pen, new_pen
from ocrflow.demo.truth import DocTruth

_COLS = (MARGIN, 330.0, 420.0, PAGE_W - MARGIN)


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _date_en(d: date, style: str) -> str:
    return d.strftime("%d %b %Y") if style == "dmy" else d.isoformat()


def render_invoice_pdf(spec: InvoiceSpec, path: Path, *, date_style: str = "iso") -> DocTruth:
    """Draw an English invoice with a real text layer; returns what was drawn, page by page."""
    pen = new_pen(path, f"Invoice {spec.number}", spec.seller.name)
    y = _draw_invoice_header(pen, spec, date_style)
    page = 1
    y = _draw_table_header(pen, y)
    for item in spec.items:
        if y < MARGIN + 40:
            page = _next_page(pen, spec, page)
            y = _draw_table_header(pen, PAGE_H - MARGIN - 40)
        y = _draw_item(pen, item, y)
    if y < MARGIN + 90:
        page = _next_page(pen, spec, page)
        y = PAGE_H - MARGIN - 40
    _draw_totals(pen, spec, y - 10)
    _draw_footer(pen, page)
    return pen.save()


def _draw_invoice_header(pen: Pen, spec: InvoiceSpec, date_style: str) -> float:
    top = PAGE_H - MARGIN
    pen.set_font("Helvetica-Bold", 16)
    pen.text(MARGIN, top - 10, spec.seller.name)
    pen.set_font("Helvetica", 10)
    y = top - 28
    for line in (*spec.seller.address, f"VAT No: {spec.seller.tax_id}"):
        pen.text(MARGIN, y, line)
        y -= 13
    pen.set_font("Helvetica-Bold", 22)
    pen.text_right(PAGE_W - MARGIN, top - 12, "INVOICE")
    meta = [("Invoice Number:", spec.number), ("Invoice Date:", _date_en(spec.issued, date_style))]
    if spec.due:
        meta.append(("Due Date:", _date_en(spec.due, date_style)))
    meta.append(("Currency:", spec.currency))
    _draw_pairs(pen, meta, PAGE_W - MARGIN - 210, top - 40)
    return _draw_bill_to(pen, spec.buyer, min(y, top - 40 - 14 * len(meta)) - 24)


def _draw_pairs(pen: Pen, pairs: Sequence[tuple[str, str]], x: float, y: float) -> None:
    for label, value in pairs:
        pen.set_font("Helvetica-Bold", 10)
        pen.text(x, y, label)
        pen.set_font("Helvetica", 10)
        pen.text(x + 95, y, value)
        y -= 14


def _draw_bill_to(pen: Pen, buyer: Party, y: float) -> float:
    pen.set_font("Helvetica-Bold", 11)
    pen.text(MARGIN, y, "Bill To")
    pen.set_font("Helvetica", 10)
    lines = [buyer.name, *buyer.address]
    if buyer.tax_id:
        lines.append(f"Customer VAT ID: {buyer.tax_id}")
    for line in lines:
        y -= 13
        pen.text(MARGIN, y, line)
    return y - 30


def _draw_table_header(pen: Pen, y: float) -> float:
    pen.set_font("Helvetica-Bold", 10)
    pen.text(_COLS[0], y, "Description")
    pen.text_right(_COLS[1] + 40, y, "Qty")
    pen.text_right(_COLS[2] + 60, y, "Unit Price")
    pen.text_right(_COLS[3], y, "Amount")
    pen.line(MARGIN, y - 4, PAGE_W - MARGIN, y - 4)
    return y - ROW_H - 2


def _draw_item(pen: Pen, item: Item, y: float) -> float:
    pen.set_font("Helvetica", 10)
    pen.text(_COLS[0], y, item.description)
    pen.text_right(_COLS[1] + 40, y, str(item.quantity))
    pen.text_right(_COLS[2] + 60, y, money(item.unit_price))
    pen.text_right(_COLS[3], y, money(item.amount))
    return y - ROW_H


def _next_page(pen: Pen, spec: InvoiceSpec, page: int) -> int:
    pen.set_font("Helvetica-Oblique", 9)
    pen.text(MARGIN, MARGIN, "Continued on next page")
    _draw_footer(pen, page)
    pen.show_page()
    pen.set_font("Helvetica-Bold", 11)
    pen.text(MARGIN, PAGE_H - MARGIN - 10, f"Invoice {spec.number} (continued)")
    return page + 1


def _draw_footer(pen: Pen, page: int) -> None:
    pen.set_font("Helvetica", 8)
    pen.text_right(PAGE_W - MARGIN, MARGIN - 20, f"Page {page}")


def _draw_totals(pen: Pen, spec: InvoiceSpec, y: float) -> None:
    pen.line(_COLS[2] - 40, y + 8, PAGE_W - MARGIN, y + 8)
    rate = int(spec.tax_rate * 100)
    rows = (("Subtotal", money(spec.subtotal)), (f"Tax ({rate}%)", money(spec.tax)),
            ("Total", f"{spec.currency} {money(spec.total)}"))
    for label, value in rows:
        pen.set_font("Helvetica-Bold" if label == "Total" else "Helvetica", 11)
        pen.text(_COLS[2] - 40, y - 4, label)
        pen.text_right(_COLS[3], y - 4, value)
        y -= 16
    pen.set_font("Helvetica", 9)
    pen.text(MARGIN, y - 20, f"Please pay by bank transfer quoting invoice {spec.number}.")
