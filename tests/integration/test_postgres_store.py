"""PostgresStore against a real PostgreSQL, side by side with DuckDBStore.

The PostgreSQL tests are marked ``postgres`` and get a schema of their own (``pg_schema``, docs/testing.md).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ocrflow.contracts import Contract
from ocrflow.store import open_store
from ocrflow.store.base import (
    RunRecord,
    SchemaChangeError,
    StoreError,
)
from ocrflow.store.duckdb_store import DuckDBStore
from ocrflow.store.postgres_store import PostgresStore, split_url
from ocrflow.store.schema import pg_norm_type, table_name
from tests.support.store import (
    count,
    drop_schema,
    make_batch,
    make_outcome,
    make_pages,
    normalize_value,
    receipt_contract,
    sha,
)


# --------------------------------------------------------------------------- schema
def _duck_type(t: str) -> str:
    t = t.upper()
    names = {"VARCHAR": "text", "VARCHAR[]": "text[]", "INTEGER[]": "integer[]", "TIMESTAMP": "timestamp",
             "JSON": "json", "DOUBLE": "double", "BIGINT": "bigint", "INTEGER": "integer", "DATE": "date",
             "BOOLEAN": "boolean"}
    return t.replace("DECIMAL", "numeric") if t.startswith("DECIMAL") else names[t]


def _pg_type(data_type: str, udt: str, precision: int | None, scale: int | None) -> str:
    if data_type == "numeric":
        return f"numeric({precision},{scale})"
    if data_type == "ARRAY":
        return {"_text": "text[]", "_int4": "integer[]"}[udt]
    names = {"timestamp with time zone": "timestamp", "jsonb": "json", "double precision": "double"}
    return names.get(data_type, data_type)


@pytest.mark.postgres
def test_tables_columns_and_types_match_duckdb(tmp_path: Path, pg_schema: tuple[str, str],
                                               contracts: dict[str, Contract]) -> None:
    url, schema = pg_schema
    duck = DuckDBStore(str(tmp_path / "d.duckdb"))
    pg = PostgresStore(url, schema=schema)
    for s in (duck, pg):
        s.init_schema(list(contracts.values()))
    _, drows = duck.query("SELECT table_name, column_name, data_type FROM information_schema.columns "
                          "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position")
    _, prows = pg.query("SELECT table_name, column_name, data_type, udt_name, numeric_precision, numeric_scale "
                        "FROM information_schema.columns WHERE table_schema = current_schema() "
                        "ORDER BY table_name, ordinal_position")
    duck_cols = [(t, c, _duck_type(d)) for t, c, d in drows]
    pg_cols = [(t, c, _pg_type(d, u, p, s)) for t, c, d, u, p, s in prows]
    assert duck_cols == pg_cols
    tables = {t for t, _, _ in pg_cols}
    base = {"documents", "pages", "quarantine", "runs", "page_cache", "document_paths", "field_evidence",
            "corrections", "invoice_line", "receipt_line", "issuers", "issuer_keys", "issuer_facts"}
    assert base | {table_name(c) for c in contracts.values()} == tables
    key_sql = ("SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc "
               "JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name "
               "AND tc.table_name = kcu.table_name AND tc.table_schema = kcu.table_schema "
               "WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema()")
    pg_keys = set(pg.query(key_sql)[1])
    keyed_by_store = {("documents", "sha256")} | {(table_name(c), "doc_sha256") for c in contracts.values()}
    assert keyed_by_store <= pg_keys  # PostgreSQL: constraints (concurrent writers rely on them)
    assert set(duck.query(key_sql)[1]) == pg_keys - keyed_by_store  # DuckDB: its one writer keeps these unique
    duck.close()
    pg.close()


def test_pg_type_spellings_compare_equal() -> None:
    assert pg_norm_type("TIMESTAMPTZ") == pg_norm_type("timestamp with time zone")
    assert pg_norm_type("NUMERIC(18, 2)") == pg_norm_type("numeric(18,2)")
    assert pg_norm_type("TEXT[]") == "text[]" and pg_norm_type("DOUBLE PRECISION") == "double precision"


# --------------------------------------------------------------------------- loads
@pytest.mark.parametrize("bulk", [False, True], ids=["row", "bulk"])
def test_upsert_is_idempotent_and_updates_values(any_store: Any, contracts: dict[str, Contract],
                                                 bulk: bool) -> None:
    any_store.bulk_threshold = 1 if bulk else 10**9
    inv = contracts["invoice"]
    rows = [make_outcome(inv, i) for i in range(20)]
    any_store.write_batch(make_batch(rows), contracts)
    any_store.write_batch(make_batch(rows), contracts)
    assert count(any_store, "SELECT count(*) FROM invoice") == 20
    changed = [make_outcome(inv, i, overrides={"invoice_number": f"NEW-{i}"}) for i in range(20)]
    any_store.write_batch(make_batch(changed, run_id="run-2"), contracts)
    _, got = any_store.query("SELECT invoice_number FROM invoice ORDER BY invoice_number")
    assert [r[0] for r in got] == sorted(f"NEW-{i}" for i in range(20))
    _, docs = any_store.query("SELECT count(*), min(attempts), max(attempts), min(run_id), max(state) "
                              "FROM documents")
    assert docs == [(20, 2, 2, "run-2", "loaded")]  # first insert 0, then +1 per update


@pytest.mark.parametrize("bulk", [False, True], ids=["row", "bulk"])
def test_awkward_list_and_text_values_round_trip(any_store: Any, contracts: dict[str, Contract], bulk: bool) -> None:
    any_store.bulk_threshold = 1 if bulk else 10**9
    nda = contracts["nda"]
    parties = ['a"b', "c\\d", "e,f", "{x}", "NULL", "", "tab\there", "line\nbreak", "ünï 中文"]
    row = make_outcome(nda, 1, overrides={"parties": parties, "jurisdiction": "quote ' and \\ back"})
    any_store.write_batch(make_batch([row, make_outcome(nda, 2, overrides={"parties": None})]), contracts)
    _, got = any_store.query("SELECT parties, jurisdiction FROM nda ORDER BY doc_sha256")
    want = sorted([(parties, "quote ' and \\ back"), (None, "value 2")], key=lambda r: sha(1) if r[0] else sha(2))
    assert sorted(got, key=lambda r: sha(1) if r[0] else sha(2)) == want


def test_a_document_twice_in_one_batch_keeps_the_last_row(any_store: Any, contracts: dict[str, Contract]) -> None:
    inv = contracts["invoice"]
    for threshold in (1, 10**9):
        any_store.bulk_threshold = threshold
        first, last = make_outcome(inv, 1), make_outcome(inv, 1, overrides={"invoice_number": "LAST"})
        any_store.write_batch(make_batch([first, last]), contracts)
        assert any_store.query("SELECT invoice_number FROM invoice")[1] == [("LAST",)]


def _table_rows(store: Any, table: str, order: str = "doc_sha256") -> list[tuple[Any, ...]]:
    cols, rows = store.query(f"SELECT * FROM {table} ORDER BY {order}")
    skip = {i for i, c in enumerate(cols) if c in ("quarantined_at", "created_at", "first_seen", "updated_at")}
    return [tuple(normalize_value(v) for i, v in enumerate(r) if i not in skip) for r in rows]


@pytest.mark.postgres
def test_bulk_and_row_paths_store_identical_rows_in_both_stores(tmp_path: Path, pg_schema: tuple[str, str],
                                                               contracts: dict[str, Contract]) -> None:
    url, schema = pg_schema
    inv = contracts["invoice"]
    odd = {"total_amount": Decimal("123456789012.99"), "notes": None}
    rows = [make_outcome(inv, i, clean=i % 5 != 0, overrides=odd if i == 7 else None) for i in range(300)]
    rows.append(make_outcome(inv, 400, overrides={f.name: None for f in inv.fields}))
    got: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    for name, threshold in (("duck-row", 10**9), ("duck-bulk", 1), ("pg-row", 10**9), ("pg-bulk", 1)):
        store: Any = DuckDBStore(str(tmp_path / f"{name}.duckdb")) if name.startswith("duck") else \
            PostgresStore(url, schema=f"{schema}_{name.replace('-', '_')}")
        try:
            store.bulk_threshold = threshold
            store.init_schema(list(contracts.values()))
            batch = make_batch(rows)
            batch.pages = make_pages(rows[:30])
            store.write_batch(batch, contracts)
            got[name] = {t: _table_rows(store, t, "1") for t in ("invoice", "quarantine")}
            got[name]["pages"] = _table_rows(store, "pages", "doc_sha256, page_no")
            got[name]["documents"] = _table_rows(store, "documents", "sha256")
        finally:
            store.close()
            if name.startswith("pg"):
                drop_schema(url, f"{schema}_{name.replace('-', '_')}")
    assert got["duck-row"] == got["duck-bulk"]
    assert got["pg-row"] == got["pg-bulk"]
    assert got["duck-row"] == got["pg-row"]
    assert len(got["pg-bulk"]["invoice"]) == 241 and len(got["pg-bulk"]["quarantine"]) == 60
    assert len(got["pg-bulk"]["pages"]) == 60


@pytest.mark.parametrize("bulk", [False, True], ids=["row", "bulk"])
def test_clean_and_quarantine_are_exclusive(any_store: Any, contracts: dict[str, Contract], bulk: bool) -> None:
    any_store.bulk_threshold = 1 if bulk else 10**9
    inv = contracts["invoice"]
    clean = [make_outcome(inv, i) for i in range(3)]
    dirty = [make_outcome(inv, i, clean=False) for i in range(3)]
    both = "SELECT (SELECT count(*) FROM invoice), (SELECT count(*) FROM quarantine)"
    any_store.write_batch(make_batch(clean), contracts)
    assert any_store.query(both)[1] == [(3, 0)]
    any_store.write_batch(make_batch(dirty[:2]), contracts)
    assert any_store.query(both)[1] == [(1, 2)]
    _, states = any_store.query("SELECT state, count(*) FROM documents GROUP BY state ORDER BY state")
    assert states == [("loaded", 1), ("quarantined", 2)]
    any_store.write_batch(make_batch(clean), contracts)
    assert any_store.query(both)[1] == [(3, 0)]


@pytest.mark.postgres
def test_runs_cache_and_read_only_query(pg_schema: tuple[str, str], contracts: dict[str, Contract]) -> None:
    url, schema = pg_schema
    store = PostgresStore(url, schema=schema)
    store.init_schema(list(contracts.values()))
    run = RunRecord(run_id="r1", flow_run_id="f1", started_at=datetime.now(UTC), engine="e", contract="auto",
                    inputs=["/in"])
    store.start_run(run)
    run.status, run.counts, run.finished_at = "COMPLETED", {"documents": 3, "loaded": 3}, datetime.now(UTC)
    store.finish_run(run)
    assert store.query("SELECT status, documents, loaded, inputs FROM runs")[1] == [("COMPLETED", 3, 3, ["/in"])]
    assert store.cache_get("k") is None
    store.cache_put("k", {"text": "ß", "n": 1})
    store.cache_put("k", {"text": "x", "n": 2})
    assert store.cache_get("k") == {"text": "x", "n": 2}
    store.close()
    ro = open_store(f"{url}?schema={schema}", read_only=True)
    assert ro.query("SELECT count(*) FROM runs")[1] == [(1,)]
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        ro.query("CREATE TABLE x (a int)")
    ro.close()


@pytest.mark.postgres
def test_schema_from_url_parameter_or_libpq_options(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    assert split_url(f"{url}?schema=s1&connect_timeout=5") == (f"{url}?connect_timeout=5", "s1")
    a = open_store(f"{url}?schema={schema}")
    assert a.schema == schema
    a.init_schema([])
    a.close()
    b = PostgresStore(f"{url}?options=-csearch_path%3D{schema}")
    assert b.schema == schema and b.query("SELECT count(*) FROM documents")[1] == [(0,)]
    b.close()
    with pytest.raises(StoreError, match="search_path"):
        PostgresStore(f"{url}?options=-csearch_path%3Dno_such_schema_{uuid.uuid4().hex[:6]}")
    with pytest.raises(StoreError, match=r"cannot connect.*nobody:\*\*\*@") as err:
        PostgresStore("postgresql://nobody:secret@127.0.0.1:1/test?connect_timeout=2")
    assert "secret" not in str(err.value)


# --------------------------------------------------------------------------- schema evolution
@pytest.mark.postgres
def test_schema_evolution(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    store = PostgresStore(url, schema=schema)
    store.init_schema([receipt_contract()])
    store.conn.execute("INSERT INTO receipt (doc_sha256, merchant_name) VALUES ('abc', 'Shop')")

    def add_field(doc: dict[str, Any]) -> None:
        doc["version"] = "1.1.0"
        doc["schema"][0]["properties"].append({"name": "cashier", "logicalType": "string",
                                               "physicalType": "VARCHAR", "required": False})

    store.init_schema([receipt_contract(add_field)])
    store.init_schema([receipt_contract(add_field)])  # idempotent
    cols = [r[0] for r in store.query("SELECT column_name FROM information_schema.columns WHERE table_name = "
                                      "'receipt' AND table_schema = current_schema()")[1]]
    assert "cashier" in cols
    assert store.query("SELECT merchant_name, cashier FROM receipt")[1] == [("Shop", None)]

    def required_field(doc: dict[str, Any]) -> None:
        add_field(doc)
        doc["schema"][0]["properties"].append({"name": "till", "logicalType": "string", "required": True})

    with pytest.raises(SchemaChangeError, match="till"):
        store.init_schema([receipt_contract(required_field)])

    def retype(doc: dict[str, Any]) -> None:
        add_field(doc)
        prop = doc["schema"][0]["properties"][2]
        prop.update(physicalType="VARCHAR", logicalType="string", customProperties=[])

    with pytest.raises(SchemaChangeError, match="receipt_date"):
        store.init_schema([receipt_contract(retype)])

    def remove(doc: dict[str, Any]) -> None:
        add_field(doc)
        doc["schema"][0]["properties"] = [p for p in doc["schema"][0]["properties"]
                                          if p["name"] != "merchant_address"]

    with pytest.raises(SchemaChangeError, match="merchant_address"):
        store.init_schema([receipt_contract(remove)])

    def major(doc: dict[str, Any]) -> None:
        remove(doc)
        doc["version"] = "2.0.0"

    store.init_schema([receipt_contract(major)])
    tables = {r[0] for r in store.query("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_schema = current_schema()")[1]}
    assert {"receipt", "receipt_v2"} <= tables
    store.close()
