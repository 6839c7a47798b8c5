"""The ``field_evidence`` rows the review page shows, and the update an approval makes to them.

The table (one row per document, field and line; schema in the issue-11 evidence module) may be
absent from an older store: then every field shows without evidence, and an approval records its
corrections only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ocrflow.store.base import Store

EVIDENCE_TABLE = "field_evidence"
_COLUMNS = ("field", "line_no", "value", "raw", "page_no", "x0", "y0", "x1", "y1", "page_width", "page_height",
            "source", "method", "confidence", "grounding")


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


def mark(store: Store) -> str:
    """The query placeholder of the store's driver (DuckDB ``?``, psycopg ``%s``)."""
    return "%s" if store.dialect == "postgres" else "?"


def has_table(store: Store, table: str) -> bool:
    _, rows = store.query("SELECT 1 FROM information_schema.tables WHERE table_name = "
                          f"{mark(store)} AND table_schema = current_schema()", [table])
    return bool(rows)


def _evidence(row: dict[str, Any]) -> Evidence:
    box = (row["x0"], row["y0"], row["x1"], row["y1"])
    size = (row["page_width"], row["page_height"])
    return Evidence(
        field=str(row["field"]), value=None if row["value"] is None else str(row["value"]),
        raw=None if row["raw"] is None else str(row["raw"]),
        page_no=None if row["page_no"] is None else int(row["page_no"]),
        bbox=tuple(float(v) for v in box) if None not in box else None,  # type: ignore[arg-type]
        page_size=(int(size[0]), int(size[1])) if None not in size else None,
        source=str(row["source"] or ""), method=str(row["method"] or ""),
        confidence=None if row["confidence"] is None else float(row["confidence"]),
        grounding=str(row["grounding"] or ""))


def document_evidence(store: Store, sha256: str) -> dict[str, Evidence]:
    """The header fields' evidence of one document (line items are not reviewed here), by field."""
    if not has_table(store, EVIDENCE_TABLE):
        return {}
    cols, rows = store.query(f"SELECT {', '.join(_COLUMNS)} FROM {EVIDENCE_TABLE} WHERE doc_sha256 = {mark(store)} "
                             "AND line_no = 0", [sha256])
    return {e.field: e for e in (_evidence(dict(zip(cols, r, strict=True))) for r in rows)}


def mark_human(store: Store, sha256: str, contract: str, values: dict[str, str | None], reviewer: str) -> None:
    """The reviewed fields' evidence becomes source ``human``, confidence 1, with the approved value.

    The box and page stay (the value is still printed there); a field without evidence gets a row
    without a box."""
    if not values or not has_table(store, EVIDENCE_TABLE):
        return
    m = mark(store)
    now = datetime.now(UTC).replace(tzinfo=None)
    for name, value in values.items():
        _, found = store.query(f"SELECT 1 FROM {EVIDENCE_TABLE} WHERE doc_sha256 = {m} AND field = {m} "
                               "AND line_no = 0", [sha256, name])
        if found:
            store.query(f"UPDATE {EVIDENCE_TABLE} SET value = {m}, source = 'human', method = {m}, "
                        f"confidence = 1.0, updated_at = {m} WHERE doc_sha256 = {m} AND field = {m} AND line_no = 0",
                        [value, f"review:{reviewer}", now, sha256, name])
        else:
            store.query(f"INSERT INTO {EVIDENCE_TABLE} (doc_sha256, contract, field, line_no, value, source, method, "
                        f"confidence, updated_at) VALUES ({m}, {m}, {m}, 0, {m}, 'human', {m}, 1.0, {m})",
                        [sha256, contract, name, value, f"review:{reviewer}", now])
