"""Find a value again in a document's page text: exact (normalized) or fuzzy, or absent.

The alignment is the one langextract uses for extractions: the value and the page text are
normalized (NFKC, case-folded, only letters and digits kept), an exact containment is tried first,
then a fuzzy partial match (rapidfuzz) above a threshold. A value can span several rows (an
address), so windows of up to ``MAX_ROWS`` consecutive rows are candidates; the smallest window
that holds the value wins, and its lines' union is the value's box.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from rapidfuzz import fuzz

from ocrflow.core.evidence import BBox
from ocrflow.pipeline.coerce import CURRENCY_ALIASES, ISO_CODES
from ocrflow.pipeline.extract.layout import PageLine

FUZZY_MIN = 85.0
"""Partial-match ratio (0..100) from which a value counts as found ``fuzzy``."""
MAX_ROWS = 4
_NON_ALNUM = re.compile(r"[^\w$€£¥₹]+|_")
MONTHS: tuple[tuple[str, ...], ...] = (
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"),
    ("januar", "februar", "märz", "april", "mai", "juni", "juli", "august", "september", "oktober", "november",
     "dezember"),
    ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre",
     "décembre"),
)
"""Month names a date may be printed with (en, de, fr); the first three letters are tried too."""
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                "twelve")
_DURATION = re.compile(r"(?i)(\d{1,2})\s*(years?|months?|weeks?|days?)")


def compact(text: str) -> str:
    """NFKC, case-folded, letters, digits and currency symbols only."""
    return _NON_ALNUM.sub("", unicodedata.normalize("NFKC", text).casefold())


@dataclass(frozen=True, slots=True)
class Hit:
    grounding: str
    """exact | fuzzy | absent"""
    score: float
    """match ratio 0..1 (1 for exact, 0 for absent)"""
    lines: tuple[PageLine, ...] = ()

    @property
    def page_no(self) -> int | None:
        return self.lines[0].page if self.lines else None

    @property
    def bbox(self) -> BBox | None:
        return union_box(self.lines)

    @property
    def recognition(self) -> float:
        """Mean recognition score of the lines (1 where none: nothing to doubt)."""
        return sum(pl.line.score for pl in self.lines) / len(self.lines) if self.lines else 1.0


ABSENT = Hit("absent", 0.0)


def union_box(lines: Sequence[PageLine]) -> BBox | None:
    """The box around lines of one page (the first line's page); None when none has a box (all zero-area:
    text a model wrote without coordinates)."""
    same = [pl.line for pl in lines if lines and pl.page == lines[0].page and pl.line.x1 > pl.line.x0]
    if not same:
        return None
    return (min(ln.x0 for ln in same), min(ln.y0 for ln in same), max(ln.x1 for ln in same),
            max(ln.y1 for ln in same))


def needles(value: Any, raw: Any = None) -> list[str]:
    """The spellings to look for: the raw text first, then the value as printed in common ways."""
    out: list[str] = []
    for item in (raw, value):
        if item is None:
            continue
        if isinstance(item, (list, tuple)):
            out.extend(str(v) for v in item if v not in (None, ""))
            continue
        out.append(str(item))
        out.extend(_spellings(item))
    seen: list[str] = []
    for n in out:
        c = compact(n)
        if c and c not in seen:
            seen.append(c)
    return seen


def _spellings(value: Any) -> list[str]:
    if isinstance(value, date):
        d, m, y = value.day, value.month, value.year
        return [f"{d:02d}.{m:02d}.{y}", f"{d:02d}/{m:02d}/{y}", f"{m:02d}/{d:02d}/{y}", f"{d}.{m}.{y}",
                f"{d:02d}-{m:02d}-{y}", f"{d:02d}/{m:02d}/{y % 100:02d}", f"{d:02d}.{m:02d}.{y % 100:02d}",
                f"{y}{m:02d}{d:02d}", *_month_spellings(value)]
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        try:
            dec = Decimal(str(value)).quantize(Decimal("0.01"))
        except InvalidOperation:
            return []
        plain = f"{dec:f}"
        return [plain, f"{dec:,f}", plain.replace(".", ",")]
    text = str(value)
    if text in ISO_CODES:
        return [alias for alias, code in CURRENCY_ALIASES.items() if code == text]
    duration = _DURATION.fullmatch(text.strip())
    if duration:
        return _duration_spellings(int(duration[1]), duration[2])
    iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if iso:
        try:
            return _spellings(date(int(iso[1]), int(iso[2]), int(iso[3])))
        except ValueError:  # 2024-13-45: not a date, nothing to spell
            return []
    if re.fullmatch(r"-?\d+(?:\.\d+)?", text):
        return _spellings(Decimal(text))
    return []


def _ordinal(day: int) -> str:
    return "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _month_spellings(value: date) -> list[str]:
    """"March 1, 2015", "1st March 2015", "1st day of March, 2015", "01 Mar 2015", "1. März 2015" ..."""
    d, y, th = value.day, value.year, _ordinal(value.day)
    out = []
    for names in MONTHS:
        full = names[value.month - 1]
        for m in dict.fromkeys((full, full[:3])):
            out += [f"{d:02d} {m} {y}", f"{m} {d:02d}, {y}", f"{d}{th} day of {m}, {y}", f"{d}{th} {m} {y}",
                    f"{m} {d}{th}, {y}", f"{m} {d}, {y}", f"{d} {m} {y}", f"{d}. {m} {y}"]
    return out


def _duration_spellings(n: int, unit: str) -> list[str]:
    """"2 years" is also printed "two years" and "two (2) years"."""
    unit = unit.lower()
    if n >= len(NUMBER_WORDS):
        return []
    word = NUMBER_WORDS[n]
    return [f"{word} ({n}) {unit}", f"{word} {unit}"]


class Grounder:
    """The page text of one document, prepared once, searched for many values."""

    def __init__(self, lines: Iterable[PageLine]) -> None:
        rows: dict[tuple[int, int], list[PageLine]] = {}
        for pl in lines:
            rows.setdefault((pl.page, pl.row), []).append(pl)
        ordered = [rows[k] for k in sorted(rows)]
        self._windows: list[tuple[str, tuple[PageLine, ...]]] = []
        for pls in ordered:
            for pl in pls:
                self._windows.append((compact(pl.text), (pl,)))
        for size in range(1, MAX_ROWS + 1):
            for i in range(len(ordered) - size + 1):
                group = ordered[i:i + size]
                if len({g[0].page for g in group}) != 1 or (size == 1 and len(group[0]) == 1):
                    continue
                members = tuple(pl for row in group for pl in row)
                self._windows.append(("".join(compact(pl.text) for pl in members), members))

    def find(self, candidates: Sequence[str]) -> Hit:
        """The best place of any of ``candidates`` (already :func:`compact`): exact, else fuzzy, else absent."""
        for needle in candidates:
            for text, members in self._windows:  # windows are ordered smallest first
                if needle and needle in text:
                    return Hit("exact", 1.0, members)
        best = ABSENT
        for needle in candidates:
            if len(needle) < 3:
                continue
            for text, members in self._windows:
                if len(text) < len(needle) * 0.5:
                    continue
                ratio = fuzz.partial_ratio(needle, text, score_cutoff=FUZZY_MIN)
                if ratio > best.score * 100:
                    best = Hit("fuzzy", ratio / 100, members)
        return best

    def locate(self, value: Any, raw: Any = None) -> Hit:
        """Where ``value`` (or its ``raw`` text) is printed; lists are found item by item (the worst wins)."""
        if isinstance(value, (list, tuple)):
            hits = [self.find(needles(v)) for v in value if v not in (None, "")]
            if not hits:
                return ABSENT
            worst = min(hits, key=lambda h: h.score)
            return Hit(worst.grounding, worst.score, hits[0].lines or worst.lines)
        return self.find(needles(value, raw))
