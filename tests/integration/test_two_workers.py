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

from tests.support.prefect_server import PrefectServer, clean_rows, make_pdf_inbox

pytestmark = [pytest.mark.postgres, pytest.mark.prefect_server, pytest.mark.slow]

# imports first (seconds on a loaded box), then wait at a gate until both workers are ready, then run the flow
START_TOGETHER = """
import pathlib, runpy, sys, time
import flows.process_documents
gate = pathlib.Path(sys.argv[1])
(gate / str(__import__("os").getpid())).touch()
deadline = time.monotonic() + 120
while len(list(gate.iterdir())) < 2 and time.monotonic() < deadline:
    time.sleep(0.01)
sys.argv = ["process_documents", *sys.argv[2:]]
runpy.run_module("flows.process_documents", run_name="__main__")
"""
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
    gate = tmp_path / "gate"
    gate.mkdir()
    args = [str(inbox), "--store", store, "--engine", "embedded", "--batch-size", "2", "--claim-ttl", "120"]
    cmd = [sys.executable, "-c", START_TOGETHER, str(gate), *args]
    t0 = time.perf_counter()
    logs = [(tmp_path / f"worker{i}.log").open("w") for i in (1, 2)]
    procs = [prefect_server.spawn(cmd, log) for log in logs]
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
    # both workers pass a start gate after their imports (START_TOGETHER), so the split no longer depends on
    # which process got going first: both flows worked, and each left one run id
    assert all(d > 0 for d in done), f"one worker did all the work: {done}"
    assert rows is not None and rows[5] == 2
