"""A clean table as Parquet files, partitioned by the month of the document's date (``Store.export_parquet``).

Layout: ``<target>/month=YYYY-MM/data_0.parquet`` (hive partitioning; rows without a date go to
``month=unknown``). The month comes from the contract's first DATE field (for example
``invoice_date``); a contract without one puts every row under ``month=unknown``.

DuckDB writes the files for both stores (``COPY ... (FORMAT parquet, PARTITION_BY (month))``): a
DuckDB store copies straight from its table (:func:`copy_partitioned`); a PostgreSQL table is first
streamed into an in-memory DuckDB table with the same DDL (:func:`mirror_partitioned`), so both
stores give identical Parquet schemas.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb

from ocrflow.contracts import Contract
from ocrflow.store.base import StoreError
from ocrflow.store.dialect import quote_ident
from ocrflow.store.schema import contract_columns, contract_ddl, date_field, table_name
from ocrflow.store.staging import arrow_table

MONTH_COLUMN = "month"


def month_expr(contract: Contract) -> str:
    """SQL (DuckDB) for the partition value: ``YYYY-MM`` of the first DATE field, else ``unknown``."""
    field = date_field(contract)
    if field is None:
        return "'unknown'"
    return f"coalesce(strftime({quote_ident(field)}, '%Y-%m'), 'unknown')"


def select_columns(contract: Contract) -> str:
    """The SELECT list of the clean table's columns, in DDL order."""
    return ", ".join(quote_ident(n) for n, _ in contract_columns(contract, "duckdb"))


def copy_partitioned(con: duckdb.DuckDBPyConnection, contract: Contract, target: Path) -> None:
    """COPY the contract's clean table of ``con`` to Parquet under ``target`` (rewritten)."""
    if MONTH_COLUMN in contract.field_names:
        raise StoreError(f"contract {contract.name} has a field named {MONTH_COLUMN!r}, the partition column")
    path = str(target).replace("'", "''")
    con.execute(f"COPY (SELECT {select_columns(contract)}, {month_expr(contract)} AS {MONTH_COLUMN} "
                f"FROM {table_name(contract)}) TO '{path}' (FORMAT parquet, PARTITION_BY ({MONTH_COLUMN}), OVERWRITE)")


def mirror_partitioned(chunks: Iterable[list[tuple[Any, ...]]], contract: Contract, target: Path) -> None:
    """Stream ``chunks`` of the clean table's rows (``select_columns`` order; JSON decoded or not) into an
    in-memory DuckDB table of the same DDL, then :func:`copy_partitioned` it."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(contract_ddl(contract, "duckdb"))
        cols = contract_columns(contract, "duckdb")
        names, types = [n for n, _ in cols], [t for _, t in cols]
        json_cols = {i for i, t in enumerate(types) if t == "JSON"}
        casts = ", ".join(f"CAST({quote_ident(n)} AS {t})" for n, t in cols)
        for chunk in chunks:
            rows = [_json_as_text(r, json_cols) for r in chunk]
            con.register("_export_chunk", arrow_table(names, types, [list(c) for c in zip(*rows, strict=True)]))
            con.execute(f"INSERT INTO {table_name(contract)} SELECT {casts} FROM _export_chunk")
            con.unregister("_export_chunk")
        copy_partitioned(con, contract, target)
    finally:
        con.close()


def _json_as_text(row: tuple[Any, ...], json_cols: set[int]) -> list[Any]:
    """JSONB arrives decoded; DuckDB's JSON column wants the text again."""
    return [json.dumps(v, ensure_ascii=False) if i in json_cols and v is not None and not isinstance(v, str)
            else v for i, v in enumerate(row)]
