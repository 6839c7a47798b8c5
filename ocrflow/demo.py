"""Bundled demo documents with known ground truth, made by the project's own code.

``generate_demo(out_dir)`` writes a small, deterministic set of documents that
covers every path of the pipeline, plus ``out_dir/gold.jsonl`` in the format of
the shared sample gold (``{"path", "doc_type", "source": "demo", "fields"}``):

- two born-digital English invoices (one of them two pages long),
- a Factur-X invoice whose CII XML attachment is the exact answer,
- a born-digital Chinese VAT invoice (增值税发票) in reportlab's built-in CID font,
- three scanned-looking receipts (JPEG, PNG, two-page TIFF; 4 OCR pages in all),
- an invoice whose totals do not add up, which validation must quarantine
  (marked ``"expect": "quarantined"`` in gold).

Run ``python -m ocrflow.demo OUT_DIR [--seed N]``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image, ImageFont
    from reportlab.pdfgen.canvas import Canvas

GOLD_FILE = "gold.jsonl"
DOCS_DIR = "docs"
CENT = Decimal("0.01")
CID_FONT = "STSong-Light"
RECEIPT_FONT_CANDIDATES = (Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),)


@dataclass(frozen=True, slots=True)
class DemoDoc:
    """One generated document: path relative to the output folder, type and ground truth."""

    path: str
    doc_type: str
    fields: dict[str, Any]
    expect: str | None = None

    def gold_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"path": self.path, "doc_type": self.doc_type, "source": "demo",
                                  "fields": self.fields}
        if self.expect:
            record["expect"] = self.expect
        return record


# ------------------------------------------------------------------------ ground truth


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    address: tuple[str, ...]
    tax_id: str | None = None


@dataclass(frozen=True, slots=True)
class Item:
    description: str
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return (self.unit_price * self.quantity).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class InvoiceSpec:
    number: str
    issued: date
    due: date | None
    seller: Party
    buyer: Party
    currency: str
    items: tuple[Item, ...]
    tax_rate: Decimal
    total_override: Decimal | None = None

    @property
    def subtotal(self) -> Decimal:
        return sum((it.amount for it in self.items), Decimal("0.00"))

    @property
    def tax(self) -> Decimal:
        return (self.subtotal * self.tax_rate).quantize(CENT, ROUND_HALF_UP)

    @property
    def total(self) -> Decimal:
        return self.total_override if self.total_override is not None else self.subtotal + self.tax

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "invoice_number": self.number,
            "invoice_date": self.issued.isoformat(),
            "due_date": self.due.isoformat() if self.due else None,
            "seller_name": self.seller.name,
            "seller_tax_id": self.seller.tax_id,
            "buyer_name": self.buyer.name,
            "buyer_tax_id": self.buyer.tax_id,
            "currency": self.currency,
            "subtotal_amount": float(self.subtotal),
            "tax_amount": float(self.tax),
            "total_amount": float(self.total),
        }
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True, slots=True)
class ReceiptSpec:
    merchant: str
    reg_line: str
    address: tuple[str, ...]
    phone: str
    bought: date
    date_text: str
    time_text: str
    items: tuple[Item, ...]
    cash: Decimal
    pages: int = 1

    @property
    def total(self) -> Decimal:
        return sum((it.amount for it in self.items), Decimal("0.00"))

    def fields(self) -> dict[str, Any]:
        return {"merchant_name": self.merchant, "merchant_address": " ".join(self.address),
                "receipt_date": self.bought.isoformat(), "total_amount": float(self.total)}


_PRODUCTS = (
    "Consulting services", "Cloud hosting (monthly)", "Software licence", "Support plan",
    "Data migration", "Training workshop", "Laptop stand", "USB-C docking station", "Wireless keyboard",
    "27-inch monitor", "Network switch 24p", "Cat6 cable 5m", "Office chair", "Desk lamp LED",
    "Printer toner black", "A4 paper (500 sheets)", "Whiteboard markers", "Webcam HD",
    "Headset with mic", "External SSD 1TB", "Security audit", "Backup storage 1TB",
)
_GROCERIES = (
    "MILO 1KG", "GARDENIA BREAD", "MAGGI CURRY 5S", "MINERAL WATER", "TEH TARIK", "NASI LEMAK",
    "KOPI O", "ROTI CANAI", "SUGAR 1KG", "EGGS GRADE A 10S", "DETERGENT 2KG", "INSTANT NOODLE",
    "COOKING OIL 2KG", "BISCUIT CRACKER", "AYAM GORENG", "MEE GORENG", "TISSUE ROLL 10S",
)


def _items(rng: random.Random, pool: Sequence[str], n: int, low: int, high: int,
           max_qty: int = 5) -> tuple[Item, ...]:
    """``n`` line items; unit prices between ``low`` and ``high`` cents."""
    names = rng.sample(list(pool), n) if n <= len(pool) else [
        f"{rng.choice(pool)} (lot {i + 1})" for i in range(n)]
    return tuple(Item(name, rng.randint(1, max_qty), Decimal(rng.randint(low, high)) / 100) for name in names)


def _day(rng: random.Random, year: int) -> date:
    return date(year, 1, 1) + timedelta(days=rng.randint(0, 330))


def _vat_id(rng: random.Random, country: str) -> str:
    return f"{country}{rng.randint(100000000, 999999999)}"


_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc(rng: random.Random, region: str = "310115") -> str:
    """A random 18-character unified social credit code with a valid check character (GB 32100-2015)."""
    body = "91" + region + "".join(rng.choice(_USCC_CHARS) for _ in range(9))
    check = (31 - sum(_USCC_CHARS.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True)) % 31) % 31
    return body + _USCC_CHARS[check]


_ADDRESSES = {
    ("GB", "seller"): ("{n} High Street", "London EC1A 1BB", "United Kingdom"),
    ("GB", "buyer"): ("{n} Market Road", "Manchester M1 2AB", "United Kingdom"),
    ("DE", "seller"): ("Hauptstrasse {n}", "10115 Berlin", "Germany"),
    ("DE", "buyer"): ("Kundenstrasse {n}", "60311 Frankfurt am Main", "Germany"),
}


def _address(rng: random.Random, country: str, role: str) -> tuple[str, ...]:
    street, *rest = _ADDRESSES[(country, role)]
    return (street.format(n=rng.randint(1, 250)), *rest)


def _english_invoice(rng: random.Random, *, n_items: int, currency: str, country: str,
                     seller: str, buyer: str, prefix: str) -> InvoiceSpec:
    issued = _day(rng, 2024)
    return InvoiceSpec(
        number=f"{prefix}-{issued.year}-{rng.randint(1, 9999):04d}",
        issued=issued,
        due=issued + timedelta(days=rng.choice((14, 30))),
        seller=Party(seller, _address(rng, country, "seller"), _vat_id(rng, country)),
        buyer=Party(buyer, _address(rng, country, "buyer"),
                    _vat_id(rng, country) if rng.random() < 0.5 else None),
        currency=currency,
        items=_items(rng, _PRODUCTS, n_items, 450, 48000),
        tax_rate=Decimal("0.20") if country == "GB" else Decimal("0.19"),
    )


# -------------------------------------------------------------------- PDF rendering

_PAGE_W, _PAGE_H = 595.27, 841.89  # A4 in points
_MARGIN = 50.0
_ROW_H = 15.0


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _date_en(d: date, style: str) -> str:
    return d.strftime("%d %b %Y") if style == "dmy" else d.isoformat()


def _new_canvas(path: Path, title: str, author: str) -> Canvas:
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path), pagesize=(_PAGE_W, _PAGE_H), invariant=1)
    canvas.setTitle(title)
    canvas.setAuthor(author)
    canvas.setCreator("ocrflow.demo")
    return canvas


def render_invoice_pdf(spec: InvoiceSpec, path: Path, *, date_style: str = "iso") -> int:
    """Draw an English invoice with a real text layer; returns the number of pages."""
    canvas = _new_canvas(path, f"Invoice {spec.number}", spec.seller.name)
    y = _draw_invoice_header(canvas, spec, date_style)
    page = 1
    y = _draw_table_header(canvas, y)
    for item in spec.items:
        if y < _MARGIN + 40:
            page = _next_page(canvas, spec, page)
            y = _draw_table_header(canvas, _PAGE_H - _MARGIN - 40)
        y = _draw_item(canvas, item, y)
    if y < _MARGIN + 90:
        page = _next_page(canvas, spec, page)
        y = _PAGE_H - _MARGIN - 40
    _draw_totals(canvas, spec, y - 10)
    _draw_footer(canvas, page)
    canvas.save()
    return page


def _draw_invoice_header(canvas: Canvas, spec: InvoiceSpec, date_style: str) -> float:
    top = _PAGE_H - _MARGIN
    canvas.setFont("Helvetica-Bold", 16)
    canvas.drawString(_MARGIN, top - 10, spec.seller.name)
    canvas.setFont("Helvetica", 10)
    y = top - 28
    for line in (*spec.seller.address, f"VAT No: {spec.seller.tax_id}"):
        canvas.drawString(_MARGIN, y, line)
        y -= 13
    canvas.setFont("Helvetica-Bold", 22)
    canvas.drawRightString(_PAGE_W - _MARGIN, top - 12, "INVOICE")
    meta = [("Invoice Number:", spec.number), ("Invoice Date:", _date_en(spec.issued, date_style))]
    if spec.due:
        meta.append(("Due Date:", _date_en(spec.due, date_style)))
    meta.append(("Currency:", spec.currency))
    _draw_pairs(canvas, meta, _PAGE_W - _MARGIN - 210, top - 40)
    return _draw_bill_to(canvas, spec.buyer, min(y, top - 40 - 14 * len(meta)) - 24)


def _draw_pairs(canvas: Canvas, pairs: Sequence[tuple[str, str]], x: float, y: float) -> None:
    for label, value in pairs:
        canvas.setFont("Helvetica-Bold", 10)
        canvas.drawString(x, y, label)
        canvas.setFont("Helvetica", 10)
        canvas.drawString(x + 95, y, value)
        y -= 14


def _draw_bill_to(canvas: Canvas, buyer: Party, y: float) -> float:
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawString(_MARGIN, y, "Bill To")
    canvas.setFont("Helvetica", 10)
    lines = [buyer.name, *buyer.address]
    if buyer.tax_id:
        lines.append(f"Customer VAT ID: {buyer.tax_id}")
    for line in lines:
        y -= 13
        canvas.drawString(_MARGIN, y, line)
    return y - 30


_COLS = (_MARGIN, 330.0, 420.0, _PAGE_W - _MARGIN)


def _draw_table_header(canvas: Canvas, y: float) -> float:
    canvas.setFont("Helvetica-Bold", 10)
    canvas.drawString(_COLS[0], y, "Description")
    canvas.drawRightString(_COLS[1] + 40, y, "Qty")
    canvas.drawRightString(_COLS[2] + 60, y, "Unit Price")
    canvas.drawRightString(_COLS[3], y, "Amount")
    canvas.line(_MARGIN, y - 4, _PAGE_W - _MARGIN, y - 4)
    return y - _ROW_H - 2


def _draw_item(canvas: Canvas, item: Item, y: float) -> float:
    canvas.setFont("Helvetica", 10)
    canvas.drawString(_COLS[0], y, item.description)
    canvas.drawRightString(_COLS[1] + 40, y, str(item.quantity))
    canvas.drawRightString(_COLS[2] + 60, y, _money(item.unit_price))
    canvas.drawRightString(_COLS[3], y, _money(item.amount))
    return y - _ROW_H


def _next_page(canvas: Canvas, spec: InvoiceSpec, page: int) -> int:
    canvas.setFont("Helvetica-Oblique", 9)
    canvas.drawString(_MARGIN, _MARGIN, "Continued on next page")
    _draw_footer(canvas, page)
    canvas.showPage()
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawString(_MARGIN, _PAGE_H - _MARGIN - 10, f"Invoice {spec.number} (continued)")
    return page + 1


def _draw_footer(canvas: Canvas, page: int) -> None:
    canvas.setFont("Helvetica", 8)
    canvas.drawRightString(_PAGE_W - _MARGIN, _MARGIN - 20, f"Page {page}")


def _draw_totals(canvas: Canvas, spec: InvoiceSpec, y: float) -> None:
    canvas.line(_COLS[2] - 40, y + 8, _PAGE_W - _MARGIN, y + 8)
    rate = int(spec.tax_rate * 100)
    rows = (("Subtotal", _money(spec.subtotal)), (f"Tax ({rate}%)", _money(spec.tax)),
            ("Total", f"{spec.currency} {_money(spec.total)}"))
    for label, value in rows:
        canvas.setFont("Helvetica-Bold" if label == "Total" else "Helvetica", 11)
        canvas.drawString(_COLS[2] - 40, y - 4, label)
        canvas.drawRightString(_COLS[3], y - 4, value)
        y -= 16
    canvas.setFont("Helvetica", 9)
    canvas.drawString(_MARGIN, y - 20, f"Please pay by bank transfer quoting invoice {spec.number}.")


# ------------------------------------------------------------------------ Factur-X


def render_facturx_pdf(spec: InvoiceSpec, path: Path) -> None:
    """A visible invoice plus its CII XML embedded as ``factur-x.xml``."""
    from ocrflow.einvoice import attach_xml, build_cii_xml

    render_invoice_pdf(spec, path, date_style="dmy")
    lines = [{"name": it.description, "quantity": it.quantity, "unit_price": it.unit_price,
              "amount": it.amount} for it in spec.items]
    xml = build_cii_xml(spec.fields(), lines=lines, tax_rate_percent=float(spec.tax_rate * 100))
    attach_xml(path, xml, name="factur-x.xml", created=spec.issued)
    _stabilise_trailer_id(path)


def _stabilise_trailer_id(path: Path) -> None:
    """pdfium writes a random second /ID on save; make it equal the first so output is reproducible."""
    data = path.read_bytes()
    pattern = re.compile(rb"/ID\s*\[\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*\]")
    matches = list(pattern.finditer(data))
    if not matches:
        return
    last = matches[-1]
    first_id, second_id = last.group(1), last.group(2)
    if len(first_id) != len(second_id):
        return
    start, end = last.span(2)
    path.write_bytes(data[:start] + first_id + data[end:])


# ------------------------------------------------------------------ Chinese invoice


@dataclass(frozen=True, slots=True)
class FapiaoSpec:
    code: str
    number: str
    issued: date
    seller: Party
    buyer: Party
    items: tuple[Item, ...]
    tax_rate: Decimal = Decimal("0.13")

    @property
    def subtotal(self) -> Decimal:
        return sum((it.amount for it in self.items), Decimal("0.00"))

    @property
    def tax(self) -> Decimal:
        return (self.subtotal * self.tax_rate).quantize(CENT, ROUND_HALF_UP)

    def fields(self) -> dict[str, Any]:
        return {"invoice_number": self.number, "invoice_date": self.issued.isoformat(),
                "seller_name": self.seller.name, "seller_tax_id": self.seller.tax_id,
                "buyer_name": self.buyer.name, "buyer_tax_id": self.buyer.tax_id, "currency": "CNY",
                "subtotal_amount": float(self.subtotal), "tax_amount": float(self.tax),
                "total_amount": float(self.subtotal + self.tax)}

    def cn_fields(self) -> dict[str, Any]:
        """Ground truth in the cn_vat_invoice contract's field names."""
        return {"invoice_code": self.code, "invoice_number": self.number, "issue_date": self.issued.isoformat(),
                "seller_name": self.seller.name, "seller_tax_id": self.seller.tax_id,
                "buyer_name": self.buyer.name, "buyer_tax_id": self.buyer.tax_id,
                "amount": float(self.subtotal), "tax_amount": float(self.tax),
                "total_amount": float(self.subtotal + self.tax)}


_CN_SELLERS = (("上海明远科技有限公司", "上海市浦东新区张江路88号 021-5080 1234", "310115"),
               ("深圳华创信息技术有限公司", "深圳市南山区科技园路6号 0755-8601 2345", "440305"))
_CN_BUYERS = (("北京华信贸易有限公司", "北京市朝阳区建国路1号 010-6500 8888", "110105"),
              ("杭州云帆网络有限公司", "杭州市西湖区文三路90号 0571-8888 6666", "330106"))
_CN_GOODS = ("信息技术服务费", "软件维护服务", "办公用品", "服务器租赁", "技术咨询费", "打印耗材")


def _fapiao(rng: random.Random) -> FapiaoSpec:
    seller_name, seller_addr, seller_region = rng.choice(_CN_SELLERS)
    buyer_name, buyer_addr, buyer_region = rng.choice(_CN_BUYERS)
    seller = Party(seller_name, (seller_addr,), uscc(rng, seller_region))
    buyer = Party(buyer_name, (buyer_addr,), uscc(rng, buyer_region))
    return FapiaoSpec(code=f"{rng.randint(10**9, 10**10 - 1)}", number=f"{rng.randint(10**7, 10**8 - 1)}",
                      issued=_day(rng, 2024), seller=seller, buyer=buyer,
                      items=_items(rng, _CN_GOODS, 3, 10000, 300000))


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def render_fapiao_pdf(spec: FapiaoSpec, path: Path) -> None:
    """A 增值税专用发票-style invoice drawn in reportlab's built-in CID font (no font files)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CID_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    canvas = _new_canvas(path, f"发票 {spec.number}", spec.seller.name)
    top = _PAGE_H - _MARGIN
    canvas.setFillColorRGB(0.6, 0.1, 0.1)
    canvas.setFont(CID_FONT, 20)
    canvas.drawCentredString(_PAGE_W / 2, top - 10, "增值税专用发票")
    canvas.setFillColorRGB(0, 0, 0)
    _cn_pairs(canvas, [("发票代码：", spec.code), ("发票号码：", spec.number),
                       ("开票日期：", _cn_date(spec.issued))], _PAGE_W - _MARGIN - 190, top - 40)
    y = _cn_party(canvas, "购买方", spec.buyer, top - 110)
    y = _cn_items(canvas, spec, y - 16)
    y = _cn_party(canvas, "销售方", spec.seller, y - 24)
    canvas.setFont(CID_FONT, 10)
    canvas.drawString(_MARGIN, y - 24, "收款人：王芳    复核：李强    开票人：张伟")
    canvas.save()


def _cn_pairs(canvas: Canvas, pairs: Sequence[tuple[str, str]], x: float, y: float) -> None:
    canvas.setFont(CID_FONT, 11)
    for label, value in pairs:
        canvas.drawString(x, y, f"{label}{value}")
        y -= 16


def _cn_party(canvas: Canvas, role: str, party: Party, y: float) -> float:
    canvas.setFont(CID_FONT, 11)
    canvas.drawString(_MARGIN, y, f"{role}名称：{party.name}")
    canvas.drawString(_MARGIN, y - 16, f"纳税人识别号：{party.tax_id}")
    canvas.drawString(_MARGIN, y - 32, f"地址、电话：{party.address[0]}")
    return y - 32


def _cn_items(canvas: Canvas, spec: FapiaoSpec, y: float) -> float:
    cols = (_MARGIN, 250.0, 300.0, 370.0, 450.0, 490.0, _PAGE_W - _MARGIN)
    canvas.setFont(CID_FONT, 10)
    heads = ("货物或应税劳务、服务名称", "数量", "单价", "金额", "税率", "税额")
    for x, head in zip(cols, heads, strict=False):
        canvas.drawString(x, y, head)
    canvas.line(_MARGIN, y - 4, _PAGE_W - _MARGIN, y - 4)
    rate = f"{int(spec.tax_rate * 100)}%"
    for item in spec.items:
        y -= _ROW_H
        tax = (item.amount * spec.tax_rate).quantize(CENT, ROUND_HALF_UP)
        row = (item.description, str(item.quantity), f"{item.unit_price:.2f}", f"{item.amount:.2f}", rate,
               f"{tax:.2f}")
        for x, text in zip(cols, row, strict=False):
            canvas.drawString(x, y, text)
    y -= _ROW_H + 4
    canvas.line(_MARGIN, y + 11, _PAGE_W - _MARGIN, y + 11)
    canvas.drawString(_MARGIN, y, f"金额：¥{spec.subtotal:.2f}")
    canvas.drawString(cols[4], y, f"税额：¥{spec.tax:.2f}")
    y -= _ROW_H + 2
    canvas.setFont(CID_FONT, 12)
    canvas.drawString(_MARGIN, y, f"价税合计（小写）：¥{spec.subtotal + spec.tax:.2f}")
    return y


# ------------------------------------------------------------------ scanned receipts

_RECEIPT_W = 760
_FONT_PX = 32
_LINE_PX = 48
_RECEIPT_COLS = 34


def receipt_font_path() -> Path:
    """DejaVu Sans Mono when installed, else reportlab's bundled Vera; a clear error if neither."""
    candidates = list(RECEIPT_FONT_CANDIDATES)
    try:
        import reportlab

        candidates.append(Path(reportlab.__file__).resolve().parent / "fonts" / "Vera.ttf")
    except ImportError:
        pass
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("no TrueType font for the demo receipts: looked for "
                            + ", ".join(str(c) for c in candidates)
                            + " (install fonts-dejavu-core or reportlab)")


def receipt_spec(rng: random.Random, merchant: str, reg: str, address: tuple[str, ...], date_style: str,
             n_items: int, pages: int = 1) -> ReceiptSpec:
    bought = _day(rng, 2018)
    date_text = bought.strftime("%d %b %Y").upper() if date_style == "dmy" else bought.strftime("%d/%m/%Y")
    items = _items(rng, _GROCERIES, n_items, 120, 1290, max_qty=2)
    total = sum((it.amount for it in items), Decimal("0.00"))
    cash = Decimal(((int(total) // 10) + 1) * 10)
    return ReceiptSpec(merchant=merchant, reg_line=reg, address=address,
                       phone=f"TEL: 03-{rng.randint(1000, 9999)} {rng.randint(1000, 9999)}", bought=bought,
                       date_text=date_text, time_text=f"{rng.randint(8, 21):02d}:{rng.randint(0, 59):02d}",
                       items=items, cash=cash, pages=pages)


def _spread(left: str, right: str, width: int = _RECEIPT_COLS) -> str:
    return f"{left}{' ' * max(1, width - len(left) - len(right))}{right}"


def receipt_pages_text(spec: ReceiptSpec) -> list[list[str]]:
    """The printed lines of a receipt, split into ``spec.pages`` pages."""
    head = [spec.merchant, spec.reg_line, *spec.address, spec.phone, "", "TAX INVOICE".center(_RECEIPT_COLS),
            _spread(f"DATE: {spec.date_text}", spec.time_text), "CASHIER: 01", "-" * _RECEIPT_COLS,
            _spread("ITEM", "QTY   RM")]
    body = [_spread(it.description, f"{it.quantity}  {it.amount:.2f}") for it in spec.items]
    tail = ["-" * _RECEIPT_COLS, _spread("TOTAL RM", f"{spec.total:.2f}"),
            _spread("CASH", f"{spec.cash:.2f}"), _spread("CHANGE", f"{spec.cash - spec.total:.2f}"), "",
            "THANK YOU, PLEASE COME AGAIN"]
    if spec.pages == 1:
        return [head + body + tail]
    split = len(body) // 2
    return [head + body[:split] + ["(CONTINUED)"], [spec.merchant, "(CONTINUED)", *body[split:], *tail]]


def render_receipt_page(lines: Sequence[str], font: ImageFont.FreeTypeFont, seed: int) -> Image.Image:
    """Draw receipt lines on paper, add noise and a slight rotation like a flatbed scan."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    height = max(1000, 120 + _LINE_PX * len(lines))
    page = Image.new("L", (_RECEIPT_W, height), 246)
    draw = ImageDraw.Draw(page)
    for i, text in enumerate(lines):
        draw.text((50, 60 + i * _LINE_PX), text, fill=25, font=font)
    rng = np.random.default_rng(seed)
    arr = np.asarray(page.filter(ImageFilter.GaussianBlur(0.5)), dtype=np.float32)
    arr += rng.normal(0.0, 9.0, arr.shape).astype(np.float32)
    speckles = rng.random(arr.shape) < 0.0015
    arr[speckles] = 90.0
    noisy = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="L")
    angle = float(rng.uniform(-1.5, 1.5))
    return noisy.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=240).convert("RGB")


def save_receipt(spec: ReceiptSpec, path: Path, seed: int) -> None:
    """Render and save a receipt; the suffix picks the format (.jpg, .png, .tif for multi-page)."""
    from PIL import ImageFont

    font = ImageFont.truetype(str(receipt_font_path()), _FONT_PX)
    images = [render_receipt_page(lines, font, seed + i) for i, lines in enumerate(receipt_pages_text(spec))]
    suffix = path.suffix.lower()
    if suffix in (".tif", ".tiff"):
        images[0].save(path, format="TIFF", save_all=True, append_images=images[1:], compression="tiff_lzw",
                       dpi=(200, 200))
    elif len(images) > 1:
        raise ValueError(f"{path.name}: only TIFF holds a {len(images)}-page receipt")
    elif suffix == ".png":
        images[0].save(path, format="PNG", optimize=False, dpi=(200, 200))
    else:
        images[0].save(path, format="JPEG", quality=88, dpi=(200, 200))


# ----------------------------------------------------------------------- the set


def generate_demo(out_dir: Path, *, seed: int = 7) -> list[DemoDoc]:
    """Write the demo documents into ``out_dir/docs`` and ``gold.jsonl`` into ``out_dir``; deterministic."""
    out_dir = Path(out_dir)
    doc_dir = out_dir / DOCS_DIR  # documents apart from gold.jsonl, so the folder is a clean inbox
    doc_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    made = [*_make_invoices(doc_dir, rng), _make_fapiao(doc_dir, rng), *_make_receipts(doc_dir, rng, seed)]
    docs = [replace(d, path=f"{DOCS_DIR}/{d.path}") for d in made]
    with (out_dir / GOLD_FILE).open("w", encoding="utf-8") as fh:
        for doc in docs:
            fh.write(json.dumps(doc.gold_record(), ensure_ascii=False) + "\n")
    return docs


def _make_invoices(out_dir: Path, rng: random.Random) -> list[DemoDoc]:
    simple = _english_invoice(rng, n_items=4, currency="GBP", country="GB", seller="Brightline Studio Ltd",
                              buyer="Harbour & Finch LLP", prefix="INV")
    render_invoice_pdf(simple, out_dir / "invoice_digital.pdf", date_style="dmy")
    long = _english_invoice(rng, n_items=36, currency="USD", country="GB", seller="Northwind Supplies Ltd",
                            buyer="Contoso Retail Group", prefix="NW")
    pages = render_invoice_pdf(long, out_dir / "invoice_two_pages.pdf")
    if pages != 2:
        raise RuntimeError(f"invoice_two_pages.pdf came out with {pages} pages, expected 2")
    facturx = _english_invoice(rng, n_items=3, currency="EUR", country="DE", seller="Muster Lieferant GmbH",
                               buyer="Kunden AG Mitte", prefix="RE")
    render_facturx_pdf(facturx, out_dir / "invoice_facturx.pdf")
    bad = _english_invoice(rng, n_items=3, currency="GBP", country="GB", seller="Quickfix Repairs Ltd",
                           buyer="Harbour & Finch LLP", prefix="QF")
    base = bad.subtotal + bad.tax
    bad = replace(bad, total_override=base + Decimal("25.00"))
    render_invoice_pdf(bad, out_dir / "invoice_bad_totals.pdf")
    return [DemoDoc("invoice_digital.pdf", "invoice", simple.fields()),
            DemoDoc("invoice_two_pages.pdf", "invoice", long.fields()),
            DemoDoc("invoice_facturx.pdf", "invoice", facturx.fields()),
            DemoDoc("invoice_bad_totals.pdf", "invoice", bad.fields(), expect="quarantined")]


def _make_fapiao(out_dir: Path, rng: random.Random) -> DemoDoc:
    spec = _fapiao(rng)
    render_fapiao_pdf(spec, out_dir / "invoice_zh_vat.pdf")
    return DemoDoc("invoice_zh_vat.pdf", "cn_vat_invoice", spec.cn_fields())


def _make_receipts(out_dir: Path, rng: random.Random, seed: int) -> list[DemoDoc]:
    specs = (
        ("receipt_scan_01.jpg", receipt_spec(rng, "MAJU JAYA MINI MARKET", "CO REG NO: 123456-X",
                                         ("NO 12, JALAN SS2/24,", "47300 PETALING JAYA, SELANGOR"),
                                         "dmy", 5)),
        ("receipt_scan_02.png", receipt_spec(rng, "RESTORAN SRI MELAKA", "CO REG NO: JM0123456-P",
                                         ("LOT 5, JALAN BUNGA RAYA,", "75100 MELAKA"), "slash", 4)),
        ("receipt_scan_03.tif", receipt_spec(rng, "KEDAI RUNCIT AH HOCK", "CO REG NO: 001234567-T",
                                         ("NO 3, JALAN PASAR BARU,", "50050 KUALA LUMPUR"), "dmy", 12,
                                         pages=2)),
    )
    docs = []
    for i, (name, spec) in enumerate(specs):
        save_receipt(spec, out_dir / name, seed * 100 + i * 10)
        docs.append(DemoDoc(name, "receipt", spec.fields()))
    return docs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ocrflow.demo",
                                     description="Generate the ocrflow demo documents and their gold.jsonl.")
    parser.add_argument("out_dir", type=Path, help="folder to write the documents and gold.jsonl into")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    docs = generate_demo(args.out_dir, seed=args.seed)
    for doc in docs:
        note = f"  (expect {doc.expect})" if doc.expect else ""
        print(f"{doc.doc_type:8} {doc.path}{note}")
    print(f"{len(docs)} documents and {GOLD_FILE} written to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
