"""`ocrflow run --engine vllm` against the strict fake vLLM: same rows as the embedded engine,
results cached in the store, and what each fault leaves behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ocrflow.cli import app
from ocrflow.core.settings import load_settings
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.engines.vllm import CircuitBreaker, RetryPolicy, make_vllm_engine
from ocrflow.run.files_work import run_files
from ocrflow.store.duckdb_store import DuckDBStore
from tests.fakes.fake_vllm import FakeVllm, closed_port_url
from tests.support.duck import rows as _rows
from tests.support.vllm import fake_fixture, inbox_fixture

pytestmark = pytest.mark.slow

FIELDS = "merchant_name, merchant_address, receipt_date, total_amount"


# one digital invoice (text layer, no OCR) and two single-page scanned receipts
inbox = inbox_fixture("invoice_digital.pdf", "receipt_scan_01.jpg", "receipt_scan_02.png", scope="module")
fake = fake_fixture(scope="module", mode="ocr", api_key="secret-key")


def _cli(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


@pytest.fixture(scope="module")
def embedded_db(inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("emb") / "e.duckdb"
    store = DuckDBStore(str(db))
    run_files([str(inbox)], load_settings(store=str(db)), store, EmbeddedEngine())
    store.close()
    return db


def test_cli_vllm_run_loads_the_same_rows_as_embedded(inbox: Path, fake: FakeVllm, embedded_db: Path,
                                                      tmp_path: Path, clean_env: None) -> None:
    db = tmp_path / "v.duckdb"
    env = {"OCRFLOW_VLLM_URL": fake.url, "OCRFLOW_VLLM_API_KEY": "secret-key"}
    before = fake.counters.chat_requests
    result = _cli("run", str(inbox), "--engine", "vllm", "--db", str(db), env=env)
    assert result.exit_code == 0, result.output
    sent = fake.counters.chat_requests - before
    assert sent == 4  # 2 receipts x (spotting + extraction); the digital invoice used its text layer
    ordering = " ORDER BY source_path"
    assert _rows(db, f"SELECT {FIELDS} FROM receipt{ordering}") == \
        _rows(embedded_db, f"SELECT {FIELDS} FROM receipt{ordering}")
    assert _rows(db, "SELECT invoice_number, total_amount FROM invoice") == \
        _rows(embedded_db, "SELECT invoice_number, total_amount FROM invoice")
    lineage = _rows(db, "SELECT DISTINCT engine, model, prompt_version FROM receipt")
    assert lineage and all(e == "vllm" and m == "tencent/HunyuanOCR" and p.startswith("hunyuanocr-v1+")
                           for e, m, p in lineage)
    pages = _rows(db, "SELECT engine, prompt_tokens, completion_tokens FROM pages WHERE path_taken = 'ocr'")
    assert pages and all(e == "vllm" and pt > 0 and ct > 0 for e, pt, ct in pages)
    # a forced re-run is answered from the store's cache: the GPU is not asked again
    again = _cli("run", str(inbox), "--engine", "vllm", "--db", str(db), "--force", env=env)
    assert again.exit_code == 0, again.output
    assert fake.counters.chat_requests - before == sent


def test_preflight_refuses_an_unknown_model_before_touching_documents(inbox: Path, fake: FakeVllm,
                                                                       tmp_path: Path, clean_env: None) -> None:
    db = tmp_path / "p.duckdb"
    env = {"OCRFLOW_VLLM_URL": fake.url, "OCRFLOW_VLLM_API_KEY": "secret-key",
           "OCRFLOW_VLLM_MODEL": "acme/not-served"}
    result = CliRunner().invoke(app, ["run", str(inbox), "--engine", "vllm", "--db", str(db)], env=env)
    assert result.exit_code == 2
    assert "acme/not-served" in result.output and "tencent/HunyuanOCR" in result.output
    assert _rows(db, "SELECT count(*) FROM documents") == [(0,)]


def test_deployment_down_leaves_ocr_documents_pending_then_a_rerun_loads_them(
        inbox: Path, fake: FakeVllm, tmp_path: Path) -> None:
    db = tmp_path / "d.duckdb"
    settings = load_settings(store=str(db), engine="vllm", vllm_url=fake.url, vllm_api_key="secret-key")

    def engine() -> Any:
        return make_vllm_engine(settings, retry=RetryPolicy(max_attempts=2, base_delay_s=0.01),
                                breaker=CircuitBreaker(threshold=2, cooldown_s=60))

    store = DuckDBStore(str(db))
    fake.inject("503", times=None)
    try:
        down = run_files([str(inbox)], settings, store, engine())
    finally:
        fake.clear_faults()
    assert down.counts["pending"] == 2 and down.counts["loaded"] == 1 and down.counts["failed"] == 0
    assert down.status == "FAILED"
    reasons = [why for _, why in down.pending]
    assert all("pending" in why for why in reasons)
    assert any("circuit open" in why or "503" in why for why in reasons)
    states = dict(store.query("SELECT state, count(*) FROM documents GROUP BY state")[1])
    assert states == {"pending": 2, "loaded": 1}
    up = run_files([str(inbox)], settings, store, engine())
    store.close()
    assert up.counts["loaded"] == 2 and up.counts["skipped"] == 1 and up.status == "COMPLETED"


def test_bad_request_is_terminal_and_recorded(inbox: Path, tmp_path: Path, fake: FakeVllm) -> None:
    db = tmp_path / "b.duckdb"
    # images over the fake's size cap are refused with 400: not retried, the document fails with the message
    settings = load_settings(store=str(db), engine="vllm", vllm_url=fake.url, vllm_api_key="secret-key")
    small_cap = FakeVllm(mode="ocr", api_key="secret-key", max_image_bytes=1000).start()
    try:
        settings = settings.model_copy(update={"vllm_url": small_cap.url})
        store = DuckDBStore(str(db))
        summary = run_files([str(inbox / "receipt_scan_01.jpg")], settings, store,
                               make_vllm_engine(settings))
        store.close()
    finally:
        small_cap.stop()
    assert summary.counts["failed"] == 1
    assert "400" in summary.failed[0][1] or "too large" in summary.failed[0][1].lower()
    assert small_cap.counters.chat_requests == 1  # no blind retry of a 4xx


def test_unreachable_deployment_is_a_clear_error(inbox: Path, tmp_path: Path, clean_env: None) -> None:
    env = {"OCRFLOW_VLLM_URL": closed_port_url()}
    result = CliRunner().invoke(app, ["run", str(inbox), "--engine", "vllm", "--db", str(tmp_path / "x.db")],
                                env=env)
    assert result.exit_code == 2
    assert "vLLM" in result.output or "connect" in result.output.lower()


@pytest.mark.parametrize("in_flight", [1, 4])
def test_documents_in_flight_bounds_what_the_server_sees_at_once(tmp_path: Path, demo_dir: Path,
                                                                  in_flight: int) -> None:
    """One document at a time keeps one request on the wire; several documents keep several there."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(4):  # four distinct one-page scans (distinct bytes: distinct documents)
        data = (demo_dir / "docs" / "receipt_scan_01.jpg").read_bytes()
        (inbox / f"r{i}.jpg").write_bytes(data + bytes([i]))
    with FakeVllm(mode="sleep", latency_s=0.5, capacity=32) as slow:
        settings = load_settings(store=str(tmp_path / "f.duckdb"), engine="vllm", vllm_url=slow.url,
                                 contract="receipt", documents_in_flight=in_flight, vllm_cache=False)
        store = DuckDBStore(settings.store)
        engine = make_vllm_engine(settings)
        try:
            summary = run_files([str(inbox)], settings, store, engine)
        finally:
            engine.close()
            store.close()
        assert summary.counts["documents"] == 4 and slow.counters.chat_requests == 8
        peak = slow.counters.peak_running  # spotting requests of the documents in flight overlap
        assert peak == 1 if in_flight == 1 else 3 <= peak <= in_flight
