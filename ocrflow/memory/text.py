"""Text normalizations memory keys, labels and shapes are compared in (no vendor, no language of its own)."""

from __future__ import annotations

import re
import unicodedata

_NOT_KEY = re.compile(r"[^A-Z0-9]+")
_NOT_LETTER = re.compile(r"[^A-Z]+")
_DIGITS = re.compile(r"\d+")
_LETTERS = re.compile(r"[^\W\d_]+")
LABEL_WORDS = 5
"""Words of a label kept (the last ones, next to the value)."""


def upper(text: str) -> str:
    return unicodedata.normalize("NFKC", text).upper()


def key_of(text: str) -> str:
    """A line as a recognition key: NFKC, upper case, letters and digits only."""
    return _NOT_KEY.sub("", upper(text))


def letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def label_of(text: str) -> str:
    """Text beside a value as a label: its last words, letters only, upper case, single spaces."""
    words = _NOT_LETTER.sub(" ", upper(text)).split()
    return " ".join(words[-LABEL_WORDS:])


def shape_of(text: str) -> str:
    """A printed value's shape: digit runs ``9``, letter runs ``A``, other characters kept, spaces dropped."""
    out = _DIGITS.sub("9", unicodedata.normalize("NFKC", text).strip())
    return _LETTERS.sub("A", out).replace(" ", "")


def same_text(a: str, b: str) -> bool:
    """Equal once case, spacing and punctuation are ignored (the evaluation's text rule, roughly)."""
    return key_of(a) == key_of(b)
