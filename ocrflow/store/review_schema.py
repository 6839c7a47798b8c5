"""Columns review added to ``field_evidence`` and ``corrections`` (issue 20), in both dialects.

``field_evidence``: ``reviewed_by`` / ``reviewed_at`` (a reviewer approved the row with this value left as the
machine read it: source, method, page, box and confidence stay), ``memory`` (JSON: the issuer, the kind of
fact and the corrections a value from issuer memory came from).

``corrections``: the machine's reading of a corrected field, beside ``old_value``: ``old_raw``, ``old_page_no``,
``old_x0``..``old_y1``, ``old_source``, ``old_method``, ``old_confidence``; and ``issuer_id`` (the issuer the
correction taught).

A store created before has none of them: ``init_schema`` (and the review app before its first decision,
``Store.ensure_review_schema``) add them with ``ADD COLUMN IF NOT EXISTS``, which both dialects read the same.
"""

from __future__ import annotations

from ocrflow.store.dialect import Dialect, sql_dialect

EVIDENCE_REVIEW_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # name, duckdb type, postgres type
    ("reviewed_by", "VARCHAR", "text"), ("reviewed_at", "TIMESTAMP", "timestamptz"), ("memory", "VARCHAR", "text"),
)
CORRECTION_EVIDENCE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("old_raw", "VARCHAR", "text"), ("old_page_no", "INTEGER", "integer"), ("old_x0", "DOUBLE", "double precision"),
    ("old_y0", "DOUBLE", "double precision"), ("old_x1", "DOUBLE", "double precision"),
    ("old_y1", "DOUBLE", "double precision"), ("old_source", "VARCHAR", "text"), ("old_method", "VARCHAR", "text"),
    ("old_confidence", "DOUBLE", "double precision"), ("issuer_id", "VARCHAR", "text"),
)


def review_columns_ddl(dialect: Dialect) -> list[str]:
    """ADD COLUMN IF NOT EXISTS of every review column (run after the tables' CREATE)."""
    d = sql_dialect(dialect)
    return [*(f"ALTER TABLE field_evidence ADD COLUMN IF NOT EXISTS {name} {d.pick(duck, pg)}"
              for name, duck, pg in EVIDENCE_REVIEW_COLUMNS),
            *(f"ALTER TABLE corrections ADD COLUMN IF NOT EXISTS {name} {d.pick(duck, pg)}"
              for name, duck, pg in CORRECTION_EVIDENCE_COLUMNS)]
