"""Whether a page prints a value memory holds (a constant: the issuer's name, address, tax id), and where.

A constant from memory is used only where the page confirms it: some run of up to ``MAX_ROWS`` consecutive
rows, letters and digits only, holds the whole value exactly, or with at most ``allowed(len)`` characters read
differently, missing or extra (one per full ``CHARS_PER_EDIT`` characters, so a short name must be printed
exactly: "ACME SDN BHD" is not "ACME (M) SDN BHD"; OCR noise in a long one, never a different
branch's address that shares most of its text). A digit OCR reads for a letter of the same shape (``5`` for
``S``, ``0`` for ``O``, ``1`` for ``I``, ``8`` for ``B``) costs nothing but keeps the confirmation short of exact, so
a short name read "5/B" still confirms "S/B". A run shorter than the value never confirms it by holding a part
of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from ocrflow.memory.text import key_of
from ocrflow.pipeline.extract.layout import PageLine

MAX_ROWS = 6
CHARS_PER_EDIT = 15
MIN_VALUE = 3
_SHAPES = str.maketrans("0158", "OISB")
"""Digits OCR reads for the letters of their shape, folded to the letter."""
FOLDED = 0.999
"""The score of a value held once the shape-alike digits are folded: not exact, above any edit."""


@dataclass(frozen=True, slots=True)
class Confirmed:
    lines: tuple[PageLine, ...]
    score: float
    """1.0 when the rows hold the value exactly (letters and digits), else the similarity (0..1)."""

    @property
    def exact(self) -> bool:
        return self.score >= 1.0


def row_groups(lines: Sequence[PageLine]) -> list[list[PageLine]]:
    rows: dict[tuple[int, int], list[PageLine]] = {}
    for pl in lines:
        rows.setdefault((pl.page, pl.row), []).append(pl)
    return [rows[k] for k in sorted(rows)]


def confirm(value: str, lines: Sequence[PageLine]) -> Confirmed | None:
    """The smallest run of rows that prints ``value``, None when the page does not confirm it."""
    needle = key_of(value)
    if len(needle) < MIN_VALUE:
        return None
    rows = row_groups(lines)
    best: Confirmed | None = None
    for size in range(1, MAX_ROWS + 1):
        for i in range(len(rows) - size + 1):
            group = rows[i:i + size]
            if len({g[0].page for g in group}) != 1:
                continue
            members = tuple(pl for row in group for pl in row)
            score = _score(needle, "".join(key_of(pl.text) for pl in members))
            if score >= 1.0:
                return Confirmed(members, 1.0)
            if score > 0 and (best is None or score > best.score):
                best = Confirmed(members, score)
    return best


def allowed(length: int) -> int:
    """Characters of a value of ``length`` that may be read differently and still confirm it."""
    return length // CHARS_PER_EDIT


def _score(needle: str, text: str) -> float:
    """1 for the value held exactly; 1 - edits / length within ``allowed`` edits; else 0."""
    if needle in text:
        return 1.0
    if needle.translate(_SHAPES) in text.translate(_SHAPES):
        return FOLDED
    budget = allowed(len(needle))
    if budget == 0:
        return 0.0
    if len(text) <= len(needle):
        edits = Levenshtein.distance(needle, text, score_cutoff=budget)
    else:  # the best place of the value in the run, its ends moved by up to ``budget`` (a character missing or extra)
        at = fuzz.partial_ratio_alignment(needle, text)
        if at is None:
            return 0.0
        edits = min(Levenshtein.distance(needle, text[max(0, at.dest_start + a):at.dest_end + b], score_cutoff=budget)
                    for a in range(-budget, budget + 1) for b in range(-budget, budget + 1))
    return 1.0 - edits / len(needle) if edits <= budget else 0.0
