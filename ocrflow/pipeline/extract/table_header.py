"""The header of a line-item table on one page: which rows, and the columns they name.

A header row prints no figures and names columns by their labels (``table_labels``: the contract's line
columns and the extra ones); a text line may hold several labels ("Menge Beschreibung") and words that name
no column are columns of their own (``UNNAMED``). Label-only rows just above or below, close by, belong to
the header too: a label under another one continues it ("Unit" / "price", "Art-Nr-Kunde" / "Art-Nr"), one
under no other is a column of its own. The header is the row (with its neighbours) that names the most
columns, a description among them counting extra, and it must have figures under it: at least one of the
next rows holds two figures. A row naming no numeric column of the contract is still a header when it names
the description, has three cells or more and rows of figures follow (labels outside every list: the figures'
arithmetic places the columns, ``table_roles``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ocrflow.core.models import Line
from ocrflow.pipeline.extract.table_labels import (
    BASE,
    DISCOUNT,
    GROSS,
    POSITION,
    TAX,
    TERMS,
    UNNAMED,
    HeaderVocabulary,
    LabelHit,
)
from ocrflow.pipeline.extract.table_text import figure, groups, is_date, line_height, piece

NUMERIC_ROLES = frozenset({"quantity", "unit_price", "line_net_amount", "amount", "tax_rate", DISCOUNT, TAX, GROSS,
                           BASE})
TEXT_ROLES = frozenset({"description", "unit", "seller_item_id"})
_UNIT_NOTE = re.compile(r"^(?:\(.{1,12}\)|\[.{1,12}\]|%|€|\$|£|[A-Z]{2,3}|in [A-Z]{3}|/\s?\w{1,4}|net|netto|gross|"
                        r"brutto|excl\.?|incl\.?|inkl\.?|zzgl\.?)$", re.IGNORECASE)
"""What a label may carry after it in its cell: "(Stk)", "%", "EUR", "€", "/ Stk"."""
BODY_LOOKAHEAD = 8
"""Rows below a header searched for figures (a header with nothing numeric under it is not a table's)."""


@dataclass(slots=True)
class Column:
    """A table column: its header extent, the roles its label names (best first) and its label."""

    x0: float
    x1: float
    label: str
    roles: list[str] = field(default_factory=list)
    weak: bool = False
    """The label names its first role only as part of a longer word ("Stück" in "Stückkosten"): a weaker
    hint than a label of its own."""

    @property
    def role(self) -> str:
        return self.roles[0] if self.roles else UNNAMED

    @property
    def center(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass(slots=True)
class Header:
    first: int
    last: int
    columns: list[Column]
    score: float

    def named(self) -> set[str]:
        return {c.role for c in self.columns if c.role != UNNAMED}


@dataclass(frozen=True, slots=True)
class _Cell:
    x0: float
    x1: float
    text: str
    row: int


def _has_figure(row: Sequence[Line]) -> bool:
    """Whether any word of the row is a figure or a date (a header row prints neither)."""
    return any(figure(w, spaced=False) is not None or is_date(w) for ln in row for w in ln.text.split())


def _cells(row: Sequence[Line], vocab: HeaderVocabulary, index: int) -> list[_Cell]:
    """A header row's text lines cut into cells at their labels; each word naming nothing is a cell of its
    own (a text line may have joined several unknown labels), but a bracket, a currency or a short
    qualifier stays with the cell before it ("Menge (Stk)", "Betrag EUR", "Total HT")."""
    out: list[_Cell] = []
    for ln in row:
        hits = _whole_words(ln.text, vocab.hits(ln.text))
        cuts: list[tuple[int, int]] = []
        pos = 0
        for hit in hits:
            cuts += [(m.start() + pos, m.end() + pos) for m in re.finditer(r"\S+", ln.text[pos:hit.start])]
            cuts.append((hit.start, hit.end))
            pos = hit.end
        cuts += [(m.start() + pos, m.end() + pos) for m in re.finditer(r"\S+", ln.text[pos:])]
        merged: list[tuple[int, int]] = []
        starts = {h.start for h in hits}
        for s, e in cuts:
            if merged and s not in starts and _UNIT_NOTE.match(ln.text[s:e].strip()):
                merged[-1] = (merged[-1][0], e)
            else:
                merged.append((s, e))
        for s, e in merged:
            p = piece(ln, s, e)
            if p.text:
                out.append(_Cell(p.x0, p.x1, p.text, index))
    return out


def _whole_words(text: str, hits: list[LabelHit]) -> list[LabelHit]:
    """Hits widened to the whole words they sit in ("preis" in "Nettopreis", "Art-Nr" in "Art-Nr-Kunde");
    hits that then overlap keep the first."""
    out: list[LabelHit] = []
    for hit in hits:
        start, end = hit.start, hit.end
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        while end < len(text) and not text[end].isspace():
            end += 1
        if out and start < out[-1].end:
            continue
        out.append(LabelHit(hit.role, start, end, hit.length))
    return out


def _roles(text: str, vocab: HeaderVocabulary) -> list[str]:
    """The roles a column's label names: those of its longest labels first, then every other one."""
    first = [h.role for h in sorted(vocab.hits(text), key=lambda h: -h.length)]
    return list(dict.fromkeys([*first, *vocab.roles(text)]))


def _inside_word(text: str, vocab: HeaderVocabulary) -> bool:
    """Whether the longest label of ``text`` sits inside a longer word."""
    hits = sorted(vocab.hits(text), key=lambda h: -h.length)
    if not hits:
        return False
    h = hits[0]
    return (h.start > 0 and text[h.start - 1].isalpha()) or (h.end < len(text) and text[h.end].isalpha())


def _columns(cells: list[_Cell], vocab: HeaderVocabulary) -> list[Column]:
    """Cells of the header rows clustered into columns: a cell overlapping a column of another row joins it."""
    groups_: list[list[_Cell]] = []
    for cell in sorted(cells, key=lambda c: (c.x0, c.row)):
        best, overlap = None, 0.0
        for g in groups_:
            if any(o.row == cell.row for o in g):
                continue
            lo, hi = min(o.x0 for o in g), max(o.x1 for o in g)
            ov = min(hi, cell.x1) - max(lo, cell.x0)
            if ov > overlap and ov > 0.3 * min(cell.x1 - cell.x0, hi - lo):
                best, overlap = g, ov
        if best is None:
            groups_.append([cell])
        else:
            best.append(cell)
    out = []
    for g in groups_:
        text = " ".join(c.text for c in sorted(g, key=lambda c: c.row))
        out.append(Column(min(c.x0 for c in g), max(c.x1 for c in g), text, _roles(text, vocab),
                          weak=_inside_word(text, vocab)))
    return sorted(out, key=lambda c: c.x0)


MISREAD_NAMED = 3
"""Cells naming columns that let a header row keep one cell OCR read as a figure."""


def _one_misread_cell(row: Sequence[Line], vocab: HeaderVocabulary) -> bool:
    """A header row with one cell OCR misread as a figure ('VAT %' as '7%'): exactly one of its lines holds a
    figure, that line is one short token, and at least three other lines name columns (an item row holds
    several figures; a totals row names one label)."""
    with_figures = [ln for ln in row if _has_figure([ln])]
    if len(with_figures) != 1 or len(with_figures[0].text.split()) != 1:
        return False
    return sum(1 for ln in row if ln is not with_figures[0] and vocab.hits(ln.text)) >= MISREAD_NAMED


def _no_figure(row: Sequence[Line], vocab: HeaderVocabulary) -> bool:
    return not _has_figure(row) or _one_misread_cell(row, vocab)


def _label_row(row: Sequence[Line], vocab: HeaderVocabulary) -> bool:
    return _no_figure(row, vocab) and any(vocab.hits(ln.text) for ln in row)


def _window(rows: list[list[Line]], i: int, vocab: HeaderVocabulary, h: float) -> tuple[int, int]:
    """The rows around row ``i`` that continue its labels: label-only rows at most 1.8 line heights away."""
    first = last = i
    while first > 0 and _label_row(rows[first - 1], vocab) and \
            min(ln.y0 for ln in rows[first]) - max(ln.y1 for ln in rows[first - 1]) < 1.8 * h:
        first -= 1
    while last + 1 < len(rows) and _label_row(rows[last + 1], vocab) and \
            min(ln.y0 for ln in rows[last + 1]) - max(ln.y1 for ln in rows[last]) < 1.8 * h:
        last += 1
    return first, last


def _figure_rows(rows: list[list[Line]], start: int) -> int:
    """How many of the rows after ``start`` (a few) hold two figures or more."""
    count = 0
    for row in rows[start:start + BODY_LOOKAHEAD]:
        if sum(1 for ln in row for p in groups(ln) if p.fig is not None) >= 2:
            count += 1
    return count


def _page_foot(rows: list[list[Line]], start: int) -> bool:
    """Whether only a few rows without figures follow (a header at the foot of a page: its rows are on the
    next one)."""
    rest = rows[start:]
    return len(rest) <= 4 and not any(_has_figure(r) for r in rest)


def _score(columns: list[Column]) -> float:
    named = {c.role for c in columns if c.role != UNNAMED}
    numeric = named & NUMERIC_ROLES
    if not numeric and not ("description" in named and len(columns) >= 3):
        return 0.0
    if "description" not in named and not {"quantity", "unit_price"} <= named:
        return 0.0  # a table of tax rates or of payment terms names no item
    if TERMS in named:
        return 0.0  # "Beschreibung | Fälligkeit | Teilzahlung": instalments of a payment-terms table
    return len(named) + (1.5 if "description" in named else 0.0) + 0.1 * len(columns)


def find_header(rows: list[list[Line]], vocab: HeaderVocabulary, *, start: int = 0) -> Header | None:
    """The best line-table header among ``rows[start:]``; None when no row qualifies."""
    h = line_height(rows)
    best: Header | None = None
    for i in range(start, len(rows)):
        if not _label_row(rows[i], vocab):
            continue
        first, last = _window(rows, i, vocab, h)
        if first < start:
            first = start
        cells = [c for k in range(first, last + 1) for c in _cells(rows[k], vocab, k)]
        columns = _columns(cells, vocab)
        score = _score(columns)
        if score and (best is None or score > best.score) and (_figure_rows(rows, last + 1) or
                                                                _page_foot(rows, last + 1)):
            best = Header(first, last, columns, score)
    return best


def same_table(a: Header, b: Header) -> bool:
    """Whether header ``b`` repeats ``a`` (a table continued on the next page under its header again)."""
    na, nb = a.named(), b.named()
    return bool(na) and len(na & nb) >= max(2, int(0.6 * len(na)))


def header_like(row: Sequence[Line], vocab: HeaderVocabulary) -> bool:
    """A label-only row naming three columns or more (another table's header): the item table ends there."""
    if not _no_figure(row, vocab):
        return False
    roles = {r for ln in row for hit in vocab.hits(ln.text) for r in [hit.role] if r != POSITION}
    return (len(roles) >= 2 and bool(roles & NUMERIC_ROLES)) or len(roles) >= 3
