"""What waits for review: quarantined rows, and loaded rows with a value under its confidence threshold.

The threshold of a field is the contract's ``min_confidence`` policy (per field, else per contract) when
the contract carries one, else :data:`DEFAULT_MIN_CONFIDENCE`. The queue is ordered lowest confidence
first (a quarantined row without evidence counts as 0: it failed its checks).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ocrflow.contracts import Contract
from ocrflow.review.evidence import EVIDENCE_TABLE, has_table
from ocrflow.store.base import Store
from ocrflow.store.quarantine import list_quarantine

DEFAULT_MIN_CONFIDENCE = 0.6
"""Threshold of a field whose contract sets no ``min_confidence``."""
QUARANTINED = "quarantined"
LOW_CONFIDENCE = "low_confidence"
REASONS = (QUARANTINED, LOW_CONFIDENCE)


def min_confidence(contract: Contract | None, field_name: str) -> float:
    """The field's threshold: its own policy, else the contract's, else the default."""
    if contract is None:
        return DEFAULT_MIN_CONFIDENCE
    for spec in contract.fields:
        own = getattr(spec, "min_confidence", None) if spec.name == field_name else None
        if own is not None:
            return float(own)
    policy = getattr(contract, "min_confidence", None)
    return DEFAULT_MIN_CONFIDENCE if policy is None else float(policy)


@dataclass(slots=True)
class QueueItem:
    sha256: str
    contract: str
    path: str
    reason: str
    detail: str
    confidence: float | None = None
    low_fields: list[str] = field(default_factory=list)

    @property
    def sort_key(self) -> tuple[float, str]:
        return (0.0 if self.confidence is None else self.confidence, self.sha256)


@dataclass(slots=True)
class Queue:
    items: list[QueueItem]
    by_contract: dict[str, int]
    by_reason: dict[str, int]
    total: int


def _min_confidences(store: Store) -> dict[str, float]:
    _, rows = store.query(f"SELECT doc_sha256, min(confidence) FROM {EVIDENCE_TABLE} WHERE line_no = 0 "
                          "GROUP BY doc_sha256")
    return {str(sha): float(c) for sha, c in rows if c is not None}


def _low_confidence(store: Store, contracts: dict[str, Contract]) -> list[QueueItem]:
    """Loaded documents with a non-null header value under its threshold."""
    _, rows = store.query(
        f"SELECT e.doc_sha256, e.contract, d.path, e.field, e.confidence FROM {EVIDENCE_TABLE} AS e "
        "JOIN documents AS d ON d.sha256 = e.doc_sha256 WHERE d.state = 'loaded' AND e.line_no = 0 "
        "AND e.value IS NOT NULL AND e.confidence IS NOT NULL ORDER BY e.doc_sha256, e.field")
    items: dict[str, QueueItem] = {}
    for sha, contract, path, name, conf in rows:
        if float(conf) >= min_confidence(contracts.get(str(contract)), str(name)):
            continue
        item = items.setdefault(str(sha), QueueItem(str(sha), str(contract), str(path), LOW_CONFIDENCE, ""))
        item.low_fields.append(str(name))
        item.confidence = float(conf) if item.confidence is None else min(item.confidence, float(conf))
    for item in items.values():
        item.detail = "under threshold: " + ", ".join(item.low_fields)
    return list(items.values())


def review_queue(store: Store, contracts: dict[str, Contract], *, contract: str | None = None,
                 reason: str | None = None) -> Queue:
    """The queue, lowest confidence first, filtered by contract and reason; counts are of the unfiltered queue."""
    evidence = has_table(store, EVIDENCE_TABLE)
    lowest = _min_confidences(store) if evidence else {}
    items = [QueueItem(e.sha256, e.contract, e.path, QUARANTINED, e.first_reasons(3), lowest.get(e.sha256))
             for e in list_quarantine(store)]
    if evidence:
        items.extend(_low_confidence(store, contracts))
    items.sort(key=lambda i: i.sort_key)
    shown = [i for i in items if (not contract or i.contract == contract) and (not reason or i.reason == reason)]
    return Queue(shown, dict(Counter(i.contract for i in items)), dict(Counter(i.reason for i in items)), len(items))
