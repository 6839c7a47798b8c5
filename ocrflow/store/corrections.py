"""The ``corrections`` table: every change a reviewer made (``ocrflow review``), one row per field and action.

An approval writes one row per edited field (action ``edit``) and one ``approve`` row; a rejection one
``reject`` row with the reviewer's reason. Rows are only ever added: the table is the audit trail of
review, and ``ocrflow review export`` reads the reviewed documents back from it. The record is
:class:`~ocrflow.store.records.Correction`; ``Store.add_corrections`` writes it, ``Store.corrections`` reads it.
"""

from __future__ import annotations

from ocrflow.store.base import Store
from ocrflow.store.dialect import Dialect, sql_dialect
from ocrflow.store.records import CORRECTION_COLUMNS, Correction

__all__ = ["CORRECTION_COLUMNS", "Correction", "corrections_ddl", "write_corrections"]


def corrections_ddl(dialect: Dialect) -> list[str]:
    """CREATE TABLE of ``corrections`` (called from the base DDL of both stores)."""
    d = sql_dialect(dialect)
    txt, ts = d.text, d.timestamp
    return [f"""CREATE TABLE IF NOT EXISTS corrections (
  id {txt} PRIMARY KEY, doc_sha256 {txt} NOT NULL, contract {txt}, field {txt}, line_no INTEGER DEFAULT 0,
  old_value {txt}, new_value {txt}, action {txt} NOT NULL, reviewer {txt}, reason {txt}, "at" {ts})"""]


def write_corrections(store: Store, rows: list[Correction]) -> None:
    """Append ``rows`` in one transaction (the store must be open for writing): ``Store.add_corrections``."""
    store.add_corrections(rows)
