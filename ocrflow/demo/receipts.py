"""The scanned-looking demo receipts: ground truth, printed lines, and the three files of the set."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from ocrflow.demo.gold import DemoDoc
from ocrflow.demo.parts import Item, items_total, random_day, random_items
from ocrflow.demo.receipt_scan import save_receipt_pages
from ocrflow.demo.truth import DocTruth

RECEIPT_COLS = 34  # characters per printed line

_GROCERIES = (
    "MILO 1KG", "GARDENIA BREAD", "MAGGI CURRY 5S", "MINERAL WATER", "TEH TARIK", "NASI LEMAK",
    "KOPI O", "ROTI CANAI", "SUGAR 1KG", "EGGS GRADE A 10S", "DETERGENT 2KG", "INSTANT NOODLE",
    "COOKING OIL 2KG", "BISCUIT CRACKER", "AYAM GORENG", "MEE GORENG", "TISSUE ROLL 10S",
)


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
        return items_total(self.items)

    def fields(self) -> dict[str, Any]:
        return {"merchant_name": self.merchant, "merchant_address": " ".join(self.address),
                "receipt_date": self.bought.isoformat(), "total_amount": float(self.total)}


def receipt_spec(rng: random.Random, merchant: str, reg: str, address: tuple[str, ...], date_style: str,
                 n_items: int, pages: int = 1) -> ReceiptSpec:
    """A random grocery receipt from ``merchant``; ``date_style`` is ``dmy`` (12 MAR 2018) or d/m/Y."""
    bought = random_day(rng, 2018)
    date_text = bought.strftime("%d %b %Y").upper() if date_style == "dmy" else bought.strftime("%d/%m/%Y")
    items = random_items(rng, _GROCERIES, n_items, 120, 1290, max_qty=2)
    cash = Decimal(((int(items_total(items)) // 10) + 1) * 10)
    return ReceiptSpec(merchant=merchant, reg_line=reg, address=address,
                       phone=f"TEL: 03-{rng.randint(1000, 9999)} {rng.randint(1000, 9999)}", bought=bought,
                       date_text=date_text, time_text=f"{rng.randint(8, 21):02d}:{rng.randint(0, 59):02d}",
                       items=items, cash=cash, pages=pages)


def _spread(left: str, right: str, width: int = RECEIPT_COLS) -> str:
    return f"{left}{' ' * max(1, width - len(left) - len(right))}{right}"


def receipt_pages_text(spec: ReceiptSpec) -> list[list[str]]:
    """The printed lines of a receipt, split into ``spec.pages`` pages."""
    head = [spec.merchant, spec.reg_line, *spec.address, spec.phone, "", "TAX INVOICE".center(RECEIPT_COLS),
            _spread(f"DATE: {spec.date_text}", spec.time_text), "CASHIER: 01", "-" * RECEIPT_COLS,
            _spread("ITEM", "QTY   RM")]
    body = [_spread(it.description, f"{it.quantity}  {it.amount:.2f}") for it in spec.items]
    tail = ["-" * RECEIPT_COLS, _spread("TOTAL RM", f"{spec.total:.2f}"),
            _spread("CASH", f"{spec.cash:.2f}"), _spread("CHANGE", f"{spec.cash - spec.total:.2f}"), "",
            "THANK YOU, PLEASE COME AGAIN"]
    if spec.pages == 1:
        return [head + body + tail]
    split = len(body) // 2
    return [head + body[:split] + ["(CONTINUED)"], [spec.merchant, "(CONTINUED)", *body[split:], *tail]]


def save_receipt(spec: ReceiptSpec, path: Path, seed: int) -> DocTruth:
    """Render and save a receipt; the suffix picks the format (.jpg, .png, .tif for multi-page)."""
    return save_receipt_pages(receipt_pages_text(spec), path, seed)


def make_receipts(out_dir: Path, rng: random.Random, seed: int) -> list[DemoDoc]:
    """A JPEG, a PNG and a two-page TIFF receipt; each scan's noise is seeded from ``seed``."""
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
        truth = save_receipt(spec, out_dir / name, seed * 100 + i * 10)
        docs.append(DemoDoc(name, "receipt", spec.fields(), truth=truth))
    return docs
