"""Where values of a kind sit on a document's lines: each printed amount, date or number with its label, its
place beside or under the label, its index on the line and its height on the page.

A position fact is such a spot remembered (``learn``), and read again on the issuer's next document by
finding the spot with the same label, place and index, nearest the same height (``read_spot``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from rapidfuzz import fuzz

from ocrflow.memory.text import key_of, label_of, letters, shape_of
from ocrflow.pipeline.coerce import CoercionError, parse_date, parse_money
from ocrflow.pipeline.extract.candidates import CURRENCY_TOKEN, ID_TOKEN, MONEY_RE, date_matches
from ocrflow.pipeline.extract.layout import PageLine
from ocrflow.store.memory_records import Fact

MONEY_KINDS = frozenset({"money", "number"})
DATE_KINDS = frozenset({"date"})
ID_KINDS = frozenset({"identifier", "integer"})
POSITION_KINDS = MONEY_KINDS | DATE_KINDS | ID_KINDS
"""Field kinds memory remembers by position (their values change from one document to the next)."""
LABEL_MATCH = 88.0
"""Similarity (0..100) from which two labels of at least four letters are the same label (OCR noise)."""


@dataclass(frozen=True, slots=True)
class Spot:
    """One printed value of a kind on one line, and what places it."""

    text: str
    value: Any
    line: PageLine
    label: str
    place: str
    nth: int
    y: float
    shape: str


def _money_tokens(text: str) -> list[tuple[int, str, Any]]:
    out = []
    for m in MONEY_RE.finditer(text):
        raw = m.group(0).strip()
        if not (re.search(r"[.,]\d{1,2}\)?-?(?:\s*\D*)?$", raw) or CURRENCY_TOKEN.search(raw)):
            continue
        try:
            out.append((m.start(), raw, parse_money(raw)))
        except CoercionError:
            continue
    return out


def _date_tokens(text: str, day_first: bool) -> list[tuple[int, str, Any]]:
    out, pos = [], 0
    for raw in date_matches(text, day_first=day_first):
        at = text.find(raw, pos)
        if at < 0:
            continue
        pos = at + len(raw)
        try:
            out.append((at, raw, parse_date(raw, day_first=day_first)))
        except CoercionError:
            continue
    return out


def _id_tokens(text: str) -> list[tuple[int, str, Any]]:
    out = []
    for m in ID_TOKEN.finditer(text):
        token = m.group(1).rstrip(".,;:")
        if len(token) >= 2 and any(ch.isdigit() for ch in token):
            out.append((m.start(1), token, token))
    return out


def tokens(text: str, kind: str, *, day_first: bool) -> list[tuple[int, str, Any]]:
    """(start, printed text, value) of every value of ``kind`` in ``text`` (NFKC), left to right."""
    if kind in MONEY_KINDS:
        return _money_tokens(text)
    if kind in DATE_KINDS:
        return _date_tokens(text, day_first)
    if kind in ID_KINDS:
        return _id_tokens(text)
    return []


def _label_and_place(pl: PageLine, prefix: str, rows: Mapping[tuple[int, int], list[PageLine]]) -> tuple[str, str]:
    """The label of a value: the text before it on its line, else the lines left of it on its row, else the row
    above; ``alone`` with no label when none has letters."""
    label = label_of(prefix)
    if letters(label) >= 2:
        return label, "same_line"
    left = [o for o in rows.get((pl.page, pl.row), []) if o.line.x1 <= pl.line.x0 + 1 and o is not pl]
    label = label_of(" ".join(o.text for o in left))
    if letters(label) >= 2:
        return label, "right"
    label = label_of(" ".join(o.text for o in rows.get((pl.page, pl.row - 1), [])))
    if letters(label) >= 2:
        return label, "below"
    return "", "alone"


def spots(lines: Sequence[PageLine], kind: str, heights: Mapping[int, float], *, day_first: bool) -> list[Spot]:
    """Every value of ``kind`` on ``lines``, placed (``heights``: page number -> page height in pixels)."""
    rows: dict[tuple[int, int], list[PageLine]] = {}
    for pl in lines:
        rows.setdefault((pl.page, pl.row), []).append(pl)
    out: list[Spot] = []
    for pl in lines:
        text = unicodedata.normalize("NFKC", pl.text)
        found = tokens(text, kind, day_first=day_first)
        height = heights.get(pl.page) or 0.0
        for i, (start, raw, value) in enumerate(found):
            label, place = _label_and_place(pl, text[:start], rows)
            y = round(pl.line.cy / height, 4) if height else 0.0
            out.append(Spot(raw, value, pl, label, place, len(found) - 1 - i, y, shape_of(raw)))
    return out


def page_heights(lines: Sequence[PageLine], declared: Mapping[int, int] | None = None) -> dict[int, float]:
    """Page number -> height: the page's own, else the lowest line's bottom."""
    out: dict[int, float] = {}
    for pl in lines:
        out[pl.page] = max(out.get(pl.page, 0.0), pl.line.y1)
    for page, height in (declared or {}).items():
        if height:
            out[page] = float(height)
    return out


def same_value(kind: str, a: Any, b: Any) -> bool:
    """Whether two values of ``kind`` are the same (amounts within half a cent, dates equal, ids as keys)."""
    if a is None or b is None:
        return False
    if kind in MONEY_KINDS:
        try:
            return abs(Decimal(str(a)) - Decimal(str(b))) < Decimal("0.005")
        except ArithmeticError:
            return False
    if kind in DATE_KINDS:
        return _as_date(a) == _as_date(b) and _as_date(a) is not None
    return key_of(str(a)) == key_of(str(b))


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return parse_date(str(value), day_first=True)
    except CoercionError:
        return None


def labels_match(a: str, b: str) -> bool:
    if a == b:
        return True
    return min(len(a), len(b)) >= 4 and fuzz.ratio(a, b) >= LABEL_MATCH


def read_spot(fact: Fact, found: Sequence[Spot]) -> Spot | None:
    """The spot a position fact points at on a document: same place, index and shape, a matching label, the
    nearest to the fact's height."""
    fits = [s for s in found if s.place == fact.place and s.nth == fact.nth and (not fact.shape or
            s.shape == fact.shape) and labels_match(s.label, fact.label)]
    if not fits:
        return None
    return min(fits, key=lambda s: (s.label != fact.label, abs(s.y - (fact.y if fact.y is not None else s.y))))
