"""Line items from the tables of a parse reply: HTML ``<table>`` (HunyuanOCR's parse prompt writes
tables as HTML) and markdown pipe tables, mapped to the contract's line columns.

1. Tables: every ``<table>`` fragment is parsed with ``lxml.html`` (no network, comments and
   processing instructions dropped, no huge trees; HTML has no entity declarations to expand) and
   expanded into a grid: a ``rowspan`` repeats the cell down (a tax rate shared by several lines), a
   ``colspan`` repeats a header cell across (a group label over its sub-columns) but fills only the
   first column of a body row (a description spanning an empty article-number column). Spans are
   capped at ``MAX_SPAN`` and a grid at ``MAX_CELLS``. Pipe tables (``| a | b |`` with a ``|---|``
   row) become grids too.
2. Header: the row whose cells name the most line columns, by the same multilingual labels and
   matcher the positioned-line table finder uses (``ocrflow.pipeline.extract.tables.label_match``), at least a
   description and an amount; a label-only row just below (sub-headers) refines it. Each column is
   claimed by its best-matching cell (leftmost on ties).
3. Body: a row with a description and a number of its own starts a line; a row with text but no
   number of its own continues the previous line's description; a row with only numbers fills what
   the previous line lacks (else it is skipped: no line without a description is invented). The table
   ends at a totals row (a subtotal/tax/total label and neither quantity nor unit price).
4. Pages: a table without a header continues the previous page's table when it has as many columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from lxml import html as lxml_html

from ocrflow.contracts import Contract, FieldSpec
from ocrflow.pipeline.extract.tables import (
    NUMERIC_KINDS,
    amount_column,
    cell_values,
    header_specs,
    label_match,
    split_number,
    total_labels,
)

MAX_SPAN = 64
MAX_CELLS = 20_000
MAX_REPLY_CHARS = 2_000_000
_TABLE = re.compile(r"<table\b.*?(?:</table\s*>|\Z)", re.IGNORECASE | re.DOTALL)
_PIPE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_PIPE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    own: bool = True
    """False for a copy made by a span (the cell was written in another row or column)."""
    by_row: bool = False
    """A copy made by a ``rowspan`` (kept in body rows, unlike ``colspan`` copies)."""


Grid = list[list[Cell]]


@dataclass(slots=True)
class ColumnMap:
    columns: dict[int, FieldSpec]
    width: int


@dataclass(slots=True)
class _Line:
    page_no: int
    description: list[str] = field(default_factory=list)
    cells: dict[str, str] = field(default_factory=dict)


def tables_of(reply: str) -> list[Grid]:
    """The tables of a parse reply, in reading order (HTML and pipe tables)."""
    text = reply[:MAX_REPLY_CHARS]
    found: list[tuple[int, Grid]] = [(m.start(), _html_grid(m.group(0))) for m in _TABLE.finditer(text)]
    rest = _TABLE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    found.extend(_pipe_tables(rest))
    return [grid for _, grid in sorted(found, key=lambda f: f[0]) if grid]


def _parser() -> lxml_html.HTMLParser:
    return lxml_html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True, huge_tree=False,
                                recover=True)


def _cell_text(el: Any) -> str:
    for br in el.iter("br"):
        br.tail = "\n" + (br.tail or "")
    lines = (" ".join(part.split()) for part in el.text_content().splitlines())
    return "\n".join(ln for ln in lines if ln)


def _span(el: Any, name: str) -> int:
    value = re.match(r"\s*(\d+)", el.get(name) or "")
    return max(1, min(int(value.group(1)), MAX_SPAN)) if value else 1


def _html_grid(fragment: str) -> Grid:
    try:
        root = lxml_html.fragment_fromstring(fragment, create_parent="div", parser=_parser())
    except (etree.ParserError, ValueError):
        return []
    tables = list(root.iter("table"))
    if not tables:
        return []
    table = tables[0]
    rows = [tr for tr in table.iter("tr") if _owner_table(tr) is table]
    return _expand([[(c, _cell_text(c)) for c in tr if isinstance(c.tag, str) and c.tag.lower() in ("td", "th")]
                    for tr in rows])


def _owner_table(tr: Any) -> Any:
    parent = tr.getparent()
    while parent is not None and parent.tag != "table":
        parent = parent.getparent()
    return parent


def _expand(rows: list[list[tuple[Any, str]]]) -> Grid:
    """Rows of (element, text) -> a rectangular grid with span copies marked."""
    grid: Grid = []
    pending: dict[tuple[int, int], Cell] = {}
    cells = 0
    for r, row in enumerate(rows):
        out: list[Cell] = []
        queue = list(row)
        c = 0
        while queue or any(k[0] == r and k[1] >= c for k in pending):
            if (r, c) in pending:
                out.append(pending.pop((r, c)))
                c += 1
                continue
            if not queue:
                c += 1
                out.append(Cell("", own=False))
                continue
            el, text = queue.pop(0)
            rs, cs = _span(el, "rowspan"), _span(el, "colspan")
            for dc in range(cs):
                out.append(Cell(text) if dc == 0 else Cell(text, own=False))
                for dr in range(1, rs):
                    pending[(r + dr, c + dc)] = Cell(text, own=False, by_row=dc == 0)
            c += cs
            cells += cs * rs
            if cells > MAX_CELLS:
                return grid
        grid.append(out)
    width = max((len(r) for r in grid), default=0)
    return [r + [Cell("", own=False)] * (width - len(r)) for r in grid]


def _pipe_tables(text: str) -> Iterator[tuple[int, Grid]]:
    block: list[str] = []
    start = offset = 0
    for line in [*text.splitlines(keepends=True), ""]:
        if _PIPE_ROW.match(line):
            if not block:
                start = offset
            block.append(line)
        else:
            if len(block) >= 2:
                yield start, [[Cell(c.strip()) for c in ln.strip().strip("|").split("|")]
                              for ln in block if not _PIPE_RULE.match(ln)]
            block = []
        offset += len(line)


# ----------------------------------------------------------------------------- header -> columns
def _column_texts(grid: Grid, i: int) -> list[str]:
    return [cell.text for cell in grid[i]]


def _assign(texts: Sequence[str], specs: Sequence[FieldSpec]) -> dict[int, tuple[int, FieldSpec]]:
    """Column index -> (score, spec): each spec claimed by its best cell (leftmost on ties)."""
    best: dict[str, tuple[int, int, FieldSpec]] = {}
    for col, text in enumerate(texts):
        if not text:
            continue
        score, spec = max(((label_match(text, s.all_labels()), s) for s in specs), key=lambda t: t[0])
        if score and (spec.name not in best or best[spec.name][0] < score):
            best[spec.name] = (score, col, spec)
    return {col: (score, spec) for score, col, spec in best.values()}


def _is_label_row(texts: Sequence[str]) -> bool:
    return any(texts) and not any(ch.isdigit() for t in texts for ch in t)


def _merged(upper: dict[int, tuple[int, FieldSpec]], lower: dict[int, tuple[int, FieldSpec]]
            ) -> dict[int, tuple[int, FieldSpec]]:
    """A two-row header: the sub-header's cells win over their group label, the rest keep the upper row's."""
    taken = {spec.name for _, spec in lower.values()}
    merged = {c: v for c, v in upper.items() if v[1].name not in taken and c not in lower}
    merged.update(lower)
    return merged


def find_mapping(grid: Grid, contract: Contract) -> tuple[int, ColumnMap] | None:
    """(index of the last header row, the column mapping) of a grid, or None without a line header."""
    specs = header_specs(contract)
    amount = amount_column(contract)
    best: tuple[int, int, dict[int, tuple[int, FieldSpec]]] | None = None
    for i in range(len(grid)):
        assigned = _assign(_column_texts(grid, i), specs)
        candidates = [(i, assigned)]
        if i + 1 < len(grid) and _is_label_row(_column_texts(grid, i + 1)):  # sub-headers below
            below = _assign(_column_texts(grid, i + 1), specs)
            if below:
                candidates.append((i + 1, _merged(assigned, below)))
        for end, cols in candidates:
            names = {spec.name for _, spec in cols.values()}
            if "description" in names and amount in names and (best is None or len(cols) > best[0]):
                best = (len(cols), end, cols)
    if best is None:
        return None
    _, end, assigned = best
    return end, ColumnMap({c: spec for c, (_, spec) in assigned.items()}, len(grid[0]))


# ----------------------------------------------------------------------------- body -> lines
def _spans(row: Sequence[Cell]) -> list[list[int]]:
    """Column groups of one body row: a written cell and the ``colspan`` copies right of it."""
    groups: list[list[int]] = []
    for col, cell in enumerate(row):
        if cell.own or cell.by_row or not groups:
            groups.append([col])
        else:
            groups[-1].append(col)
    return groups


def _body_cells(row: Sequence[Cell], mapping: ColumnMap) -> tuple[dict[str, str], set[str]]:
    """Cell texts by column name and the names written in this row (not copied by a rowspan). A cell
    spanning several columns fills one: the description when it spans that, else its first mapped one."""
    cells: dict[str, str] = {}
    own: set[str] = set()
    for group in _spans(row):
        cell = row[group[0]]
        names = [mapping.columns[c] for c in group if c in mapping.columns]
        if not cell.text or not names:
            continue
        spec = next((n for n in names if n.name == "description"), names[0])
        cells[spec.name] = cell.text
        if cell.own:
            own.add(spec.name)
    return cells, own


def _is_total(row: Sequence[Cell], cells: dict[str, str], labels: list[str]) -> bool:
    if any(n in cells and split_number(cells[n])[0] for n in ("quantity", "unit_price")):
        return False
    return any(cell.own and cell.text and label_match(cell.text, labels) >= 4 for cell in row)


def _read_body(rows: Sequence[Sequence[Cell]], mapping: ColumnMap, contract: Contract, page_no: int,
               lines: list[_Line]) -> bool:
    """Add the lines of a table's body rows; True when a totals row ended the table."""
    numeric = {spec.name for spec in mapping.columns.values() if spec.kind in NUMERIC_KINDS}
    labels = total_labels(contract)
    for row in rows:
        cells, own = _body_cells(row, mapping)
        if not cells:
            continue
        if _is_total(row, cells, labels):
            return True
        desc = cells.pop("description", None)
        numbers = {n for n in numeric & own if n in cells and split_number(cells[n])[0]}
        if desc and numbers:
            lines.append(_Line(page_no, [desc], cells))
        elif desc and lines:
            lines[-1].description.append(desc)
        elif numbers and lines:
            for name, value in cells.items():
                lines[-1].cells.setdefault(name, value)
    return False


def html_table_lines(replies: Sequence[tuple[int, str]], contract: Contract) -> list[dict[str, Any]]:
    """Raw line items (contract line names, strings; ``page_no``) from the parse replies of the pages,
    (page_no, reply) in page order; [] when no table has a line header."""
    if not contract.lines:
        return []
    lines: list[_Line] = []
    mapping: ColumnMap | None = None
    for page_no, reply in replies:
        for k, grid in enumerate(tables_of(reply)):
            found = find_mapping(grid, contract)
            if found is not None:
                start, mapping = found[0] + 1, found[1]
            elif k == 0 and mapping is not None and lines and len(grid[0]) == mapping.width:
                start = 0  # the page's first table goes on from the previous page, header not repeated
            else:
                continue
            if _read_body(grid[start:], mapping, contract, page_no, lines):
                return [_raw(ln, contract) for ln in lines]
    return [_raw(ln, contract) for ln in lines]


def _raw(line: _Line, contract: Contract) -> dict[str, Any]:
    return {"description": "\n".join(line.description), **cell_values(line.cells, contract),
            "page_no": line.page_no}
