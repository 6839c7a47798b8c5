"""Rows of a constant value that stay when the rest changes: a chain's address, whose last row names the branch.

When an approved multi-row value (an address) is confirmed on the page, each of its rows is kept as a SEGMENT
fact: the part of the approved text that row prints (its canonical spelling). On a later document whose value
memory cannot confirm whole (another branch), the machine's reading is repaired row by row: a row of the
reading that is a known segment read with OCR noise or other spacing (the same letters and digits, or one
differing character per full ``SEGMENT_CHARS_PER_EDIT``) gets the segment's spelling; the other rows (the branch)
stay as read. Only segments seen on two approvals or more are used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from ocrflow.memory.text import key_of, upper
from ocrflow.pipeline.extract.layout import PageLine
from ocrflow.store.memory_records import SEGMENT, Fact

ALIGN_MIN = 80.0
MIN_SEGMENT = 8
"""Letters and digits a row needs to be a segment."""
SEGMENT_CHARS_PER_EDIT = 12
MIN_SEGMENT_HITS = 2


def _key_index(text: str) -> tuple[str, list[int]]:
    """``key_of(text)`` and, per key character, its position in ``text``."""
    chars, where = [], []
    for i, ch in enumerate(upper(text)):
        if ch.isascii() and ch.isalnum():
            chars.append(ch)
            where.append(i)
    return "".join(chars), where


def row_parts(value: str, rows: Sequence[str]) -> list[str]:
    """The part of ``value`` each row prints, in order (a row that cannot be aligned gives nothing)."""
    vkey, where = _key_index(value)
    out, pos = [], 0
    for row in rows:
        rkey = key_of(row)
        if len(rkey) < MIN_SEGMENT or pos >= len(vkey):
            continue
        at = fuzz.partial_ratio_alignment(rkey, vkey[pos:], score_cutoff=ALIGN_MIN)
        if at is None or at.dest_end <= at.dest_start:
            continue
        start, end = pos + at.dest_start, pos + at.dest_end - 1
        out.append(value[where[start]:where[end] + 1])
        pos = end + 1
    return out


def segment_rows(lines: Sequence[PageLine]) -> list[str]:
    """The texts of the rows of ``lines`` (lines of one row joined left to right)."""
    rows: dict[tuple[int, int], list[PageLine]] = {}
    for pl in lines:
        rows.setdefault((pl.page, pl.row), []).append(pl)
    return [" ".join(pl.text for pl in sorted(rows[k], key=lambda p: p.line.x0)) for k in sorted(rows)]


def _close(a: str, b: str) -> bool:
    budget = len(b) // SEGMENT_CHARS_PER_EDIT
    return a == b or (budget > 0 and Levenshtein.distance(a, b, score_cutoff=budget) <= budget)


@dataclass(frozen=True, slots=True)
class Repair:
    text: str
    facts: tuple[Fact, ...]


def repair(reading: str, lines: Sequence[PageLine], facts: Sequence[Fact]) -> Repair | None:
    """``reading`` (the machine's value, read from ``lines``) with its known rows spelled as memory spells them;
    None when no row changes."""
    known = [f for f in facts if f.kind == SEGMENT and f.hits >= MIN_SEGMENT_HITS and f.hits > f.misses]
    if not known or not reading:
        return None
    text, used = reading, []
    for row in segment_rows(lines):
        core = row.strip(" ,.;:-")
        rkey = key_of(core)
        if len(rkey) < MIN_SEGMENT or core not in text:
            continue
        fact = next((f for f in known if _close(rkey, f.fact_key)), None)
        if fact is not None and fact.value != core:
            text = text.replace(core, fact.value, 1)
            used.append(fact)
    return Repair(text, tuple(used)) if used and text != reading else None
