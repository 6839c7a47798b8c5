"""Score extracted fields against gold labels (the rules of docs/evaluation.md).

- text: NFKC, case-folded, white space collapsed, leading/trailing punctuation and
  space removed, then equal; a softer figure counts similarity >= 0.9 as a match;
- dates: equal as ISO ``YYYY-MM-DD``; amounts: equal within 0.01;
- currency: equal as ISO 4217 code; lists: equal as sets of normalized texts.

Fields absent from a gold record are unlabelled and are not scored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from difflib import SequenceMatcher
from typing import Any

SOFT_THRESHOLD = 0.9
AMOUNT_TOLERANCE = Decimal("0.01")
_EDGE = re.compile(r"^[\W_]+|[\W_]+$")

GoldItem = tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, str]]


def normalize_text(value: Any) -> str:
    """NFKC, casefold, one space between words, no leading/trailing punctuation or space."""
    text = unicodedata.normalize("NFKC", str(value)).casefold()
    text = re.sub(r"\s+", " ", text)
    return _EDGE.sub("", text)


def _as_date(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?", text)
    return f"{m[1]}-{m[2]}-{m[3]}" if m else None


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _as_set(value: Any) -> set[str]:
    items = value if isinstance(value, (list, tuple, set)) else [value]
    return {normalize_text(v) for v in items if v is not None and normalize_text(v)}


def score_field(kind: str, predicted: Any, gold: Any) -> bool:
    """Exact match of one field under the rule of its kind."""
    if predicted is None:
        return gold is None
    if kind == "date":
        p, g = _as_date(predicted), _as_date(gold)
        return p is not None and p == g
    if kind in ("money", "number", "integer"):
        pd, gd = _as_decimal(predicted), _as_decimal(gold)
        return pd is not None and gd is not None and abs(pd - gd) <= AMOUNT_TOLERANCE
    if kind == "currency":
        return str(predicted).strip().upper() == str(gold).strip().upper()
    if kind == "list":
        return _as_set(predicted) == _as_set(gold)
    return normalize_text(predicted) == normalize_text(gold)


def similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, normalize_text(a), normalize_text(b)).ratio()


def soft_match(kind: str, predicted: Any, gold: Any, threshold: float = SOFT_THRESHOLD) -> bool:
    """Exact match, or for text kinds a similarity >= threshold (lists: per best pairing)."""
    if score_field(kind, predicted, gold):
        return True
    if predicted is None or kind not in ("text", "identifier", "tax_id", "list"):
        return False
    if kind == "list":
        pred, want = sorted(_as_set(predicted)), sorted(_as_set(gold))
        if len(pred) != len(want):
            return False
        return all(max((similarity(w, p) for p in pred), default=0.0) >= threshold for w in want)
    return similarity(str(predicted), str(gold)) >= threshold


def _bucket() -> dict[str, Any]:
    return {"labelled": 0, "correct": 0, "soft_correct": 0}


def _add(bucket: dict[str, Any], exact: bool, soft: bool) -> None:
    bucket["labelled"] += 1
    bucket["correct"] += int(exact)
    bucket["soft_correct"] += int(soft)


def _finish(bucket: dict[str, Any]) -> dict[str, Any]:
    n = bucket["labelled"]
    bucket["field_accuracy"] = bucket["correct"] / n if n else 0.0
    bucket["soft_field_accuracy"] = bucket["soft_correct"] / n if n else 0.0
    return bucket


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    return str(value)


def score_document(gold_record: Mapping[str, Any], predicted: Mapping[str, Any],
                   kinds: Mapping[str, str]) -> dict[str, Any]:
    """Per-field detail of one document (only labelled fields)."""
    fields: dict[str, Any] = {}
    for name, gold in (gold_record.get("fields") or {}).items():
        kind = kinds.get(name, "text")
        pred = predicted.get(name)
        fields[name] = {"kind": kind, "gold": _jsonable(gold), "predicted": _jsonable(pred),
                        "correct": score_field(kind, pred, gold), "soft": soft_match(kind, pred, gold)}
    return {"path": gold_record.get("path", ""), "source": gold_record.get("source", ""),
            "doc_type": gold_record.get("doc_type", ""), "fields": fields}


def score_documents(items: Iterable[GoldItem]) -> dict[str, Any]:
    """Field accuracy over all documents, by source and by field, with per-document detail."""
    total = _bucket()
    by_source: dict[str, dict[str, Any]] = {}
    by_field: dict[str, dict[str, Any]] = {}
    documents: list[dict[str, Any]] = []
    for gold_record, predicted, kinds in items:
        detail = score_document(gold_record, predicted, kinds)
        documents.append(detail)
        source = str(detail["source"]) or "unknown"
        for name, res in detail["fields"].items():
            buckets = (total, by_source.setdefault(source, _bucket()), by_field.setdefault(name, _bucket()))
            for bucket in buckets:
                _add(bucket, res["correct"], res["soft"])
    _finish(total)
    return {
        "field_accuracy": total["field_accuracy"],
        "soft_field_accuracy": total["soft_field_accuracy"],
        "labelled": total["labelled"],
        "correct": total["correct"],
        "by_source": {k: _finish(v) for k, v in sorted(by_source.items())},
        "by_field": {k: _finish(v) for k, v in sorted(by_field.items())},
        "documents": documents,
    }
