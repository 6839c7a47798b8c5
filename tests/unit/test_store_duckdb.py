from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ocrflow.contracts import default_contracts_dir, parse_contract
from ocrflow.store.base import SchemaChangeError, StoreError
from ocrflow.store.duckdb_store import DuckDBStore
from ocrflow.store.schema import contract_columns, contract_ddl, schema_ddl


def _contract(mutate=None):  # type: ignore[no-untyped-def]
    doc = yaml.safe_load((default_contracts_dir() / "receipt.yaml").read_text())
    if mutate:
        mutate(doc)
    return parse_contract(doc, "receipt.yaml")


def test_ddl_types_from_contract() -> None:
    ddl = contract_ddl(_contract(), "duckdb")
    assert "total_amount DECIMAL(18,2)" in ddl and "receipt_date DATE" in ddl
    assert "PRIMARY KEY" not in ddl  # the single DuckDB writer keeps keys unique (KEYS_BY_CONSTRAINT)
    pg = contract_ddl(_contract(), "postgres")
    assert "NUMERIC(18,2)" in pg and "raw_values JSONB" in pg
    assert "PRIMARY KEY (doc_sha256)" in pg


def test_new_optional_field_adds_column_and_keeps_rows(tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    store.init_schema([_contract()])
    store.con.execute("INSERT INTO receipt (doc_sha256, merchant_name) VALUES ('abc', 'Shop')")

    def add_field(doc: dict) -> None:
        doc["version"] = "1.1.0"
        doc["schema"][0]["properties"].append({"name": "cashier", "logicalType": "string",
                                               "physicalType": "VARCHAR", "required": False})

    store.init_schema([_contract(add_field)])
    cols = [r[0] for r in store.con.execute("SELECT column_name FROM information_schema.columns "
                                            "WHERE table_name = 'receipt'").fetchall()]
    assert "cashier" in cols
    assert store.con.execute("SELECT merchant_name FROM receipt").fetchall() == [("Shop",)]
    store.close()


def test_breaking_changes_are_refused_naming_the_field(tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    store.init_schema([_contract()])

    def retype(doc: dict) -> None:
        doc["schema"][0]["properties"][2]["physicalType"] = "VARCHAR"
        doc["schema"][0]["properties"][2]["logicalType"] = "string"
        doc["schema"][0]["properties"][2]["customProperties"] = []

    with pytest.raises(SchemaChangeError, match="receipt_date"):
        store.init_schema([_contract(retype)])

    def remove(doc: dict) -> None:
        doc["schema"][0]["properties"] = [p for p in doc["schema"][0]["properties"]
                                          if p["name"] != "merchant_address"]

    with pytest.raises(SchemaChangeError, match="merchant_address"):
        store.init_schema([_contract(remove)])

    def major(doc: dict) -> None:
        remove(doc)
        doc["version"] = "2.0.0"

    store.init_schema([_contract(major)])  # a new major version gets its own table
    tables = {r[0] for r in store.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"receipt", "receipt_v2"} <= tables
    store.close()


def test_second_writer_gets_a_clear_error_naming_the_lock_holder(tmp_path: Path) -> None:
    db = tmp_path / "locked.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); time.sleep(60)", str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        with pytest.raises(StoreError, match=rf"locked by process {holder.pid}.*one writer"):
            DuckDBStore(str(db))
        t0 = time.monotonic()
        with pytest.raises(StoreError, match=r"locked by .*waited 0\.[3-9] s"):
            DuckDBStore(str(db), read_only=True, wait_s=0.3)  # a reader retries for a while, then says who holds it
        assert time.monotonic() - t0 < 5
    finally:
        holder.kill()
        holder.wait()
    DuckDBStore(str(db)).close()  # free again once the holder is gone


def test_query_read_only_refuses_writes(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    DuckDBStore(str(db)).close()
    ro = DuckDBStore(str(db), read_only=True)
    with pytest.raises(Exception, match="read-only"):
        ro.query("CREATE TABLE x (a INT)")
    ro.close()
    with pytest.raises(StoreError, match="does not exist"):
        DuckDBStore(str(tmp_path / "missing.duckdb"), read_only=True)


def test_a_refused_change_alters_nothing(tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    store.init_schema([_contract()])

    def add_and_retype(doc: dict) -> None:
        doc["schema"][0]["properties"].insert(0, {"name": "cashier", "logicalType": "string",
                                                  "physicalType": "VARCHAR", "required": False})
        prop = next(p for p in doc["schema"][0]["properties"] if p["name"] == "receipt_date")
        prop.update(physicalType="VARCHAR", logicalType="string", customProperties=[])

    with pytest.raises(SchemaChangeError, match="receipt_date"):
        store.init_schema([_contract(add_and_retype)])
    cols = {r[0] for r in store.con.execute("SELECT column_name FROM information_schema.columns "
                                            "WHERE table_name = 'receipt'").fetchall()}
    assert "cashier" not in cols  # decided before altering: no half-applied evolution
    store.close()


def test_writer_checkpoints_at_close_not_mid_load(tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    store = DuckDBStore(str(db))
    store.init_schema([_contract()])
    setting = store.con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()
    assert setting is not None and setting[0] == "244.1 MiB"  # 256 MB: no automatic checkpoint mid-load
    store.con.execute("INSERT INTO receipt (doc_sha256, merchant_name) VALUES ('abc', 'Shop')")
    wal = tmp_path / "c.duckdb.wal"
    assert wal.exists() and wal.stat().st_size > 0
    store.close()
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed at close
    ro = DuckDBStore(str(db), read_only=True)
    assert ro.query("SELECT merchant_name FROM receipt")[1] == [("Shop",)]
    ro.close()


def test_schema_ddl_creates_then_only_adds_columns() -> None:
    tables: dict[str, dict[str, str]] = {}
    fresh = list(schema_ddl([_contract()], "duckdb", lambda t: tables.get(t, {})))
    assert fresh[-1].startswith("CREATE TABLE IF NOT EXISTS receipt")
    tables["receipt"] = dict(contract_columns(_contract(), "duckdb"))

    def add_field(doc: dict) -> None:
        doc["version"] = "1.1.0"
        doc["schema"][0]["properties"].append({"name": "cashier", "logicalType": "string",
                                               "physicalType": "VARCHAR", "required": False})

    evolved = list(schema_ddl([_contract(add_field)], "duckdb", lambda t: tables.get(t, {})))
    assert evolved[-1] == 'ALTER TABLE "receipt" ADD COLUMN "cashier" VARCHAR'
    assert not any(s.startswith("CREATE TABLE IF NOT EXISTS receipt") for s in evolved)
