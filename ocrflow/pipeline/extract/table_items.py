"""Items of a line-item table from its body rows (already cut into columns), before the columns have roles.

A **block** is a row with figures in the table's numeric columns, plus the rows right under it that only
bring figures of columns it lacks (an amount printed on the description's second line). A row with text in
the description column and no figure wraps the description of the block above it when it follows closely
(less than a line height of white space, nothing else between), or leads the block below it when that one is
clearly closer (numbers centred on a description of several lines). A row with text only in other columns
(an article number, a GTIN under the item) closes the description above it. Blocks never join across pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ocrflow.pipeline.extract.table_grid import GridRow
from ocrflow.pipeline.extract.table_text import Figure

WRAP_GAP = 1.5
"""Most white space (in line heights) between a description's lines."""
FIGURE_GAP = 1.0
"""Most white space (in line heights) between an item's figure rows (an amount under its quantity)."""
LEAD_RATIO = 0.6
"""A description row leads the block below it only when that gap is under this share of the gap above."""


@dataclass(slots=True)
class Block:
    page_no: int
    segment: int
    rows: list[GridRow]
    figures: dict[int, Figure]
    desc: list[str] = field(default_factory=list)
    lead: list[str] = field(default_factory=list)
    texts: dict[int, list[str]] = field(default_factory=dict)
    open_desc: bool = True

    @property
    def y0(self) -> float:
        return min(r.y0 for r in self.rows)

    @property
    def y1(self) -> float:
        return max(r.y1 for r in self.rows)

    @property
    def box(self) -> list[float]:
        boxes = [r.box for r in self.rows]
        return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                max(b[3] for b in boxes)]


@dataclass(slots=True)
class _Text:
    row: GridRow
    page_no: int
    text: str
    numbered: bool = False
    """The row prints a line number: it starts an entry, so it wraps nothing above it."""


_DETAIL = re.compile(r"^[^\W\d][^:]{0,40}:\s*[-+(]?\d")
"""A detail under an item ("Bruttopreis : 9,90", "Lieferschein: 4711"): an attribute, not its description."""


@dataclass(slots=True)
class BlockBuilder:
    """Collects a table's rows page by page into blocks (``add``), then attaches descriptions (``blocks``)."""

    text_col: int
    numeric: set[int]
    height: float
    positions: set[int] = field(default_factory=set)
    leads: bool = False
    """Description rows may lead the figures below them (decided per table, in ``blocks``)."""
    headless: set[int] = field(default_factory=set)
    """Pages the table goes on over without a header: text above its first block there is page furniture
    ("Invoice 123 (continued)"), not the lead of a description."""
    units: list[Block | _Text | None] = field(default_factory=list)

    def add(self, row: GridRow, page_no: int, segment: int) -> None:
        figs = {k: f for k, f in row.figures.items() if k in self.numeric}
        desc = row.text(self.text_col).strip()
        last = self._last_block(page_no)
        if figs:
            if last is not None and not desc and not set(figs) & set(last.figures) and \
                    row.y0 - last.y1 < (1 + FIGURE_GAP) * self.height:
                last.rows.append(row)
                last.figures.update(figs)
                self._texts(last, row)
                return
            block = Block(page_no, segment, [row], figs, [desc] if desc else [])
            self._texts(block, row)
            self.units.append(block)
        elif desc and not _DETAIL.match(desc):
            self.units.append(_Text(row, page_no, desc, numbered=any(k in row.figures for k in self.positions)))
        else:
            if last is not None:
                self._texts(last, row)
            self.units.append(None)  # a row of other columns only: the description above is closed

    def end_page(self) -> None:
        self.units.append(None)

    def _last_block(self, page_no: int) -> Block | None:
        for unit in reversed(self.units):
            if isinstance(unit, Block):
                return unit if unit.page_no == page_no else None
            if unit is None or isinstance(unit, _Text):
                return None
        return None

    def _texts(self, block: Block, row: GridRow) -> None:
        for col, texts in row.texts.items():
            if col != self.text_col and col not in row.figures:
                block.texts.setdefault(col, []).extend(texts)

    def blocks(self) -> list[Block]:
        """The blocks, each with its description rows: every run of description rows between two blocks (on
        one page, nothing else between) wraps the block above as far as each row follows the one before
        closely, and leads the block below where that is clearly closer: only in a table whose first item
        has description rows above its figures (figures centred on their description), never elsewhere."""
        limit = WRAP_GAP * self.height
        self.leads = self._first_item_led(limit)
        k = 0
        while k < len(self.units):
            if not isinstance(self.units[k], _Text):
                k += 1
                continue
            run_end = k
            while run_end < len(self.units) and isinstance(self.units[run_end], _Text):
                run_end += 1
            self._attach(self.units[k - 1] if k else None, [u for u in self.units[k:run_end] if isinstance(u, _Text)],
                         self.units[run_end] if run_end < len(self.units) else None, limit)
            k = run_end
        return [u for u in self.units if isinstance(u, Block)]

    def _first_item_led(self, limit: float) -> bool:
        """Whether a description row stands right above the table's first figures (figures centred)."""
        first = next((k for k, u in enumerate(self.units) if isinstance(u, Block)), 0)
        block, above = self.units[first], self.units[first - 1] if first else None
        return isinstance(block, Block) and isinstance(above, _Text) and block.y0 - above.row.y1 <= limit

    def _attach(self, above: Block | _Text | None, run: list[_Text], below: Block | _Text | None,
                limit: float) -> None:
        page = run[0].page_no
        prev = above if isinstance(above, Block) and above.page_no == page and above.open_desc else None
        nxt = below if isinstance(below, Block) and below.page_no == page else None
        if (above is None and page in self.headless) or not self.leads:
            nxt = None
        gaps_above = [run[0].row.y0 - prev.y1 if prev else float("inf")]
        gaps_above += [run[i].row.y0 - run[i - 1].row.y1 for i in range(1, len(run))]
        gaps_below = [run[i + 1].row.y0 - run[i].row.y1 for i in range(len(run) - 1)]
        gaps_below.append(nxt.y0 - run[-1].row.y1 if nxt else float("inf"))
        wrap = 0
        while prev is not None and wrap < len(run) and gaps_above[wrap] <= limit and not run[wrap].numbered:
            wrap += 1
        lead = len(run)
        while nxt is not None and lead > 0 and gaps_below[lead - 1] <= limit:
            lead -= 1
        for i, unit in enumerate(run):
            to_prev = i < wrap
            to_next = i >= lead and nxt is not None
            if to_next and (not to_prev or gaps_below[i] < LEAD_RATIO * gaps_above[i]):
                nxt.lead.append(unit.text)  # type: ignore[union-attr]
                nxt.rows.insert(len(nxt.lead) - 1, unit.row)  # type: ignore[union-attr]
            elif to_prev and prev is not None:
                prev.desc.append(unit.text)
                prev.rows.append(unit.row)
        if prev is not None and wrap < len(run):
            prev.open_desc = False


def running_sum_rows(blocks: Sequence[Block], amount: int, others: Sequence[int]) -> set[int]:
    """Indices of blocks that only print the sum of the amounts above them (a carried-forward or a subtotal
    row): no other figure, and the amount equals that sum."""
    out: set[int] = set()
    total = None
    for k, b in enumerate(blocks):
        fig = b.figures.get(amount)
        if fig is None:
            continue
        alone = not any(c in b.figures for c in others)
        if alone and total is not None and k and abs(fig.value - total) <= 0.011:
            out.add(k)
            continue
        total = fig.value if total is None else total + fig.value
    return out


def join_split_items(blocks: list[Block], amount: int, qty: int | None, price: int | None, height: float,
                     closes: Callable[[dict[int, Figure]], bool | None]) -> list[Block]:
    """Blocks that are one item printed over two rows, joined: one with a quantity and a price but no
    amount, right above one with only the amount (and perhaps the description's second line), when
    quantity x price gives that amount, or the arithmetic cannot tell and the rows follow closely."""
    out: list[Block] = []
    for block in blocks:
        prev = out[-1] if out else None
        if prev is not None and prev.page_no == block.page_no and amount not in prev.figures and \
                amount in block.figures and not (set(block.figures) - {amount}) & set(prev.figures) and \
                qty in prev.figures and price in prev.figures and qty not in block.figures and \
                price not in block.figures:
            joined = {**prev.figures, **block.figures}
            verdict = closes(joined)
            if verdict or (verdict is None and block.y0 - prev.y1 <= (1 + FIGURE_GAP) * height):
                prev.figures = joined
                prev.desc += block.lead + block.desc
                prev.rows += block.rows
                for k, texts in block.texts.items():
                    prev.texts.setdefault(k, []).extend(texts)
                continue
        out.append(block)
    return out
