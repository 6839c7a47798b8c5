"""Line-item checks: each line's own (required columns, quantity x price = net) and header vs lines
(EN 16931 BR-CO-10 with BR-CO-13: sum of line net amounts - document allowances + document charges =
the invoice's net total). A failing check quarantines the document with the reason.

These run in Python over the coerced lines (one document at a time), beside the contract's GX suite
over the header rows: a line table has many rows per document, and its checks read the header.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ocrflow.contracts import Contract
from ocrflow.core.models import Failure, RowOutcome

SUM_TOLERANCE = Decimal("0.02")
"""Sum of the lines vs the net total (two-decimal amounts rounded per line)."""
LINE_TOLERANCE = Decimal("0.01")
PRICE_ROUNDING_PER_UNIT = Decimal("0.005")
"""A unit price printed to the cent may be off by half a cent per unit: the quantity x price check
allows that much per unit on top of LINE_TOLERANCE."""


def _dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def line_failures(contract: Contract, outcome: RowOutcome) -> list[Failure]:
    """Every failed line check of one document (none without lines)."""
    if not contract.lines or not outcome.lines:
        return []
    out: list[Failure] = []
    required = [f.name for f in contract.lines[1:] if f.required]
    amount_col = _amount_column(contract)
    for line in outcome.lines:
        no = line["line_no"]
        for name in required:
            if line.get(name) in (None, ""):
                out.append(Failure(field=f"line_items[{no}].{name}", check="expect_line_column_not_null",
                                   value=None, message=f"line {no}: {name} is missing"))
        failure = _arithmetic(line, amount_col)
        if failure:
            out.append(failure)
    total = _sum_check(outcome, amount_col)
    if total:
        out.append(total)
    return out


def _amount_column(contract: Contract) -> str:
    names = contract.line_names
    return "line_net_amount" if "line_net_amount" in names else "amount"


def _arithmetic(line: dict[str, Any], amount_col: str) -> Failure | None:
    """quantity x unit_price / price base quantity - line allowances + line charges = net amount."""
    qty, price, net = _dec(line.get("quantity")), _dec(line.get("unit_price")), _dec(line.get(amount_col))
    if qty is None or price is None or net is None:
        return None
    raw = line.get("raw") or {}
    base = _dec(raw.get("price_base_quantity")) or Decimal(1)
    allowance = _dec(raw.get("allowance_amount")) or Decimal(0)
    charge = _dec(raw.get("charge_amount")) or Decimal(0)
    expected = qty * price / (base or Decimal(1)) - allowance + charge
    tolerance = LINE_TOLERANCE + PRICE_ROUNDING_PER_UNIT * abs(qty) / (base or Decimal(1))
    if abs(expected - net) <= tolerance:
        return None
    no = line["line_no"]
    return Failure(field=f"line_items[{no}].{amount_col}", check="expect_line_quantity_times_price_to_equal_net",
                   value={"quantity": str(qty), "unit_price": str(price), amount_col: str(net)},
                   message=f"line {no}: quantity x unit price = {expected:.2f}, but the line amount is {net} "
                           f"(tolerance {tolerance:.2f})")


def _sum_check(outcome: RowOutcome, amount_col: str) -> Failure | None:
    """BR-CO-10/13: sum of line amounts - allowances + charges = subtotal (when the subtotal is known)."""
    values = outcome.values
    subtotal = _dec(values.get("subtotal_amount"))
    amounts = [_dec(line.get(amount_col)) for line in outcome.lines]
    if subtotal is None or any(a is None for a in amounts):
        return None
    allowance = _dec(values.get("allowance_total_amount")) or Decimal(0)
    charge = _dec(values.get("charge_total_amount")) or Decimal(0)
    total = sum((a for a in amounts if a is not None), Decimal(0))
    sign = -1 if total < 0 and subtotal < 0 else 1  # negative lines (a correction): the sums apply in their sign
    expected = total - sign * allowance + sign * charge
    if abs(expected - subtotal) <= SUM_TOLERANCE:
        return None
    extra = f" - allowances {allowance} + charges {charge}" if allowance or charge else ""
    return Failure(field="line_items", check="expect_lines_to_sum_to_subtotal",
                   value={"lines": str(total), "subtotal_amount": str(subtotal)},
                   message=f"the {len(amounts)} line amounts sum to {total}{extra} = {expected}, but the "
                           f"subtotal is {subtotal} (BR-CO-10, tolerance {SUM_TOLERANCE})")
