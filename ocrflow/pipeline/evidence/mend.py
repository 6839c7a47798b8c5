"""Mending a text value from a second, independent reading of its region (Tesseract, ``second_reading``).

The first recogniser (PP-OCR) has habits a second reading exposes: it drops the spaces of tightly set
print ("JALANAIR PANAS", "DENGKIL,SELANGOR", a shop name read as one word), and it puts accents on plain capitals
("SETIA ÁLAM", "Chéras"). Tesseract, with other models, keeps the spaces and reads the plain letters. Both
readings seldom agree everywhere (the region holds other lines, a character or two differ), so the readings are
aligned character by character and only what both support locally is taken:

- a word break the second reading has and the first lost, where the characters on both sides of it are read
  the same by both (``SIDE`` of them, ``AGREE`` equal); a break of the first is never moved or removed;
- an accent the first reading put on a letter that the second reads plain, only on a page that has almost no
  accented letters at all (``FEW_MARKS``): on a French or German page accents are real and left alone;
- a digit the first reading put in a word of letters where the second reads the letter of that shape (``5/B``
  for ``S/B``, ``MA11`` for ``MALL``), or a letter it put in a number where the second reads the digit (``G3O``
  for ``G30``), with the characters around it read alike.

Nothing else of the second reading is taken: where the two read a character differently the first stays (that
difference lowers the value's confidence instead, through ``agreement``).
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass
from itertools import pairwise

SIDE = 3
"""Characters looked at on each side of a word break of the second reading."""
AGREE = 2
"""Of those, how many must be read the same by both readings (on each side)."""
SHAPES = {"0": "O", "1": "IL", "5": "S", "8": "B"}
"""Digits and the capitals of their shape, which recognisers confuse."""
FEW_MARKS = 3
"""A page with more accented letters than this writes a language with accents (a French or German page has
dozens)."""


def _base(ch: str) -> str:
    """``ch`` without its combining marks, case-folded."""
    return "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c)).casefold()[:1] or ch


def _marked(ch: str) -> bool:
    return any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", ch))


def plain_page(text: str) -> bool:
    """Whether a page's text has so few accented letters that an accent on it is more likely a misread."""
    return sum(1 for ch in text if ch.isalpha() and _marked(ch)) <= FEW_MARKS


@dataclass(frozen=True, slots=True)
class _Reading:
    chars: str
    """The text without white space."""
    breaks: frozenset[int]
    """Where its word breaks fall, as indexes into ``chars``."""


def _reading(text: str) -> _Reading:
    chars: list[str] = []
    breaks: set[int] = set()
    for word in text.split():
        if chars:
            breaks.add(len(chars))
        chars.extend(word)
    return _Reading("".join(chars), frozenset(breaks))


def _alignment(first: str, second: str) -> tuple[dict[int, int], set[int]]:
    """Second-reading index -> first-reading index for characters both read alike up to case and accents (and
    for characters of equal-length replaced runs), and the second-reading indexes that are alike."""
    a = "".join(_base(ch) for ch in first)
    b = "".join(_base(ch) for ch in second)
    mapping: dict[int, int] = {}
    alike: set[int] = set()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            for k in range(i2 - i1):
                mapping[j1 + k] = i1 + k
                if tag == "equal":
                    alike.add(j1 + k)
    return mapping, alike


def _supported(j: int, mapping: dict[int, int], alike: set[int]) -> int | None:
    """The first reading's index for a break of the second before its character ``j``, when both sides agree."""
    if j - 1 not in mapping or j not in mapping or mapping[j] != mapping[j - 1] + 1:
        return None
    left = sum(1 for k in range(j - SIDE, j) if k in alike and mapping.get(k) == mapping[j] - (j - k))
    right = sum(1 for k in range(j, j + SIDE) if k in alike and mapping.get(k) == mapping[j] + (k - j))
    return mapping[j] if left >= AGREE and right >= AGREE else None


def mend(value: str, second: str, *, plain: bool = False) -> str | None:
    """``value`` with the word breaks it lost and, on a ``plain`` page, without the accents it invented, where
    the second reading supports each change locally; None where nothing changes."""
    first, other = _reading(value), _reading(second)
    if not first.chars or not other.chars:
        return None
    mapping, alike = _alignment(first.chars, other.chars)
    breaks = set(first.breaks)
    for j in other.breaks:
        i = _supported(j, mapping, alike)
        if i is not None:
            breaks.add(i)
    chars = list(first.chars)
    if plain:
        for j in alike:
            i = mapping[j]
            if _marked(chars[i]) and not _marked(other.chars[j]):
                chars[i] = unicodedata.normalize("NFD", chars[i])[0]
    _reshape(chars, other.chars, mapping, alike, _words(first))
    if breaks == first.breaks and "".join(chars) == first.chars:
        return None
    return "".join((" " if i in breaks else "") + ch for i, ch in enumerate(chars))


def _words(reading: _Reading) -> list[range]:
    """The index ranges of the reading's words."""
    edges = [0, *sorted(reading.breaks), len(reading.chars)]
    return [range(a, b) for a, b in pairwise(edges) if b > a]


def _swap(mine: str, theirs: str, rest: str) -> str | None:
    """The character of the other kind ``theirs`` suggests for ``mine``, given the rest of its word."""
    letters, digits = sum(ch.isalpha() for ch in rest), sum(ch.isdigit() for ch in rest)
    if mine in SHAPES and theirs.upper() in SHAPES[mine] and letters and not digits:
        return theirs.upper() if rest.upper() == rest else theirs
    if theirs in SHAPES and mine.upper() in SHAPES[theirs] and digits and not letters:
        return theirs
    return None


def _pair(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are a digit and the letter of its shape (either way round)."""
    return (a in SHAPES and b.upper() in SHAPES[a]) or (b in SHAPES and a.upper() in SHAPES[b])


def _reshape(chars: list[str], other: str, mapping: dict[int, int], alike: set[int], words: list[range]) -> None:
    """Swap a digit and the letter of its shape where the second reading reads the other kind and the rest of
    the word is all of that kind; its neighbours (up to two on each side within the word) are read alike or are
    such pairs too ("MA11" / "MALL"), one of them at least alike."""
    word_of = {i: w for w in words for i in w}
    inverse = {i: j for j, i in mapping.items()}
    paired = {i for j, i in mapping.items() if j not in alike and _pair(chars[i], other[j])}
    swaps: dict[int, str] = {}
    for i in sorted(paired):
        j, word = inverse[i], word_of.get(i)
        if word is None:
            continue
        near = [k for k in (i - 2, i - 1, i + 1, i + 2) if k in word]
        same = [k for k in near if k not in paired and inverse.get(k) in alike and inverse[k] - j == k - i]
        if not same or len(same) + sum(k in paired for k in near) < len(near):
            continue
        swapped = _swap(chars[i], other[j], "".join(chars[k] for k in word if k not in paired))
        if swapped is not None:
            swaps[i] = swapped
    for i, ch in swaps.items():
        chars[i] = ch
