"""The records the store's reads return (and the review's corrections it writes), free of SQL.

Every read of the ``Store`` protocol (``ocrflow.store.base``) answers with these records, the same on
DuckDB and PostgreSQL: JSON columns decoded, missing text as ``""``. Field evidence comes back as
:class:`~ocrflow.core.evidence.EvidenceRow`, the record ``write_batch`` stores.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SHORT_ID = 12
"""Characters of the document hash shown as its id (and the shortest prefix ``show`` accepts: 4)."""


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """One row of ``documents``: where the file was found and what became of it."""

    sha256: str
    path: str
    mime: str = ""
    size_bytes: int = 0
    state: str = ""
    contract: str = ""
    error: str = ""
    error_code: str = ""
    path_raw: str | None = None
    """The path's raw bytes, percent-escaped, when the name is not UTF-8 (else None)."""


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """One quarantined document as the store holds it."""

    sha256: str
    contract: str
    contract_version: str
    path: str
    reasons: list[dict[str, Any]]
    values: dict[str, Any]
    raw_values: dict[str, Any]
    engine: str
    model: str
    prompt_version: str
    flow_run_id: str
    quarantined_at: datetime | None

    @property
    def short_id(self) -> str:
        return self.sha256[:SHORT_ID]

    def first_reasons(self, n: int = 2) -> str:
        """The first ``n`` reason messages joined, with a count of the rest."""
        messages = [str(r.get("message") or r.get("check") or r) for r in self.reasons]
        more = f" (+{len(messages) - n} more)" if len(messages) > n else ""
        return "; ".join(messages[:n]) + more

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.short_id, "doc_sha256": self.sha256, "contract": self.contract,
                "contract_version": self.contract_version, "path": self.path, "reasons": self.reasons,
                "values": self.values, "raw_values": self.raw_values, "engine": self.engine, "model": self.model,
                "prompt_version": self.prompt_version, "flow_run_id": self.flow_run_id,
                "quarantined_at": self.quarantined_at.isoformat() if self.quarantined_at else None}


@dataclass(frozen=True, slots=True)
class StoredRow:
    """A document's row in its contract's clean table: the field values as stored, and how they were read."""

    sha256: str
    values: dict[str, Any]
    """Field name -> value in the column's Python type (Decimal, date, list, ...)."""
    raw_values: dict[str, Any]
    engine: str = ""
    model: str = ""
    prompt_version: str = ""
    flow_run_id: str = ""
    extracted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FieldConfidence:
    """One header field of a loaded document with a value and a confidence (the review queue's input)."""

    sha256: str
    contract: str
    path: str
    field: str
    confidence: float
    engine: str = ""
    """The engine that read the value (a fitted minimum holds only its engines' values)."""


@dataclass(frozen=True, slots=True)
class ReviewedDocument:
    """A document a reviewer approved that is loaded now, with the time of its last approval."""

    sha256: str
    path: str
    contract: str
    approved_at: datetime | None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(slots=True)
class Correction:
    """One change in review (``corrections``): ``action`` is ``edit`` (a field's value), ``approve`` or
    ``reject`` (the document)."""

    doc_sha256: str
    contract: str
    action: str
    reviewer: str
    field: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    reason: str | None = None
    line_no: int = 0
    at: datetime = dataclasses.field(default_factory=_now)
    id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)
    old: OldReading | None = None
    """An ``edit``'s machine reading: how and where the value it replaced was read (issue 20)."""
    issuer_id: str | None = None
    """The issuer the correction taught (``ocrflow.memory``), when memory learned from it."""

    def params(self) -> list[object]:
        """The row in ``CORRECTION_COLUMNS`` order."""
        old = self.old or OldReading()
        box = old.bbox or (None, None, None, None)
        return [self.id, self.doc_sha256, self.contract, self.field, self.line_no, self.old_value,
                self.new_value, self.action, self.reviewer, self.reason, self.at, old.raw, old.page_no, *box,
                old.source or None, old.method or None, old.confidence, self.issuer_id]


@dataclass(frozen=True, slots=True)
class OldReading:
    """The machine's evidence of a value a reviewer replaced (``corrections.old_*``)."""

    raw: str | None = None
    page_no: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    source: str = ""
    method: str = ""
    confidence: float | None = None


CORRECTION_COLUMNS = ("id", "doc_sha256", "contract", "field", "line_no", "old_value", "new_value", "action",
                      "reviewer", "reason", "at", "old_raw", "old_page_no", "old_x0", "old_y0", "old_x1", "old_y1",
                      "old_source", "old_method", "old_confidence", "issuer_id")
"""The first eleven since the first release; the rest ADDed by ``init_schema`` (``ocrflow.store.review_schema``)."""
