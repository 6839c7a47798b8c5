"""The process-documents flow against a real Prefect server: failure semantics, artifacts, DuckDB
collisions, the nightly fallback to in-process sub-flows, and retries for transient errors only."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.nightly_ingest import nightly_ingest
from flows.nightly_report import NIGHTLY_KEY
from flows.outcome import FlowRunFailed, flow_output
from flows.params import FanOut, Inbox, RunParams
from flows.process_documents import process_documents
from flows.reporting import COUNTS_KEY, PROBLEMS_KEY, PROGRESS_KEY, SUMMARY_KEY
from tests.support.prefect_server import PrefectServer, make_pdf_inbox


def _artifacts(flow_run_id: Any) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(
            any_=[flow_run_id])))
    return {a.key: a for a in arts}


@pytest.mark.prefect_server
@pytest.mark.slow
def test_bad_documents_fail_the_run_not_the_batch(prefect_server: PrefectServer, demo_dir: Path,
                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("OCRFLOW_MAX_FAILED", "0")  # no error budget: one failure fails the run
    monkeypatch.setenv("OCRFLOW_REVIEW_URL", "http://review.example:8765/")
    inbox = tmp_path / "inbox"
    make_pdf_inbox(inbox, demo_dir)
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.4\ngarbage that pdfium cannot open")
    db = tmp_path / "ocrflow.duckdb"
    t0 = time.perf_counter()
    state: Any = process_documents(paths=[str(inbox)], options=RunParams(store=str(db), engine="embedded",
                                                                         batch_size=2), return_state=True)
    print(f"\n[flow] 6 documents in-process against the server: {time.perf_counter() - t0:.1f}s")
    assert state.is_failed()
    assert "broken.pdf" in (state.message or "")
    with pytest.raises(FlowRunFailed, match=r"broken\.pdf"):  # what a worker does with the final state
        state.result()
    out = flow_output(state)
    assert out["loaded"] + out["quarantined"] == 5 and out["failed"] == 1, out
    assert [p for p, _ in out["failed_documents"]] == [str(inbox / "broken.pdf")]
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
    waiting = out["review_waiting"]
    assert waiting is not None and waiting >= out["quarantined"]
    assert f"**{waiting} record(s) wait for review**: [open the review page](http://review.example:8765/)" in md
    (counts,) = _table(arts[COUNTS_KEY].data)
    assert (counts["loaded"], counts["quarantined"], counts["failed"]) == (out["loaded"], out["quarantined"], 1)

    # The re-run skips all six and says in which final state they are, not "already loaded".
    caplog.set_level(logging.INFO, logger="prefect.flow_runs")
    again: Any = process_documents(paths=[str(inbox)], options=RunParams(store=str(db), engine="embedded"),
                                   return_state=True)
    assert again.is_completed(), again.message
    con = duckdb.connect(str(db), read_only=True)
    states = dict(con.execute("SELECT state, count(*) FROM documents GROUP BY state").fetchall())
    con.close()
    assert flow_output(again)["already_final"] == states
    final = (f"6 already final ({states.get('loaded', 0)} loaded, {states.get('quarantined', 0)} quarantined, "
             "1 failed)")
    assert final in str(_artifacts(again.state_details.flow_run_id)[SUMMARY_KEY].data)
    assert any(final in m for m in caplog.messages), caplog.messages


def _log_messages(flow_run_id: Any) -> list[str]:
    """Every log line of a flow run (its tasks' included), as the UI shows them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
    return [lg.message for lg in logs]


def _runs(db: Path) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT status, message, flow_run_id FROM runs").fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("case", ["unknown contract", "missing input", "dead store"])
@pytest.mark.prefect_server
def test_a_run_that_stops_early_says_why_in_one_line(prefect_server: PrefectServer, demo_dir: Path,
                                                    tmp_path: Path, case: str) -> None:
    """A bad parameter, a missing path, a store that cannot be reached: the run ends Failed with one clear
    line (no traceback, no Prefect-internal TypeError), closes its runs row FAILED where the store takes
    writes, and publishes its summary artifact; no document is registered."""
    db = tmp_path / "stop.duckdb"
    paths = [str(demo_dir / "docs")]
    params: dict[str, Any] = {"store": str(db), "engine": "embedded"}
    expected = {"unknown contract": "unknown contract 'nope'; known: ", "missing input": "does not exist",
                "dead store": "cannot connect to PostgreSQL"}[case]
    if case == "unknown contract":
        params["contract"] = "nope"
    elif case == "missing input":
        paths = [str(tmp_path / "no-such-inbox")]
    else:
        params["store"] = "postgresql://ocrflow@127.0.0.1:9/test"  # nothing listens on port 9
    state: Any = process_documents(paths=paths, options=RunParams(**params), return_state=True)
    assert state.is_failed()
    message = state.message or ""
    assert expected in message and "\n" not in message and "Traceback" not in message, message
    with pytest.raises(FlowRunFailed) as raised:  # the worker's view: the reason, not a TypeError
        state.result()
    assert str(raised.value) == message
    fid = state.state_details.flow_run_id
    logs = _log_messages(fid)
    assert any(expected in m for m in logs)
    assert not [m for m in logs if "Traceback" in m or "TypeError" in m], logs
    md = str(_artifacts(fid)[SUMMARY_KEY].data)
    assert "FAILED" in md and message in md
    if case == "dead store":
        assert not db.exists()  # nothing to record in: the artifact and the state carry the reason
        return
    assert _runs(db) == [("FAILED", message, str(fid))]
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM documents").fetchone() == (0,)
    con.close()


@pytest.mark.prefect_server
def test_nightly_with_an_unknown_contract_stops_before_any_child(prefect_server: PrefectServer, demo_dir: Path,
                                                                 tmp_path: Path) -> None:
    db = tmp_path / "n.duckdb"
    state: Any = nightly_ingest(inbox=Inbox(root=str(demo_dir / "docs")),
                                processing=RunParams(store=str(db), contract="nope"),
                                fan_out=FanOut(deployment="no-such-flow/no-such-deployment"), return_state=True)
    assert state.is_failed()
    assert (state.message or "").startswith("unknown contract 'nope'") and "\n" not in (state.message or "")
    out = flow_output(state)
    assert out["child_runs"] == 0
    md = str(_artifacts(state.state_details.flow_run_id)[NIGHTLY_KEY].data)
    assert "unknown contract 'nope'" in md
    assert not db.exists()  # stopped before the store was opened


def _table(data: Any) -> list[dict[str, Any]]:
    import json

    return json.loads(data) if isinstance(data, str) else list(data)


@pytest.mark.prefect_server
def test_second_writer_on_a_duckdb_file_gets_a_clear_message(prefect_server: PrefectServer, demo_dir: Path,
                                                            tmp_path: Path) -> None:
    db = tmp_path / "held.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(120)", str(db)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        state: Any = process_documents(paths=[str(next(demo_dir.rglob("invoice_digital.pdf")))],
                                       options=RunParams(store=str(db), engine="embedded"), return_state=True)
    finally:
        holder.kill()
        holder.wait()
    assert state.is_failed()
    assert f"locked by process {holder.pid}" in (state.message or "")
    assert "one writer per file" in (state.message or "")


@pytest.mark.prefect_server
@pytest.mark.slow
def test_nightly_falls_back_to_in_process_subflows(prefect_server: PrefectServer, demo_dir: Path,
                                                   tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    files = make_pdf_inbox(inbox, demo_dir)
    db = tmp_path / "nightly.duckdb"
    state: Any = nightly_ingest(inbox=Inbox(root=str(inbox)), processing=RunParams(store=str(db), engine="embedded"),
                                fan_out=FanOut(deployment="no-such-flow/no-such-deployment", docs_per_run=3),
                                return_state=True)
    assert state.is_completed(), state.message
    out = state.result()
    assert out["documents"] == len(files) and out["child_runs"] == 2
    assert all(c["state"] == "COMPLETED" and c["counted"] for c in out["children"])
    con = duckdb.connect(str(db), read_only=True)
    n, final = con.execute("SELECT count(*), count(*) FILTER (WHERE state IN ('loaded', 'quarantined')) "
                           "FROM documents").fetchone() or (0, 0)
    states = dict(con.execute("SELECT state, count(*) FROM documents GROUP BY state").fetchall())
    con.close()
    assert n == final == len(files)
    # the nightly's summary adds up its children's own counts
    totals = out["totals"]
    assert (totals["loaded"], totals["quarantined"], totals["failed"], totals["pending"]) == (
        states.get("loaded", 0), states.get("quarantined", 0), 0, 0)
    assert [c["loaded"] + c["quarantined"] for c in out["children"]] == [3, len(files) - 3]
    md = str(_artifacts(state.state_details.flow_run_id)[NIGHTLY_KEY].data)
    assert (f"| all child runs | {totals['loaded']} | {totals['quarantined']} | 0 | 0 | 0 | "
            f"{totals['duplicates']} |") in md
    again: Any = nightly_ingest(inbox=Inbox(root=str(inbox)), processing=RunParams(store=str(db)),
                                fan_out=FanOut(deployment="no-such-flow/no-such-deployment"), return_state=True)
    assert again.is_completed() and again.result()["documents"] == 0  # nothing new: no child run


@pytest.mark.prefect_server
def test_engine_preflight_failure_fails_the_flow_before_any_document(prefect_server: PrefectServer,
                                                                     demo_dir: Path, tmp_path: Path) -> None:
    from tests.fakes.fake_vllm import FakeVllm

    db = tmp_path / "pre.duckdb"
    with FakeVllm(mode="ocr", models=["someone/else"]) as fake, pytest.MonkeyPatch.context() as mp:
        mp.setenv("OCRFLOW_VLLM_URL", fake.url)
        state: Any = process_documents(paths=[str(demo_dir / "docs")],
                                       options=RunParams(store=str(db), engine="vllm"), return_state=True)
        assert fake.counters.chat_requests == 0
    assert state.is_failed()
    assert "tencent/HunyuanOCR" in (state.message or "") and "someone/else" in (state.message or "")
    con = duckdb.connect(str(db))
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    docs = con.execute("SELECT count(*) FROM documents").fetchone() if "documents" in tables else (0,)
    con.close()
    assert docs == (0,)  # nothing was touched


@pytest.mark.parametrize("in_flight", [1, 4])
@pytest.mark.prefect_server
@pytest.mark.slow
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
        state: Any = process_documents(paths=[str(inbox)], options=RunParams(
            store=str(tmp_path / "f.duckdb"), engine="vllm", contract="receipt", batch_size=2), return_state=True)
        out = flow_output(state)
        assert out["documents"] == 4 and out["pending"] == 0 and out["failed"] == 0, out
        assert fake.counters.chat_requests == 8
        peak = fake.counters.peak_running
        assert peak == 1 if in_flight == 1 else 3 <= peak <= in_flight  # across the 2-document batches


@pytest.mark.prefect_server
@pytest.mark.slow
def test_the_nightly_summary_names_its_failures(prefect_server: PrefectServer, demo_dir: Path,
                                                tmp_path: Path) -> None:
    """A child run's failed documents reach the nightly's summary by name, with the reason."""
    inbox = tmp_path / "inbox"
    make_pdf_inbox(inbox, demo_dir)
    (inbox / "zz-broken.pdf").write_bytes(b"%PDF-1.4\ngarbage that pdfium cannot open")
    state: Any = nightly_ingest(inbox=Inbox(root=str(inbox)),
                                processing=RunParams(store=str(tmp_path / "n.duckdb"), engine="embedded",
                                                     max_failed="10"),
                                fan_out=FanOut(deployment="no-such-flow/no-such-deployment", docs_per_run=3),
                                return_state=True)
    assert state.is_completed(), state.message
    failed = [c for c in state.result()["children"] if c["failed_documents"]]
    assert len(failed) == 1 and failed[0]["failed_documents"].startswith("zz-broken.pdf: render:")
    md = str(_artifacts(state.state_details.flow_run_id)[NIGHTLY_KEY].data)
    assert "## Failed documents" in md and f"- {failed[0]['name']}: zz-broken.pdf: render:" in md
