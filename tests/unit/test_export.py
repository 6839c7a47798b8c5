"""Parquet export of the clean tables, partitioned by month, read back by DuckDB."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ocrflow.contracts import Contract, load_contracts
from ocrflow.export import export_parquet
from ocrflow.store.duckdb_store import DuckDBStore
from ocrflow.store.parquet import month_expr
from ocrflow.store.schema import table_name
from tests.support.store import load_sample


def assert_read_back_equal(source: duckdb.DuckDBPyConnection, out: Path, contract: Contract) -> None:
    """The Parquet files hold exactly the table's rows, each under its month's partition."""
    table = table_name(contract)
    files = f"{str(out / table).replace(chr(39), chr(39) * 2)}/**/*.parquet"
    got = source.execute(f"SELECT * FROM read_parquet('{files}', hive_partitioning = true, "
                         "hive_types = {'month': VARCHAR})").fetch_df()
    want = source.execute(f"SELECT *, {month_expr(contract)} AS month FROM {table}").fetch_df()
    assert list(got.columns) == list(want.columns)
    key = "doc_sha256"
    got, want = got.sort_values(key).reset_index(drop=True), want.sort_values(key).reset_index(drop=True)
    assert got.astype(str).equals(want.astype(str))
    types = dict(source.execute(f"DESCRIBE SELECT * FROM read_parquet('{files}', hive_partitioning = true)")
                 .fetchall()[i][:2] for i in range(len(got.columns)))
    table_types = dict(r[:2] for r in source.execute(f"DESCRIBE {table}").fetchall())
    assert {k: v for k, v in types.items() if k != "month"} == table_types


def test_duckdb_export_partitions_by_month_and_reads_back_equal(tmp_path: Path) -> None:
    contracts = load_contracts()
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    store.init_schema(list(contracts.values()))
    load_sample(store, contracts)
    wanted = [contracts["invoice"], contracts["nda"], contracts["receipt"]]
    files = export_parquet(store, tmp_path / "out", wanted)
    months = sorted({p.parent.name for p in files if p.parts[-3] == "invoice"})
    assert months == [f"month=2024-{m:02d}" for m in range(1, 13)] + ["month=unknown"]
    assert not [p for p in files if p.parts[-3] == "receipt"]  # an empty table writes no file
    for c in wanted[:2]:
        assert_read_back_equal(store.con, tmp_path / "out", c)
    again = export_parquet(store, tmp_path / "out", wanted)  # re-export replaces, never duplicates
    assert sorted(again) == sorted(files)
    assert_read_back_equal(store.con, tmp_path / "out", contracts["invoice"])
    store.close()


def test_export_works_on_a_read_only_store(tmp_path: Path) -> None:
    contracts = load_contracts()
    db = str(tmp_path / "s.duckdb")
    store = DuckDBStore(db)
    store.init_schema(list(contracts.values()))
    load_sample(store, contracts)
    store.close()
    ro = DuckDBStore(db, read_only=True)
    files = export_parquet(ro, tmp_path / "out", [contracts["invoice"]])
    assert files and all(p.suffix == ".parquet" for p in files)
    ro.close()
