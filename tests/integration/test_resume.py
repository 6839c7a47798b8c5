"""SIGKILL a flow run in the middle, run it again: every document ends in exactly one final state, once."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.support.prefect_server import PrefectServer, clean_rows, make_pdf_inbox

pytestmark = [pytest.mark.prefect_server, pytest.mark.slow]

BATCH = 2


def _flow_cmd(inbox: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "flows.process_documents", str(inbox), "--store", str(db), "--engine", "embedded",
            "--batch-size", str(BATCH)]


def _wait_for(log: Path, text: str, proc: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if getattr(proc, "poll")() is not None:  # noqa: B009 - Popen
            break
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not seen in the flow's log:\n{log.read_text(errors='replace')[-3000:]}")


def test_kill_mid_run_then_resume(prefect_server: PrefectServer, demo_dir: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    files = make_pdf_inbox(inbox, demo_dir, copies=6)
    n = len(files)
    db = tmp_path / "resume.duckdb"
    log = tmp_path / "run1.log"
    t0 = time.perf_counter()
    with log.open("w") as fh:
        proc = prefect_server.spawn(_flow_cmd(inbox, db), fh)
        _wait_for(log, f"batch 2/{n // BATCH} written", proc, timeout_s=120)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    con = duckdb.connect(str(db), read_only=True)
    before = dict(con.execute("SELECT state, count(*) FROM documents GROUP BY state").fetchall())
    con.close()
    done_before = before.get("loaded", 0) + before.get("quarantined", 0)
    print(f"\n[resume] killed after {time.perf_counter() - t0:.1f}s: {before}")
    assert sum(before.values()) == n  # every file was registered (pending) before work began
    assert BATCH * 2 <= done_before < n  # killed in the middle: some done, some not

    t1 = time.perf_counter()
    r = prefect_server.run(_flow_cmd(inbox, db), timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    print(f"[resume] second run: {time.perf_counter() - t1:.1f}s, {r.stdout.strip().splitlines()[-1]}")
    con = duckdb.connect(str(db), read_only=True)
    docs, distinct, paths = con.execute(
        "SELECT count(*), count(DISTINCT sha256), count(DISTINCT path) FROM documents").fetchone() or (0, 0, 0)
    states = dict(con.execute("SELECT state, count(*) FROM documents GROUP BY state").fetchall())
    inv = clean_rows(con)
    quar = con.execute("SELECT count(*), count(DISTINCT doc_sha256) FROM quarantine").fetchone()
    pages = con.execute("SELECT count(*), count(DISTINCT (doc_sha256, page_no)) FROM pages").fetchone()
    redone = con.execute("SELECT count(*) FROM documents WHERE attempts > 1").fetchone()
    con.close()
    print(f"[resume] after resume: {states}; invoice rows {inv}, quarantine rows {quar}")
    assert docs == distinct == paths == n  # one row per file, none duplicated
    assert set(states) <= {"loaded", "quarantined"} and sum(states.values()) == n
    assert quar is not None and inv[0] == inv[1] == states.get("loaded", 0) and quar[0] == quar[1]
    assert inv[0] + quar[0] == n  # each document is in exactly one place
    assert pages is not None and pages[0] == pages[1]
    assert redone == (0,)  # what the killed run finished was not processed again
