"""Line-item tables from positioned text lines (text layers and OCR boxes), generic over layouts.

1. Header (``table_header``): the label-only row (with its label-only neighbours) naming the most line
   columns by the contract's labels and a few extra ones (position, discount, tax, gross, price per), with
   figures under it.
2. Body (``table_grid``): each row cut into the header's columns; a text line that joined several cells is
   split, its figures bound to the columns from the right.
3. Blocks (``table_items``): a row with figures and the figure rows right under it; description rows wrap
   the block above or lead the block below, whichever they are close to; rows of other columns close it.
4. Roles (``table_roles``): which numeric column is the quantity, the price, the amount (and a discount,
   a line tax or a price-per column): the labels propose, each block's arithmetic (quantity x price =
   amount) and BR-CO-10 (the amounts summing to a total printed under the table or the header's net total)
   decide. A block whose figures do not close is flagged (``arithmetic: fails`` in its raw values).
5. The table ends at a totals row (a subtotal/tax/total/allowance/charge label with a figure and no
   quantity or price) or at another table's header; one that reaches the page end goes on over the next
   page, under that page's header if it repeats one. Page furniture (the same text at the same height in
   the margins of two pages or more) is left out; a row only carrying the sum of the amounts above it
   (carried forward) is no item.

Each line keeps its page and row box. Nothing here knows a vendor or a layout by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ocrflow.contracts import Contract
from ocrflow.core.models import DocumentText, Line
from ocrflow.pipeline.extract.table_columns import refine_columns
from ocrflow.pipeline.extract.table_grid import Grid, GridRow
from ocrflow.pipeline.extract.table_header import TEXT_ROLES, Column, Header, header_like, same_table
from ocrflow.pipeline.extract.table_header import find_header as _find_header
from ocrflow.pipeline.extract.table_items import Block, BlockBuilder, join_split_items, running_sum_rows
from ocrflow.pipeline.extract.table_labels import (
    POSITION,
    UNNAMED,
    amount_column,
    header_specs,
    label_match,
    total_labels,
    vocabulary,
)
from ocrflow.pipeline.extract.table_output import (
    NUMERIC_KINDS,
    cell_values,
    place,
    raw_line,
    running_lines,
    sum_targets,
)
from ocrflow.pipeline.extract.table_roles import check, choose
from ocrflow.pipeline.extract.table_text import (
    decimal_comma,
    line_height,
    reread,
    rows_of,
    space_grouped,
    split_number,
)

__all__ = ["NUMERIC_KINDS", "UNNAMED", "amount_column", "cell_values", "find_header", "header_lines",
           "header_specs", "label_match", "rows_of", "split_number", "table_lines", "total_labels"]

TOTAL_MATCH = 3
"""A totals row names a total label of at least this many characters ("vat", "tax" as whole words)."""


class _Segment:
    """A table under one header (a repeated header with the same columns continues it)."""

    def __init__(self, header: Header, index: int, height: float, body: Sequence[Sequence[Line]],
                 spaced: bool) -> None:
        header.columns = refine_columns(header.columns, body)
        self.header = header
        self.spaced = spaced
        self.index = index
        cols = header.columns
        named_text = [k for k, c in enumerate(cols) if c.role == "description"]
        self.text_col = named_text[0] if named_text else -1
        self.numeric = {k for k, c in enumerate(cols) if c.role not in TEXT_ROLES and k != self.text_col}
        self.grid = Grid(cols, self.numeric, self.text_col, spaced=spaced)
        positions = {k for k, c in enumerate(cols) if c.role == POSITION}
        self.builder = BlockBuilder(self.text_col, self.numeric - positions, height, positions)

    def pick_text_column(self, rows: Sequence[Sequence[Line]]) -> None:
        """Without a description label: the column holding the most text that is no figure."""
        if self.text_col >= 0:
            return
        chars: dict[int, int] = {}
        for row in rows[:12]:
            cut = self.grid.cut(row)
            for col, texts in cut.texts.items():
                if col not in cut.figures:
                    chars[col] = chars.get(col, 0) + sum(len(t) for t in texts)
        if chars:
            self.text_col = max(chars, key=lambda c: chars[c])
            self.numeric.discard(self.text_col)
            self.grid = Grid(self.header.columns, self.numeric, self.text_col, spaced=self.spaced)
            self.builder.text_col = self.text_col
            self.builder.numeric.discard(self.text_col)

    def adopt(self, header: Header, body: Sequence[Sequence[Line]]) -> None:
        """A repeated header (same columns) on a later page: its geometry, the same roles."""
        header.columns = refine_columns(header.columns, body)
        if len(header.columns) != len(self.header.columns):
            return
        self.header = header
        self.grid = Grid(header.columns, self.numeric, self.text_col, spaced=self.spaced)


def _compatible(a: Header, b: Header) -> bool:
    return [c.role for c in a.columns] == [c.role for c in b.columns]


class _Reader:
    def __init__(self, text: DocumentText, contract: Contract, values: Mapping[str, Any] | None) -> None:
        self.text = text
        self.contract = contract
        self.values = values or {}
        self.vocab = vocabulary(contract)
        self.totals_labels = total_labels(contract)
        self.segments: list[_Segment] = []
        self.printed_totals: list[Decimal] = []
        texts = [ln.text for page in text.pages for ln in page.lines]
        self.decimal_comma = decimal_comma(texts)
        self.spaced = space_grouped(texts)

    def read(self) -> list[dict[str, Any]]:
        furniture = running_lines(self.text)
        active: _Segment | None = None
        pages = list(self.text.pages)
        for n, page in enumerate(pages):
            rows = [r for r in rows_of(page.lines) if not all(f in furniture for f in _places(r, page.height))]
            header = _find_header(rows, self.vocab)
            start = 0
            if active is None or (header is not None and not same_table(active.header, header)
                                  and header.first == 0):
                if header is None:
                    continue
                start = header.last + 1
                active = self._segment(header, line_height(rows), rows[start:])
                active.pick_text_column(rows[start:])
            elif header is not None and same_table(active.header, header):
                start = header.last + 1
                if _compatible(active.header, header):
                    active.adopt(header, rows[start:])
                else:
                    active = self._segment(header, line_height(rows), rows[start:])
            if start == 0:
                active.builder.headless.add(page.page_no)
            state = self._rows(rows[start:], active, page.page_no, last_page=n + 1 == len(pages))
            active.builder.end_page()
            if state == "end":
                break
        return self._lines()

    def _segment(self, header: Header, height: float, body: Sequence[Sequence[Line]]) -> _Segment:
        seg = _Segment(header, len(self.segments), height, body, self.spaced)
        self.segments.append(seg)
        return seg

    def _rows(self, rows: list[list[Line]], seg: _Segment, page_no: int, *, last_page: bool) -> str:
        """Read the rows of one page into ``seg``; "end" when the table ended on this page."""
        for i, row in enumerate(rows):
            if header_like(row, self.vocab):
                again = _find_header(rows[i:], self.vocab)
                if again is not None and again.first == 0 and same_table(seg.header, again):
                    return self._rows(rows[i + again.last + 1:], seg, page_no, last_page=last_page)
                return "end"
            cut = seg.grid.cut(row)
            if self._is_total(row, cut, seg):
                self._collect_totals(rows[i:])
                rest = rows[i + 1:]
                if not last_page and not any(seg.grid.cut(r).figures for r in rest):
                    continue  # a subtotal at the foot of a page: the table may go on over the page
                return "end"
            cut.figures = {k: reread(f, self.decimal_comma) for k, f in cut.figures.items()}
            seg.builder.add(cut, page_no, seg.index)
        return "more"

    def _is_total(self, row: Sequence[Line], cut: GridRow, seg: _Segment) -> bool:
        figures = [k for k in cut.figures if k in seg.numeric]
        if not figures or len(figures) > 2:
            return False
        return label_match(" ".join(ln.text for ln in row), self.totals_labels) >= TOTAL_MATCH

    def _collect_totals(self, rows: Sequence[Sequence[Line]]) -> None:
        for row in rows[:8]:
            text = " ".join(ln.text for ln in row)
            if label_match(text, self.totals_labels) < TOTAL_MATCH:
                continue
            number = split_number(max(row, key=lambda ln: ln.x1).text, self.decimal_comma)[0]
            try:
                self.printed_totals.append(Decimal(number or ""))
            except ArithmeticError:
                continue

    def _lines(self) -> list[dict[str, Any]]:
        targets = sum_targets(self.values, self.printed_totals)
        out: list[dict[str, Any]] = []
        for seg in self.segments:
            blocks = seg.builder.blocks()
            out.extend(self._segment_lines(seg, blocks, targets))
        return out

    def _segment_lines(self, seg: _Segment, blocks: list[Block], targets: list[Decimal]) -> list[dict[str, Any]]:
        columns: list[Column] = seg.header.columns
        reading = choose(columns, [b.figures for b in blocks], seg.text_col, targets)
        if reading is None:
            return []
        if reading.quantity is not None and reading.price is not None:
            blocks = join_split_items(blocks, reading.amount, reading.quantity, reading.price, seg.builder.height,
                                      lambda figs: check(figs, reading).closes)
        others = [c for c in (reading.quantity, reading.price) if c is not None]
        skip = running_sum_rows(blocks, reading.amount, others)
        lines = []
        after_sum = False
        for k, block in enumerate(blocks):
            priced = reading.quantity in block.figures and reading.price in block.figures
            if k in skip:
                after_sum = True
                continue
            if reading.amount not in block.figures and not priced:
                continue
            if not priced and (after_sum or not (block.desc or block.lead)):
                continue  # a figure under the lines' sum, or a figure with no description: a total, no item
            after_sum = after_sum and not priced
            lines.append(raw_line(block, reading, columns, self.contract))
        return lines


def _places(row: Sequence[Line], height: float) -> list[tuple[str, int] | None]:
    return [place(ln, height) for ln in row]


def table_lines(text: DocumentText, contract: Contract, values: Mapping[str, Any] | None = None
                ) -> list[dict[str, Any]]:
    """Raw line items (strings, contract line names) read from the document's pages; [] for no table.
    ``values``: the header's coerced values when known (their net total helps choose the columns)."""
    if not contract.lines:
        return []
    return _Reader(text, contract, values).read()


def find_header(rows: list[list[Line]], contract: Contract, amount: str = "") -> tuple[int, list[Column]] | None:
    """(index of the header's last row, its columns) of the line table in ``rows``; None without one."""
    del amount
    found = _find_header(rows, vocabulary(contract))
    return (found.last, found.columns) if found else None


def header_lines(text: DocumentText, contract: Contract) -> set[int]:
    """``id()`` of every text line in a line-table header row (its labels name columns, not header values)."""
    if not contract.lines:
        return set()
    vocab = vocabulary(contract)
    out: set[int] = set()
    for page in text.pages:
        rows = rows_of(page.lines)
        found = _find_header(rows, vocab)
        if found is not None:
            out.update(id(ln) for row in rows[found.first:found.last + 1] for ln in row)
    return out
