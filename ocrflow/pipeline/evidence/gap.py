"""A line the first reading did not see, just above an address block: read by Tesseract in the gap.

The first recogniser's detector sometimes misses a whole printed line (faint or tightly set print). Above an
address block read by the block heuristic, that loses the address's first line ("TAMAN BERKELEY 41150 KLANG"
for "LOT P.T. 2811, JALAN ANGSA, TAMAN BERKELEY 41150 KLANG") and nothing in the value shows it: every line it
holds is read well. Where the space between the block and the line above it could hold a line, Tesseract reads
that space; words there mean the block may be incomplete, and the row goes to review with what Tesseract read
(check ``unread_line``), the value unchanged. A blank gap (or a logo's specks) says nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise

from PIL import Image

from ocrflow.core.evidence import EvidenceRow
from ocrflow.core.models import Line
from ocrflow.pipeline.evidence.second_reading import on_image, read_region

ROOM = 1.6
"""Centres at least this many of the block's line pitches apart leave room for a line between them."""
EDGE = 0.5
"""The gap read: from half a pitch below the line above to half a pitch above the block (the neighbours' own
print left out)."""
WIDEN = 2.0
"""Line heights the gap reaches left and right of the block (a missing line may be wider than the block)."""
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9.,&/'()-]{2,}")
MIN_WORDS = 2
MIN_CHARS = 8
MAX_TOKENS = 8
"""What Tesseract must read in the gap to count as a line: two words of three or more characters, eight letters
and digits in all, and no more than eight pieces (a rule or a few specks read as a mark or two; a logo or a
pattern as a long run of fragments)."""


def _block_lines(ev: EvidenceRow, lines: Sequence[Line]) -> list[Line]:
    if ev.bbox is None:
        return []
    x0, y0, x1, y1 = ev.bbox
    return [ln for ln in lines if ln.y0 >= y0 - 1 and ln.y1 <= y1 + 1 and ln.x0 >= x0 - 1 and ln.x1 <= x1 + 1]


def _looks_like_a_line(text: str) -> bool:
    words = WORD.findall(text)
    return (len(words) >= MIN_WORDS and sum(sum(ch.isalnum() for ch in w) for w in words) >= MIN_CHARS
            and len(text.split()) <= MAX_TOKENS)


def _pitch(block: Sequence[Line]) -> float:
    """The distance between the centres of the block's consecutive lines (its height for one line): boxes of
    skewed print are taller than the print, centres are not."""
    centres = sorted((ln.y0 + ln.y1) / 2 for ln in block)
    steps = sorted(b - a for a, b in pairwise(centres) if b - a > 0)
    return steps[len(steps) // 2] if steps else min(ln.height for ln in block)


def unread_above(ev: EvidenceRow, lines: Sequence[Line], image: Image.Image, *, lang: str) -> str | None:
    """What Tesseract reads between an address block and the line above it, where that looks like a printed
    line the first reading missed; None otherwise (no room, nothing there, no box)."""
    block = _block_lines(ev, lines)
    if not block or ev.bbox is None:
        return None
    first = min(block, key=lambda ln: ln.y0 + ln.y1)
    top, pitch = (first.y0 + first.y1) / 2, _pitch(block)
    left, right = ev.bbox[0] - WIDEN * pitch, ev.bbox[2] + WIDEN * pitch
    above = [(ln.y0 + ln.y1) / 2 for ln in lines if ln not in block and (ln.y0 + ln.y1) / 2 < top - pitch / 2
             and ln.x1 > left and ln.x0 < right]
    if not above or top - max(above) < ROOM * pitch:
        return None
    box = on_image(ev, image, (max(0.0, left), max(above) + EDGE * pitch, right, top - EDGE * pitch))
    text = read_region(image, box, lang, margin=0.0)
    if text is None:
        return None
    seen = " ".join(text.split())
    return seen if _looks_like_a_line(seen) else None
