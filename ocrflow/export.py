"""Export the clean contract tables as Parquet, partitioned by the month of the document's date.

Layout: ``OUT/<table>/month=YYYY-MM/data_0.parquet`` (hive partitioning; rows without a date
go to ``month=unknown``). The month comes from the contract's first DATE field (for example
``invoice_date``); a contract without one puts every row under ``month=unknown``.

DuckDB writes the files in both cases (``COPY ... (FORMAT parquet, PARTITION_BY (month))``):
a DuckDB store copies straight from its table; a PostgreSQL table is first streamed into an
in-memory DuckDB table with the same DDL, so both stores give identical Parquet schemas.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb

from ocrflow.contracts import Contract
from ocrflow.store.base import Store, StoreError
from ocrflow.store.duckdb_store import DuckDBStore
from ocrflow.store.schema import contract_columns, contract_ddl, date_field, table_name
from ocrflow.store.staging import arrow_table

MONTH_COLUMN = "month"


def export_parquet(store: Store, out_dir: Path, contracts: Iterable[Contract]) -> list[Path]:
    """Write each contract's clean table under ``out_dir/<table>/``; return the Parquet files written.

    A contract whose table does not exist yet is skipped. Existing files of an exported table are
    replaced (the table folder is rewritten).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for contract in contracts:
        if not _has_table(store, table_name(contract)):
            continue
        target = out_dir / table_name(contract)
        if isinstance(store, DuckDBStore):
            _copy_partitioned(store.con, contract, table_name(contract), target)
        else:
            _export_mirrored(store, contract, target)
        written.extend(sorted(target.rglob("*.parquet")))
    return written


def month_expr(contract: Contract) -> str:
    """SQL (DuckDB) for the partition value: ``YYYY-MM`` of the first DATE field, else ``unknown``."""
    field = date_field(contract)
    if field is None:
        return "'unknown'"
    return f"""coalesce(strftime("{field}", '%Y-%m'), 'unknown')"""


def _has_table(store: Store, table: str) -> bool:
    _, rows = store.query("SELECT count(*) FROM information_schema.tables WHERE table_name = "
                          + ("%s" if store.dialect == "postgres" else "?")
                          + " AND table_schema = current_schema()", [table])
    return bool(rows and rows[0][0])


def _copy_partitioned(con: duckdb.DuckDBPyConnection, contract: Contract, source: str, target: Path) -> None:
    if MONTH_COLUMN in contract.field_names:
        raise StoreError(f"contract {contract.name} has a field named {MONTH_COLUMN!r}, the partition column")
    cols = ", ".join(f'"{n}"' for n, _ in contract_columns(contract, "duckdb"))
    path = str(target).replace("'", "''")
    con.execute(f"COPY (SELECT {cols}, {month_expr(contract)} AS {MONTH_COLUMN} FROM {source}) TO '{path}' "
                f"(FORMAT parquet, PARTITION_BY ({MONTH_COLUMN}), OVERWRITE)")


def _export_mirrored(store: Store, contract: Contract, target: Path) -> None:
    """Stream the (PostgreSQL) table into an in-memory DuckDB table of the same DDL, then COPY it out."""
    mirror = DuckDBStore(":memory:")
    try:
        mirror.con.execute(contract_ddl(contract, "duckdb"))
        cols = contract_columns(contract, "duckdb")
        names, types = [n for n, _ in cols], [t for _, t in cols]
        select = ", ".join(f'"{n}"' for n in names)
        json_cols = {i for i, t in enumerate(types) if t == "JSON"}
        for _, chunk in store.iter_rows(f"SELECT {select} FROM {table_name(contract)}"):
            rows = [_from_pg(r, json_cols) for r in chunk]
            data = [list(c) for c in zip(*rows, strict=True)]
            mirror.con.register("_export_chunk", arrow_table(names, types, data))
            casts = ", ".join(f'CAST("{n}" AS {t})' for n, t in cols)
            mirror.con.execute(f"INSERT INTO {table_name(contract)} SELECT {casts} FROM _export_chunk")
            mirror.con.unregister("_export_chunk")
        _copy_partitioned(mirror.con, contract, table_name(contract), target)
    finally:
        mirror.close()


def _from_pg(row: tuple[Any, ...], json_cols: set[int]) -> list[Any]:
    """JSONB arrives decoded; DuckDB's JSON column wants the text again."""
    return [json.dumps(v, ensure_ascii=False) if i in json_cols and v is not None and not isinstance(v, str)
            else v for i, v in enumerate(row)]
