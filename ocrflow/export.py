"""Export the clean contract tables as Parquet, partitioned by the month of the document's date.

Layout: ``OUT/<table>/month=YYYY-MM/data_0.parquet`` (hive partitioning; rows without a date
go to ``month=unknown``). The month comes from the contract's first DATE field (for example
``invoice_date``); a contract without one puts every row under ``month=unknown``.

Each store writes its tables itself (``Store.export_parquet``; the SQL lives in
``ocrflow.store.parquet``): DuckDB writes the files in both cases, so both stores give identical
Parquet schemas.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ocrflow.contracts import Contract
from ocrflow.store.base import Store
from ocrflow.store.schema import table_name


def export_parquet(store: Store, out_dir: Path, contracts: Iterable[Contract]) -> list[Path]:
    """Write each contract's clean table under ``out_dir/<table>/``; return the Parquet files written.

    A contract whose table does not exist yet is skipped. Existing files of an exported table are
    replaced (the table folder is rewritten).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for contract in contracts:
        target = out_dir / table_name(contract)
        if store.export_parquet(contract, target):
            written.extend(sorted(target.rglob("*.parquet")))
    return written
