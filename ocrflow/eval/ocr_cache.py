"""A developer's OCR cache for ``ocrflow eval --ocr-cache FILE.duckdb`` (or ``OCRFLOW_EVAL_OCR_CACHE``).

Evaluation runs every document of a gold file through the real pipeline, OCR included; on two CPU cores
OCR is most of the time. This puts the project's result cache (``ocrflow.engines.cache``, keyed by the
page image's pixels, the engine, its model, the prompt version and the task) in front of *any* engine,
the embedded one too, and keeps it in its own DuckDB file across eval runs. A page whose pixels, engine or
models changed misses the cache and is read again, so a warm run gives the figures of a cold one. The
file and its SQL: ``ocrflow.store.ocr_cache``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from collections.abc import Iterable, Iterator

from ocrflow.engines.base import Engine, EngineError, EngineRequest, EngineResult, VersionedEngine
from ocrflow.engines.cache import CachingEngine
from ocrflow.store.ocr_cache import OcrCacheError, OcrCacheFile

ENV = "OCRFLOW_EVAL_OCR_CACHE"
__all__ = ["ENV", "OcrCacheError", "OcrCacheFile", "PinnedEngine", "cached_engine", "engine_identity"]


def engine_identity(engine: Engine) -> str:
    """What an engine's answers depend on, known before it loads anything: for the embedded engine the
    rapidocr version, its model files and parameters (its ``model`` attribute changes when the models
    load, which would key the first page differently from the rest)."""
    from ocrflow.engines.embedded import EmbeddedEngine, check_models_present

    if isinstance(engine, EmbeddedEngine):
        params = engine.reading_params()
        models = check_models_present(dict(engine.options.params))
        files = sorted(p.name for p in models.glob("*.onnx"))
        digest = hashlib.sha256(json.dumps([files, params], sort_keys=True, default=str).encode()).hexdigest()
        return f"rapidocr {importlib.metadata.version('rapidocr')} {digest[:16]}"
    return engine.model


class PinnedEngine:
    """An engine seen by the cache under a fixed identity (``prompt_version`` is empty: plain OCR)."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = engine_identity(inner)
        self.supports_extraction = inner.supports_extraction

    def prompt_version(self, request: EngineRequest) -> str:
        del request
        return ""

    def preflight(self) -> None:
        self.inner.preflight()

    def run(self, request: EngineRequest) -> EngineResult:
        return self.inner.run(request)

    def run_many(self, requests: Iterable[EngineRequest]) -> Iterator[EngineResult | EngineError]:
        return self.inner.run_many(requests)

    def close(self) -> None:
        self.inner.close()


def cached_engine(engine: Engine, backend: OcrCacheFile) -> CachingEngine:
    """``engine`` behind the file cache (an engine with its own prompt versions keeps them in the key)."""
    inner: VersionedEngine = engine if isinstance(engine, VersionedEngine) else PinnedEngine(engine)
    return CachingEngine(inner, backend)
