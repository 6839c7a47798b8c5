"""The field evidence the review page shows, as the store reads it (``Store.field_evidence``).

The store may lack the evidence table (an older store): then every field shows without evidence, and
an approval records its corrections only (``Store.mark_human`` does nothing there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
    line_no: int = 0
    reviewed_by: str = ""
    reviewed_at: datetime | None = None
    memory: dict[str, Any] | None = None
    """The issuer memory note of the value (``field_evidence.memory``): issuer, kind, corrections, applied."""
    engine: str = ""
    """The engine that read the value (its minimum may be one fitted on that engine's values)."""

    @classmethod
    def of(cls, row: EvidenceRow) -> Evidence:
        """The view of one stored evidence row."""
        size = (row.page_width, row.page_height)
        return cls(field=row.field, value=row.value, raw=row.raw, page_no=row.page_no, bbox=row.bbox,
                   page_size=(size[0], size[1]) if size[0] is not None and size[1] is not None else None,
                   source=row.source, method=row.method, confidence=row.confidence, grounding=row.grounding,
                   line_no=row.line_no, reviewed_by=row.reviewed_by, reviewed_at=row.reviewed_at,
                   memory=_note(row.memory), engine=row.engine)

    @property
    def from_memory(self) -> bool:
        return bool(self.memory and self.memory.get("applied"))

    @property
    def memory_text(self) -> str:
        """"from 3 corrections on this issuer" (or approvals, when no value was ever corrected)."""
        if not self.memory:
            return ""
        edits, approvals = len(self.memory.get("corrections") or []), int(self.memory.get("approvals") or 0)
        what = (f"{edits} correction{'s' if edits != 1 else ''}" if edits else
                f"{approvals} approval{'s' if approvals != 1 else ''}")
        verb = "from" if self.memory.get("applied") else "agrees with memory,"
        return f"{verb} {what} on this issuer"


def _note(text: str) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        note = json.loads(text)
    except json.JSONDecodeError:
        return None
    return note if isinstance(note, dict) else None


def document_evidence(store: Store, sha256: str) -> dict[str, Evidence]:
    """The header fields' evidence of one document, by field."""
    return {row.field: Evidence.of(row) for row in store.field_evidence(sha256, line_no=0)}


def line_evidence(store: Store, sha256: str) -> dict[int, dict[str, Evidence]]:
    """The line items' evidence of one document: line number -> column -> evidence."""
    out: dict[int, dict[str, Evidence]] = {}
    for row in store.field_evidence(sha256):
        if row.line_no:
            out.setdefault(row.line_no, {})[row.field] = Evidence.of(row)
    return out
