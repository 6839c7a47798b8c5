"""The process-documents flow against a real Prefect server: failure semantics, artifacts, DuckDB
collisions, the nightly fallback to in-process sub-flows, and retries for transient errors only."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.nightly_ingest import nightly_ingest
from flows.params import FanOut, Inbox, Processing
from flows.process_documents import process_documents
from flows.reporting import PROBLEMS_KEY, PROGRESS_KEY, SUMMARY_KEY
from ocrflow.engines.base import TransientEngineError
from tasks.stages import _transient_only
from tests.integration.prefect_server import PrefectServer, make_pdf_inbox


def _artifacts(flow_run_id: Any) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(
            any_=[flow_run_id])))
    return {a.key: a for a in arts}


def test_bad_documents_fail_the_run_not_the_batch(prefect_server: PrefectServer, demo_dir: Path,
                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCRFLOW_MAX_FAILED", "0")  # no error budget: one failure fails the run
    inbox = tmp_path / "inbox"
    make_pdf_inbox(inbox, demo_dir)
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.4\ngarbage that pdfium cannot open")
    db = tmp_path / "ocrflow.duckdb"
    t0 = time.perf_counter()
    state: Any = process_documents(paths=[str(inbox)], store=str(db), engine="embedded", batch_size=2,
                                   return_state=True)
    print(f"\n[flow] 6 documents in-process against the server: {time.perf_counter() - t0:.1f}s")
    assert state.is_failed()
    assert "broken.pdf" in (state.message or "")
    out = state.result(raise_on_failure=False)
    assert out["loaded"] + out["quarantined"] == 5 and out["failed"] == 1, out
    assert out["failed_documents"] == [str(inbox / "broken.pdf")]
    con = duckdb.connect(str(db), read_only=True)
    states = dict(con.execute("SELECT state, count(*) FROM documents GROUP BY state").fetchall())
    con.close()
    assert states.get("failed") == 1 and states.get("loaded", 0) + states.get("quarantined", 0) == 5
    arts = _artifacts(state.state_details.flow_run_id)
    assert {SUMMARY_KEY, PROBLEMS_KEY, PROGRESS_KEY} <= set(arts)
    md = str(arts[SUMMARY_KEY].data)
    assert "FAILED" in md and "| 6 | 6 |" in md and "text_layer" in md and "p95" in md
    problems = {r["document"]: r["state"] for r in _table(arts[PROBLEMS_KEY].data)}
    assert problems.pop("broken.pdf") == "failed" and set(problems.values()) <= {"quarantined"}
    assert float(arts[PROGRESS_KEY].data) == 100.0
    con = duckdb.connect(str(db), read_only=True)
    docs_path = con.execute("SELECT data_docs FROM runs WHERE finished_at IS NOT NULL").fetchone()
    con.close()
    assert docs_path and Path(docs_path[0]).is_file()  # Great Expectations Data Docs for this run
    assert docs_path[0] in md


def _table(data: Any) -> list[dict[str, Any]]:
    import json

    return json.loads(data) if isinstance(data, str) else list(data)


def test_second_writer_on_a_duckdb_file_gets_a_clear_message(prefect_server: PrefectServer, demo_dir: Path,
                                                            tmp_path: Path) -> None:
    db = tmp_path / "held.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(120)", str(db)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        state: Any = process_documents(paths=[str(next(demo_dir.rglob("invoice_digital.pdf")))], store=str(db),
                                       engine="embedded", return_state=True)
    finally:
        holder.kill()
        holder.wait()
    assert state.is_failed()
    assert f"locked by process {holder.pid}" in (state.message or "")
    assert "one writer per file" in (state.message or "")


def test_nightly_falls_back_to_in_process_subflows(prefect_server: PrefectServer, demo_dir: Path,
                                                   tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    files = make_pdf_inbox(inbox, demo_dir)
    db = tmp_path / "nightly.duckdb"
    state: Any = nightly_ingest(inbox=Inbox(root=str(inbox)), processing=Processing(store=str(db), engine="embedded"),
                                fan_out=FanOut(deployment="no-such-flow/no-such-deployment", docs_per_run=3),
                                return_state=True)
    assert state.is_completed(), state.message
    out = state.result()
    assert out["documents"] == len(files) and out["child_runs"] == 2
    assert all(c["state"] == "COMPLETED" for c in out["children"])
    con = duckdb.connect(str(db), read_only=True)
    n, final = con.execute("SELECT count(*), count(*) FILTER (WHERE state IN ('loaded', 'quarantined')) "
                           "FROM documents").fetchone() or (0, 0)
    con.close()
    assert n == final == len(files)
    again: Any = nightly_ingest(inbox=Inbox(root=str(inbox)), processing=Processing(store=str(db)),
                                fan_out=FanOut(deployment="no-such-flow/no-such-deployment"), return_state=True)
    assert again.is_completed() and again.result()["documents"] == 0  # nothing new: no child run


class _State:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def result(self) -> Any:
        raise self.exc


@pytest.mark.parametrize(("exc", "retry"), [(TransientEngineError("503"), True), (ValueError("bad"), False),
                                            (KeyError("x"), False)])
def test_tasks_retry_transient_errors_only(exc: Exception, retry: bool) -> None:
    assert _transient_only(None, None, _State(exc)) is retry


def test_engine_preflight_failure_fails_the_flow_before_any_document(prefect_server: PrefectServer,
                                                                     demo_dir: Path, tmp_path: Path) -> None:
    from tests.fakes.fake_vllm import FakeVllm

    db = tmp_path / "pre.duckdb"
    with FakeVllm(mode="ocr", models=["someone/else"]) as fake, pytest.MonkeyPatch.context() as mp:
        mp.setenv("OCRFLOW_VLLM_URL", fake.url)
        state: Any = process_documents(paths=[str(demo_dir / "docs")], store=str(db), engine="vllm",
                                       return_state=True)
        assert fake.counters.chat_requests == 0
    assert state.is_failed()
    assert "tencent/HunyuanOCR" in (state.message or "") and "someone/else" in (state.message or "")
    con = duckdb.connect(str(db))
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    docs = con.execute("SELECT count(*) FROM documents").fetchone() if "documents" in tables else (0,)
    con.close()
    assert docs == (0,)  # nothing was touched


@pytest.mark.parametrize("in_flight", [1, 4])
def test_flow_keeps_documents_in_flight_against_vllm(prefect_server: PrefectServer, demo_dir: Path,
                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    in_flight: int) -> None:
    """The flow path of documents_in_flight: the vLLM server sees as many documents' requests at once."""
    from tests.fakes.fake_vllm import FakeVllm

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(4):
        (inbox / f"r{i}.jpg").write_bytes((demo_dir / "docs" / "receipt_scan_01.jpg").read_bytes() + bytes([i]))
    with FakeVllm(mode="sleep", latency_s=0.5, capacity=32) as fake:
        monkeypatch.setenv("OCRFLOW_VLLM_URL", fake.url)
        monkeypatch.setenv("OCRFLOW_DOCUMENTS_IN_FLIGHT", str(in_flight))
        monkeypatch.setenv("OCRFLOW_VLLM_CACHE", "false")
        state: Any = process_documents(paths=[str(inbox)], store=str(tmp_path / "f.duckdb"), engine="vllm",
                                       contract="receipt", batch_size=2, return_state=True)
        out = state.result(raise_on_failure=False)
        assert out["documents"] == 4 and out["pending"] == 0 and out["failed"] == 0, out
        assert fake.counters.chat_requests == 8
        peak = fake.counters.peak_running
        assert peak == 1 if in_flight == 1 else 3 <= peak <= in_flight  # across the 2-document batches
