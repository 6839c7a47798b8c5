"""Claims, one row per key, export: both stores side by side, against a real PostgreSQL.

``any_store`` runs each test on both stores; its PostgreSQL half is marked ``postgres`` (docs/testing.md).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ocrflow.contracts import Contract
from ocrflow.store.base import (
    RunRecord,
)
from ocrflow.store.duckdb_store import DuckDBStore
from ocrflow.store.postgres_store import PostgresStore
from ocrflow.store.schema import base_ddl, contract_ddl
from tests.support.store import (
    count,
    make_batch,
    make_outcome,
    normalize_value,
    pending,
    sha,
)


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
                              .replace("?", any_store.sql.mark), hashes[:2])
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
    from ocrflow.run.lifecycle import finish
    from ocrflow.run.summary import RunSummary

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
@pytest.mark.postgres
def test_postgres_export_reads_back_equal_to_the_duckdb_export(tmp_path: Path, pg_schema: tuple[str, str],
                                                               contracts: dict[str, Contract]) -> None:
    import duckdb

    from ocrflow.export import export_parquet
    from tests.support.store import load_sample

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
            reads.append((rel.types, [tuple(normalize_value(v) for v in r) for r in rel.fetchall()]))
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
