"""Page geometry for the rule extractor: rows of lines, label hits, values beside or below."""

from __future__ import annotations

from dataclasses import dataclass

from ocrflow.core.keywords import any_label_pattern, label_pattern
from ocrflow.core.models import DocumentText, Line

SEPARATORS = " \t:：#.-–—=|*"


@dataclass(frozen=True, slots=True)
class PageLine:
    """A line with its page number and the index of its row (lines sharing a baseline)."""

    page: int
    row: int
    line: Line

    @property
    def text(self) -> str:
        return self.line.text


@dataclass(frozen=True, slots=True)
class LabelHit:
    """A label found inside a line: ``text[end:]`` is what follows the label."""

    where: PageLine
    label: str
    rank: int
    start: int
    end: int

    @property
    def after(self) -> str:
        return self.where.text[self.end:].strip(SEPARATORS)


def _same_row(a: Line, b: Line) -> bool:
    overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
    return overlap >= 0.5 * min(max(a.height, 1.0), max(b.height, 1.0))


def document_lines(doc: DocumentText) -> list[PageLine]:
    """All lines, page by page, in reading order, each tagged with a row index."""
    out: list[PageLine] = []
    row = -1
    for page in doc.pages:
        ordered = sorted(page.lines, key=lambda ln: (ln.cy, ln.x0))
        rows: list[list[Line]] = []
        for ln in ordered:
            if rows and any(_same_row(ln, other) for other in rows[-1]):
                rows[-1].append(ln)
            else:
                rows.append([ln])
        for members in rows:
            row += 1
            out.extend(PageLine(page.page_no, row, ln) for ln in sorted(members, key=lambda m: m.x0))
    return out


def find_labels(lines: list[PageLine], labels: dict[str, list[str]]) -> dict[str, list[LabelHit]]:
    """Label hits per field; on each line the longest label wins where labels overlap."""
    patterns = {f: [(lab, rank, label_pattern(lab)) for rank, lab in enumerate(labs)]
                for f, labs in labels.items()}
    anywhere = {f: any_label_pattern(tuple(labs)) for f, labs in labels.items() if labs}
    hits: dict[str, list[LabelHit]] = {f: [] for f in labels}
    for pl in lines:
        low = pl.text.lower()
        found: list[tuple[int, int, str, str, int]] = []
        for fname, pats in patterns.items():
            if fname not in anywhere or not anywhere[fname].search(low):
                continue
            for lab, rank, pat in pats:
                found.extend((m.start(), m.end(), fname, lab, rank) for m in pat.finditer(low))
        taken: list[tuple[int, int]] = []
        for start, end, fname, lab, rank in sorted(found, key=lambda h: (h[0] - h[1], h[0])):
            if any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            hits[fname].append(LabelHit(pl, lab, rank, start, end))
    return hits


def right_of(lines: list[PageLine], hit: LabelHit) -> list[PageLine]:
    """Other lines on the label's row, to its right, nearest first."""
    me = hit.where
    return [pl for pl in lines if pl.row == me.row and pl.page == me.page and pl is not me
            and pl.line.x0 >= me.line.x0]


def below(lines: list[PageLine], hit: LabelHit, max_rows: int = 2) -> list[PageLine]:
    """Lines in the next rows that overlap the label horizontally (nearest row first)."""
    me = hit.where
    out: list[PageLine] = []
    limit = me.line.y1 + 1.5 * max_rows * max(me.line.height, 8.0)
    for pl in lines:
        if pl.page != me.page or not (me.row < pl.row <= me.row + max_rows) or pl.line.y0 > limit:
            continue
        if pl.line.x1 >= me.line.x0 - me.line.height and pl.line.x0 <= me.line.x1 + 2 * me.line.height:
            out.append(pl)
    return out
