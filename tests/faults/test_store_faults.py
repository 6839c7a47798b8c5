"""Store faults on real stores: the DuckDB file locked by another process, the disk full in the middle of
a load (RLIMIT_FSIZE), PostgreSQL unreachable at start. After each: the store holds only whole batches,
nothing is lost, and a re-run completes the rest. (SIGKILL inside the write: test_store_faults_kill.py.)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

import ocrflow.store.writer as writer
from ocrflow.cli import app
from tests.support.duck import run_into
from tests.support.store import require_pg
from tests.support.store_checks import (
    assert_all_loaded_once,
    assert_whole_batches,
    duckdb_query,
    make_inbox,
    run_store,
    tables_exist,
)

ROOT = Path(__file__).resolve().parents[2]
HOLD = """import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE IF NOT EXISTS held_by_another_process (i INTEGER)")
print("held", flush=True)
sys.stdin.read()
con.close()
"""


def _one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{output}"
    return lines[0]


def test_a_locked_duckdb_file_names_its_holder_registers_nothing_and_a_rerun_completes(tmp_path: Path) -> None:
    n = 6
    inbox, db = tmp_path / "inbox", tmp_path / "locked.duckdb"
    make_inbox(inbox, n)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = CliRunner().invoke(app, ["run", str(inbox), "--db", str(db), "--engine", "embedded"])
    finally:
        assert holder.stdin is not None
        holder.stdin.close()  # the other process finishes and lets the file go
        holder.wait(timeout=30)
    line = _one_line(result.output)
    assert result.exit_code == 2, result.output
    assert line.startswith("error: DuckDB file") and f"is locked by process {holder.pid}" in line, line
    assert f"kill {holder.pid}" in line
    assert not tables_exist(duckdb_query(db))  # nothing registered: the run never opened the file
    print(f"\n[locked] before the re-run: nothing registered ({n} documents in the inbox)")

    summary = run_into([str(inbox)], db)
    assert summary.status == "COMPLETED" and summary.counts["loaded"] == n
    assert_all_loaded_once(duckdb_query(db), documents=n)
    print(f"[locked] after the re-run: loaded {n}, pending 0, failed 0")


@pytest.mark.slow
def test_a_full_disk_mid_load_keeps_whole_batches_and_a_rerun_loads_the_rest_once(tmp_path: Path) -> None:
    n, batch = 12, 2
    inbox, db = tmp_path / "inbox", tmp_path / "full.duckdb"
    make_inbox(inbox, n)
    env = {**os.environ, "OCRFLOW_DOCUMENTS_IN_FLIGHT": "1"}
    proc = subprocess.run([sys.executable, "-m", "tests.support.store_driver", "fsize", "2", "--", "run", str(inbox),
                           "--db", str(db), "--engine", "embedded", "--batch-size", str(batch)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert "files capped at" in out, out[-3000:]  # the cap was set mid-run, after two batches
    assert proc.returncode == 2, out[-3000:]
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, out[-3000:]
    assert "2 batches in a row could not be written" in errors[0]
    assert "the disk is full or a file size limit was reached" in errors[0] and "File too large" in errors[0]
    assert "cannot rollback" not in out  # the real error, not the failed COMMIT's aftermath

    query = duckdb_query(db)
    before = assert_whole_batches(query, documents=n, batch_size=batch)
    loaded = before.get("loaded", 0)
    assert batch * 2 <= loaded < n and before["pending"] == n - loaded
    status, message = query("SELECT status, message FROM runs")[0]
    assert status == "FAILED" and "file size limit" in message
    print(f"\n[disk full] before the re-run: loaded {loaded}, pending {before['pending']}, failed 0")

    summary = run_into([str(inbox)], db)
    assert summary.status == "COMPLETED", summary.message
    assert summary.counts["loaded"] == n - loaded and summary.counts["skipped"] == loaded
    assert_all_loaded_once(query, documents=n)
    assert query("SELECT count(*) FROM documents WHERE attempts > 1") == [(0,)]  # nothing loaded twice
    print(f"[disk full] after the re-run: loaded {n} ({n - loaded} by the re-run), pending 0, failed 0")


def test_an_error_inside_one_batch_write_rolls_it_back_and_the_next_batches_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not only DuckDB's own errors end the transaction: a bug half-way through a batch's write (here
    after its rows, before its lines) rolls that batch back, and the next batch starts a transaction of
    its own instead of failing inside the abandoned one (which stopped the whole run)."""
    n, batch = 6, 2
    inbox, db = tmp_path / "inbox", tmp_path / "bug.duckdb"
    make_inbox(inbox, n)
    real, calls = writer.write_lines, []

    def lines_once_broken(target: object, batch_: object, contracts: object) -> None:
        calls.append(1)
        if len(calls) == 2:  # the first batch of documents (the first call is registration's paths)
            raise ValueError("a bug while writing the lines")
        real(target, batch_, contracts)  # type: ignore[arg-type]

    monkeypatch.setattr(writer, "write_lines", lines_once_broken)
    first = run_store(str(db), inbox, batch_size=batch)
    monkeypatch.undo()
    assert first.counts["loaded"] == n - batch and first.counts["pending"] == batch, first.counts
    before = assert_whole_batches(duckdb_query(db), documents=n, batch_size=batch)
    assert before == {"loaded": n - batch, "pending": batch}
    again = run_store(str(db), inbox, batch_size=batch)
    assert again.counts["loaded"] == batch and again.counts["skipped"] == n - batch
    assert_all_loaded_once(duckdb_query(db), documents=n)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.postgres
def test_postgres_unreachable_at_start_exits_2_with_one_line_and_registers_nothing(tmp_path: Path) -> None:
    real = require_pg()
    inbox = tmp_path / "inbox"
    make_inbox(inbox, 2)
    port = _closed_port()
    schema = f"ocrflow_test_unreachable_{port}"
    url = f"postgresql://postgres@127.0.0.1:{port}/test?schema={schema}"
    result = CliRunner().invoke(app, ["run", str(inbox), "--db", url, "--engine", "embedded"])
    line = _one_line(result.output)
    assert result.exit_code == 2, result.output
    assert line.startswith("error: cannot connect to PostgreSQL at") and f":{port}/test" in line, line
    assert "Traceback" not in result.output
    with psycopg.connect(real, autocommit=True) as con:  # the reachable server got nothing either
        assert con.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchall() == []
