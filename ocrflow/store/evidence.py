"""The ``field_evidence`` table: one row per (document, field, line_no) with where the value came from.

Written inside each batch's transaction (:func:`write_evidence`, from the batch writer): the evidence of
every document that has a row in the batch replaces what was stored for it (a reprocess or a re-load
leaves no stale rows). ``line_no`` 0 is a header field, n a line item's field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ocrflow.core.evidence import EvidenceRow
from ocrflow.store.base import Batch
from ocrflow.store.dialect import Dialect, sql_dialect
from ocrflow.store.primitives import WriteTarget
from ocrflow.store.review_schema import EVIDENCE_REVIEW_COLUMNS

EVIDENCE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # name, duckdb type, postgres type
    ("doc_sha256", "VARCHAR", "text"), ("contract", "VARCHAR", "text"), ("field", "VARCHAR", "text"),
    ("line_no", "INTEGER", "integer"), ("value", "VARCHAR", "text"), ("raw", "VARCHAR", "text"),
    ("page_no", "INTEGER", "integer"), ("x0", "DOUBLE", "double precision"),
    ("y0", "DOUBLE", "double precision"), ("x1", "DOUBLE", "double precision"),
    ("y1", "DOUBLE", "double precision"), ("page_width", "INTEGER", "integer"),
    ("page_height", "INTEGER", "integer"), ("source", "VARCHAR", "text"), ("method", "VARCHAR", "text"),
    ("confidence", "DOUBLE", "double precision"), ("grounding", "VARCHAR", "text"),
    ("engine", "VARCHAR", "text"), ("model", "VARCHAR", "text"), ("prompt_version", "VARCHAR", "text"),
    ("run_id", "VARCHAR", "text"), ("updated_at", "TIMESTAMP", "timestamptz"),
    *EVIDENCE_REVIEW_COLUMNS,  # reviewed_by, reviewed_at, memory: ADDed by init_schema (ocrflow.store.review_schema)
)
EVIDENCE_TABLE = "field_evidence"


def evidence_ddl(dialect: Dialect) -> str:
    d = sql_dialect(dialect)
    ts, txt, dbl = d.timestamp, d.text, d.double
    return f"""CREATE TABLE IF NOT EXISTS {EVIDENCE_TABLE} (
  doc_sha256 {txt} NOT NULL, contract {txt}, field {txt} NOT NULL, line_no INTEGER NOT NULL DEFAULT 0,
  value {txt}, raw {txt}, page_no INTEGER, x0 {dbl}, y0 {dbl}, x1 {dbl}, y1 {dbl}, page_width INTEGER,
  page_height INTEGER, source {txt}, method {txt}, confidence {dbl}, grounding {txt}, engine {txt},
  model {txt}, prompt_version {txt}, run_id {txt}, updated_at {ts},
  PRIMARY KEY (doc_sha256, field, line_no))"""


def evidence_params(ev: EvidenceRow, run_id: str, now: datetime) -> tuple[Any, ...]:
    box = ev.bbox or (None, None, None, None)
    return (ev.doc_sha256, ev.contract, ev.field, ev.line_no, ev.value, ev.raw, ev.page_no, *box,
            ev.page_width, ev.page_height, ev.source, ev.method, ev.confidence, ev.grounding, ev.engine,
            ev.model, ev.prompt_version, ev.run_id or run_id, ev.updated_at or now, ev.reviewed_by or None,
            ev.reviewed_at, ev.memory or None)


def evidence_columns(batch: Batch, now: datetime) -> list[list[Any]]:
    """The batch's evidence column by column, the last row per key winning."""
    keyed = {(e.doc_sha256, e.field, e.line_no): evidence_params(e, batch.run_id, now) for e in batch.evidence}
    rows = list(keyed.values())
    return [[r[i] for r in rows] for i in range(len(EVIDENCE_COLUMNS))]


def replaced_documents(batch: Batch) -> list[str]:
    """Documents whose stored evidence this batch replaces: those with a row in it."""
    return sorted({o.doc.sha256 for o in batch.rows} | {e.doc_sha256 for e in batch.evidence})


def write_evidence(target: WriteTarget, batch: Batch, now: datetime) -> None:
    """Replace the evidence of the batch's documents, inside the batch's transaction."""
    docs = replaced_documents(batch)
    if not docs:
        return
    target.execute(f"DELETE FROM {EVIDENCE_TABLE} WHERE {target.sql.in_list('doc_sha256', len(docs))}", [docs])
    if not batch.evidence:
        return
    cols = [(name, target.sql.pick(duck, pg)) for name, duck, pg in EVIDENCE_COLUMNS]
    target.execute(target.sql.insert_arrays(EVIDENCE_TABLE, cols),
                   target.sql.array_params(cols, evidence_columns(batch, now)))
