"""The sums a page prints beside the total, by role: tendered, change, rounding, subtotal, tax.

Each row of the page (lines that share a baseline) that names a role gives its rightmost amount. Used by
the rule extractor (a total settled after a rounding adjustment) and by the arithmetic signal of the
confidence (``ocrflow.pipeline.evidence.arithmetic``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ocrflow.pipeline.extract.candidates import money_values
from ocrflow.pipeline.extract.layout import PageLine

ROLES: dict[str, re.Pattern[str]] = {
    "change": re.compile(r"(?i)\b(?:change|baki|kembali)\b|找零|找赎"),
    "tendered": re.compile(r"(?i)\b(?:cash|tender\w*|paid|received|payment|credit\s*card|card|visa|master\w*|"
                           r"debit|amex|e-?wallet)\b|现金|实收|收款"),
    "rounding": re.compile(r"(?i)\bround\w*|\badj(?:ustment)?\b"),
    "subtotal": re.compile(r"(?i)sub\s*-?\s*total|total\s*\(?\s*ex\w*|excl\w*|before\s+(?:tax|gst)|"
                           r"\bnet(?:t)?\s+(?:amount|total)|total\s+excl"),
    "tax": re.compile(r"(?i)\b(?:gst|sst|tax|vat|mwst|ust|service\s+charge)\b|税"),
}


@dataclass(frozen=True, slots=True)
class Row:
    """One printed row: its text, its amounts (raw, value) left to right, and its lines."""

    text: str
    amounts: tuple[tuple[str, float], ...]
    lines: tuple[PageLine, ...]

    def roles(self) -> set[str]:
        found = {role for role, pattern in ROLES.items() if pattern.search(self.text)}
        if "change" in found:
            found.discard("tendered")
        return found


def page_rows(lines: Sequence[PageLine]) -> list[Row]:
    """The rows of the pages, in reading order."""
    grouped: dict[tuple[int, int], list[PageLine]] = {}
    for pl in lines:
        grouped.setdefault((pl.page, pl.row), []).append(pl)
    out = []
    for _, members in sorted(grouped.items()):
        ordered = tuple(sorted(members, key=lambda p: p.line.x0))
        text = " ".join(p.text for p in ordered)
        out.append(Row(text, tuple(money_values(text)), ordered))
    return out


def role_amounts(lines: Sequence[PageLine]) -> dict[str, list[float]]:
    """The amounts printed on rows that name a role (the row's rightmost amount, unsigned), per role."""
    out: dict[str, list[float]] = {role: [] for role in ROLES}
    for row in page_rows(lines):
        if row.amounts:
            for role in row.roles():
                out[role].append(abs(row.amounts[-1][1]))
    return out


ROUNDING_STEP = 0.10
"""A rounding adjustment is smaller than this."""
AFTER_ROUNDING = 3
"""Rows after the rounding row where the settled total is looked for."""


def settled_total(total: float, lines: Sequence[PageLine]) -> tuple[str, tuple[PageLine, ...]] | None:
    """The total after a rounding adjustment, when the page prints one: on a row at most three rows after a
    rounding row, an amount that differs from ``total`` by the adjustment (or, where the adjustment cannot
    be read, by less than a rounding step). Its raw text and row lines; None when the page has no such row."""
    rows = page_rows(lines)
    for k, row in enumerate(rows):
        if "rounding" not in row.roles():
            continue
        adjust = abs(row.amounts[-1][1]) if row.amounts else None
        for later in rows[k + 1:k + 1 + AFTER_ROUNDING]:
            for raw, value in later.amounts:
                gap = abs(value - total)
                fits = abs(gap - adjust) < 0.005 if adjust is not None else gap < ROUNDING_STEP
                if 0.004 < gap < ROUNDING_STEP and fits:
                    return raw, later.lines
    return None
