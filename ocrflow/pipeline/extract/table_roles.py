"""Which numeric column of a line-item table is the quantity, the unit price and the line amount: the
header's labels propose, the rows' arithmetic decides.

Every reading (amount column; quantity and price columns or none; a discount, tax or price-per column
where the header names one or a percent column offers one) is scored by

- the blocks (an item's figures, ``table_items``) whose figures close: ``quantity x price / per x (1 -
  discount %) = amount``, or ``... - discount`` (an amount), or ``... + tax = amount`` (a gross amount);
- agreement with the labels (a column labelled as the price is not the amount without the figures
  saying so);
- BR-CO-10: the amounts summing to the lines total or the net total printed under the table.

The best reading names the columns; a block whose figures do not close under it is flagged
(``arithmetic: fails`` in the line's raw values).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import permutations

from ocrflow.pipeline.extract.table_header import Column
from ocrflow.pipeline.extract.table_labels import BASE, DISCOUNT, GROSS, POSITION, TAX, UNNAMED
from ocrflow.pipeline.extract.table_text import Figure

CONTRACT_NUMERIC = ("quantity", "unit_price", "line_net_amount", "amount")
ROW_WEIGHT = 3.0
SUM_WEIGHT = 4.0
TOLERANCE = Decimal("0.01")
PER_UNIT = Decimal("0.005")
MAX_CANDIDATES = 8
"""At most this many numeric columns are tried as quantity, price and amount (the rightmost ones)."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One assignment of columns (indices into the table's columns; None: the table has none)."""

    amount: int
    quantity: int | None = None
    price: int | None = None
    discount: int | None = None
    tax: int | None = None
    base: int | None = None
    rate: int | None = None
    score: float = 0.0

    def used(self) -> set[int]:
        return {c for c in (self.amount, self.quantity, self.price, self.discount, self.tax, self.base, self.rate)
                if c is not None}


@dataclass(frozen=True, slots=True)
class Check:
    """How a block's figures close under a reading: ``net`` is the line net amount, ``allowance`` the line
    discount as an amount, ``gross``/``tax`` set where the printed amount is gross."""

    closes: bool | None
    net: Decimal | None
    allowance: Decimal | None = None
    gross: Decimal | None = None
    tax: Decimal | None = None


def _val(figs: Mapping[int, Figure], col: int | None) -> Decimal | None:
    return figs[col].value if col is not None and col in figs else None


def _near(a: Decimal, b: Decimal, qty: Decimal) -> bool:
    return abs(a - b) <= TOLERANCE + PER_UNIT * abs(qty)


def check(figs: Mapping[int, Figure], r: Reading) -> Check:
    """Whether a block's figures close under reading ``r`` (None: not enough figures to tell)."""
    amount = _val(figs, r.amount)
    qty, price = _val(figs, r.quantity), _val(figs, r.price)
    if amount is None or qty is None or price is None:
        return Check(None, amount)
    base = _val(figs, r.base) or Decimal(1)
    units = qty / (base or Decimal(1))
    expected = qty * price / (base or Decimal(1))
    allowance: Decimal | None = None
    disc = _val(figs, r.discount)
    if disc is not None and r.discount is not None and disc:
        pct = figs[r.discount].percent or (disc < 100 and not figs[r.discount].decimals)
        allowance = expected * disc / 100 if pct else disc
        expected -= allowance
    tax = _val(figs, r.tax)
    if tax is not None:  # the reading's amount is gross: the line's tax is in it
        if _near(expected + tax, amount, units):
            return Check(True, amount - tax, allowance=allowance, gross=amount, tax=tax)
        return Check(False, amount - tax, gross=amount, tax=tax)
    return Check(_near(expected, amount, units), amount, allowance=allowance)


def _label_bonus(col: Column | None, *roles: str) -> float:
    if col is None:
        return 0.0
    weight = 0.4 if col.weak else 1.0  # a label inside a longer word is a weaker hint
    if col.roles and col.roles[0] in roles:
        return 1.5 * weight
    if any(r in col.roles for r in roles):
        return 1.0 * weight
    if col.role in CONTRACT_NUMERIC or col.role in (POSITION, DISCOUNT, BASE, TAX, "tax_rate"):
        return -2.5 * weight
    return 0.0


@dataclass(frozen=True, slots=True)
class Shape:
    """How a column's figures look: shares printed with %, with decimals, with a unit word, as integers."""

    percent: float = 0.0
    decimals: float = 0.0
    unit: float = 0.0
    integer: float = 0.0


def _shape(blocks: Sequence[Mapping[int, Figure]], col: int) -> Shape:
    figs = [b[col] for b in blocks if col in b]
    if not figs:
        return Shape()
    n = len(figs)
    return Shape(sum(f.percent for f in figs) / n, sum(f.decimals > 0 for f in figs) / n,
                 sum(bool(f.unit) and not f.percent for f in figs) / n, sum(f.value == f.value.to_integral()
                                                                           for f in figs) / n)


def candidates(columns: Sequence[Column], blocks: Sequence[Mapping[int, Figure]], text_col: int) -> list[int]:
    seen = {c for b in blocks for c in b}
    out = [k for k in sorted(seen) if k != text_col and columns[k].role not in (POSITION, "unit", "seller_item_id",
                                                                                  "description")]
    return out[-MAX_CANDIDATES:]


def _modifiers(columns: Sequence[Column], cands: Sequence[int], percent: Mapping[int, float],
               used: set[int]) -> Iterable[tuple[int | None, int | None, int | None]]:
    """(discount, tax, base) columns to try beside a quantity/price/amount choice."""
    free = [k for k in cands if k not in used]
    discounts = [k for k in free if DISCOUNT in columns[k].roles or (percent.get(k, 0) > 0.5 and
                                                                      TAX not in columns[k].roles and
                                                                      "tax_rate" not in columns[k].roles)]
    taxes = [k for k in free if (TAX in columns[k].roles or columns[k].role in (UNNAMED, GROSS, "line_net_amount",
                                                                                 "amount")) and percent.get(k, 0) < 0.5]
    bases = [k for k in free if BASE in columns[k].roles]
    for d in [None, *discounts]:
        for t in [None, *taxes]:
            for b in [None, *bases]:
                if len({d, t, b} - {None}) == len([c for c in (d, t, b) if c is not None]):
                    yield d, t, b


def choose(columns: Sequence[Column], blocks: Sequence[Mapping[int, Figure]], text_col: int,
           totals: Sequence[Decimal]) -> Reading | None:
    """The best reading of the table's numeric columns (None when no column holds figures)."""
    cands = candidates(columns, blocks, text_col)
    if not cands:
        return None
    shapes = {k: _shape(blocks, k) for k in cands}
    percent = {k: s.percent for k, s in shapes.items()}
    money = [k for k in cands if percent[k] < 0.5]
    best: Reading | None = None
    for amount in money or cands:
        others = [k for k in money if k != amount]
        for qty, price in [(None, None), *permutations([*others, None], 2)]:
            if (qty is None and price is not None) or (qty is not None and qty == price):
                continue
            used = {c for c in (amount, qty, price) if c is not None}
            for disc, tax, base in _modifiers(columns, cands, percent, used):
                r = Reading(amount, qty, price, disc, tax, base)
                score = _score(r, columns, blocks, shapes, totals)
                if best is None or score > best.score:
                    best = Reading(amount, qty, price, disc, tax, base, score=score)
    if best is None:
        return None
    rate = next((k for k in cands if k not in best.used() and ("tax_rate" in columns[k].roles or
                                                              ((TAX in columns[k].roles or columns[k].role == UNNAMED)
                                                              and percent[k] >= 0.5))), None)
    return Reading(best.amount, best.quantity, best.price, best.discount, best.tax, best.base, rate, best.score)


def _score(r: Reading, columns: Sequence[Column], blocks: Sequence[Mapping[int, Figure]],
           shapes: Mapping[int, Shape], totals: Sequence[Decimal]) -> float:
    closes = fails = 0
    nets: list[Decimal] = []
    for figs in blocks:
        c = check(figs, r)
        if c.closes:
            closes += 1
        elif c.closes is False:
            fails += 1
        if c.net is not None:
            nets.append(c.net)
    score = ROW_WEIGHT * closes - 0.5 * fails
    score += _label_bonus(columns[r.amount], "line_net_amount", "amount")
    score += _label_bonus(columns[r.quantity], "quantity") if r.quantity is not None else 0.0
    score += _label_bonus(columns[r.price], "unit_price") if r.price is not None else 0.0
    for mod, role in ((r.discount, DISCOUNT), (r.tax, TAX), (r.base, BASE)):
        if mod is not None:
            score += (0.5 if role in columns[mod].roles else 0.0) - 0.3
    score += 0.3 * shapes[r.amount].decimals + (0.2 if r.amount == max(shapes) else 0.0)
    if r.quantity is not None and r.price is not None:  # quantity x price = price x quantity: their look
        q, p = shapes[r.quantity], shapes[r.price]
        score += 2.0 * (q.unit - p.unit) + 0.7 * (q.integer - p.integer) + 0.7 * (p.decimals - q.decimals)
    if r.quantity is not None and r.price is not None and not closes:
        score -= 1.0  # a quantity and price the figures never bear out
    if nets and any(abs(sum(nets) - t) <= Decimal("0.02") for t in totals):
        score += SUM_WEIGHT
    if GROSS in columns[r.amount].roles and r.tax is None:
        score -= 1.0
    return score
