"""Which known issuer a document is from, by the keys it prints (``fingerprint``) that memory holds.

Each stored key a document prints counts for its issuer (``KEY_WEIGHTS``: a number or a line that held the
issuer's name or address 2, another letterhead line 1), once per key, and only when no other issuer holds
the same key (a key two issuers print tells neither apart). The issuer is recognized when its score reaches
``MIN_SCORE`` with a number or a name line among its keys (or ``MIN_LINES_SCORE`` from letterhead lines alone)
and no other issuer scores as much. Anything less is no issuer: the document is read as if memory were empty.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from ocrflow.store.memory_records import ID_KEY, KEY_WEIGHTS, NAME_KEY, KeyMatch

MIN_SCORE = 2
MIN_LINES_SCORE = 3


def scores(matches: Iterable[KeyMatch]) -> dict[str, tuple[int, bool]]:
    """Issuer -> (score, whether a strong key matched), counting each key once at its highest weight."""
    best: dict[tuple[str, str], int] = {}
    strong: dict[str, bool] = {}
    for m in matches:
        if m.owners > 1:
            continue
        weight = KEY_WEIGHTS.get(m.kind, 1)
        best[(m.issuer_id, m.key)] = max(best.get((m.issuer_id, m.key), 0), weight)
        strong[m.issuer_id] = strong.get(m.issuer_id, False) or m.kind in (ID_KEY, NAME_KEY)
    out: dict[str, tuple[int, bool]] = {}
    for (issuer, _), weight in best.items():
        total, _ = out.get(issuer, (0, False))
        out[issuer] = (total + weight, strong.get(issuer, False))
    return out


def recognize(matches: Iterable[KeyMatch]) -> str | None:
    """The issuer the matched keys point at, or None (no issuer, or two as likely)."""
    ranked = sorted(scores(matches).items(), key=lambda kv: (-kv[1][0], kv[0]))
    if not ranked:
        return None
    issuer, (score, strong) = ranked[0]
    if score < (MIN_SCORE if strong else MIN_LINES_SCORE):
        return None
    if len(ranked) > 1 and ranked[1][1][0] >= score:
        return None
    return issuer


def new_issuer_id() -> str:
    """A fresh issuer id (``iss-`` and ten hex digits)."""
    return f"iss-{uuid.uuid4().hex[:10]}"
