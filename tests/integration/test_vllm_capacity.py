"""Documents in flight follow the deployment's capacity (``OCRFLOW_VLLM_MAX_IN_FLIGHT``): a run keeps the fake
vLLM's batch full, and never has more requests on the wire than that capacity."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ocrflow.core.settings import load_settings
from ocrflow.demo import receipt_spec, save_receipt
from ocrflow.engines.vllm import make_vllm_engine
from tests.fakes.fake_vllm import FakeVllm
from tests.support.duck import run_into

CAPACITY = 40
"""Over the fixed 32 documents of before: a run could not fill it then."""


@pytest.mark.parametrize(("max_in_flight", "explicit", "documents"), [
    (64, 0, 82), (16, 0, 22), (1, 0, 4), (64, 5, 5)])
def test_vllm_documents_in_flight_follow_the_capacity(max_in_flight: int, explicit: int, documents: int,
                                                      clean_env: None) -> None:
    settings = load_settings(engine="vllm", vllm_url="http://127.0.0.1:9", vllm_max_in_flight=max_in_flight,
                             documents_in_flight=explicit)
    assert settings.resolved_documents_in_flight() == documents
    assert settings.resolved_batch_size() == max(16, documents)


def test_the_embedded_engine_keeps_two(clean_env: None) -> None:
    assert load_settings(engine="embedded", vllm_max_in_flight=200).resolved_documents_in_flight() == 2


def _receipts(folder: Path, n: int) -> Path:
    folder.mkdir()
    rng = random.Random(3)
    for i in range(n):
        spec = receipt_spec(rng, f"SHOP {i}", f"REG {i}", (f"{i} MAIN ST", "TOWN"), "dmy", n_items=1)
        save_receipt(spec, folder / f"r{i:02d}.jpg", seed=i)
    return folder


@pytest.mark.slow
def test_a_run_fills_the_deployment_and_stays_within_it(tmp_path: Path, clean_env: None) -> None:
    inbox = _receipts(tmp_path / "inbox", 2 * CAPACITY)
    with FakeVllm(mode="sleep", capacity=4 * CAPACITY, latency_s=1.0, capture=False) as fake:
        values = {"vllm_url": fake.url, "vllm_max_in_flight": CAPACITY, "vllm_cache": False,
                  "contract": "receipt"}
        engine = make_vllm_engine(load_settings(**values))
        try:
            summary = run_into([str(inbox)], tmp_path / "r.duckdb", engine, **values)
        finally:
            engine.close()
    assert summary.counts["documents"] == 2 * CAPACITY and summary.counts["pending"] == 0
    # derived: 1.25 x 40 + 2 = 52 documents at once, so the 40 request slots do not wait on documents
    assert fake.counters.peak_running == CAPACITY
    assert fake.counters.completed == 2 * 2 * CAPACITY  # spotting + extraction per receipt
