"""Readers during a DuckDB run (issue 21): the run lets its file go when a reader knocks, so ``ocrflow query`` (its
own process) and the review page get their answers between two batches, and the run then takes the file back
and finishes; a second ocrflow writer is refused at once, naming the first one's PID."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ocrflow.core.settings import load_settings
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.run.batches import BatchReport
from ocrflow.run.files_work import run_files
from ocrflow.run.lifecycle import RunHooks, RunOptions
from ocrflow.run.summary import RunSummary
from ocrflow.store import StoreError
from ocrflow.store.duckdb_store import DuckDBStore
from tests.support.review import client_for
from tests.support.store_checks import make_inbox

CLI = Path(sys.executable).parent / "ocrflow"


class PausedAfterFirstBatch(RunHooks):
    """Stops the run after its first batch is written until the test lets it go on."""

    def __init__(self) -> None:
        self.between = threading.Event()
        self.go_on = threading.Event()

    def on_batch(self, report: BatchReport) -> None:
        if not self.between.is_set():
            self.between.set()
            self.go_on.wait(timeout=120)


@pytest.mark.slow  # ~20 s: a run of 6 documents in 3 batches, a query process
def test_query_and_review_page_answer_while_a_run_is_between_batches(tmp_path: Path) -> None:
    n = 6
    make_inbox(tmp_path / "inbox", n)
    db = tmp_path / "run.duckdb"
    store = DuckDBStore(str(db))
    hooks = PausedAfterFirstBatch()
    done: list[RunSummary] = []
    settings = load_settings(store=str(db), engine="embedded", documents_in_flight=1)
    run = threading.Thread(target=lambda: done.append(run_files(
        [str(tmp_path / "inbox")], settings, store, EmbeddedEngine(), hooks=hooks,
        options=RunOptions(batch_size=2, data_docs=False))), daemon=True)
    run.start()
    try:
        assert hooks.between.wait(timeout=120), "the first batch was never written"
        attaches = store._hold.attaches
        t0 = time.monotonic()
        query = subprocess.run([str(CLI), "query", "SELECT state, count(*) AS n FROM documents GROUP BY 1",
                                "--db", str(db), "--json"], capture_output=True, text=True, timeout=120,
                               env={**os.environ, "OCRFLOW_STORE_WAIT_S": "30"}, check=False)
        waited = time.monotonic() - t0
        assert query.returncode == 0, query.stdout + query.stderr
        counts = {r["state"]: r["n"] for r in json.loads(query.stdout[query.stdout.index("["):])}
        assert counts.get("loaded") == 2 and sum(counts.values()) == n  # the first batch, the rest pending
        page = client_for(str(db)).get("/")
        assert page.status_code == 200, page.text[:500]
    finally:
        hooks.go_on.set()
        run.join(timeout=300)
        store.close()
    assert done and done[0].status == "COMPLETED" and done[0].counts["loaded"] == n
    assert store._hold.attaches > attaches  # the run let the file go for the readers and took it back
    print(f"\n[readers] query answered between batches after {waited:.1f} s (process start included)")


def test_a_second_ocrflow_writer_is_refused_at_once_naming_the_first(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom ocrflow.store.duckdb_store import "
                               "DuckDBStore\ns = DuckDBStore(sys.argv[1])\nprint('ready', flush=True)\n"
                               "sys.stdin.read()\ns.close()", str(db)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # past the holder's idle release: its DuckDB lock is gone, its writer lock is not
        t0 = time.monotonic()
        with pytest.raises(StoreError, match=rf"locked by process {holder.pid}"):
            DuckDBStore(str(db))
        assert time.monotonic() - t0 < 1.5
        reader = DuckDBStore(str(db), read_only=True, wait_s=5)  # readers are welcome meanwhile
        reader.close()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    DuckDBStore(str(db)).close()  # free again once the first writer closed
