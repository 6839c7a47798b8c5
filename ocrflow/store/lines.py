"""The ``<contract>_line`` child tables: one row per line item, keyed (doc_sha256, line_no).

A contract with a line-item object (``ocrflowRole: lines``) gets a child table beside its clean table
(``invoice`` -> ``invoice_line``, a major version ``invoice_v2`` -> ``invoice_v2_line``) with the line
columns and the lineage columns. Each store calls :func:`lines_ddl` from ``init_schema``, and the batch writer
(``ocrflow.store.writer``) calls :func:`write_lines` inside the batch's transaction:
every document of the batch loses its stored lines, and the clean ones get theirs again. So a re-load
replaces a document's lines (never duplicates them), and a quarantined document has none in the clean
line table (its raw lines stay with its quarantine row, in ``raw_values.line_items``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ocrflow.contracts import Contract
from ocrflow.store.base import Batch
from ocrflow.store.dialect import Dialect, sql_dialect
from ocrflow.store.primitives import WriteTarget
from ocrflow.store.rows import json_column, last_outcomes
from ocrflow.store.schema import LINEAGE_COLUMNS, field_sql_type, table_name

LINE_LINEAGE: tuple[tuple[str, str, str], ...] = (
    ("doc_sha256", "VARCHAR", "TEXT"),
    ("source_path", "VARCHAR", "TEXT"),
    ("page_no", "INTEGER", "INTEGER"),
    *((n, d, p) for n, d, p in LINEAGE_COLUMNS if n not in ("doc_sha256", "source_path", "page_numbers")),
)
"""Lineage of one line: the document, the page the line was read from (NULL for XML), how it was read."""


def lines_table_name(contract: Contract) -> str:
    """``invoice_line`` (or ``invoice_v2_line`` for a major version above 1)."""
    base = contract.lines_table or f"{contract.table}_line"
    return base if contract.major <= 1 else f"{table_name(contract)}_line"


def line_columns(contract: Contract, dialect: Dialect) -> list[tuple[str, str]]:
    d = sql_dialect(dialect)
    cols = [(f.name, "INTEGER" if f.name == "line_no" else field_sql_type(f, dialect)) for f in contract.lines]
    return [*cols, *((name, d.pick(duck, pg)) for name, duck, pg in LINE_LINEAGE)]


def lines_ddl(contracts: Sequence[Contract], dialect: Dialect) -> list[str]:
    """CREATE TABLE IF NOT EXISTS per line table, then ADD COLUMN IF NOT EXISTS for every column (new
    optional line columns reach existing stores; a no-op where they are there)."""
    out: list[str] = []
    for contract in contracts:
        if not contract.lines:
            continue
        table = lines_table_name(contract)
        cols = line_columns(contract, dialect)
        body = ",\n  ".join(f"{n} {t}" for n, t in cols)
        out.append(f"CREATE TABLE IF NOT EXISTS {table} (\n  {body},\n  PRIMARY KEY (doc_sha256, line_no))")
        out.extend(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {n} {t}" for n, t in cols[1:])
    return out


def _batch_hashes(batch: Batch) -> list[str]:
    return sorted({o.doc.sha256 for o in batch.rows} | {d.sha256 for d in batch.documents})


def line_rows(batch: Batch, contract: Contract) -> list[list[Any]]:
    """The clean lines of ``contract`` in the batch, one list per line in ``line_columns`` order."""
    out: list[list[Any]] = []
    for o in last_outcomes([o for o in batch.rows if o.contract == contract.name]):
        if not o.clean:
            continue
        lin = o.lineage
        seen: set[int] = set()
        for line in o.lines:
            no = int(line["line_no"])
            if no in seen:
                continue
            seen.add(no)
            out.append([*(line.get(f.name) for f in contract.lines), o.doc.sha256, o.doc.path,
                        line.get("page_no"), lin.get("engine"), lin.get("model"), lin.get("prompt_version", ""),
                        contract.name, contract.version, lin.get("flow_run_id"), lin.get("extracted_at"),
                        line.get("raw")])
    return out


def _columns(rows: list[list[Any]], width: int) -> list[list[Any]]:
    cols = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]
    cols[-1] = json_column(cols[-1])
    return cols


def write_lines(target: WriteTarget, batch: Batch, contracts: dict[str, Contract]) -> None:
    """Replace the lines of the batch's documents, inside the batch's transaction: every document of the
    batch loses its stored lines, the clean ones get theirs again."""
    shas = _batch_hashes(batch)
    if not shas:
        return
    for contract in contracts.values():
        if not contract.lines:
            continue
        table = lines_table_name(contract)
        target.execute(f"DELETE FROM {table} WHERE {target.sql.in_list('doc_sha256', len(shas))}", [shas])
        rows = line_rows(batch, contract)
        if not rows:
            continue
        cols = line_columns(contract, target.sql.name)
        target.execute(target.sql.insert_arrays(table, cols),
                       target.sql.array_params(cols, _columns(rows, len(cols))))
