"""The developer OCR cache of ``ocrflow eval --ocr-cache``: a warm run reads no page again and scores the same."""

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from ocrflow.cli import app
from ocrflow.core.models import Line
from ocrflow.engines.base import EngineRequest, EngineResult, Task, run_sequential
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.eval.ocr_cache import OcrCacheError, OcrCacheFile, PinnedEngine, cached_engine, engine_identity


class CountingEngine:
    name = "counting"
    model = "m1"
    supports_extraction = False

    def __init__(self) -> None:
        self.calls = 0

    def preflight(self) -> None: ...

    def run(self, request: EngineRequest) -> EngineResult:
        self.calls += 1
        return EngineResult(lines=(Line(text=f"page {request.image.width}", bbox=(1.0, 2.0, 30.0, 9.0), score=0.87),),
                            text=f"page {request.image.width}", engine=self.name, model=self.model)

    def run_many(self, requests):  # type: ignore[no-untyped-def]
        return run_sequential(self, requests)

    def close(self) -> None: ...


def test_answers_come_from_the_file_on_the_next_run(tmp_path: Path) -> None:
    path = tmp_path / "ocr.duckdb"
    inner = CountingEngine()
    images = [Image.new("RGB", (40 + i, 20), "white") for i in range(3)]
    first = OcrCacheFile(path)
    cold = [cached_engine(inner, first).run(EngineRequest(image=im, task=Task.SPOT)) for im in images]
    first.close()
    assert inner.calls == 3
    second = OcrCacheFile(path)  # a new process would open the same file
    warm = list(cached_engine(inner, second).run_many(EngineRequest(image=im, task=Task.SPOT) for im in images))
    assert inner.calls == 3 and second.hits == 3 and second.entries() == 3
    assert [r.lines for r in warm] == [r.lines for r in cold]  # type: ignore[union-attr]
    other = Image.new("RGB", (40, 20), "black")  # other pixels: a miss, read by the engine
    cached_engine(inner, second).run(EngineRequest(image=other, task=Task.SPOT))
    assert inner.calls == 4
    second.close()


def test_a_changed_model_misses(tmp_path: Path) -> None:
    cache = OcrCacheFile(tmp_path / "ocr.duckdb")
    inner = CountingEngine()
    req = EngineRequest(image=Image.new("RGB", (10, 10)), task=Task.SPOT)
    cached_engine(inner, cache).run(req)
    inner.model = "m2"
    cached_engine(inner, cache).run(req)
    assert inner.calls == 2
    cache.close()


def test_embedded_identity_is_known_before_the_models_load() -> None:
    engine = EmbeddedEngine()
    before = engine_identity(engine)
    engine.run(EngineRequest(image=Image.new("RGB", (64, 32), "white")))
    assert engine_identity(engine) == before and PinnedEngine(engine).model == before
    assert before.startswith("rapidocr ")


def test_a_file_that_is_not_duckdb_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "ocr.duckdb"
    bad.write_text("not a database")
    with pytest.raises(OcrCacheError, match="cannot open it"):
        OcrCacheFile(bad)


def _scored(result: dict[str, Any]) -> list[Any]:
    return [(d["path"], d["state"], d["part"], {k: (f["predicted"], f["confidence"]) for k, f in d["fields"].items()},
             {k: (e["confidence"], e["bbox"], e["method"], e["grounding"]) for k, e in d["evidence"].items()})
            for d in result["documents"]]


@pytest.mark.slow
def test_a_cached_eval_scores_like_an_uncached_one(demo_dir: Path, tmp_path: Path) -> None:
    """The demo's scanned receipts, run without the cache, then cold and warm with it."""
    records = [json.loads(x) for x in (demo_dir / "gold.jsonl").read_text().splitlines() if x.strip()]
    scans = [r for r in records if r["doc_type"] == "receipt"]
    assert len(scans) >= 2
    gold = demo_dir / "gold_receipts_cache_test.jsonl"
    gold.write_text("".join(json.dumps(r) + "\n" for r in scans))
    cache = tmp_path / "ocr.duckdb"

    def run(*extra: str) -> dict[str, Any]:
        out = CliRunner().invoke(app, ["eval", "--gold", str(gold), "--json", "--engine", "embedded", *extra])
        assert out.exit_code == 0, out.output
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        return result

    plain, cold, warm = run(), run("--ocr-cache", str(cache)), run("--ocr-cache", str(cache))
    pages = cold["run"]["ocr_cache"]["misses"]  # one per scanned page (a TIFF may hold two)
    assert cold["run"]["ocr_cache"]["hits"] == 0 and pages >= len(scans)
    assert warm["run"]["ocr_cache"]["hits"] == pages and warm["run"]["ocr_cache"]["misses"] == 0
    assert _scored(plain) == _scored(cold) == _scored(warm)
    for key in ("field_accuracy", "trust", "parts"):
        assert plain[key] == warm[key]
