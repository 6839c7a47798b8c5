"""SIGINT / SIGTERM to a real ``ocrflow run`` process (DuckDB and PostgreSQL), and to ``ocrflow run --prefect``.

The first signal: no new document, the finished ones written, the rest pending, the claims released, the
``runs`` row CANCELLED with the counts, exit 130 (SIGINT) / 143 (SIGTERM). A second signal: out at once,
the row still not RUNNING. The flow ends Cancelled. Each test reads the store afterwards.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import IO, Any

import duckdb
import psycopg
import pytest
from psycopg import sql

from tests.support.prefect_server import BIN, PrefectServer, base_env

pytestmark = pytest.mark.slow
DOCS = 40
BATCH = 2


def invoices(folder: Path, n: int = DOCS) -> Path:
    """``n`` distinct one-page digital invoices (the demo generator)."""
    from ocrflow.demo.invoice_pdf import render_invoice_pdf
    from ocrflow.demo.invoice_spec import english_invoice

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(5)
    for i in range(n):
        spec = english_invoice(rng, n_items=3, currency="GBP", country="GB", seller=f"Seller {i} Ltd",
                               buyer=f"Buyer {i} LLP", prefix=f"S{i:03d}")
        render_invoice_pdf(spec, folder / f"inv{i:03d}.pdf")
    return folder


def start_run(inbox: Path, store: str, log: IO[Any], env: dict[str, str], *extra: str) -> subprocess.Popen[Any]:
    """``ocrflow run`` in its own process, slowly (one document in flight, batches of 2), --json on stdout."""
    args = [str(BIN / "ocrflow"), "run", str(inbox), "--db", store, "--engine", "embedded", "--batch-size",
            str(BATCH), "--json", *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, env={**env, "OCRFLOW_DOCUMENTS_IN_FLIGHT": "1"},
                            text=True)


def wait_for_batches(log: Path, proc: subprocess.Popen[Any], n: int, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if f"batch {n}/" in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"batch {n} not reported:\n{log.read_text(errors='replace')[-3000:]}")


def stop_and_time(proc: subprocess.Popen[Any], signals: list[int]) -> tuple[int, float, str]:
    t0 = time.perf_counter()
    for i, sig in enumerate(signals):
        if i:
            time.sleep(0.2)
        proc.send_signal(sig)
    out, _ = proc.communicate(timeout=120)
    return proc.returncode, time.perf_counter() - t0, out


def store_state(store: str) -> dict[str, Any]:
    """documents by state, documents still claimed, and the runs rows (status and counts)."""
    queries = {"states": "SELECT state, count(*) FROM documents GROUP BY state",
               "claimed": "SELECT count(*) FROM documents WHERE claimed_by IS NOT NULL",
               "runs": "SELECT status, loaded, quarantined, failed, pending, message FROM runs"}
    if store.startswith("postgresql://"):
        url, schema = store.split("?schema=")
        with psycopg.connect(url) as conn:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            got = {k: conn.execute(q).fetchall() for k, q in queries.items()}  # type: ignore[arg-type]
    else:
        con = duckdb.connect(store, read_only=True)
        got = {k: con.execute(q).fetchall() for k, q in queries.items()}
        con.close()
    return {"states": dict(got["states"]), "claimed": got["claimed"][0][0], "runs": got["runs"]}


def check_cancelled(state: dict[str, Any], summary: dict[str, Any] | None, docs: int = DOCS) -> None:
    """Nothing RUNNING, no claim left; finished documents written, the rest pending; the row's counts."""
    states = state["states"]
    assert sum(states.values()) == docs and set(states) <= {"loaded", "quarantined", "failed", "pending"}, states
    assert state["claimed"] == 0
    ((status, loaded, quarantined, failed, pending, message),) = state["runs"]
    assert status == "CANCELLED", state["runs"]
    finished = states.get("loaded", 0) + states.get("quarantined", 0) + states.get("failed", 0)
    assert BATCH * 2 <= finished < docs and states.get("pending", 0) == docs - finished
    if summary is not None:  # the graceful stop: the row holds the counts, the summary says the same
        assert (loaded, quarantined, failed, pending) == (states.get("loaded", 0), states.get("quarantined", 0),
                                                          states.get("failed", 0), states.get("pending", 0))
        assert summary["status"] == "CANCELLED" and summary["pending"] == states.get("pending", 0)
        assert message.startswith("stopped by SIG") and "left pending for the next run" in message
    else:
        assert message.startswith("stopped at once by a second SIG"), message


def _pg_store(pg_schema: tuple[str, str]) -> str:
    url, schema = pg_schema
    return f"{url}?schema={schema}"


@pytest.mark.parametrize(("kind", "sig", "code"), [
    ("duckdb", signal.SIGINT, 130), ("duckdb", signal.SIGTERM, 143),
    pytest.param("postgres", signal.SIGTERM, 143, marks=pytest.mark.postgres),
    pytest.param("postgres", signal.SIGINT, 130, marks=pytest.mark.postgres)])
def test_a_signal_stops_the_run_cleanly(kind: str, sig: int, code: int, tmp_path: Path,
                                        request: pytest.FixtureRequest) -> None:
    inbox = invoices(tmp_path / "inbox")
    store = _pg_store(request.getfixturevalue("pg_schema")) if kind == "postgres" else str(tmp_path / "s.duckdb")
    log = tmp_path / "run.log"
    with log.open("w") as fh:
        proc = start_run(inbox, store, fh, base_env(tmp_path))
        wait_for_batches(log, proc, 2)
        rc, took, out = stop_and_time(proc, [sig])
    print(f"\n[signals] {kind} {signal.Signals(sig).name}: exit {rc} {took:.1f} s after the signal")
    assert rc == code, log.read_text()[-3000:]
    summary = json.loads(out)
    assert summary["exit_code"] == code
    check_cancelled(store_state(store), summary)
    assert "again stops at once" in log.read_text()
    # the next run takes the pending ones and finishes the inbox
    again = subprocess.run([str(BIN / "ocrflow"), "run", str(inbox), "--db", store, "--engine", "embedded",
                            "--json"], capture_output=True, text=True, timeout=600, env=base_env(tmp_path),
                           check=False)
    assert again.returncode == 0, again.stderr[-3000:]
    assert set(store_state(store)["states"]) <= {"loaded", "quarantined"}


@pytest.mark.parametrize("kind", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_second_sigint_stops_at_once_without_a_running_row(kind: str, tmp_path: Path, demo_dir: Path,
                                                             request: pytest.FixtureRequest) -> None:
    """Four digital invoices (two batches), then scanned receipts: the second Ctrl-C comes while one is in
    OCR (seconds of CPU each), and the process leaves without waiting for it."""
    inbox = invoices(tmp_path / "inbox", BATCH * 2)
    scans = sorted((demo_dir / "docs").glob("receipt_scan_*"))
    for i in range(6):
        src = scans[i % len(scans)]
        (inbox / f"s{i:03d}{src.suffix}").write_bytes(src.read_bytes() + bytes([i]))  # distinct documents
    store = _pg_store(request.getfixturevalue("pg_schema")) if kind == "postgres" else str(tmp_path / "s.duckdb")
    log = tmp_path / "run.log"
    with log.open("w") as fh:
        proc = start_run(inbox, store, fh, base_env(tmp_path))
        wait_for_batches(log, proc, 2)
        time.sleep(0.5)  # the first scan is in OCR now
        rc, took, _ = stop_and_time(proc, [signal.SIGINT, signal.SIGINT])
    print(f"\n[signals] {kind} SIGINT twice: exit {rc} {took:.1f} s after the first")
    assert rc == 130, log.read_text()[-3000:]
    assert "stopped at once by a second SIGINT" in log.read_text()
    assert "terminate called" not in log.read_text()  # no abort from a native thread at exit
    check_cancelled(store_state(store), None, BATCH * 2 + 6)


@pytest.mark.prefect_server
def test_sigterm_cancels_the_flow(prefect_server: PrefectServer, tmp_path: Path) -> None:
    """``ocrflow run --prefect`` as a worker runs it: SIGTERM (what a cancel sends) ends the flow run
    Cancelled, the runs row CANCELLED, exit 143."""
    inbox = invoices(tmp_path / "inbox")
    store = str(tmp_path / "f.duckdb")
    log = tmp_path / "run.log"
    with log.open("w") as fh:
        proc = start_run(inbox, store, fh, prefect_server.env, "--prefect")
        wait_for_batches(log, proc, 2)
        rc, took, out = stop_and_time(proc, [signal.SIGTERM])
    print(f"\n[signals] flow SIGTERM: exit {rc} {took:.1f} s after the signal")
    assert rc == 143, log.read_text()[-3000:]
    summary = json.loads(out)
    check_cancelled(store_state(store), summary)

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        mine = [r for r in client.read_flow_runs() if (r.parameters.get("options") or {}).get("store") == store]
    assert len(mine) == 1 and mine[0].state is not None and mine[0].state.is_cancelled(), mine
    assert (mine[0].state.message or "").startswith("stopped by SIGTERM")

