"""Ground-truth building blocks shared by every kind of demo document: parties, line items, random dates."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


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


def items_total(items: Sequence[Item]) -> Decimal:
    return sum((it.amount for it in items), Decimal("0.00"))


def random_items(rng: random.Random, pool: Sequence[str], n: int, low: int, high: int,
                 max_qty: int = 5) -> tuple[Item, ...]:
    """``n`` line items; unit prices between ``low`` and ``high`` cents."""
    names = rng.sample(list(pool), n) if n <= len(pool) else [
        f"{rng.choice(pool)} (lot {i + 1})" for i in range(n)]
    return tuple(Item(name, rng.randint(1, max_qty), Decimal(rng.randint(low, high)) / 100) for name in names)


def random_day(rng: random.Random, year: int) -> date:
    return date(year, 1, 1) + timedelta(days=rng.randint(0, 330))
