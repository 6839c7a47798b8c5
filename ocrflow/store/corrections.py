"""The ``corrections`` table: every change a reviewer made (``ocrflow review``), one row per field and action.

An approval writes one row per edited field (action ``edit``) and one ``approve`` row; a rejection one
``reject`` row with the reviewer's reason. Rows are only ever added: the table is the audit trail of
review, and ``ocrflow review export`` reads the reviewed documents back from it.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

from ocrflow.store.base import Dialect, Store

CORRECTION_COLUMNS = ("id", "doc_sha256", "contract", "field", "line_no", "old_value", "new_value", "action",
                      "reviewer", "reason", "at")


def corrections_ddl(dialect: Dialect) -> list[str]:
    """CREATE TABLE of ``corrections`` (called from the base DDL of both stores)."""
    txt = "VARCHAR" if dialect == "duckdb" else "TEXT"
    ts = "TIMESTAMP" if dialect == "duckdb" else "TIMESTAMPTZ"
    return [f"""CREATE TABLE IF NOT EXISTS corrections (
  id {txt} PRIMARY KEY, doc_sha256 {txt} NOT NULL, contract {txt}, field {txt}, line_no INTEGER DEFAULT 0,
  old_value {txt}, new_value {txt}, action {txt} NOT NULL, reviewer {txt}, reason {txt}, "at" {ts})"""]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclasses.dataclass(slots=True)
class Correction:
    """One change: ``action`` is ``edit`` (a field's value), ``approve`` or ``reject`` (the document)."""

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

    def params(self) -> list[object]:
        return [uuid.uuid4().hex, self.doc_sha256, self.contract, self.field, self.line_no, self.old_value,
                self.new_value, self.action, self.reviewer, self.reason, self.at]


def write_corrections(store: Store, rows: list[Correction]) -> None:
    """Append ``rows`` (the store must be open for writing)."""
    mark = "%s" if store.dialect == "postgres" else "?"
    cols = ", ".join(f'"{c}"' for c in CORRECTION_COLUMNS)
    marks = ", ".join(mark for _ in CORRECTION_COLUMNS)
    for row in rows:
        store.query(f"INSERT INTO corrections ({cols}) VALUES ({marks})", row.params())
