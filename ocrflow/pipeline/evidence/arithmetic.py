"""Arithmetic that must close: one signal of the confidence of a document's total (and its parts).

- A receipt: the total against the other sums printed on it: tendered minus change, subtotal plus tax
  (plus rounding), subtotal plus rounding; a card or exact-cash payment equals the total.
- An invoice: subtotal plus tax equals the total (the row's own values).

``total_signal`` says 1.0 when one of the relations the page allows closes on the total, 0.0 when the
payment printed on the page (tendered, change) contradicts it, and None otherwise: a subtotal and a tax
that do not add up to the total prove nothing (pages print partial sums by tax rate or by section).

``misread_total`` is a check, not a signal: a receipt's item rows (the rightmost amount of each row above the
total's that prints no sum) plus tax (plus or minus rounding) that make the total's own digits less a leading
one ("194.19" where the items and tax make 94.19: a stroke or a symbol before the amount read as a digit). A
coincidence of that shape is unlikely, so the row is held with that reason (``signals.add_page_signals``).
Items that make the total exactly are not made a signal: on the samples' fit part they closed on 15 totals
that the other signals already put at 0.98-0.999, and every change to the model's inputs refits the gate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from itertools import product
from typing import Any

from ocrflow.pipeline.extract.layout import PageLine
from ocrflow.pipeline.extract.sums import page_rows, role_amounts

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


TOTAL_WORD = re.compile(r"(?i)\btotal|\bjumlah\b|\bsumme\b|合计|总计")
MIN_ITEMS = 2
"""Fewer item rows than this are no sum."""


def item_amounts(total: float, lines: Sequence[PageLine]) -> list[float]:
    """The rightmost amount of each row above the total's row that prints no sum (a total, a subtotal, a tax,
    a payment, a rounding): the item rows of a receipt, sums by tax rate or by section skipped."""
    amounts: list[float] = []
    for row in page_rows(lines):
        if not row.amounts:
            continue
        if _close(row.amounts[-1][1], total) or row.roles() & {"tendered", "change"}:
            break
        if not (row.roles() or TOTAL_WORD.search(row.text)):
            amounts.append(row.amounts[-1][1])
    return amounts


def misread_total(total: float | Decimal | None, lines: Sequence[PageLine]) -> float | None:
    """What the items (plus tax, plus or minus rounding) make, when that is ``total`` less its leading digit;
    None otherwise (fewer than two item rows, or any other sum)."""
    if total is None:
        return None
    items = item_amounts(float(total), lines)
    digits = f"{float(total):.2f}"
    if len(items) < MIN_ITEMS or len(digits) <= 4:
        return None
    roles = role_amounts(lines)
    rounds = [0.0, *roles["rounding"], *(-r for r in roles["rounding"])]
    sums = [round(sum(items) + t + r, 2) for t in [0.0, *roles["tax"]] for r in rounds]
    if any(_close(s, float(total)) for s in sums):
        return None
    return next((s for s in sums if s > 0 and f"{s:.2f}" == digits[1:]), None)


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
