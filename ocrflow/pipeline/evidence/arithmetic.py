"""Arithmetic that must close: one signal of the confidence of a document's total (and its parts).

- A receipt: the total against the other sums printed on it: tendered minus change, subtotal plus tax
  (plus rounding), subtotal plus rounding; a card or exact-cash payment equals the total.
- An invoice: subtotal plus tax equals the total (the row's own values).

``total_signal`` says 1.0 when one of the relations the page allows closes on the total, 0.0 when the
payment printed on the page (tendered, change) contradicts it, and None otherwise: a subtotal and a tax
that do not add up to the total prove nothing (pages print partial sums by tax rate or by section).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from itertools import product
from typing import Any

from ocrflow.pipeline.extract.layout import PageLine
from ocrflow.pipeline.extract.sums import role_amounts

TOLERANCE = 0.011


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE


def _paid(total: float, roles: Mapping[str, list[float]]) -> bool | None:
    """Tendered minus change is the total (None: the page prints no payment)."""
    tendered, change = roles["tendered"], roles["change"]
    if tendered and change:
        return any(_close(t - c, total) for t, c in product(tendered, change))
    if tendered:
        return any(_close(t, total) for t in tendered) or any(t > total for t in tendered)
    return None


def _parts(total: float, roles: Mapping[str, list[float]]) -> bool | None:
    """Subtotal plus tax (plus or minus rounding) is the total; None when that does not close either: a page
    may print several partial sums (by tax rate, by section), so a sum that does not close proves nothing."""
    sub, tax, rnd = roles["subtotal"], roles["tax"], roles["rounding"]
    if not (sub and (tax or rnd)):
        return None
    taxes = [t for t in tax if t > 0] or [0.0]  # a printed tax is part of the total
    rounds = [0.0, *rnd, *(-r for r in rnd)]
    return True if any(_close(s + t + r, total) for s, t, r in product(sub, taxes, rounds)) else None


def total_signal(total: float | Decimal | None, lines: Sequence[PageLine]) -> float | None:
    """1.0 when the page's sums confirm ``total``, 0.0 when its payment contradicts it (tendered minus change
    is another amount), None when they say nothing."""
    if total is None:
        return None
    roles = role_amounts(lines)
    paid, parts = _paid(float(total), roles), _parts(float(total), roles)
    if paid or parts:
        return 1.0
    return 0.0 if paid is False else None


def invoice_signal(values: Mapping[str, Any]) -> float | None:
    """1.0 when subtotal + tax = total on the row, 0.0 when not, None when one of them is missing."""
    sub, tax, total = (values.get(k) for k in ("subtotal_amount", "tax_amount", "total_amount"))
    if sub is None or tax is None or total is None:
        return None
    return 1.0 if _close(float(sub) + float(tax), float(total)) else 0.0
