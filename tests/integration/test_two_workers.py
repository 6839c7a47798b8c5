"""Two flow runs on one inbox at the same time, loading into PostgreSQL: document claims split the work;
no document is processed twice and none is lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from ocrflow.store.postgres_store import _SCHEMA_LOCK
from tests.support.prefect_server import PrefectServer, clean_rows, make_pdf_inbox

pytestmark = [pytest.mark.postgres, pytest.mark.prefect_server, pytest.mark.slow]

# The start barrier: the test holds the advisory lock under which every PostgreSQL store creates its schema
# (ocrflow.store.postgres_store._SCHEMA_LOCK), so each worker's flow begins, opens its store and waits there; the
# lock is let go once both wait (their connections are named by PGAPPNAME). Both then plan and claim from the
# same moment: the split no longer depends on how long a process took to import or to start its flow run.
WORKERS = ("ocrflow-worker-1", "ocrflow-worker-2")
WAITING_SQL = ("SELECT count(DISTINCT a.application_name) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
               "WHERE l.locktype = 'advisory' AND NOT l.granted AND l.objid = %s AND a.application_name = ANY(%s)")
PG_URL = os.environ.get("OCRFLOW_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture()
def pg_schema() -> Iterator[str]:
    schema = f"ocrflow_two_workers_{uuid.uuid4().hex[:8]}"
    try:
        yield schema
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def test_two_workers_share_one_inbox(prefect_server: PrefectServer, demo_dir: Path, tmp_path: Path,
                                     pg_schema: str) -> None:
    inbox = tmp_path / "inbox"
    files = make_pdf_inbox(inbox, demo_dir, copies=8)
    n = len(files)
    store = f"{PG_URL}?schema={pg_schema}"
    args = [str(inbox), "--store", store, "--engine", "embedded", "--batch-size", "2", "--claim-ttl", "120"]
    cmd = [sys.executable, "-m", "flows.process_documents", *args]
    logs = [(tmp_path / f"worker{i}.log").open("w") for i in (1, 2)]
    with psycopg.connect(PG_URL, autocommit=True) as barrier:
        barrier.execute("SELECT pg_advisory_lock(%s)", [_SCHEMA_LOCK])
        procs = [prefect_server.spawn(cmd, log, extra_env={"PGAPPNAME": name})
                 for log, name in zip(logs, WORKERS, strict=True)]
        t0 = time.perf_counter()
        try:
            wait_until_both_wait(barrier, procs)
        finally:
            barrier.execute("SELECT pg_advisory_unlock(%s)", [_SCHEMA_LOCK])
    try:
        for p in procs:
            p.wait(timeout=300)
    except subprocess.TimeoutExpired:
        pytest.fail("workers did not finish in 300 s")
    finally:
        for log in logs:
            log.close()
    elapsed = time.perf_counter() - t0
    outs = [(tmp_path / f"worker{i}.log").read_text() for i in (1, 2)]
    assert [p.returncode for p in procs] == [0, 0], "\n\n".join(o[-3000:] for o in outs)
    summaries = [json.loads(o.strip().splitlines()[-1]) for o in outs]
    done = [s["loaded"] + s["quarantined"] for s in summaries]
    print(f"\n[two workers] {n} PDFs in {elapsed:.1f}s; split {done[0]} + {done[1]} "
          f"(skipped {summaries[0]['skipped']} / {summaries[1]['skipped']})")
    assert sum(done) == n  # nothing lost, nothing counted twice

    with psycopg.connect(PG_URL) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(pg_schema)))
        rows = conn.execute("SELECT count(*), count(DISTINCT sha256), count(*) FILTER (WHERE attempts = 1), "
                            "count(*) FILTER (WHERE state IN ('loaded', 'quarantined')), "
                            "count(*) FILTER (WHERE claimed_by IS NOT NULL), count(DISTINCT run_id) "
                            "FROM documents").fetchone()
        inv = clean_rows(conn)
        quar = conn.execute("SELECT count(*) FROM quarantine").fetchone()
    assert rows == (n, n, n, n, 0, rows[5] if rows else 0)  # each document once, processed once, unclaimed
    assert quar is not None and inv[0] == inv[1] and inv[0] + quar[0] == n
    # both workers left the start barrier together (WORKERS): both flows worked, and each left one run id
    assert all(d > 0 for d in done), f"one worker did all the work: {done}"
    assert rows is not None and rows[5] == 2


def wait_until_both_wait(conn: psycopg.Connection[object], procs: list[subprocess.Popen[object]]) -> None:
    """Return once both workers' store connections wait on the schema lock (a worker that exits first fails)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        row = conn.execute(WAITING_SQL, [_SCHEMA_LOCK, list(WORKERS)]).fetchone()
        if row is not None and row[0] == len(WORKERS):
            return
        if any(p.poll() is not None for p in procs):
            pytest.fail("a worker exited before it reached its store")
        time.sleep(0.05)
    pytest.fail("the workers did not both reach their store in 180 s")
