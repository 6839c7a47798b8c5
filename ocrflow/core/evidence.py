"""Field evidence: for every value of a row, where it came from and how sure the pipeline is.

One :class:`EvidenceRow` per (document, field, line_no), null values included, stored in the
``field_evidence`` table (``ocrflow.store.evidence``). Built by ``ocrflow.pipeline.evidence.collect``,
scored by ``ocrflow.pipeline.evidence.confidence``; docs/confidence.md explains the columns and the score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Source = Literal["einvoice_xml", "text_layer", "ocr", "vlm", "human"]
Grounding = Literal["exact", "fuzzy", "absent"]
SOURCES: tuple[str, ...] = ("einvoice_xml", "text_layer", "ocr", "vlm", "human")
GROUNDINGS: tuple[str, ...] = ("exact", "fuzzy", "absent")
BBox = tuple[float, float, float, float]


@dataclass(slots=True)
class EvidenceRow:
    """Where one field's value came from. ``bbox`` is in the page's pixel grid (``page_width`` x ``page_height``)."""

    doc_sha256: str
    contract: str
    field: str
    value: str | None
    raw: str | None
    source: str
    method: str
    confidence: float | None
    grounding: str
    line_no: int = 0
    page_no: int | None = None
    bbox: BBox | None = None
    page_width: int | None = None
    page_height: int | None = None
    engine: str = ""
    model: str = ""
    prompt_version: str = ""
    run_id: str = ""
    updated_at: datetime | None = None
    reviewed_by: str = ""
    """The reviewer who approved the row with this value as the machine read it (issue 20), else empty."""
    reviewed_at: datetime | None = None
    memory: str = ""
    """JSON naming the issuer memory a value came from (method ``memory:*``): issuer, kind, corrections."""
    signals: dict[str, float] | None = None
    """The inputs of the confidence (not stored; kept for the eval report and tests)."""

    @property
    def located(self) -> bool:
        return self.page_no is not None and self.bbox is not None
