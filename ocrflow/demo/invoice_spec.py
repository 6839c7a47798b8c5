"""Ground truth of the English demo invoices, drawn at random from a seeded generator."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ocrflow.demo.parts import CENT, Item, Party, items_total, random_day, random_items


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
        return items_total(self.items)

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


PRODUCTS = (
    "Consulting services", "Cloud hosting (monthly)", "Software licence", "Support plan",
    "Data migration", "Training workshop", "Laptop stand", "USB-C docking station", "Wireless keyboard",
    "27-inch monitor", "Network switch 24p", "Cat6 cable 5m", "Office chair", "Desk lamp LED",
    "Printer toner black", "A4 paper (500 sheets)", "Whiteboard markers", "Webcam HD",
    "Headset with mic", "External SSD 1TB", "Security audit", "Backup storage 1TB",
)

_ADDRESSES = {
    ("GB", "seller"): ("{n} High Street", "London EC1A 1BB", "United Kingdom"),
    ("GB", "buyer"): ("{n} Market Road", "Manchester M1 2AB", "United Kingdom"),
    ("DE", "seller"): ("Hauptstrasse {n}", "10115 Berlin", "Germany"),
    ("DE", "buyer"): ("Kundenstrasse {n}", "60311 Frankfurt am Main", "Germany"),
}


def _vat_id(rng: random.Random, country: str) -> str:
    return f"{country}{rng.randint(100000000, 999999999)}"


def _address(rng: random.Random, country: str, role: str) -> tuple[str, ...]:
    street, *rest = _ADDRESSES[(country, role)]
    return (street.format(n=rng.randint(1, 250)), *rest)


def english_invoice(rng: random.Random, *, n_items: int, currency: str, country: str,
                    seller: str, buyer: str, prefix: str) -> InvoiceSpec:
    """A random invoice from ``seller`` to ``buyer`` in ``country`` (GB or DE)."""
    issued = random_day(rng, 2024)
    return InvoiceSpec(
        number=f"{prefix}-{issued.year}-{rng.randint(1, 9999):04d}",
        issued=issued,
        due=issued + timedelta(days=rng.choice((14, 30))),
        seller=Party(seller, _address(rng, country, "seller"), _vat_id(rng, country)),
        buyer=Party(buyer, _address(rng, country, "buyer"),
                    _vat_id(rng, country) if rng.random() < 0.5 else None),
        currency=currency,
        items=random_items(rng, PRODUCTS, n_items, 450, 48000),
        tax_rate=Decimal("0.20") if country == "GB" else Decimal("0.19"),
    )
