"""``--contract auto``: choose a contract for a document from the keywords the contracts declare."""

from __future__ import annotations

import re

from ocrflow.contracts.model import Contract
from ocrflow.core.keywords import keyword_regex


def pick_contract(text: str, contracts: dict[str, Contract]) -> Contract | None:
    """Choose a contract by its declared keywords (whole-word, case-insensitive)."""
    low = text.lower()
    best: tuple[float, Contract] | None = None
    for c in contracts.values():
        score = 0.0
        for words in c.keywords.values():
            for w in words:
                hits = len(re.findall(keyword_regex(w), low))
                if hits:
                    score += min(hits, 5) * (1 + len(w.split()))
        if score > 0 and (best is None or score > best[0]):
            best = (score, c)
    return best[1] if best else None
