"""The field evidence the review page shows, as the store reads it (``Store.field_evidence``).

The store may lack the evidence table (an older store): then every field shows without evidence, and
an approval records its corrections only (``Store.mark_human`` does nothing there).
"""

from __future__ import annotations

from dataclasses import dataclass

from ocrflow.core.evidence import EvidenceRow
from ocrflow.store.base import Store


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where one header field's value came from and how sure the pipeline is of it."""

    field: str
    value: str | None
    raw: str | None
    page_no: int | None
    bbox: tuple[float, float, float, float] | None
    page_size: tuple[int, int] | None
    source: str
    method: str
    confidence: float | None
    grounding: str

    @classmethod
    def of(cls, row: EvidenceRow) -> Evidence:
        """The view of one stored evidence row."""
        size = (row.page_width, row.page_height)
        return cls(field=row.field, value=row.value, raw=row.raw, page_no=row.page_no, bbox=row.bbox,
                   page_size=(size[0], size[1]) if size[0] is not None and size[1] is not None else None,
                   source=row.source, method=row.method, confidence=row.confidence, grounding=row.grounding)


def document_evidence(store: Store, sha256: str) -> dict[str, Evidence]:
    """The header fields' evidence of one document (line items are not reviewed here), by field."""
    return {row.field: Evidence.of(row) for row in store.field_evidence(sha256, line_no=0)}
