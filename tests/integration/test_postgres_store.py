"""PostgresStore against a real PostgreSQL, side by side with DuckDBStore.

Each test gets its own schema, dropped afterwards. PostgreSQL must be running: the URL is
``OCRFLOW_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``); if it cannot
be reached the tests fail and say so (they never skip).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from ocrflow.contracts import Contract, default_contracts_dir, load_contracts, parse_contract
from ocrflow.models import DocState, DocumentRef, Failure, Line, PagePath, PageText, RowOutcome
from ocrflow.store import open_store
from ocrflow.store.base import (
    Batch,
    DocumentUpdate,
    RunRecord,
    SchemaChangeError,
    StoreError,
)
from ocrflow.store.duckdb_store import DuckDBStore
from ocrflow.store.postgres_store import PostgresStore, split_url
from ocrflow.store.schema import base_ddl, contract_ddl, pg_norm_type, table_name

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


# --------------------------------------------------------------------------- synthetic rows
def sha(i: int, salt: str = "") -> str:
    return hashlib.sha256(f"{salt}doc-{i}".encode()).hexdigest()


def synthetic_value(kind: str, i: int) -> Any:
    if kind == "money":
        return Decimal(f"{(i * 37) % 100000}.{i % 100:02d}")
    if kind == "date":
        return date(2024, 1 + i % 12, 1 + i % 28)
    if kind == "list":
        return [f"party {i}", f"party {i + 1}"]
    if kind == "integer":
        return i
    if kind == "number":
        return i / 8
    if kind == "currency":
        return "EUR"
    return f"value {i}"


def make_outcome(contract: Contract, i: int, *, clean: bool = True, salt: str = "",
                 overrides: dict[str, Any] | None = None) -> RowOutcome:
    doc = DocumentRef(path=f"/in/{salt}doc-{i}.pdf", sha256=sha(i, salt), mime="application/pdf", size_bytes=1000 + i)
    values = {f.name: synthetic_value(f.kind, i) for f in contract.fields} | (overrides or {})
    failures = [] if clean else [Failure(field=contract.fields[0].name, check="required", value=None,
                                         message="missing")]
    lineage = {"page_numbers": [1, 2], "engine": "embedded", "model": "rapidocr", "prompt_version": "p1",
               "flow_run_id": "flow-1", "extracted_at": datetime(2024, 5, 1, 12, 0, i % 60, 123456)}
    return RowOutcome(doc=doc, contract=contract.name, contract_version=contract.version, values=values,
                      raw={k: str(v) for k, v in values.items()}, lineage=lineage, failures=failures)


def make_batch(outcomes: list[RowOutcome], run_id: str = "run-1") -> Batch:
    docs = [DocumentUpdate(o.doc.sha256, o.doc.path, o.doc.mime, o.doc.size_bytes,
                           DocState.LOADED if o.clean else DocState.QUARANTINED, pages=2, contract=o.contract,
                           error=None if o.clean else "missing") for o in outcomes]
    return Batch(run_id=run_id, documents=docs, rows=list(outcomes))


def make_pages(outcomes: list[RowOutcome]) -> list[tuple[str, PageText]]:
    lines = (Line("Invoice 'INV-1' \\ \"quoted\"", (1.0, 2.0, 30.5, 8.25), 0.98765),
             Line("中文 total", (0, 10, 20, 18)))
    return [(o.doc.sha256, PageText(page_no=n, width=1240, height=1754, lines=lines, path=PagePath.OCR,
                                    engine="embedded", model="rapidocr", latency_s=0.5, render_s=0.1,
                                    prompt_tokens=10, completion_tokens=20, is_fallback=n == 2, note="x"))
            for o in outcomes for n in (1, 2)]


def pending(outcomes: list[RowOutcome]) -> list[DocumentUpdate]:
    return [DocumentUpdate(o.doc.sha256, o.doc.path, o.doc.mime, o.doc.size_bytes, DocState.PENDING)
            for o in outcomes]


# --------------------------------------------------------------------------- fixtures
def pg_url() -> str:
    return os.environ.get("OCRFLOW_TEST_PG_URL", DEFAULT_PG_URL)


def require_pg() -> str:
    url = pg_url()
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for these tests and is not reachable at {url}: {exc}. Start it, "
                    "or set OCRFLOW_TEST_PG_URL to a database where this user may create schemas.")
    return url


def drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(psycopg.sql.Identifier(schema)))


@pytest.fixture()
def pg_schema() -> Iterator[tuple[str, str]]:
    url = require_pg()
    schema = f"ocrflow_test_{uuid.uuid4().hex[:10]}"
    yield url, schema
    drop_schema(url, schema)


@pytest.fixture()
def contracts() -> dict[str, Contract]:
    return load_contracts()


@pytest.fixture(params=["duckdb", "postgres"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path, pg_schema: tuple[str, str],
              contracts: dict[str, Contract]) -> Iterator[Any]:
    url, schema = pg_schema
    store: Any = DuckDBStore(str(tmp_path / "s.duckdb")) if request.param == "duckdb" else \
        PostgresStore(url, schema=schema)
    store.init_schema(list(contracts.values()))
    yield store
    store.close()


def _receipt(mutate: Any = None) -> Contract:
    doc = yaml.safe_load((default_contracts_dir() / "receipt.yaml").read_text())
    if mutate:
        mutate(doc)
    return parse_contract(doc, "receipt.yaml")


def count(store: Any, sql: str, params: list[Any] | None = None) -> int:
    return int(store.query(sql, params)[1][0][0])


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
    assert {"documents", "pages", "quarantine", "runs", "page_cache"} | {table_name(c) for c in
                                                                          contracts.values()} == tables
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


def _normalize(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None) if v.tzinfo else v
    if isinstance(v, str) and v.startswith(("[", "{")):
        return json.loads(v)
    if isinstance(v, list):
        return [_normalize(x) for x in v]
    return v


def _table_rows(store: Any, table: str, order: str = "doc_sha256") -> list[tuple[Any, ...]]:
    cols, rows = store.query(f"SELECT * FROM {table} ORDER BY {order}")
    skip = {i for i, c in enumerate(cols) if c in ("quarantined_at", "created_at", "first_seen", "updated_at")}
    return [tuple(_normalize(v) for i, v in enumerate(r) if i not in skip) for r in rows]


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
def test_schema_evolution(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    store = PostgresStore(url, schema=schema)
    store.init_schema([_receipt()])
    store.conn.execute("INSERT INTO receipt (doc_sha256, merchant_name) VALUES ('abc', 'Shop')")

    def add_field(doc: dict[str, Any]) -> None:
        doc["version"] = "1.1.0"
        doc["schema"][0]["properties"].append({"name": "cashier", "logicalType": "string",
                                               "physicalType": "VARCHAR", "required": False})

    store.init_schema([_receipt(add_field)])
    store.init_schema([_receipt(add_field)])  # idempotent
    cols = [r[0] for r in store.query("SELECT column_name FROM information_schema.columns WHERE table_name = "
                                      "'receipt' AND table_schema = current_schema()")[1]]
    assert "cashier" in cols
    assert store.query("SELECT merchant_name, cashier FROM receipt")[1] == [("Shop", None)]

    def required_field(doc: dict[str, Any]) -> None:
        add_field(doc)
        doc["schema"][0]["properties"].append({"name": "till", "logicalType": "string", "required": True})

    with pytest.raises(SchemaChangeError, match="till"):
        store.init_schema([_receipt(required_field)])

    def retype(doc: dict[str, Any]) -> None:
        add_field(doc)
        prop = doc["schema"][0]["properties"][2]
        prop.update(physicalType="VARCHAR", logicalType="string", customProperties=[])

    with pytest.raises(SchemaChangeError, match="receipt_date"):
        store.init_schema([_receipt(retype)])

    def remove(doc: dict[str, Any]) -> None:
        add_field(doc)
        doc["schema"][0]["properties"] = [p for p in doc["schema"][0]["properties"]
                                          if p["name"] != "merchant_address"]

    with pytest.raises(SchemaChangeError, match="merchant_address"):
        store.init_schema([_receipt(remove)])

    def major(doc: dict[str, Any]) -> None:
        remove(doc)
        doc["version"] = "2.0.0"

    store.init_schema([_receipt(major)])
    tables = {r[0] for r in store.query("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_schema = current_schema()")[1]}
    assert {"receipt", "receipt_v2"} <= tables
    store.close()


# --------------------------------------------------------------------------- claims
def test_claims(any_store: Any, contracts: dict[str, Contract]) -> None:
    inv = contracts["invoice"]
    rows = [make_outcome(inv, i) for i in range(6)]
    hashes = [o.doc.sha256 for o in rows]
    assert any_store.claim(hashes, "a", 60) == set()  # not registered yet
    any_store.register(pending(rows), "run-a")
    assert any_store.claim(hashes[:4], "a", 60) == set(hashes[:4])
    assert any_store.claim(hashes, "b", 60) == set(hashes[4:])
    assert any_store.claim(hashes[:1], "a", 60) == set(hashes[:1])  # renewing one's own claim
    _, by = any_store.query("SELECT claimed_by, count(*) FROM documents GROUP BY claimed_by ORDER BY 1")
    assert by == [("a", 4), ("b", 2)]
    any_store.register(pending(rows), "run-c")  # a live claim survives registration
    assert any_store.query("SELECT count(*) FROM documents WHERE claimed_by IS NULL")[1] == [(0,)]
    any_store.release(hashes[:4], "b")  # not b's: nothing happens
    assert count(any_store, "SELECT count(*) FROM documents WHERE claimed_by = 'a'") == 4
    any_store.release(hashes[3:4], "a")
    assert any_store.claim(hashes[3:4], "b", 60) == set(hashes[3:4])
    any_store.write_batch(make_batch(rows[:2]), contracts)  # finalizing clears the claim
    _, done = any_store.query("SELECT state, claimed_by, claim_expires FROM documents WHERE sha256 IN (?, ?)"
                              .replace("?", "%s" if any_store.dialect == "postgres" else "?"), hashes[:2])
    assert done == [("loaded", None, None)] * 2
    assert any_store.claim(hashes[:2], "b", 60) == set()  # final documents cannot be claimed


def test_expired_claim_is_taken_over(any_store: Any, contracts: dict[str, Contract]) -> None:
    rows = [make_outcome(contracts["invoice"], i) for i in range(2)]
    any_store.register(pending(rows), "run")
    hashes = [o.doc.sha256 for o in rows]
    assert any_store.claim(hashes, "a", 0.1) == set(hashes)
    assert any_store.claim(hashes, "b", 60) == set()
    time.sleep(0.3)
    any_store.register(pending(rows), "run-b")  # an expired claim does not block registration either
    assert any_store.claim(hashes, "b", 60) == set(hashes)
    assert count(any_store, "SELECT count(*) FROM documents WHERE claimed_by = 'b'") == 2


def test_register_keep_final_protects_finished_documents(any_store: Any, contracts: dict[str, Contract]) -> None:
    rows = [make_outcome(contracts["invoice"], i) for i in range(2)]
    any_store.write_batch(make_batch(rows), contracts)
    any_store.register(pending(rows), "late", keep_final=True)
    assert count(any_store, "SELECT count(*) FROM documents WHERE state = 'loaded'") == 2
    any_store.register(pending(rows), "forced")  # the default (e.g. --force) resets to pending
    assert count(any_store, "SELECT count(*) FROM documents WHERE state = 'pending'") == 2


# --------------------------------------------------------------------------- keys
UNIQUE_KEYS = ("SELECT (SELECT count(*) - count(DISTINCT sha256) FROM documents), "
               "(SELECT count(*) - count(DISTINCT doc_sha256) FROM invoice), (SELECT count(*) FROM documents), "
               "(SELECT count(*) FROM invoice)")


@pytest.mark.parametrize("bulk", [False, True], ids=["row", "bulk"])
def test_every_write_keeps_one_row_per_key(any_store: Any, contracts: dict[str, Contract], bulk: bool) -> None:
    """DuckDB has no key constraint on documents / clean tables: the store's own upserts must keep keys unique."""
    any_store.bulk_threshold = 1 if bulk else 10**9
    inv = contracts["invoice"]
    rows = [make_outcome(inv, i) for i in range(12)]
    any_store.register(pending(rows), "run-a")
    any_store.register(pending(rows), "run-b")  # again, unguarded paths and guarded ones
    any_store.register(pending(rows), "run-c", keep_final=True)
    assert any_store.claim([o.doc.sha256 for o in rows[:3]], "w", 60)
    any_store.register(pending(rows), "run-d")  # three live claims: those rows are left alone, not re-inserted
    any_store.write_batch(make_batch(rows[:8]), contracts)
    any_store.write_batch(make_batch(rows), contracts)
    any_store.write_batch(make_batch([make_outcome(inv, i, clean=False) for i in range(2)]), contracts)
    any_store.write_batch(make_batch(rows[:4]), contracts)
    any_store.register(pending(rows), "late", keep_final=True)
    assert any_store.query(UNIQUE_KEYS)[1] == [(0, 0, 12, 12)]
    assert any_store.key_problems() == []


def test_duckdb_key_check_reports_a_key_written_behind_the_stores_back(tmp_path: Path,
                                                                       contracts: dict[str, Contract]) -> None:
    from ocrflow.run import finish
    from ocrflow.summary import RunSummary

    store = DuckDBStore(str(tmp_path / "k.duckdb"))
    store.init_schema(list(contracts.values()))
    rows = [make_outcome(contracts["invoice"], i) for i in range(3)]
    store.write_batch(make_batch(rows), contracts)
    assert store.key_problems() == []
    store.con.execute("INSERT INTO invoice SELECT * FROM invoice WHERE doc_sha256 = ?", [sha(1)])
    assert store.key_problems() == [f"invoice: 1 doc_sha256 value(s) stored more than once (e.g. {sha(1)})"]
    run = RunRecord(run_id="r", flow_run_id="r", started_at=datetime.now(UTC), engine="e", contract="c", inputs=[])
    store.start_run(run)
    summary = RunSummary(run_id="r", flow_run_id="r", counts={}, seconds=0.1, status="COMPLETED", failed=[],
                         quarantined=[], pending=[], latencies={})
    finish(store, run, summary)
    assert summary.status == "FAILED" and "key check failed: invoice: 1 doc_sha256" in summary.message
    assert store.query("SELECT status, message FROM runs")[1] == [("FAILED", summary.message)]
    store.close()


# --------------------------------------------------------------------------- export
def test_postgres_export_reads_back_equal_to_the_duckdb_export(tmp_path: Path, pg_schema: tuple[str, str],
                                                               contracts: dict[str, Contract]) -> None:
    import duckdb

    from ocrflow.export import export_parquet
    from tests.unit.test_export import load_sample

    url, schema = pg_schema
    wanted = [contracts["invoice"], contracts["nda"]]
    pg = PostgresStore(url, schema=schema)
    duck = DuckDBStore(str(tmp_path / "d.duckdb"))
    for s in (pg, duck):
        s.bulk_threshold = 10  # the sample mixes row and bulk groups
        s.init_schema(list(contracts.values()))
        load_sample(s, contracts)
    pg.close()
    ro = PostgresStore(url, schema=schema, read_only=True)
    pg_files = export_parquet(ro, tmp_path / "pg", wanted)
    duck_files = export_parquet(duck, tmp_path / "duck", wanted)
    ro.close()
    duck.close()
    assert [p.relative_to(tmp_path / "pg") for p in pg_files] == [p.relative_to(tmp_path / "duck")
                                                                   for p in duck_files]
    con = duckdb.connect()
    for table in ("invoice", "nda"):
        reads = []
        for side in ("pg", "duck"):
            files = f"{tmp_path / side / table}/**/*.parquet"
            rel = con.sql(f"SELECT * EXCLUDE (raw_values), raw_values::VARCHAR::JSON AS raw FROM "
                          f"read_parquet('{files}', hive_partitioning = true) ORDER BY doc_sha256")
            reads.append((rel.types, [tuple(_normalize(v) for v in r) for r in rel.fetchall()]))
        assert reads[0][0] == reads[1][0]
        assert reads[0][1] == reads[1][1] and reads[0][1]


@pytest.mark.parametrize("bulk", [False, True], ids=["row", "bulk"])
def test_a_duckdb_file_made_with_primary_keys_still_loads(tmp_path: Path, contracts: dict[str, Contract],
                                                          bulk: bool) -> None:
    """Files created before the DuckDB tables lost their PRIMARY KEYs keep them; every write path still works."""
    path = str(tmp_path / "old.duckdb")
    con = DuckDBStore(path)
    for ddl in base_ddl("postgres"):  # the keyed layout, DuckDB spellings
        con.con.execute(ddl.replace("TIMESTAMPTZ", "TIMESTAMP").replace("JSONB", "JSON")
                        .replace("DOUBLE PRECISION", "DOUBLE").replace("TEXT", "VARCHAR"))
    con.con.execute(contract_ddl(contracts["invoice"], "duckdb").replace("raw_values JSON",
                                                                         "raw_values JSON, PRIMARY KEY (doc_sha256)"))
    con.close()
    store = DuckDBStore(path)
    store.bulk_threshold = 1 if bulk else 10**9
    store.init_schema(list(contracts.values()))
    keys = store.query("SELECT table_name FROM information_schema.table_constraints "
                       "WHERE constraint_type = 'PRIMARY KEY' AND table_name IN ('documents', 'invoice')")[1]
    assert sorted(keys) == [("documents",), ("invoice",)]
    rows = [make_outcome(contracts["invoice"], i) for i in range(10)]
    store.register(pending(rows), "r")
    for _ in range(2):
        store.write_batch(make_batch(rows), contracts)
    store.write_batch(make_batch([make_outcome(contracts["invoice"], 1, clean=False)]), contracts)
    assert store.query(UNIQUE_KEYS)[1] == [(0, 0, 10, 9)]
    store.close()


def test_shares_writes_and_iter_rows_chunks(any_store: Any, contracts: dict[str, Contract]) -> None:
    assert any_store.shares_writes() is (any_store.dialect == "postgres")
    outcomes = [make_outcome(contracts["invoice"], i) for i in range(5)]
    any_store.write_batch(make_batch(outcomes), contracts)
    sql = "SELECT doc_sha256 FROM invoice ORDER BY doc_sha256"
    chunks = list(any_store.iter_rows(sql, size=2))
    assert [len(rows) for _, rows in chunks] == [2, 2, 1]
    assert {tuple(cols) for cols, _ in chunks} == {("doc_sha256",)}
    assert [r for _, rows in chunks for r in rows] == any_store.query(sql)[1]
