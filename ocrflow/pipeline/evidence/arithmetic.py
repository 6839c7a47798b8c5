"""Arithmetic that must close: one signal of the confidence of a document's total (and its parts).

- A receipt: the total against the other sums printed on it: tendered minus change, subtotal plus tax
  (plus rounding), subtotal plus rounding; a card or exact-cash payment equals the total.
- An invoice: subtotal plus tax equals the total (the row's own values).

``total_signal`` says 1.0 when one of the relations the page allows closes on the total, 0.0 when the page
has the sums for a relation but none closes, and None when the page gives nothing to check against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from itertools import product
from typing import Any

from ocrflow.pipeline.extract.layout import PageLine
from ocrflow.pipeline.extract.sums import role_amounts

TOLERANCE = 0.011


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE


def _relations(total: float, roles: Mapping[str, list[float]]) -> Iterable[bool]:
    """Each relation the page's sums allow, closed or not."""
    tendered, change = roles["tendered"], roles["change"]
    if tendered and change:
        yield any(_close(t - c, total) for t, c in product(tendered, change))
    elif tendered:
        yield any(_close(t, total) for t in tendered) or any(t > total for t in tendered)
    sub, tax, rnd = roles["subtotal"], roles["tax"], roles["rounding"]
    if sub and (tax or rnd):
        taxes = [t for t in tax if t > 0] or [0.0]  # a printed tax is part of the total
        rounds = [0.0, *rnd, *(-r for r in rnd)]
        yield any(_close(s + t + r, total) for s, t, r in product(sub, taxes, rounds))


def total_signal(total: float | Decimal | None, lines: Sequence[PageLine]) -> float | None:
    """1.0 when the page's sums confirm ``total``, 0.0 when they contradict it, None when they say nothing."""
    if total is None:
        return None
    checks = list(_relations(float(total), role_amounts(lines)))
    if not checks:
        return None
    return 1.0 if any(checks) else 0.0


def invoice_signal(values: Mapping[str, Any]) -> float | None:
    """1.0 when subtotal + tax = total on the row, 0.0 when not, None when one of them is missing."""
    sub, tax, total = (values.get(k) for k in ("subtotal_amount", "tax_amount", "total_amount"))
    if sub is None or tax is None or total is None:
        return None
    return 1.0 if _close(float(sub) + float(tax), float(total)) else 0.0
