"""A table block as a raw line item (contract line names, numbers as strings), the totals the lines must sum
to, page furniture, and the cell-value helper the parse-prompt tables share (``html_tables``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from ocrflow.contracts import Contract
from ocrflow.core.models import DocumentText, Line
from ocrflow.pipeline.extract.table_header import Column
from ocrflow.pipeline.extract.table_items import Block
from ocrflow.pipeline.extract.table_labels import amount_column
from ocrflow.pipeline.extract.table_roles import Reading, check
from ocrflow.pipeline.extract.table_text import split_number

NUMERIC_KINDS = ("money", "number", "integer")
LINE_TAX = "line_tax_amount"
LINE_GROSS = "line_gross_amount"
ARITHMETIC = "arithmetic"
"""Raw key of a line whose quantity x price (less its discount) is not its amount: ``fails``."""
MARGIN_TOP, MARGIN_BOTTOM = 0.1, 0.85
"""Running headers and footers live above / below these fractions of the page height."""


def _dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def sum_targets(values: Mapping[str, Any], printed: Sequence[Decimal]) -> list[Decimal]:
    """What the line amounts may sum to (BR-CO-10): the header's net total with its document allowances
    added back and charges taken off (the sum of the lines), that net total itself, and each total printed
    under the table (with the same correction)."""
    allowance = _dec(values.get("allowance_total_amount")) or Decimal(0)
    charge = _dec(values.get("charge_total_amount")) or Decimal(0)
    out: list[Decimal] = []
    for base in [_dec(values.get("subtotal_amount")), *printed]:
        if base is not None:
            out += [base + allowance - charge, base]
    return out


def _number(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def raw_line(block: Block, reading: Reading, columns: Sequence[Column], contract: Contract) -> dict[str, Any]:
    """The raw line of one block under the table's reading."""
    figs = block.figures
    names = set(contract.line_names)
    desc = "\n".join([*block.lead, *block.desc])
    item_id = _text_of(block, columns, "seller_item_id")
    if not desc and item_id:  # the description printed left of its header, over the article number's
        desc, item_id = item_id, ""
    raw: dict[str, Any] = {"description": desc, "page_no": block.page_no, "box": [round(v, 1) for v in block.box]}
    result = check(figs, reading)
    amount = amount_column(contract)
    raw[amount] = _number(result.net)
    if reading.quantity is not None and reading.quantity in figs:
        qty = figs[reading.quantity]
        raw["quantity"] = _number(qty.value)
        unit = qty.unit or _text_of(block, columns, "unit")
        if unit and "unit" in names:
            raw["unit"] = unit
    if reading.price is not None and reading.price in figs:
        raw["unit_price"] = _number(figs[reading.price].value)
    if reading.rate is not None and reading.rate in figs and "tax_rate" in names:
        raw["tax_rate"] = _number(figs[reading.rate].value)
    if item_id and "seller_item_id" in names:
        raw["seller_item_id"] = item_id
    if reading.base is not None and reading.base in figs:
        raw["price_base_quantity"] = _number(figs[reading.base].value)
    if result.allowance is not None:
        raw["allowance_amount"] = _number(result.allowance.quantize(Decimal("0.01")))
    if result.gross is not None:
        raw[LINE_GROSS], raw[LINE_TAX] = _number(result.gross), _number(result.tax)
    if result.closes is False:
        raw[ARITHMETIC] = "fails"
    if "unit" not in raw and "unit" in names and (unit_text := _text_of(block, columns, "unit")):
        raw["unit"] = unit_text
    return raw


def _text_of(block: Block, columns: Sequence[Column], role: str) -> str:
    for k, col in enumerate(columns):
        if col.role == role and block.texts.get(k):
            return " ".join(block.texts[k]).strip()
    return ""


def cell_values(cells: dict[str, str], contract: Contract) -> dict[str, Any]:
    """A row's cell texts by line column -> raw values: numbers split from their units ('3 Stk' -> '3',
    unit 'Stk' where the table has no unit column), texts as printed."""
    kinds = {f.name: f.kind for f in contract.lines}
    raw: dict[str, Any] = {}
    for name, value in cells.items():
        if kinds.get(name) in NUMERIC_KINDS:
            number, rest = split_number(value)
            raw[name] = number
            if name == "quantity" and rest and "unit" in kinds and "unit" not in cells:
                raw["unit"] = rest
        else:
            raw[name] = value
    return raw


def place(ln: Line, height: float) -> tuple[str, int] | None:
    """A line's text and height band when it sits in the page's top or bottom margin, else None."""
    if MARGIN_TOP * height < ln.y0 < MARGIN_BOTTOM * height:
        return None
    return " ".join(ln.text.split()), round(ln.y0 / 20)


def running_lines(text: DocumentText) -> set[tuple[str, int] | None]:
    """Page furniture: the same text at the same height in the top or bottom margin of two pages or more
    (a running footer or header), never part of a line even where a table runs over the page end."""
    if len(text.pages) < 2:
        return set()
    seen: dict[tuple[str, int], int] = {}
    for page in text.pages:
        for key in {place(ln, page.height) for ln in page.lines} - {None}:
            if key is not None:
                seen[key] = seen.get(key, 0) + 1
    return {k for k, n in seen.items() if n >= 2}
