"""Whole-word keyword and label matching, shared by contract picking and the rule extractor."""

from __future__ import annotations

import re
from functools import lru_cache


def keyword_regex(word: str) -> str:
    """Whole-word regex for Latin words; plain substring for CJK (no word spaces there)."""
    w = re.escape(word.lower())
    left = r"(?<![a-z0-9])" if word[:1].isascii() and word[:1].isalnum() else ""
    right = r"(?![a-z0-9])" if word[-1:].isascii() and word[-1:].isalnum() else ""
    return left + w + right


@lru_cache(maxsize=4096)
def label_pattern(label: str) -> re.Pattern[str]:
    """Whole-word label regex that tolerates any white space (or none) between its words (compiled once per
    label: the contracts hold more labels than ``re``'s own cache keeps)."""
    words = [keyword_regex(w) for w in label.lower().split()]
    return re.compile(r"\s*".join(words) if len(words) > 1 else words[0])


@lru_cache(maxsize=1024)
def any_label_pattern(labels: tuple[str, ...]) -> re.Pattern[str]:
    """One regex matching where any of ``labels``' patterns matches: a text it finds nothing in holds none of
    them (one search in C instead of one per label, and most lines of a page hold no label)."""
    return re.compile("|".join(f"(?:{label_pattern(lab).pattern})" for lab in labels))
