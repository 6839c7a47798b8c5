"""One document as the review page shows it: its values, their evidence, the failed checks, its line items with
their evidence, what issuer memory did on it, its pages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ocrflow.contracts import Contract
from ocrflow.contracts.model import LINES_KEY
from ocrflow.core.models import PageText
from ocrflow.review.evidence import Evidence, document_evidence, line_evidence
from ocrflow.review.queue import min_confidence
from ocrflow.store.base import Store
from ocrflow.store.records import StoredDocument


class RecordNotFound(LookupError):
    """No registered document has this hash."""


def as_text(value: Any) -> str:
    """A stored value as the form shows it (lists joined by ``; ``, which coercion splits again)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "; ".join(as_text(v) for v in value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass(slots=True)
class FieldView:
    name: str
    kind: str
    value: str
    raw: str
    evidence: Evidence | None
    threshold: float
    reasons: list[dict[str, Any]] = field(default_factory=list)

    @property
    def confidence(self) -> float | None:
        return self.evidence.confidence if self.evidence else None

    @property
    def reviewed(self) -> str:
        """"reviewed by X" when a reviewer approved this value as the machine read it."""
        ev = self.evidence
        return f"reviewed by {ev.reviewed_by}" if ev and ev.reviewed_by and ev.source != "human" else ""

    @property
    def level(self) -> str:
        """``low`` under the threshold, ``mid`` under 0.9, ``high`` otherwise, ``none`` without a score."""
        c = self.confidence
        if c is None:
            return "none"
        return "low" if c < self.threshold else "mid" if c < 0.9 else "high"


@dataclass(slots=True)
class Record:
    sha256: str
    path: str
    mime: str
    state: str
    contract: str
    error: str
    fields: list[FieldView]
    other_reasons: list[dict[str, Any]]
    pages: list[PageText]
    raw_lines: list[dict[str, Any]] = field(default_factory=list)
    """The document's line items as read (``raw_values.line_items``): an approval loads them with the header."""
    line_columns: list[str] = field(default_factory=list)
    lines: list[LineView] = field(default_factory=list)
    issuer_id: str = ""
    """The issuer memory gave values from (``field_evidence.memory``), else empty."""
    issuer_known: bool = False
    """Whether memory still knows that issuer (it may have been forgotten since)."""

    @property
    def memory_fields(self) -> list[FieldView]:
        return [f for f in self.fields if f.evidence is not None and f.evidence.memory]

    @property
    def boxed_lines(self) -> list[Evidence]:
        """The line items' evidence that has a box (drawn on the page beside the header's)."""
        return [ev for ln in self.lines for ev in ln.cells.values() if ev is not None and ev.bbox]


@dataclass(slots=True)
class LineView:
    """One line item as stored, each column's value with its evidence."""

    line_no: int
    values: dict[str, str]
    cells: dict[str, Evidence | None]


def _document(store: Store, sha256: str) -> StoredDocument:
    doc = store.document(sha256)
    if doc is None:
        raise RecordNotFound(f"no registered document has the hash {sha256}")
    return doc


def _row(store: Store, doc: StoredDocument, contract: Contract | None) -> tuple[dict[str, Any], dict[str, Any],
                                                                               list[dict[str, Any]]]:
    """(values, raw values, reasons): the quarantine's for a quarantined row, else the clean table's."""
    if doc.state == "quarantined" or contract is None:
        entry = store.quarantine_entry(doc.sha256)
        if entry is not None:
            return entry.values, entry.raw_values, entry.reasons
    if contract is None:
        return {}, {}, []
    row = store.contract_row(contract, doc.sha256)
    if row is None:
        return {}, {}, []
    return row.values, row.raw_values, []


def _engine(evidence: Evidence | None) -> str:
    return evidence.engine if evidence is not None else ""


def reason_fields(reason: dict[str, Any]) -> set[str]:
    """The fields a failed check concerns (a cross-field rule names several)."""
    return {f for f in re.split(r"[\s,+]+", str(reason.get("field") or "")) if f}


def load_record(store: Store, sha256: str, contracts: dict[str, Contract]) -> Record:
    doc = _document(store, sha256)
    contract = contracts.get(doc.contract)
    values, raw, reasons = _row(store, doc, contract)
    evidence = document_evidence(store, sha256)
    names = contract.field_names if contract else list(values)
    kinds = {f.name: f.kind for f in contract.fields} if contract else {}
    views = [FieldView(n, kinds.get(n, "text"), as_text(values.get(n)), as_text(raw.get(n)), evidence.get(n),
                       min_confidence(contract, n, _engine(evidence.get(n))),
                       [r for r in reasons if n in reason_fields(r)]) for n in names]
    other = [r for r in reasons if not reason_fields(r) & set(names)]
    raw_lines = [ln for ln in raw.get(LINES_KEY) or [] if isinstance(ln, dict)]
    columns = [c for c in (list(contract.line_names) if contract else []) if c != "line_no"]
    issuer = next((str(v.evidence.memory.get("issuer") or "") for v in views if v.evidence and v.evidence.memory), "")
    return Record(sha256=sha256, path=doc.path, mime=doc.mime, state=doc.state, contract=doc.contract,
                  error=doc.error, fields=views, other_reasons=other, pages=store.stored_pages(sha256),
                  raw_lines=raw_lines, line_columns=columns, lines=line_views(store, sha256, columns, raw_lines),
                  issuer_id=issuer, issuer_known=bool(issuer) and bool(store.issuer_keys(issuer)))


def line_views(store: Store, sha256: str, columns: list[str], raw_lines: list[dict[str, Any]]) -> list[LineView]:
    """The line items with their evidence (stored per line and column); without evidence, as read."""
    evidence = line_evidence(store, sha256) if columns else {}
    if evidence:
        return [LineView(n, {c: (cells[c].value or "") if c in cells else "" for c in columns},
                         {c: cells.get(c) for c in columns}) for n, cells in sorted(evidence.items())]
    return [LineView(i, {c: as_text(ln.get(c)) for c in columns}, dict.fromkeys(columns))
            for i, ln in enumerate(raw_lines, 1)]
