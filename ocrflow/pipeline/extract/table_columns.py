"""Columns placed by the figures under the header, not only by its labels.

A header label's place can be off: a text line that joined several labels only gives estimated places for
each, and numbers are often aligned right (or centred) under a label aligned left. The figures printed alone
in the rows below are exact: figures of one column overlap each other horizontally (same right edge, same
centre or same left edge), figures of two columns do not. So the figures are clustered by overlap, and each
cluster claims the header column it overlaps most (the next free one beside it when a neighbour's cluster
claimed that first); a cluster under no label is a column of its own (``UNNAMED``). A claimed column's
extent becomes its figures' extent together with its label's.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from ocrflow.core.models import Line
from ocrflow.pipeline.extract.table_header import TEXT_ROLES, Column
from ocrflow.pipeline.extract.table_labels import UNNAMED
from ocrflow.pipeline.extract.table_text import lone_figure

MIN_ROWS = 2
"""A cluster of figures from fewer rows places no column (one stray figure is no column)."""
LOOKAHEAD = 40


@dataclass(slots=True)
class _Cluster:
    x0: float
    x1: float
    rows: set[int]
    decimals: int = 0
    """How many of its figures print decimals (money, not an article number or a unit)."""

    @property
    def center(self) -> float:
        return (self.x0 + self.x1) / 2


def _clusters(rows: Sequence[Sequence[Line]]) -> list[_Cluster]:
    spans: list[_Cluster] = []
    for i, row in enumerate(rows[:LOOKAHEAD]):
        for ln in row:
            fig = lone_figure(ln.text)
            if fig is not None:
                spans.append(_Cluster(ln.x0, ln.x1, {i}, int(fig.decimals > 0)))
    spans.sort(key=lambda c: c.x0)
    out: list[_Cluster] = []
    for span in spans:
        last_ = out[-1] if out else None
        # overlaps the cluster so far (sorted by left edge) by half its width or the cluster's: an OCR box a
        # little wider than its text does not join two columns
        if last_ is not None and min(span.x1, last_.x1) - span.x0 > 0.5 * min(span.x1 - span.x0,
                                                                              last_.x1 - last_.x0):
            last = out[-1]
            last.x1, last.rows = max(last.x1, span.x1), last.rows | span.rows
            last.decimals += span.decimals
        else:
            out.append(span)
    return [c for c in out if len(c.rows) >= MIN_ROWS]


def _overlap(col: Column, c: _Cluster) -> float:
    return min(col.x1, c.x1) - max(col.x0, c.x0)


def _gap(col: Column, c: _Cluster) -> float:
    """How far a cluster lies from a header cell (0 where they overlap), plus a little for their centres."""
    return max(col.x0 - c.x1, 0.0, c.x0 - col.x1) + 0.1 * abs(col.center - c.center)


def _under_one_label(clusters: list[_Cluster], heads: list[Column]) -> list[_Cluster]:
    """Neighbouring clusters that touch, under the same header cell, are one column (figures printed neither
    right-aligned nor centred drift apart)."""
    def label(cl: _Cluster) -> int | None:
        best = max(range(len(heads)), key=lambda k: _overlap(heads[k], cl), default=None)
        return best if best is not None and _overlap(heads[best], cl) > 0 else None

    out: list[_Cluster] = []
    for cl in clusters:
        near = bool(out) and cl.x0 - out[-1].x1 < 0.5 * min(cl.x1 - cl.x0, out[-1].x1 - out[-1].x0)
        if near and label(cl) is not None and label(cl) == label(out[-1]):
            last = out[-1]
            last.x0, last.x1 = min(last.x0, cl.x0), max(last.x1, cl.x1)
            last.rows, last.decimals = last.rows | cl.rows, last.decimals + cl.decimals
        else:
            out.append(cl)
    return out


def _align(heads: list[Column], clusters: list[_Cluster], skip_head: float, skip_cluster: float) -> dict[int, int]:
    """Clusters onto header cells, both in left-to-right order, at the least total distance; a header cell
    may get no cluster (a label over no figures), a cluster may get no cell (a column without a label)."""
    n, m = len(clusters), len(heads)
    cost = [[0.0] * (m + 1) for _ in range(n + 1)]
    move: dict[tuple[int, int], str] = {}
    for i in range(n + 1):
        for j in range(m + 1):
            if i == 0 and j == 0:
                continue
            options = []
            if i:
                options.append((cost[i - 1][j] + skip_cluster, "cluster"))
            if j:
                options.append((cost[i][j - 1] + skip_head, "head"))
            if i and j:
                options.append((cost[i - 1][j - 1] + _gap(heads[j - 1], clusters[i - 1]), "match"))
            cost[i][j], move[(i, j)] = min(options, key=lambda o: o[0])
    out: dict[int, int] = {}
    i, j = n, m
    while i or j:
        step = move[(i, j)]
        if step == "match":
            out[i - 1] = j - 1
        i, j = (i - 1 if step != "head" else i), (j - 1 if step != "cluster" else j)
    return out


def refine_columns(columns: Sequence[Column], body: Sequence[Sequence[Line]]) -> list[Column]:
    """The header's columns with the numeric ones moved onto the figures printed under them."""
    cols = [Column(c.x0, c.x1, c.label, list(c.roles), c.weak) for c in columns]
    found = _clusters(body)
    for col in cols:  # amounts under a "unit" or article-number label ("Unit cost" read as "Unit"): numeric
        if col.role in ("unit", "seller_item_id") and any(
                _overlap(col, cl) > 0.5 * (cl.x1 - cl.x0) and cl.decimals > len(cl.rows) / 2 for cl in found):
            col.roles = [UNNAMED, *col.roles]
    text = [c for c in cols if c.role in TEXT_ROLES]
    clusters = [cl for cl in found if not any(_overlap(t, cl) > 0.5 * (cl.x1 - cl.x0) for t in text)]
    if not clusters:
        return cols
    heads = [c for c in cols if c.role not in TEXT_ROLES]
    clusters = _under_one_label(clusters, heads)
    width = sorted(cl.x1 - cl.x0 for cl in clusters)[len(clusters) // 2]
    matched = _align(heads, clusters, skip_head=0.1 * width, skip_cluster=2.0 * width)
    for i, j in matched.items():
        heads[j].x0, heads[j].x1 = clusters[i].x0, clusters[i].x1
    cols += [Column(cl.x0, cl.x1, "") for i, cl in enumerate(clusters) if i not in matched]
    fixed = {id(heads[j]) for j in matched.values()}
    cols.sort(key=lambda c: c.center)
    for a, b in itertools.pairwise(cols):  # neighbours never overlap: a figures' column keeps its extent
        if a.x1 > b.x0:
            if id(a) in fixed and id(b) not in fixed:
                b.x0 = min(a.x1, b.x1)
            elif id(b) in fixed and id(a) not in fixed:
                a.x1 = max(b.x0, a.x0)
            else:
                mid = (a.x1 + b.x0) / 2
                a.x1, b.x0 = max(a.x0, mid), min(b.x1, mid)
    return cols
