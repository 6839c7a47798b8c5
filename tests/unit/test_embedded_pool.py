"""The embedded engine reads several pages at once (ocrflow.engines.embedded): one RapidOCR instance per
concurrent page, never more than the pool, reused; onnxruntime threads split so the total is the core count;
the real models read the same lines whether pages come one at a time or together."""

from __future__ import annotations

import sys
import threading
import time
import types
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import pytest
from PIL import Image, ImageDraw

from ocrflow.core.settings import load_settings
from ocrflow.engines.base import EngineRequest
from ocrflow.engines.embedded import CLS_PARAM, THREADS_PARAM, EmbeddedEngine, EmbeddedOptions, usable_cores


def _request(text: str = "TOTAL 12.50") -> EngineRequest:
    img = Image.new("RGB", (420, 120), "white")
    ImageDraw.Draw(img).text((20, 40), text, fill="black", font_size=32)
    return EngineRequest(image=img)


class _FakeOCR:
    """Stands in for rapidocr.RapidOCR: records how many calls overlap and how many instances exist."""

    made: ClassVar[list[_FakeOCR]] = []
    busy = 0
    most = 0
    lock = threading.Lock()

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        self.params = params
        self.calls = 0
        _FakeOCR.made.append(self)

    def __call__(self, arr: Any) -> Any:
        with _FakeOCR.lock:
            _FakeOCR.busy += 1
            _FakeOCR.most = max(_FakeOCR.most, _FakeOCR.busy)
        self.calls += 1
        time.sleep(0.15)
        with _FakeOCR.lock:
            _FakeOCR.busy -= 1
        return types.SimpleNamespace(boxes=[[[0, 0], [10, 0], [10, 5], [0, 5]]], txts=["TOTAL"], scores=[0.9])


@pytest.fixture()
def fake_rapidocr(monkeypatch: pytest.MonkeyPatch) -> type[_FakeOCR]:
    _FakeOCR.made, _FakeOCR.busy, _FakeOCR.most = [], 0, 0
    monkeypatch.setitem(sys.modules, "rapidocr", types.SimpleNamespace(RapidOCR=_FakeOCR))
    monkeypatch.setattr("ocrflow.engines.embedded.check_models_present", lambda params=None: None)
    monkeypatch.setattr(EmbeddedEngine, "_model_name", lambda self: "fake")
    return _FakeOCR


def test_pages_are_read_at_once_up_to_the_pool_each_on_its_own_reused_instance(fake_rapidocr: type[_FakeOCR]) -> None:
    engine = EmbeddedEngine(EmbeddedOptions(sessions=2, threads=1))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(engine.run, [_request() for _ in range(8)]))
    assert [r.text for r in results] == ["TOTAL"] * 8
    assert fake_rapidocr.most == 2  # two at once, never more than the pool
    assert len(fake_rapidocr.made) == 2 == engine.sessions_made  # made once, then reused
    assert sum(o.calls for o in fake_rapidocr.made) == 8
    assert all(o.params == {CLS_PARAM: False, THREADS_PARAM: 1} for o in fake_rapidocr.made)


def test_one_locked_instance_reads_one_page_at_a_time(fake_rapidocr: type[_FakeOCR]) -> None:
    engine = EmbeddedEngine(EmbeddedOptions(sessions=1, threads=-1))
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(engine.run, [_request() for _ in range(3)]))
    assert fake_rapidocr.most == 1 and len(fake_rapidocr.made) == 1
    assert fake_rapidocr.made[0].params == {CLS_PARAM: False}  # onnxruntime's own thread default, as before


def test_the_pool_follows_the_documents_in_flight_and_splits_the_cores() -> None:
    cores = usable_cores()
    options = EmbeddedOptions.from_settings(load_settings(engine="embedded", documents_in_flight=2))
    assert options.pool_size() == min(cores, 2)
    assert options.session_threads() == max(1, cores // options.pool_size())
    assert options.pool_size() * options.session_threads() <= max(cores, options.pool_size())
    many = EmbeddedOptions.from_settings(load_settings(engine="embedded", documents_in_flight=64))
    assert many.pool_size() == cores  # never more instances than cores
    assert EmbeddedOptions(sessions=3, threads=2).session_threads() == 2
    assert EmbeddedOptions(sessions=1, threads=-1).session_threads() is None


@pytest.mark.slow  # loads the models three times: 10-100 s on the shared box
def test_the_real_models_read_the_same_lines_together_as_one_at_a_time() -> None:
    pages = [_request(f"INVOICE {n} TOTAL {n}.50") for n in (11, 22, 33, 44)]
    alone = EmbeddedEngine(EmbeddedOptions(sessions=1, threads=-1))
    expected = [alone.run(p).text for p in pages]
    together = EmbeddedEngine(EmbeddedOptions(sessions=2))
    with ThreadPoolExecutor(2) as pool:
        got = [r.text for r in pool.map(together.run, pages)]
    assert got == expected and all("TOTAL" in t for t in got)
    assert together.sessions_made == min(2, len(pages))
