"""What waits for review: quarantined rows, and loaded rows with a value under its confidence threshold.

The threshold of a field is the contract's policy for the engine that read the value (the fitted minimum of
that engine, else the field's ``min_confidence``, else the contract's; ocrflow.contracts.policy) when the
contract carries one, else :data:`DEFAULT_MIN_CONFIDENCE`. The queue is ordered lowest confidence
first (a quarantined row without evidence counts as 0: it failed its checks).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ocrflow.contracts import Contract
from ocrflow.pipeline.evidence.confidence import threshold
from ocrflow.store.base import Store

DEFAULT_MIN_CONFIDENCE = 0.6
"""Threshold of a field whose contract sets no ``min_confidence``."""
QUARANTINED = "quarantined"
LOW_CONFIDENCE = "low_confidence"
REASONS = (QUARANTINED, LOW_CONFIDENCE)


def min_confidence(contract: Contract | None, field_name: str, engine: str = "") -> float:
    """The field's threshold for a value ``engine`` read: the policy the load applied, else the default."""
    limit = threshold(contract, field_name, engine) if contract is not None else None
    return DEFAULT_MIN_CONFIDENCE if limit is None else limit


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


def _low_confidence(store: Store, contracts: dict[str, Contract]) -> list[QueueItem]:
    """Loaded documents with a non-null header value under its threshold."""
    items: dict[str, QueueItem] = {}
    for f in store.loaded_field_confidences():
        if f.confidence >= min_confidence(contracts.get(f.contract), f.field, f.engine):
            continue
        item = items.setdefault(f.sha256, QueueItem(f.sha256, f.contract, f.path, LOW_CONFIDENCE, ""))
        item.low_fields.append(f.field)
        item.confidence = f.confidence if item.confidence is None else min(item.confidence, f.confidence)
    for item in items.values():
        item.detail = "under threshold: " + ", ".join(item.low_fields)
    return list(items.values())


def review_queue(store: Store, contracts: dict[str, Contract], *, contract: str | None = None,
                 reason: str | None = None) -> Queue:
    """The queue, lowest confidence first, filtered by contract and reason; counts are of the unfiltered queue."""
    lowest = store.lowest_confidences()
    items = [QueueItem(e.sha256, e.contract, e.path, QUARANTINED, e.first_reasons(3), lowest.get(e.sha256))
             for e in store.quarantine_entries()]
    items.extend(_low_confidence(store, contracts))
    items.sort(key=lambda i: i.sort_key)
    shown = [i for i in items if (not contract or i.contract == contract) and (not reason or i.reason == reason)]
    return Queue(shown, dict(Counter(i.contract for i in items)), dict(Counter(i.reason for i in items)), len(items))
