"""Body rows of a line-item table cut into the header's columns.

Each column owns the horizontal stretch around its header cell (bounds halfway across the gaps between
neighbouring header cells). A text line inside one stretch is one cell; a figure goes to the column it
overlaps most (numbers are often right-aligned under a left-aligned label). A text line that reaches into
other columns' stretches joined several cells (a text layer or an OCR box that read them as one): its
figures are bound to those columns from the right ("Trennblätter A4 20 9,90 198,00": amount, price,
quantity), figures left over stay in the text, and a word after a figure stays with it ("19 % VAT").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ocrflow.core.models import Line
from ocrflow.pipeline.extract.table_header import Column
from ocrflow.pipeline.extract.table_text import Figure, Piece, cell_figure, figure, groups, piece, spaced_figure

_THOUSANDS_TAIL = re.compile(r"^\d{3}(?:[.,]\d+)?(?:\s?(?:€|\$|£|EUR|CHF))?-?$")


@dataclass(slots=True)
class GridRow:
    """One visual row of the table body: the text per column (index into the columns) and its figures."""

    lines: list[Line]
    texts: dict[int, list[str]] = field(default_factory=dict)
    figures: dict[int, Figure] = field(default_factory=dict)

    @property
    def y0(self) -> float:
        return min(ln.y0 for ln in self.lines)

    @property
    def y1(self) -> float:
        return max(ln.y1 for ln in self.lines)

    @property
    def box(self) -> list[float]:
        return [min(ln.x0 for ln in self.lines), self.y0, max(ln.x1 for ln in self.lines), self.y1]

    def text(self, col: int) -> str:
        return " ".join(self.texts.get(col, []))

    def add(self, col: int, p: Piece | str) -> None:
        text = p if isinstance(p, str) else p.text
        if not text:
            return
        self.texts.setdefault(col, []).append(text)
        fig = cell_figure(self.text(col))
        if fig is not None:
            self.figures[col] = fig
        elif col not in self.figures and (alone := cell_figure(text)) is not None:
            self.figures[col] = alone


class Grid:
    """The columns' stretches, and the cutting of rows into them."""

    def __init__(self, columns: Sequence[Column], numeric: set[int], text_col: int, *, spaced: bool = False) -> None:
        self.columns = list(columns)
        self.spaced = spaced
        """The document groups thousands with spaces: "1 500" is one figure."""
        self.numeric = numeric
        self.text_col = text_col
        self.bounds: list[tuple[float, float]] = []
        for k, col in enumerate(self.columns):
            lo = (self.columns[k - 1].x1 + col.x0) / 2 if k else float("-inf")
            hi = (col.x1 + self.columns[k + 1].x0) / 2 if k + 1 < len(self.columns) else float("inf")
            self.bounds.append((lo, hi))
        if len(self.columns) > 1:  # the first column starts a little left of its header cell
            first = self.columns[0]
            self.bounds[0] = (first.x0 - max(first.x1 - first.x0, self.bounds[0][1] - first.x1), self.bounds[0][1])

    def stretch(self, x: float) -> int | None:
        for k, (lo, hi) in enumerate(self.bounds):
            if lo <= x < hi:
                return k
        return None

    def _figure_column(self, p: Piece) -> int | None:
        best, overlap = None, 0.0
        for k, col in enumerate(self.columns):
            ov = min(col.x1, p.x1) - max(col.x0, p.x0)
            if ov > overlap:
                best, overlap = k, ov
        if best is not None and (best in self.numeric or self.stretch(p.center) == best):
            return best
        return self.stretch(p.center)

    def _text_column(self, p: Piece, slack: float) -> int | None:
        """The column whose header a text overlaps most (left-aligned text may start left of its header),
        else the stretch it starts in."""
        best, overlap = None, 0.0
        for k, col in enumerate(self.columns):
            ov = min(col.x1, p.x1) - max(col.x0, p.x0)
            if ov > overlap:
                best, overlap = k, ov
        return best if best is not None else self.stretch(p.x0 + slack)

    def _spanned(self, ln: Line, slack: float) -> list[int]:
        """The columns a text line reaches into: by its ends (a little inside), or by a figure of it lying in a
        column of its own (a narrow "6" before "Contrat de maintenance")."""
        out = {k for k, (lo, hi) in enumerate(self.bounds) if ln.x1 - slack > lo and ln.x0 + slack < hi}
        parts = groups(ln) if any(ch.isdigit() for ch in ln.text) else []
        if len(parts) > 1:
            for p in (parts[0], parts[-1]):
                if p.fig is not None and (k := self.stretch(p.x0 + 1 if p is parts[0] else p.x1 - 1)) is not None:
                    out.add(k)
        return sorted(out)

    def cut(self, row: Sequence[Line]) -> GridRow:
        """The row's lines in their columns: lines inside one column first (their place is exact), then the
        lines that joined several cells, which bind their figures to the columns still free."""
        out = GridRow(list(row))
        joined: list[tuple[Line, list[int]]] = []
        for ln in row:
            slack = 0.5 * max(ln.y1 - ln.y0, 1.0)
            spanned = self._spanned(ln, slack)
            if len(spanned) > 1 and not self._one_figure(ln):
                joined.append((ln, spanned))
            else:
                self._place(ln, spanned, out)
        for ln, spanned in joined:
            self._place(ln, spanned, out)
        return out

    def _one_figure(self, ln: Line) -> bool:
        whole = piece(ln)
        return whole.fig is not None and (not re.search(r"\d \d", whole.text)  # "100 200": two?
                                          or (self.spaced and spaced_figure(whole.fig.text)))

    def _place(self, ln: Line, spanned: list[int], out: GridRow) -> None:
        slack = 0.5 * max(ln.y1 - ln.y0, 1.0)
        if self._code_and_text(ln, spanned, out, slack):
            return
        whole = piece(ln)
        one_figure = self._one_figure(ln)
        parts = groups(ln)
        figs = sum(p.fig is not None for p in parts)
        if len(spanned) == 1 and not one_figure and figs >= 2 and spanned[0] in self.numeric:
            # two figures in one numeric column ("12968.22 20 %", an OCR box over "10 %" and "337,95"): one
            # belongs to a free numeric column beside it (by the places the binding finds)
            here = spanned[0]
            left = [k for k in range(here - 1, -1, -1) if k in self.numeric][:1]
            right = [k for k in range(here + 1, len(self.columns)) if k in self.numeric][:figs - 1]
            spanned = [k for k in (*left, here, *right) if k == here or k not in out.figures]
        if len(spanned) <= 1 or one_figure or figs == 0:
            col = self._figure_column(whole) if whole.fig is not None else self._text_column(whole, slack)
            if col is not None:
                out.add(col, whole)
            return
        self._split(ln, [k for k in spanned if k not in out.figures], out)

    def _code_and_text(self, ln: Line, spanned: list[int], out: GridRow, slack: float) -> bool:
        """An article number joined to the description after it ("T57396 Écran 27 pouces"): the code to its
        column, the rest to the description."""
        if len(spanned) < 2 or self.columns[spanned[0]].role != "seller_item_id" or self.text_col not in spanned:
            return False
        first, _, rest = ln.text.strip().partition(" ")
        if not rest or not (any(ch.isdigit() for ch in first) or first.isupper()):
            return False
        cut = len(ln.text) - len(ln.text.lstrip()) + len(first)
        out.add(spanned[0], piece(ln, 0, cut))
        start = cut + len(ln.text[cut:]) - len(ln.text[cut:].lstrip())
        rest_line = Line(ln.text[start:], (piece(ln, start).x0, ln.y0, ln.x1, ln.y1), ln.score)
        rest_spans = self._spanned(rest_line, slack)
        if len(rest_spans) > 1 and any(p.fig is not None for p in groups(rest_line)):
            self._split(rest_line, [k for k in rest_spans if k not in out.figures], out)
        else:
            out.add(self.text_col, piece(rest_line))
        return True

    def _split(self, ln: Line, spanned: list[int], out: GridRow) -> None:
        parts = groups(ln)
        slack = 0.5 * max(ln.y1 - ln.y0, 1.0)
        lead_text = parts[0].fig is None
        start = self._text_column(parts[0], slack) if lead_text else self.stretch(ln.x0 + 1)
        targets = [k for k in spanned if k in self.numeric and not (k == start and lead_text)]
        parts = _join_thousands(parts, 0 if self.spaced else len(targets))
        binding = self._bind(parts, targets, 2 * max(ln.y1 - ln.y0, 1.0), slack)
        col: int | None = None
        lead: list[str] = []
        for k, p in enumerate(parts):
            where = self._text_column(p, slack)
            if k in binding:
                col = binding[k]
                out.add(col, p)
            elif where is not None and where not in self.numeric and (col is not None or where != start):
                out.add(where, p)  # after a figure, in a text column of its own ("10 Toner schwarz")
            elif col is None:
                lead.append(p.text)
            else:
                out.texts.setdefault(col, []).append(p.text)  # a word after a figure: its unit or note
        if lead and start is not None:
            out.add(start, " ".join(lead))

    def _bind(self, parts: list[Piece], targets: list[int], unbound: float, slack: float) -> dict[int, int]:
        """Figures onto columns, in order, one each, so that each lies in its column's stretch: the first
        piece's left edge and the last one's right edge are exact, the others estimated. A figure may stay
        in the text (at a cost) where no column fits it."""
        figs = [k for k, p in enumerate(parts) if p.fig is not None]
        if not figs or not targets:
            return {}

        def cost(k: int, col: int) -> float:
            p = parts[k]
            x = p.x0 + slack if k == 0 else (p.x1 - slack if k == len(parts) - 1 else p.center)
            lo, hi = self.bounds[col]
            c = self.columns[col]
            near = max(c.x0 - 2 * slack - x, 0.0, x - c.x1 - 2 * slack)  # from the column's own extent
            return max(lo - x, 0.0, x - hi) + near

        n, m = len(figs), len(targets)
        inf = float("inf")
        # best[i][j]: the least cost for the first i figures, bound among the first j columns or left as text
        best = [[0.0] * (m + 1)] + [[inf] * (m + 1) for _ in range(n)]
        move: dict[tuple[int, int], str] = {}
        for i in range(1, n + 1):
            for j in range(0, m + 1):
                options = [(best[i - 1][j] + unbound, "skip")]
                if j:
                    options += [(best[i][j - 1], "left"),
                                (best[i - 1][j - 1] + cost(figs[i - 1], targets[j - 1]), "bind")]
                best[i][j], move[(i, j)] = min(options, key=lambda o: o[0])
        out: dict[int, int] = {}
        i, j = n, m
        while i > 0:
            step = move[(i, j)]
            if step == "bind":
                out[figs[i - 1]] = targets[j - 1]
                i, j = i - 1, j - 1
            elif step == "left":
                j -= 1
            else:
                i -= 1
        return out


def _join_thousands(parts: list[Piece], columns: int) -> list[Piece]:
    """'1' '234,56' (a space grouping thousands, cut apart by ``groups``) back into one figure, while there
    are more figures than columns to hold them ("20 32 336,60 €" over a quantity and an amount column)."""
    out: list[Piece] = []
    extra = sum(p.fig is not None for p in parts) - columns
    for p in parts:
        prev = out[-1] if out else None
        if extra > 0 and prev is not None and prev.fig is not None and p.fig is not None and \
                _THOUSANDS_TAIL.match(p.text) and re.fullmatch(r"[-+]?(?:[€$£]\s?)?\d{1,3}", prev.text):
            extra -= 1
            text = f"{prev.text} {p.text}"
            out[-1] = Piece(text, prev.x0, p.x1, p.line, figure(text))
        else:
            out.append(p)
    return out
