"""``ocrflow query`` is read-only for real (issue 21): each known way out of a read is refused, on both stores.

DuckDB: no COPY TO a file, no reading the file system, no ATTACH, no INSTALL/LOAD, no SET/RESET that undoes it,
no writes. PostgreSQL: one query per call in a READ ONLY transaction that is rolled back, as a role that
cannot reach the server's files; COPY TO a file or program, pg_read_file, lo_import, several statements,
SET, DO blocks, extensions and the ways to take the role back from inside a query are refused. After every
attack the stored rows are as they were and no file was written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ocrflow.cli import app
from ocrflow.store import StoreError
from ocrflow.store.duckdb_store import DuckDBStore
from ocrflow.store.postgres_store import PostgresStore
from ocrflow.store.sandbox import check_statement, first_keyword


@pytest.fixture()
def duck(tmp_path: Path) -> Path:
    db = tmp_path / "q.duckdb"
    store = DuckDBStore(str(db))
    store.query("CREATE TABLE notes (id INTEGER, body VARCHAR)")
    store.query("INSERT INTO notes VALUES (1, 'kept')")
    store.close()
    (tmp_path / "other.duckdb").touch()
    return db


def duck_attacks(tmp: Path) -> list[str]:
    out = tmp / "out.csv"
    return [
        f"COPY notes TO '{out}'",
        f"COPY (SELECT 1) TO '{out}' (FORMAT csv)",
        "SELECT * FROM read_csv('/etc/passwd', sep = ':')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM glob('/etc/*')",
        f"ATTACH '{tmp / 'other.duckdb'}' AS other",
        f"ATTACH '{tmp / 'new.duckdb'}' AS fresh",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "RESET enable_external_access",
        "SET lock_configuration = false",
        "SET allowed_directories = ['/']",
        f"EXPORT DATABASE '{tmp / 'dump'}'",
        "CREATE TABLE x (a INTEGER)",
        "DELETE FROM notes",
        "UPDATE notes SET body = 'changed'",
    ]


def test_duckdb_sandbox_refuses_every_way_out_and_still_reads(duck: Path, tmp_path: Path) -> None:
    store = DuckDBStore(str(duck), sandbox=True)
    try:
        for attack in duck_attacks(tmp_path):
            with pytest.raises(Exception) as refused:  # DuckDB raises several error types
                store.query(attack)
            assert "Permission" in type(refused.value).__name__ or any(
                w in str(refused.value) for w in ("disabled", "locked", "read-only", "Cannot")), (attack, refused.value)
        assert store.query("SELECT current_setting('enable_external_access')")[1] == [(False,)]
        assert store.query("SELECT body FROM notes")[1] == [("kept",)]
    finally:
        store.close()
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "new.duckdb").exists()
    assert not (tmp_path / "dump").exists()


def test_ocrflow_query_cli_is_the_sandbox(duck: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["query", "SELECT body FROM notes", "--db", str(duck), "--json"])
    assert ok.exit_code == 0 and "kept" in ok.output, ok.output
    out = tmp_path / "leak.csv"
    for attack in (f"COPY notes TO '{out}'", "SELECT * FROM read_csv('/etc/passwd')", "SET enable_external_access=1"):
        refused = runner.invoke(app, ["query", attack, "--db", str(duck)])
        assert refused.exit_code == 2, (attack, refused.output)
    assert not out.exists()
    export = runner.invoke(app, ["export", str(tmp_path / "parquet"), "--db", str(duck)])
    assert export.exit_code == 0, export.output  # the export (not the user's SQL) may still write files


def test_statement_check_reads_past_comments_and_refuses_role_escapes() -> None:
    assert first_keyword("  -- note\n/* block */ ( SELECT 1)") == "select"
    for ok in ("SELECT 1", "with a as (select 1) select * from a", "VALUES (1)", "TABLE documents", "SHOW search_path",
               "EXPLAIN SELECT 1", "SELECT 'a%' LIKE 'a%'"):
        check_statement(ok)
    for bad in ("DELETE FROM documents", "COPY (SELECT 1) TO '/tmp/x'", "DO $$BEGIN END$$", "SET ROLE postgres",
                "", "-- only a comment", "SELECT set_config('role', 'postgres', true)",
                "SELECT query_to_xml('select 1', true, false, '')", "SELECT U&\"\\0073et_config\"('role', 'x', true)"):
        with pytest.raises(StoreError):
            check_statement(bad)


def pg_attacks(tmp: Path) -> list[str]:
    return [
        f"COPY (SELECT 1) TO '{tmp / 'pg.csv'}'",
        f"COPY (SELECT 1) TO PROGRAM 'touch {tmp / 'pg_program'}'",
        "SELECT pg_read_file('/etc/passwd')",
        "SELECT pg_ls_dir('/')",
        "SELECT lo_import('/etc/passwd')",
        "SELECT 1; DELETE FROM notes",
        "DELETE FROM notes",
        "WITH gone AS (DELETE FROM notes RETURNING *) SELECT count(*) FROM gone",
        "SET default_transaction_read_only = off",
        "SET ROLE NONE",
        "RESET ROLE",
        "SELECT set_config('default_transaction_read_only', 'off', false)",
        "SELECT set_config('role', 'postgres', true), query_to_xml('select pg_read_file(''/etc/passwd'')', "
        "true, false, '')",
        "DO $$BEGIN EXECUTE 'RESET ROLE'; PERFORM pg_read_file('/etc/passwd'); END$$",
        "CREATE EXTENSION IF NOT EXISTS dblink",
        "LOAD 'auto_explain'",
        "CREATE TABLE x (a int)",
    ]


@pytest.mark.postgres
def test_postgres_sandbox_refuses_every_way_out_and_still_reads(pg_schema: tuple[str, str], tmp_path: Path) -> None:
    url, schema = pg_schema
    writer = PostgresStore(url, schema=schema)
    writer.query("CREATE TABLE notes (id integer, body text)")
    writer.query("INSERT INTO notes VALUES (1, 'kept')")
    sandbox = PostgresStore(url, schema=schema, sandbox=True)
    try:
        for attack in pg_attacks(tmp_path):
            with pytest.raises(Exception) as refused:  # psycopg raises one type per refusal
                sandbox.query(attack)
            assert refused.value is not None, attack
        cols, rows = sandbox.query("SELECT body, 'a%' LIKE 'a%' AS pct FROM notes")  # the CLI's: no parameters
        assert cols == ["body", "pct"] and rows == [("kept", True)]
        assert sandbox.query("SELECT body FROM notes WHERE id = %s", [1])[1] == [("kept",)]
        assert sandbox.query("SELECT current_setting('transaction_read_only')")[1] == [("on",)]
        assert writer.query("SELECT body FROM notes")[1] == [("kept",)]
        assert writer.query("SELECT current_setting('default_transaction_read_only')")[1] == [("off",)]
        if _privileged(writer):  # a superuser's query runs as pg_read_all_data
            assert sandbox.query("SELECT current_user")[1] == [("pg_read_all_data",)]
    finally:
        sandbox.close()
        writer.close()
    assert not (tmp_path / "pg.csv").exists() and not (tmp_path / "pg_program").exists()


def _privileged(store: Any) -> bool:
    return bool(store.query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[1][0][0])
