"""SIGKILL inside a batch's write transaction, on a DuckDB file and on PostgreSQL: after reopening, the store
holds only the batches committed before; the dead run's claims expire and a re-run takes them over and
completes everything, each document loaded once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.store import STORE_KINDS, drop_schema, require_pg
from tests.support.store_checks import (
    Query,
    assert_all_loaded_once,
    assert_whole_batches,
    duckdb_query,
    make_inbox,
    postgres_query,
    run_store,
)
from tests.support.store_driver import BATCH_SIZE

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DOCS = 10
BLOCKED_BATCH = 3


@pytest.fixture(params=STORE_KINDS)
def store_at(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, Query]]:
    """(kind, store URL, query function) of an empty store."""
    if request.param == "duckdb":
        db = tmp_path / "killed.duckdb"
        yield "duckdb", str(db), duckdb_query(db)
        return
    url, schema = require_pg(), f"ocrflow_test_{uuid.uuid4().hex[:10]}"
    try:
        yield "postgres", f"{url}?schema={schema}", postgres_query(url, schema)
    finally:
        drop_schema(url, schema)


def _run_until_blocked(url: str, inbox: Path, ready: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.store_driver", "block", str(BLOCKED_BATCH),
                             str(ready), url, str(inbox)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 180
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out = proc.communicate()[0]
            raise AssertionError(f"the run never reached batch {BLOCKED_BATCH}'s write:\n{out[-3000:]}")
        time.sleep(0.05)
    return proc


def _wait_for_claims_to_expire(query: Query) -> None:
    """Poll the server's clock until the dead run's claims (TTL: store_driver.CLAIM_TTL_S) have expired."""
    deadline = time.monotonic() + 60
    while query("SELECT count(*) FROM documents WHERE claim_expires >= now()") != [(0,)]:
        assert time.monotonic() < deadline, "claims of the killed run never expired"
        time.sleep(0.2)


def test_sigkill_inside_the_write_transaction_keeps_whole_batches_and_a_rerun_completes(
        store_at: tuple[str, str, Query], tmp_path: Path) -> None:
    kind, url, query = store_at
    inbox, ready = tmp_path / "inbox", tmp_path / "inside_the_transaction"
    make_inbox(inbox, DOCS)
    proc = _run_until_blocked(url, inbox, ready)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    before = assert_whole_batches(query, documents=DOCS, batch_size=BATCH_SIZE)
    committed = (BLOCKED_BATCH - 1) * BATCH_SIZE  # the batches before the one killed inside its transaction
    assert before == {"loaded": committed, "pending": DOCS - committed}
    held = query(f"SELECT count(*) FROM documents WHERE claimed_by LIKE '%:{proc.pid}:%' AND state = 'pending'")
    if kind == "postgres":  # the killed batch and the next one, claimed ahead, are still the dead run's
        assert held[0][0] >= BATCH_SIZE, held
        _wait_for_claims_to_expire(query)
    else:  # one writer per file: DuckDB runs claim nothing
        assert held == [(0,)]
    print(f"\n[sigkill {kind}] before the re-run: loaded {committed}, pending {DOCS - committed}, failed 0, "
          f"claims of the dead run {held[0][0]}")

    summary = run_store(url, inbox, batch_size=BATCH_SIZE)
    assert summary.status == "COMPLETED", summary.message
    assert summary.counts["loaded"] == DOCS - committed and summary.counts["skipped"] == committed
    assert_all_loaded_once(query, documents=DOCS)
    assert query("SELECT count(*) FROM documents WHERE attempts > 1") == [(0,)]  # nothing redone
    print(f"[sigkill {kind}] after the re-run: loaded {DOCS} ({DOCS - committed} by the re-run), pending 0, "
          "failed 0")
