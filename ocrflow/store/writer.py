"""The batch writer: the order of one batch's writes, run once over either store's primitives.

As olmocr's work queue runs its logic over a ``Backend``, :func:`write_batch` runs over a
:class:`~ocrflow.store.primitives.WriteTarget` (``DuckDBWrites`` or ``PgLoad``), in one transaction:

1. business-key duplicates: clean rows whose key is taken turn quarantined (``business_keys``);
2. pages (replaced by document and page number);
3. per contract, clean rows (replacing the document's row, leaving the quarantine) and quarantined
   rows (out of the clean table, replacing the quarantine row);
4. document states (claims of documents that reached a final state are dropped);
5. the paths a document was found under (``paths``);
6. line items (``lines``) and field evidence (``evidence``) of the batch's documents.

Every write replaces by key, so a batch written twice leaves what one write leaves.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ocrflow.contracts import Contract
from ocrflow.core.models import RowOutcome
from ocrflow.store.base import Batch, DocumentUpdate
from ocrflow.store.business_keys import mark_duplicates
from ocrflow.store.dialect import quote_ident
from ocrflow.store.documents import CLEAR_FINAL_CLAIMS_SET, register_guard
from ocrflow.store.evidence import write_evidence
from ocrflow.store.lines import write_lines
from ocrflow.store.paths import write_paths
from ocrflow.store.primitives import WriteTarget
from ocrflow.store.rows import (
    PAGE_COLUMNS,
    QUARANTINE_COLUMNS,
    page_params,
    quarantine_params,
    row_columns,
    row_params,
    split_rows,
)
from ocrflow.store.schema import contract_columns, table_name

__all__ = ["delete_keys", "register", "write_batch", "write_evidence", "write_lines", "write_paths"]


def write_batch(target: WriteTarget, batch: Batch, contracts: dict[str, Contract], now: datetime) -> None:
    """Everything ``batch`` holds, in one transaction of ``target`` (the module docstring gives the order)."""
    with target.transaction():
        mark_duplicates(batch, contracts, target)
        write_pages(target, batch, now)
        for (name, clean), outcomes in split_rows(batch, contracts).items():
            if clean:
                load_rows(target, outcomes, contracts[name])
            else:
                quarantine_rows(target, outcomes, contracts[name], now)
        target.upsert_documents(batch.documents, batch.run_id, now, set_extra=CLEAR_FINAL_CLAIMS_SET)
        write_paths(target, batch.paths, batch.run_id, now)
        write_lines(target, batch, contracts)
        write_evidence(target, batch, now)


def register(target: WriteTarget, docs: list[DocumentUpdate], run_id: str, now: datetime, *,
             keep_final: bool) -> None:
    """Upsert documents in one transaction; a live claim is left alone, and so is a final state when
    ``keep_final``."""
    if not docs:
        return
    with target.transaction():
        target.upsert_documents(docs, run_id, now, where=register_guard(target.now_sql(now), keep_final=keep_final))


def delete_keys(target: WriteTarget, table: str, column: str, keys: Sequence[Any]) -> None:
    """DELETE the rows of ``table`` whose ``column`` is one of ``keys``."""
    if keys:
        target.execute(f"DELETE FROM {quote_ident(table)} WHERE "
                       f"{target.sql.in_list(quote_ident(column), len(keys))}", [list(keys)])


def columns_of(rows: list[list[Any]], key: Sequence[int]) -> list[list[Any]]:
    """Rows as one list per column, the last row per key winning (in first-seen order)."""
    distinct = list({tuple(r[i] for i in key): r for r in rows}.values())
    return [list(c) for c in zip(*distinct, strict=True)]


def write_pages(target: WriteTarget, batch: Batch, now: datetime) -> None:
    rows = [page_params(sha, p, batch.run_id, now) for sha, p in batch.pages]
    if rows:
        target.replace("pages", PAGE_COLUMNS, columns_of(rows, (0, 1)), key=("doc_sha256", "page_no"))


def load_rows(target: WriteTarget, outcomes: list[RowOutcome], contract: Contract) -> None:
    """Clean rows of one contract (one per document: ``split_rows``); they leave the quarantine."""
    cols = contract_columns(contract, target.sql.name)
    names, types = [n for n, _ in cols], [t for _, t in cols]
    if len(outcomes) >= target.bulk_threshold:
        data = row_columns(outcomes, contract)
    else:
        data = [list(c) for c in zip(*(row_params(o, contract) for o in outcomes), strict=True)]
    target.replace(table_name(contract), names, data, key=("doc_sha256",), types=types, leave="quarantine")


def quarantine_rows(target: WriteTarget, outcomes: list[RowOutcome], contract: Contract, now: datetime) -> None:
    """Quarantined rows of one contract: out of its clean table, into the quarantine."""
    delete_keys(target, table_name(contract), "doc_sha256", [o.doc.sha256 for o in outcomes])
    rows = [quarantine_params(o, contract, now) for o in outcomes]
    target.replace("quarantine", QUARANTINE_COLUMNS, columns_of(rows, (0,)), key=("doc_sha256",))
