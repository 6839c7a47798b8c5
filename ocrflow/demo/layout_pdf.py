"""Draw a :class:`~ocrflow.demo.layouts.LayoutInvoice` as a born-digital PDF (real text layer).

The header block, the item table in the layout's column order (labels, alignment, number format, wrapped
descriptions, a table that runs over pages with or without its header, carried-forward rows), the totals
block and a running footer. What is drawn follows ``ocrflow.demo.layouts``; the truth is the invoice itself.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ocrflow.demo.layouts import TWO_LINE, LayoutInvoice, LayoutLine, fmt_number
from ocrflow.demo.pdf import PAGE_H, PAGE_W, Pen, new_pen
from ocrflow.demo.truth import DocTruth

LEFT, RIGHT, TOP, BOTTOM = 40.0, PAGE_W - 40.0, PAGE_H - 40.0, 70.0
PAD = 6.0
BOLD = {"Helvetica": "Helvetica-Bold", "Times-Roman": "Times-Bold", "Courier": "Courier-Bold"}
WORDS = {
    "en": {"title": "INVOICE", "no": "Invoice number", "date": "Date", "to": "Bill to", "page": "Page {p}",
           "carry": "Carried forward", "brought": "Brought forward", "cont": "continued"},
    "de": {"title": "RECHNUNG", "no": "Rechnungsnummer", "date": "Datum", "to": "Rechnung an",
           "page": "Seite {p}", "carry": "Übertrag", "brought": "Übertrag", "cont": "Fortsetzung"},
    "fr": {"title": "FACTURE", "no": "Numéro de facture", "date": "Date", "to": "Facturé à",
           "page": "Page {p}", "carry": "À reporter", "brought": "Report", "cont": "suite"},
}
TOTALS = {
    "en": {"lines": "Subtotal", "allowance": "Discount", "charge": "Shipping", "net": "Total excl. VAT",
           "tax": "VAT {r}%", "total": "Total due"},
    "de": {"lines": "Summe Positionen", "allowance": "Abzüglich Rabatt", "charge": "Versandkosten",
           "net": "Summe netto", "tax": "zzgl. {r} % MwSt.", "total": "Gesamtbetrag"},
    "fr": {"lines": "Sous-total", "allowance": "Remise", "charge": "Frais de port", "net": "Total HT",
           "tax": "TVA {r} %", "total": "Total TTC"},
}
PARTIES = {"en": ("Brightline Supplies Ltd", "12 High Street, London EC1A 1BB"),
           "de": ("Muster Handel GmbH", "Hauptstraße 5, 10115 Berlin"),
           "fr": ("Fournitures Martin SARL", "12 rue de la Paix, 75002 Paris")}


def _places(value: Decimal) -> int:
    return 0 if value == value.to_integral() else (1 if (value * 10) == (value * 10).to_integral() else 2)


class TableDrawer:
    """Column geometry and cell texts of one layout."""

    def __init__(self, pen: Pen, inv: LayoutInvoice) -> None:
        self.pen, self.inv, self.lay = pen, inv, inv.layout
        self.size = self.lay.font_size
        self.font = self.lay.font
        self.cur = "€" if inv.currency == "EUR" else "£"
        self.widths = self._widths()

    def money(self, value: Decimal) -> str:
        text = fmt_number(value, self.lay.number_format)
        if "currency_in_cells" not in self.lay.features:
            return text
        return f"{text} {self.cur}" if self.lay.lang != "en" else f"{self.cur}{text}"

    def cell(self, col: str, ln: LayoutLine, no: int) -> str:
        fmt, feats = self.lay.number_format, self.lay.features
        if col == "position":
            return str(no)
        if col == "item_id":
            return ln.item_id
        if col == "quantity":
            qty = fmt_number(ln.quantity, fmt, _places(ln.quantity))
            return f"{qty} {ln.unit}" if "unit_in_qty" in feats else qty
        if col == "unit":
            return ln.unit
        if col == "unit_price":
            return self.money(ln.unit_price)
        if col == "base_quantity":
            return str(ln.base_quantity)
        if col == "discount":
            return f"{fmt_number(ln.discount, fmt, _places(ln.discount))} %" if ln.discount else ""
        if col == "tax_rate":
            return f"{fmt_number(ln.tax_rate, fmt, 0)} %"
        if col == "tax_amount":
            return self.money(ln.tax)
        if col == "gross":
            return self.money(ln.net + ln.tax)
        return self.money(ln.net)

    def width(self, text: str) -> float:
        from reportlab.pdfbase import pdfmetrics

        return float(pdfmetrics.stringWidth(text, self.font, self.size))

    def set_font(self, name: str) -> None:
        self.font = name
        self.pen.set_font(name, self.size)

    def _widths(self) -> dict[str, float]:
        lay = self.lay
        self.set_font(lay.font)
        out: dict[str, float] = {}
        for col in lay.columns:
            if col == "description":
                continue
            label = lay.labels[col]
            parts = TWO_LINE.get(label, (label,)) if "two_line_header" in lay.features else (label,)
            cells = [self.cell(col, ln, i + 1) for i, ln in enumerate(self.inv.lines)]
            out[col] = max(self.width(t) for t in [*parts, *cells]) + 2 * PAD
        out["description"] = max(RIGHT - LEFT - sum(out.values()), 90.0)
        return out

    def xs(self) -> dict[str, tuple[float, float]]:
        x, out = LEFT, {}
        for col in self.lay.columns:
            out[col] = (x, x + self.widths[col])
            x += self.widths[col]
        return out

    def put(self, col: str, text: str, y: float, *, header: bool = False) -> None:
        x0, x1 = self.xs()[col]
        align = "left" if col in ("description", "item_id") else self.lay.align
        if header and align == "center":
            align = "center"
        if align == "right":
            self.pen.text_right(x1 - PAD, y, text)
        elif align == "center":
            self.pen.text_centred((x0 + x1) / 2, y, text)
        else:
            self.pen.text(x0 + PAD, y, text)

    def wrap(self, text: str) -> list[str]:
        width = self.widths["description"] - 2 * PAD
        lines, cur = [], ""
        for word in text.split():
            trial = f"{cur} {word}".strip()
            if cur and self.width(trial) > width:
                lines.append(cur)
                cur = word
            else:
                cur = trial
        return [*lines, cur] if cur else lines

    def header(self, y: float) -> float:
        lay, pen = self.lay, self.pen
        self.set_font(BOLD[lay.font])
        step = self.size * 1.2
        low = y
        for col in lay.columns:
            label = lay.labels[col]
            parts = TWO_LINE.get(label, (label,)) if "two_line_header" in lay.features else (label,)
            for k, part in enumerate(parts):
                self.put(col, part, y - k * step, header=True)
                low = min(low, y - k * step)
        pen.line(LEFT, low - 4, RIGHT, low - 4)
        self.set_font(lay.font)
        return low - self.size * 1.6

    def row(self, ln: LayoutLine, no: int, y: float) -> float:
        step = self.size * 1.2
        self.set_font(self.lay.font)
        desc = self.wrap(ln.description)
        for col in self.lay.columns:
            if col != "description":
                self.put(col, self.cell(col, ln, no), y)
        for k, part in enumerate(desc):
            self.put("description", part, y - k * step)
        return y - (len(desc) - 1) * step - self.size * self.lay.row_gap


def _head(pen: Pen, inv: LayoutInvoice, page: int) -> float:
    words, (seller, address) = WORDS[inv.layout.lang], PARTIES[inv.layout.lang]
    pen.set_font("Helvetica-Bold", 14)
    pen.text(LEFT, TOP - 10, seller)
    pen.set_font("Helvetica", 9)
    pen.text(LEFT, TOP - 24, address)
    if page > 1:
        pen.text(LEFT, TOP - 44, f"{words['title'].title()} {inv.number} ({words['cont']})")
        return TOP - 70
    pen.set_font("Helvetica-Bold", 18)
    pen.text_right(RIGHT, TOP - 12, words["title"])
    pen.set_font("Helvetica", 9)
    pen.text(360, TOP - 40, f"{words['no']}: {inv.number}")
    pen.text(360, TOP - 53, f"{words['date']}: 2024-05-{10 + len(inv.lines) % 18:02d}")
    pen.text(LEFT, TOP - 70, words["to"])
    pen.text(LEFT, TOP - 83, "Kunde & Partner AG" if inv.layout.lang == "de" else "Harbour & Finch LLP")
    pen.text(LEFT, TOP - 96, "Marktplatz 3, 60311 Frankfurt" if inv.layout.lang == "de" else "5 Market Road")
    return TOP - 135


def _footer(pen: Pen, inv: LayoutInvoice, page: int) -> None:
    pen.set_font("Helvetica", 7)
    pen.text(LEFT, 40, "IBAN DE89 3704 0044 0532 0130 00 · BIC COBADEFFXXX")
    pen.text_right(RIGHT, 40, WORDS[inv.layout.lang]["page"].format(p=page))


def _carry_row(t: TableDrawer, label: str, value: Decimal, y: float) -> float:
    amount_col = "net" if "net" in t.lay.columns else "gross"
    t.set_font(t.lay.font)
    t.put("description", label, y)
    t.put(amount_col, t.money(value), y)
    return y - t.size * 1.8


def _totals(t: TableDrawer, y: float) -> None:
    inv, words = t.inv, TOTALS[t.lay.lang]
    rate = fmt_number(inv.lines[0].tax_rate, t.lay.number_format, 0) if inv.lines else "0"
    rows: list[tuple[str, Decimal]] = [(words["lines"], inv.subtotal)]
    if inv.allowance:
        rows.append((words["allowance"], -inv.allowance))
    if inv.charge:
        rows.append((words["charge"], inv.charge))
    if inv.allowance or inv.charge:
        rows.append((words["net"], inv.net_total))
    rows += [(words["tax"].format(r=rate), inv.tax), (words["total"], inv.total)]
    x_label = t.xs()[t.lay.columns[-3] if len(t.lay.columns) >= 4 else t.lay.columns[-2]][0]
    x_value = RIGHT - PAD
    y -= 8
    for label, value in rows:
        t.set_font(t.lay.font)
        t.pen.text(x_label, y, label)
        t.pen.text_right(x_value, y, t.money(value) if value >= 0 else "-" + t.money(-value))
        y -= t.size * 1.8


def _row_height(t: TableDrawer, ln: LayoutLine) -> float:
    return (len(t.wrap(ln.description)) - 1) * t.size * 1.2 + t.size * t.lay.row_gap


def render_layout_pdf(inv: LayoutInvoice, path: Path) -> tuple[DocTruth, int]:
    """Draw ``inv`` in its layout; returns what was drawn, page by page, and the number of pages the item
    table runs over (a page breaks at the layout's rows per page or where the page is full)."""
    pen = new_pen(path, f"Invoice {inv.number}", PARTIES[inv.layout.lang][0])
    t = TableDrawer(pen, inv)
    feats, words = inv.layout.features, WORDS[inv.layout.lang]
    running, page, on_page = Decimal("0.00"), 1, 0
    y = t.header(_head(pen, inv, 1))
    for no, ln in enumerate(inv.lines, 1):
        if on_page >= inv.layout.rows_per_page or y - _row_height(t, ln) < BOTTOM + 30:
            if "carry" in feats:
                _carry_row(t, words["carry"], running, y - 4)
            _footer(pen, inv, page)
            pen.show_page()
            page, on_page = page + 1, 0
            y = _head(pen, inv, page)
            if "repeat_header" in feats:
                y = t.header(y)
            t.set_font(inv.layout.font)
            if "carry" in feats:
                y = _carry_row(t, words["brought"], running, y)
        y = t.row(ln, no, y)
        running += ln.net if "net" in inv.layout.columns else ln.net + ln.tax  # the printed amount column's sum
        on_page += 1
    table_pages = page
    if y < BOTTOM + 120:
        _footer(pen, inv, page)
        pen.show_page()
        page += 1
        y = _head(pen, inv, page)
    _totals(t, y)
    _footer(pen, inv, page)
    return pen.save(), table_pages
