"""Whole-word keyword and label matching, shared by contract picking and the rule extractor."""

from __future__ import annotations

import re


def keyword_regex(word: str) -> str:
    """Whole-word regex for Latin words; plain substring for CJK (no word spaces there)."""
    w = re.escape(word.lower())
    left = r"(?<![a-z0-9])" if word[:1].isascii() and word[:1].isalnum() else ""
    right = r"(?![a-z0-9])" if word[-1:].isascii() and word[-1:].isalnum() else ""
    return left + w + right


def label_pattern(label: str) -> re.Pattern[str]:
    """Whole-word label regex that tolerates any white space (or none) between its words."""
    words = [keyword_regex(w) for w in label.lower().split()]
    return re.compile(r"\s*".join(words) if len(words) > 1 else words[0])
