"""Requests counted at the fake: the result cache answers only the same question (image, model, prompt
version, task, schema), ``--force`` re-sends, and the circuit breaker stops sending after N failures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from ocrflow.core.settings import load_settings
from ocrflow.engines.base import EngineRequest, Task
from ocrflow.engines.cache import CachingEngine
from ocrflow.engines.vllm import CircuitBreaker, RetryPolicy, VllmEngine, VllmOptions, make_vllm_engine
from ocrflow.run.files_work import run_files
from ocrflow.store.duckdb_store import DuckDBStore
from tests.fakes.fake_vllm import FakeVllm
from tests.support.vllm import run_cli

REPO = Path(__file__).resolve().parents[2]
SCHEMA = {"title": "receipt", "type": "object", "properties": {"total_amount": {"type": ["number", "null"]}}}


def engine(fake: FakeVllm, store: DuckDBStore, *, model: str = "tencent/HunyuanOCR",
           prompts_dir: Path | None = None) -> CachingEngine:
    options = VllmOptions(urls=fake.url, model=model, api_key="k", prompts_dir=prompts_dir)
    return CachingEngine(VllmEngine(options), store)


def test_a_cache_hit_needs_the_same_image_model_prompt_version_task_and_schema(
        demo_dir: Path, fake: FakeVllm, tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "c.duckdb"))
    store.init_schema([])
    page = Image.open(demo_dir / "docs" / "receipt_scan_01.jpg").convert("RGB")
    other = Image.open(demo_dir / "docs" / "receipt_scan_02.png").convert("RGB")
    prompts = tmp_path / "prompts"
    shutil.copytree(REPO / "prompts", prompts)
    manifest = prompts / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace('version: "1"', 'version: "2"', 1))
    extract = EngineRequest(image=page, task=Task.EXTRACT, fields=("total_amount",), json_schema=SCHEMA)
    base = engine(fake, store)
    new_model = engine(fake, store, model="acme/other-ocr")
    new_prompt = engine(fake, store, prompts_dir=prompts)
    wider = {**SCHEMA, "properties": {**SCHEMA["properties"], "currency": {"type": ["string", "null"]}}}

    def sent(eng: CachingEngine, request: EngineRequest) -> int:
        before = fake.counters.chat_requests
        eng.run(request)
        return fake.counters.chat_requests - before

    try:
        assert sent(base, extract) == 1
        assert sent(base, extract) == 0  # the same question: answered from the store
        assert sent(new_model, extract) == 1
        assert sent(new_prompt, extract) == 1
        assert new_prompt.inner.prompt_version(extract) != base.inner.prompt_version(extract)  # type: ignore[attr-defined]
        assert sent(base, EngineRequest(image=page, task=Task.SPOT)) == 1
        assert sent(base, EngineRequest(image=page, task=Task.EXTRACT, fields=("total_amount",),
                                        json_schema=wider)) == 1
        assert sent(base, EngineRequest(image=other, task=Task.EXTRACT, fields=("total_amount",),
                                        json_schema=SCHEMA)) == 1
        # and each of those is now a hit
        assert sent(new_model, extract) + sent(new_prompt, extract) == 0
        assert sent(base, EngineRequest(image=page, task=Task.SPOT)) == 0
    finally:
        for eng in (base, new_model, new_prompt):
            eng.close()
        store.close()


def test_force_resends_and_a_plain_rerun_does_not(inbox: Path, fake: FakeVllm, tmp_path: Path,
                                                  clean_env: None) -> None:
    db = str(tmp_path / "f.duckdb")
    counts = []
    for extra in ((), (), ("--force",)):
        before = fake.counters.chat_requests
        result = run_cli(str(inbox), "--db", db, *extra, fake=fake, OCRFLOW_VLLM_CACHE="false")
        assert result.exit_code == 0, result.output
        counts.append(fake.counters.chat_requests - before)
    # 2 receipts x (spotting + parse + extraction): each prints an item table header ("ITEM QTY RM") and the
    # extraction's lines come back empty, so the page's table is worth a parse request; the digital invoice
    # has a text layer
    assert counts == [6, 0, 6]


@pytest.mark.slow
def test_a_new_model_is_not_answered_from_the_old_cache(inbox: Path, fake: FakeVllm, tmp_path: Path,
                                                        clean_env: None) -> None:
    db = str(tmp_path / "m.duckdb")
    first = run_cli(str(inbox), "--db", db, fake=fake)
    before = fake.counters.chat_requests
    again = run_cli(str(inbox), "--db", db, "--force", fake=fake)
    cached = fake.counters.chat_requests - before
    other = run_cli(str(inbox), "--db", db, "--force", fake=fake, OCRFLOW_VLLM_MODEL="acme/other-ocr")
    assert (first.exit_code, again.exit_code, other.exit_code) == (0, 0, 0), other.output
    assert cached == 0 and fake.counters.chat_requests - before == 6  # as above: spot + parse + extract x 2


def test_the_breaker_stops_sending_after_threshold_failures(demo_dir: Path, tmp_path: Path, fake: FakeVllm) -> None:
    inbox = tmp_path / "many"
    inbox.mkdir()
    data = (demo_dir / "docs" / "receipt_scan_01.jpg").read_bytes()
    for i in range(5):
        (inbox / f"r{i}.jpg").write_bytes(data + bytes([i]))
    settings = load_settings(store=str(tmp_path / "b.duckdb"), engine="vllm", vllm_url=fake.url,
                             vllm_api_key="k", contract="receipt", documents_in_flight=1, vllm_cache=False)
    eng = make_vllm_engine(settings, retry=RetryPolicy(max_attempts=4, base_delay_s=0.01),
                           breaker=CircuitBreaker(threshold=3, cooldown_s=600))
    store = DuckDBStore(settings.store)
    fake.inject("503", times=None)
    try:
        summary = run_files([str(inbox)], settings, store, eng)
    finally:
        fake.clear_faults()
        eng.close()
        store.close()
    assert summary.counts["pending"] == 5
    # 3 consecutive failures open the breaker: the 4th attempt and the 4 other documents fail fast
    assert fake.counters.chat_requests == 3
    assert sum("circuit open" in why for _, why in summary.pending) >= 4
