"""Engine faults on the wire, against the strict fake vLLM: down at start, dies mid-run, 503 and 429 storms,
slower than the timeout. After each: only whole documents are stored, the documents the engine could not
read stay ``pending`` (never ``failed``), and a re-run once the deployment is back completes them.

Inbox: two raster receipts (every page through the engine: spotting, then one extraction) and one
text-layer invoice (never sent to the engine). The model behind the fake answers from the demo's truth.
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ocrflow.cli import app
from ocrflow.engines.vllm import CircuitBreaker
from tests.fakes.fake_vllm import FakeVllm, closed_port_url
from tests.fakes.fake_vllm_process import FakeVllmProcess
from tests.fakes.fake_vllm_run import (
    DIGITAL,
    KEY,
    RECEIPTS,
    assert_whole,
    by_name,
    make_inbox,
    run_under_fault,
    run_vllm,
    states,
)
from tests.fakes.model_fake import TruthModel
from tests.support.duck import rows


def _all_pending_but_the_text_layer(db: Path) -> None:
    docs = by_name(db)
    assert docs[DIGITAL] == ("loaded", None)
    assert {docs[name] for name in RECEIPTS} == {("pending", "engine")}
    assert_whole(db)


def _rerun_completes(inbox: Path, db: Path, url: str, pending: int) -> None:
    again = run_vllm(inbox, db, url)
    assert again.counts["loaded"] == pending and again.counts["skipped"] == 3 - pending
    assert again.counts["pending"] == again.counts["failed"] == 0 and again.status == "COMPLETED"
    assert states(db) == {"loaded": 3}
    assert_whole(db)


def requests_for(demo_dir: Path, tmp_path: Path, *names: str) -> int:
    """How many chat requests a clean run of ``names`` sends (spotting per page, extraction, ...)."""
    model = TruthModel()
    model.add_demo(demo_dir)
    with FakeVllm(api_key=KEY, answerer=model) as counting:
        run_vllm(make_inbox(demo_dir, tmp_path / "count", names), tmp_path / "count.duckdb", counting.url)
        return counting.counters.chat_requests


def test_down_at_start_exits_2_before_any_document_and_a_later_run_takes_them_all(
        inbox: Path, demo_dir: Path, tmp_path: Path, clean_env: None) -> None:
    """Preflight (GET /v1/models) fails: exit 2 with one line, no document registered (not even pending)."""
    url = closed_port_url()
    db = tmp_path / "down.duckdb"
    env = {"OCRFLOW_VLLM_URL": url, "OCRFLOW_VLLM_API_KEY": KEY}
    down = CliRunner().invoke(app, ["run", str(inbox), "--engine", "vllm", "--db", str(db)], env=env)
    assert down.exit_code == 2, down.output
    assert "unreachable" in down.output and "before registering any document" in down.output
    assert "Traceback" not in down.output
    assert rows(db, "SELECT count(*) FROM documents") == [(0,)]
    assert {status for (status,) in rows(db, "SELECT status FROM runs")} <= {"FAILED"}  # never left RUNNING
    model = TruthModel()
    model.add_demo(demo_dir)
    with FakeVllm(api_key=KEY, answerer=model, port=int(url.rsplit(":", 1)[1])):  # the deployment comes up
        up = CliRunner().invoke(app, ["run", str(inbox), "--engine", "vllm", "--db", str(db)], env=env)
    assert up.exit_code == 0, up.output
    assert states(db) == {"loaded": 3}
    assert_whole(db)


def test_dies_mid_run_leaves_the_rest_pending_and_a_rerun_after_restart_completes(
        inbox: Path, demo_dir: Path, tmp_path: Path) -> None:
    """The server process dies (os._exit) on the first request after the first receipt's: that receipt is
    done, the request in flight is reset, later ones are refused."""
    db = tmp_path / "died.duckdb"
    first = requests_for(demo_dir, tmp_path, RECEIPTS[0])
    server = FakeVllmProcess("--api-key", KEY, "--truth-demo", str(demo_dir))
    try:
        server.start("--crash-on-request", str(first + 1))
        summary = run_vllm(inbox, db, server.url)
        assert server.wait_dead() == 3  # it crashed; it was not shut down
        assert summary.counts["loaded"] == 2 and summary.counts["pending"] == 1 and summary.counts["failed"] == 0
        docs = by_name(db)
        assert docs[RECEIPTS[0]] == docs[DIGITAL] == ("loaded", None)
        assert docs[RECEIPTS[1]] == ("pending", "engine")
        assert_whole(db)
        server.start()  # restarted on the same port
        _rerun_completes(inbox, db, server.url, pending=1)
    finally:
        server.stop()


def test_a_503_storm_opens_the_breaker_and_leaves_documents_pending(inbox: Path, fake: FakeVllm,
                                                                     tmp_path: Path) -> None:
    db = tmp_path / "503.duckdb"
    breaker = CircuitBreaker(threshold=3, cooldown_s=600)
    summary = run_under_fault(fake, "503", inbox, db, fault={"retry_after": "0"}, breaker=breaker)
    assert summary.counts["pending"] == 2 and summary.counts["loaded"] == 1 and summary.counts["failed"] == 0
    assert breaker.is_open
    # receipt 1: 2 attempts; receipt 2: the 3rd consecutive failure opens the breaker; then nothing is sent
    assert fake.counters.chat_requests == 3
    assert sum("circuit open" in why for _, why in summary.pending) == 1
    _all_pending_but_the_text_layer(db)
    _rerun_completes(inbox, db, fake.url, pending=2)


def test_a_short_503_burst_is_absorbed_by_the_retries(inbox: Path, demo_dir: Path, fake: FakeVllm,
                                                      tmp_path: Path) -> None:
    clean = requests_for(demo_dir, tmp_path, *RECEIPTS, DIGITAL)
    db = tmp_path / "burst.duckdb"
    fake.inject("503", times=1, retry_after="0")
    summary = run_vllm(inbox, db, fake.url)
    assert summary.counts["loaded"] == 3 and summary.counts["pending"] == 0
    assert fake.counters.chat_requests == clean + 1  # the refused request, sent again


def test_a_429_storm_is_retried_without_opening_the_breaker_and_documents_stay_pending(
        inbox: Path, fake: FakeVllm, tmp_path: Path) -> None:
    """429 says the deployment is up but busy: backoff (Retry-After honoured), the breaker stays closed."""
    db = tmp_path / "429.duckdb"
    breaker = CircuitBreaker(threshold=3, cooldown_s=600)
    summary = run_under_fault(fake, "429", inbox, db, fault={"retry_after": "0"}, breaker=breaker)
    assert summary.counts["pending"] == 2 and summary.counts["failed"] == 0
    assert not breaker.is_open
    assert fake.counters.chat_requests == 2 * 2  # each receipt's page, both attempts
    assert all("429" in why for _, why in summary.pending)
    _all_pending_but_the_text_layer(db)
    _rerun_completes(inbox, db, fake.url, pending=2)


def test_slower_than_the_timeout_is_transient_and_leaves_documents_pending(inbox: Path, fake: FakeVllm,
                                                                          tmp_path: Path) -> None:
    db = tmp_path / "slow.duckdb"
    summary = run_under_fault(fake, "slow", inbox, db, fault={"delay_s": 5.0}, vllm_timeout_s=0.5)
    assert summary.counts["pending"] == 2 and summary.counts["failed"] == 0
    assert any("timed out" in why for _, why in summary.pending)
    _all_pending_but_the_text_layer(db)
    _rerun_completes(inbox, db, fake.url, pending=2)
