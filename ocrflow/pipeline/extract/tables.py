"""Line-item tables from positioned text lines (text layers and OCR), generic over layouts.

1. Rows: lines grouped by baseline (vertical centres within half a line height).
2. Header: the row whose texts match the most of the contract's line-column labels (all languages),
   at least a description and an amount column; matched lines just above/below join it (two-line
   headers). Column boundaries are the midpoints between the header cells' centres.
3. Body: below the header, up to the first row that names a header total (subtotal/tax/total labels)
   or the next table's header. An item starts at a row with a description and a number in another
   column; following rows with description text continue its description (wrapped text) until the
   first row without; the first value per numeric column among the item's rows is the item's.
4. A table that reaches the page end continues on the next page, with that page's header if it
   repeats one, else with the previous columns from the top of the page. Rows of page furniture (the
   same text at the same height in the top/bottom margin of two pages or more: running footers) are
   left out of the body.
5. Header cells among the numeric columns that name no line column are columns of their own (their
   figures are not read into a neighbour); one labelled as a tax amount makes a line whose amount is
   quantity x price + that tax a gross amount: its net is amount - tax. Rows just under the header with
   no figures and nothing in the description column wrap the header's labels.

Each line keeps its page and row box. Nothing here knows a vendor or a layout by name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ocrflow.contracts import Contract, FieldSpec
from ocrflow.core.models import DocumentText, Line

NUMERIC_KINDS = ("money", "number", "integer")
TOTAL_FIELDS = ("subtotal_amount", "tax_amount", "total_amount")
UNNAMED = "_unnamed"
LINE_TAX = "line_tax_amount"
"""Raw key of a line's tax amount printed in its own column (not a contract column: see ``_gross``)."""
GROSS_TOLERANCE = Decimal("0.02")
_NUMBER = re.compile(r"[-+]?\d[\d.,']*\d|[-+]?\d")
_WORD = re.compile(r"\w+")


@dataclass(slots=True)
class Column:
    spec: FieldSpec
    center: float
    left: float = 0.0
    lo: float = 0.0
    hi: float = 0.0
    right: float = 0.0


@dataclass(slots=True)
class Item:
    page_no: int
    box: list[float]
    description: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    open_description: bool = True


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def label_match(text: str, labels: Sequence[str]) -> int:
    """Length of the longest label found in ``text`` (short labels as whole words), 0 for none."""
    norm = _norm(text)
    words = set(norm.split())
    best = 0
    for label in labels:
        lab = _norm(label)
        if not lab:
            continue
        hit = lab in words or lab == norm if len(lab) <= 3 else lab in norm
        if hit:
            best = max(best, len(lab))
    return best


def rows_of(lines: Sequence[Line]) -> list[list[Line]]:
    rows: list[list[Line]] = []
    for ln in sorted(lines, key=lambda ln: (ln.y0 + ln.y1) / 2):
        cy, h = (ln.y0 + ln.y1) / 2, max(ln.y1 - ln.y0, 1.0)
        if rows:
            ref = rows[-1][0]
            if abs(cy - (ref.y0 + ref.y1) / 2) < 0.5 * min(h, max(ref.y1 - ref.y0, 1.0)):
                rows[-1].append(ln)
                continue
        rows.append([ln])
    return [sorted(r, key=lambda ln: ln.x0) for r in rows]


def _header_cells(row: Sequence[Line], specs: Sequence[FieldSpec]) -> dict[str, Column]:
    cells: dict[str, tuple[int, Column]] = {}
    for ln in row:
        scored = [(label_match(ln.text, spec.all_labels()), spec) for spec in specs]
        score, spec = max(scored, key=lambda s: s[0])
        if score and (spec.name not in cells or cells[spec.name][0] < score):
            cells[spec.name] = (score, Column(spec, (ln.x0 + ln.x1) / 2, ln.x0, right=ln.x1))
    return {k: v[1] for k, v in cells.items()}


def find_header(rows: list[list[Line]], contract: Contract, amount: str) -> tuple[int, list[Column]] | None:
    """(index of the header's last row, the columns) of the line table in ``rows``; None without one."""
    found = _find_header(rows, contract, amount)
    return (found[1], found[2]) if found else None


def header_lines(text: DocumentText, contract: Contract) -> set[int]:
    """``id()`` of every text line in a line-table header row (its labels name columns, not header values)."""
    if not contract.lines:
        return set()
    out: set[int] = set()
    for page in text.pages:
        rows = rows_of(page.lines)
        found = _find_header(rows, contract, amount_column(contract))
        if found is not None:
            out.update(id(ln) for row in rows[found[0]:found[1] + 1] for ln in row)
    return out


def _find_header(rows: list[list[Line]], contract: Contract, amount: str
                 ) -> tuple[int, int, list[Column]] | None:
    specs = header_specs(contract)
    best: tuple[int, int, dict[str, Column]] | None = None
    for i, row in enumerate(rows):
        cells = _header_cells(row, specs)
        if "description" in cells and amount in cells and len(cells) >= 3 and (best is None or len(cells) > best[0]):
            best = (len(cells), i, cells)
    if best is None:
        return None
    _, i, cells = best
    for j in (i - 1, i + 1):  # a two-line header (label rows only: no figures, no ids)
        if 0 <= j < len(rows) and not any(ch.isdigit() for ln in rows[j] for ch in ln.text):
            for name, col in _header_cells(rows[j], specs).items():
                # a cell under (or over) another header cell wraps that cell's label: not a column of its own
                if not any(c.left <= col.center <= c.right for c in cells.values()):
                    cells.setdefault(name, col)
    below = _header_cells(rows[i + 1], specs) if i + 1 < len(rows) else {}
    end = i + 1 if any(cells.get(n) is col for n, col in below.items()) else i
    cols = _bounds([*cells.values(), *_unnamed_columns(rows[i], cells, contract)])
    desc = next(c for c in cols if c.spec.name == "description")
    while end + 1 < len(rows) and _header_tail(rows[end + 1], desc):
        end += 1
    first = i - 1 if i > 0 and any(cells.get(n) is col for n, col in _header_cells(rows[i - 1], specs).items()) \
        else i
    return first, end, cols


def _header_tail(row: Sequence[Line], desc: Column) -> bool:
    """A row under the header that only wraps its labels: no figures, nothing in the description column."""
    return not any(ch.isdigit() for ln in row for ch in ln.text) and all(ln.x0 >= desc.hi for ln in row)


def _unnamed_columns(row: Sequence[Line], cells: dict[str, Column], contract: Contract) -> list[Column]:
    """Header cells among the numeric columns that name no line column (or lost it to a better cell): they
    are columns of their own, so their figures do not fall into a neighbour. One labelled as a tax amount
    (the header ``tax_amount`` field's labels) is kept as the line's tax (``LINE_TAX``); the others are
    read and dropped. Unnamed cells left of the first numeric column belong to the text column before them."""
    numeric = [c.center for c in cells.values() if c.spec.kind in NUMERIC_KINDS]
    if not numeric:
        return []
    used = {(c.center, c.left) for c in cells.values()}
    tax_labels = contract.field("tax_amount").all_labels() if "tax_amount" in contract.field_names else []
    out = []
    for ln in row:
        center = (ln.x0 + ln.x1) / 2
        if (center, ln.x0) in used or center < min(numeric):
            continue
        name = LINE_TAX if tax_labels and label_match(ln.text, tax_labels) else UNNAMED
        out.append(Column(FieldSpec(name, "money", "number", "", False), center, ln.x0))
    return out


def _bounds(cols: list[Column]) -> list[Column]:
    cols.sort(key=lambda c: c.center)
    for k, col in enumerate(cols):
        col.lo = (cols[k - 1].center + col.center) / 2 if k else float("-inf")
        col.hi = (col.center + cols[k + 1].center) / 2 if k + 1 < len(cols) else float("inf")
    if len(cols) > 1:  # the first column starts a little left of its header cell
        cols[0].lo = cols[0].left - 0.5 * (cols[0].hi - cols[0].center)
    return cols


def _column_of(ln: Line, cols: list[Column]) -> Column | None:
    numeric = _is_number(ln.text)
    x = (ln.x0 + ln.x1) / 2 if numeric else ln.x0 + 1
    for col in cols:
        if col.lo <= x < col.hi:
            return col
    return None


_UNIT_AFTER = re.compile(r"\s*[^\W\d_]{1,4}(?:\([^\W\d_]{1,3}\))?\.?\s*$")
"""A short unit word after a figure: '1 Stk', '2 kg', '2 Tag(e)'."""


def _is_number(text: str) -> bool:
    """A figure, alone or with a few characters around it, or a figure followed by a short unit."""
    m = _NUMBER.search(text)
    if m is None:
        return False
    if len(m.group(0)) >= max(1, len(text.replace(" ", "")) // 2):
        return True
    return not text[:m.start()].strip() and _UNIT_AFTER.fullmatch(text[m.end():]) is not None


def total_labels(contract: Contract) -> list[str]:
    """The labels of the header totals (subtotal, tax, total): a row naming one ends the table."""
    return [lab for name in TOTAL_FIELDS if name in contract.field_names for lab in contract.field(name).all_labels()]


def header_specs(contract: Contract) -> list[FieldSpec]:
    """The line columns a header cell can name (those with labels; never ``line_no``)."""
    return [f for f in contract.lines if f.name != "line_no" and f.labels]


def amount_column(contract: Contract) -> str:
    return "line_net_amount" if "line_net_amount" in contract.line_names else "amount"


def _is_total_row(row: Sequence[Line], contract: Contract) -> bool:
    labels = total_labels(contract)
    return bool(labels) and label_match(row[0].text, labels) >= 4


def _row_cells(row: Sequence[Line], cols: list[Column]) -> dict[str, str]:
    cells: dict[str, list[str]] = {}
    for ln in row:
        col = _column_of(ln, cols)
        if col is not None:
            cells.setdefault(col.spec.name, []).append(ln.text.strip())
    return {k: " ".join(v) for k, v in cells.items()}


def _read_rows(rows: list[list[Line]], cols: list[Column], page_no: int, contract: Contract,
               items: list[Item]) -> bool:
    """Add the items of ``rows``; True when the table ended (a totals row) on this page."""
    numeric = {c.spec.name for c in cols if c.spec.kind in NUMERIC_KINDS}
    specs = header_specs(contract)
    for row in rows:
        if _is_total_row(row, contract) or len(_header_cells(row, specs)) >= 3:
            return True
        cells = _row_cells(row, cols)
        desc = cells.get("description")
        has_number = any(n in cells and _is_number(cells[n]) for n in numeric)
        box = [min(ln.x0 for ln in row), min(ln.y0 for ln in row), max(ln.x1 for ln in row),
               max(ln.y1 for ln in row)]
        if desc and has_number and not _completes(items, cells, numeric, page_no):
            items.append(Item(page_no=page_no, box=box, description=[desc]))
        elif not items:
            continue
        item = items[-1]
        if desc and item.description and item.box[1] != box[1]:
            if item.open_description:
                item.description.append(desc)
        elif not desc and item.box[1] != box[1]:
            item.open_description = False
        for name, value in cells.items():
            if name != "description" and (name not in numeric or _is_number(value)):
                item.values.setdefault(name, value)
        item.box = [min(item.box[0], box[0]), min(item.box[1], box[1]), max(item.box[2], box[2]),
                    max(item.box[3], box[3])] if item.page_no == page_no else item.box
    return False


def _completes(items: list[Item], cells: dict[str, str], numeric: set[str], page_no: int) -> bool:
    """Whether a row with a description and numbers continues the open item instead of starting one:
    the item's description is still open and the row only brings numeric columns it lacks (an amount
    printed on the description's second line)."""
    if not items or not items[-1].open_description or items[-1].page_no != page_no:
        return False
    item = items[-1]
    brought = {n for n in numeric if n in cells and _is_number(cells[n])}
    return bool(brought) and not brought & set(item.values) and "line_net_amount" not in item.values \
        and "amount" not in item.values


def table_lines(text: DocumentText, contract: Contract) -> list[dict[str, Any]]:
    """Raw line items (strings, contract line names) read from the document's pages; [] for no table."""
    if not contract.lines:
        return []
    amount = amount_column(contract)
    items: list[Item] = []
    cols: list[Column] | None = None
    furniture = _running_lines(text)
    for page in text.pages:
        rows = rows_of(page.lines)
        found = find_header(rows, contract, amount)
        if found is not None:
            start, cols = found[0] + 1, found[1]
        elif cols is None:
            continue
        else:
            start = 0
        body = [r for r in rows[start:] if not all(_place(ln, page.height) in furniture for ln in r)]
        if _read_rows(body, cols, page.page_no, contract, items):
            break
    return [_raw_line(item, contract) for item in items]


MARGIN_TOP, MARGIN_BOTTOM = 0.1, 0.85
"""Running headers and footers live above / below these fractions of the page height."""


def _place(ln: Line, height: float) -> tuple[str, int] | None:
    """A line's text and height band when it sits in the page's top or bottom margin, else None."""
    if MARGIN_TOP * height < ln.y0 < MARGIN_BOTTOM * height:
        return None
    return " ".join(ln.text.split()), round(ln.y0 / 20)


def _running_lines(text: DocumentText) -> set[tuple[str, int] | None]:
    """Page furniture: the same text at the same height in the top or bottom margin of two pages or more
    (a running footer or header), never part of a line even where a table runs over the page end."""
    if len(text.pages) < 2:
        return set()
    seen: dict[tuple[str, int], int] = {}
    for page in text.pages:
        for key in {_place(ln, page.height) for ln in page.lines} - {None}:
            if key is not None:
                seen[key] = seen.get(key, 0) + 1
    return {k for k, n in seen.items() if n >= 2}


def _raw_line(item: Item, contract: Contract) -> dict[str, Any]:
    raw: dict[str, Any] = {"description": "\n".join(item.description), "page_no": item.page_no,
                           "box": [round(v, 1) for v in item.box]}
    raw.update(cell_values({k: v for k, v in item.values.items() if k != UNNAMED}, contract))
    return _gross(raw)


def _gross(raw: dict[str, Any]) -> dict[str, Any]:
    """A line amount printed with its tax (a tax column, and amount = quantity x unit price + tax) is the
    gross: the net amount (BT-131) is amount - tax; both figures stay in the raw line."""
    if LINE_TAX not in raw:
        return raw
    tax_text = split_number(str(raw.pop(LINE_TAX)))[0]
    try:
        qty, price = Decimal(raw["quantity"]), Decimal(raw["unit_price"])
        amount, tax = Decimal(raw["line_net_amount"]), Decimal(tax_text or "")
    except (KeyError, TypeError, ArithmeticError, ValueError):
        return raw
    if abs(qty * price - amount) > GROSS_TOLERANCE and abs(qty * price + tax - amount) <= GROSS_TOLERANCE:
        raw.update({"line_gross_amount": str(amount), LINE_TAX: str(tax), "line_net_amount": str(amount - tax)})
    return raw


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


def split_number(text: str) -> tuple[str | None, str]:
    """('1234.56', rest) from '1.234,56 EUR' / '1,234.56' / '3,3333' / '19 %'; (None, text) for none."""
    m = _NUMBER.search(text)
    if not m:
        return None, text.strip()
    token = m.group(0).replace(" ", "").replace("'", "")
    rest = (text[:m.start()] + text[m.end():]).strip(" %€$")
    last_dot, last_comma = token.rfind("."), token.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        dec = "." if last_dot > last_comma else ","
        token = token.replace("," if dec == "." else ".", "").replace(",", ".")
    elif last_comma >= 0:
        tail = token[last_comma + 1:]
        token = token.replace(",", "") if len(tail) == 3 and token.count(",") >= 1 and "," not in tail and \
            len(token) > 5 else token.replace(",", ".", 1).replace(",", "")
    elif token.count(".") > 1:
        token = token.replace(".", "")
    return token, rest
