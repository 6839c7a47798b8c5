"""One document as the review page shows it: its values, their evidence, the failed checks, its pages."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ocrflow.contracts import Contract
from ocrflow.contracts.model import LINES_KEY
from ocrflow.core.models import PageText
from ocrflow.review.evidence import Evidence, document_evidence, mark
from ocrflow.review.queue import min_confidence
from ocrflow.store.base import Store
from ocrflow.store.quarantine import stored_pages
from ocrflow.store.schema import quote_ident, table_name


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


def _json(value: Any, default: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return default
    return default if value is None else value


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


def _document(store: Store, sha256: str) -> dict[str, Any]:
    cols, rows = store.query(f"SELECT sha256, path, mime, state, contract, error FROM documents "
                             f"WHERE sha256 = {mark(store)}", [sha256])
    if not rows:
        raise RecordNotFound(f"no registered document has the hash {sha256}")
    return dict(zip(cols, rows[0], strict=True))


def _row(store: Store, doc: dict[str, Any], contract: Contract | None) -> tuple[dict[str, Any], dict[str, Any],
                                                                            list[dict[str, Any]]]:
    """(values, raw values, reasons): the quarantine's for a quarantined row, else the clean table's."""
    m = mark(store)
    if doc["state"] == "quarantined" or contract is None:
        cols, rows = store.query(f'SELECT "values", raw_values, reasons FROM quarantine WHERE doc_sha256 = {m}',
                                 [doc["sha256"]])
        if rows:
            values, raw, reasons = rows[0]
            return _json(values, {}), _json(raw, {}), [r if isinstance(r, dict) else {"message": str(r)}
                                                       for r in _json(reasons, [])]
    if contract is None:
        return {}, {}, []
    names = ", ".join(quote_ident(n) for n in contract.field_names)
    cols, rows = store.query(f"SELECT {names}, raw_values FROM {table_name(contract)} WHERE doc_sha256 = {m}",
                             [doc["sha256"]])
    if not rows:
        return {}, {}, []
    row = dict(zip(cols, rows[0], strict=True))
    return row, _json(row.pop("raw_values"), {}), []


def reason_fields(reason: dict[str, Any]) -> set[str]:
    """The fields a failed check concerns (a cross-field rule names several)."""
    return {f for f in re.split(r"[\s,+]+", str(reason.get("field") or "")) if f}


def load_record(store: Store, sha256: str, contracts: dict[str, Contract]) -> Record:
    doc = _document(store, sha256)
    contract = contracts.get(str(doc["contract"] or ""))
    values, raw, reasons = _row(store, doc, contract)
    evidence = document_evidence(store, sha256)
    names = contract.field_names if contract else list(values)
    kinds = {f.name: f.kind for f in contract.fields} if contract else {}
    views = [FieldView(n, kinds.get(n, "text"), as_text(values.get(n)), as_text(raw.get(n)), evidence.get(n),
                       min_confidence(contract, n), [r for r in reasons if n in reason_fields(r)]) for n in names]
    other = [r for r in reasons if not reason_fields(r) & set(names)]
    return Record(sha256=sha256, path=str(doc["path"]), mime=str(doc["mime"] or ""), state=str(doc["state"]),
                  contract=str(doc["contract"] or ""), error=str(doc["error"] or ""), fields=views,
                  other_reasons=other, pages=stored_pages(store, sha256),
                  raw_lines=[ln for ln in raw.get(LINES_KEY) or [] if isinstance(ln, dict)])
