"""A developer's OCR cache for ``ocrflow eval --ocr-cache FILE.duckdb`` (or ``OCRFLOW_EVAL_OCR_CACHE``).

Evaluation runs every document of a gold file through the real pipeline, OCR included; on two CPU cores
OCR is most of the time. This puts the project's result cache (``ocrflow.engines.cache``, keyed by the
page image's pixels, the engine, its model, the prompt version and the task) in front of *any* engine,
the embedded one too, and keeps it in its own DuckDB file across eval runs. A page whose pixels, engine or
models changed misses the cache and is read again, so a warm run gives the figures of a cold one.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ocrflow.engines.base import Engine, EngineError, EngineRequest, EngineResult, VersionedEngine
from ocrflow.engines.cache import CachingEngine

ENV = "OCRFLOW_EVAL_OCR_CACHE"


class OcrCacheError(ValueError):
    """The cache file cannot be opened (held by another process, not a DuckDB file)."""


class OcrCacheFile:
    """A ``page_cache`` table in a DuckDB file of its own (a CacheBackend); one process at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(path))
        except duckdb.Error as exc:
            raise OcrCacheError(f"OCR cache {path}: cannot open it ({' '.join(str(exc).split())})") from exc
        self.con.execute("CREATE TABLE IF NOT EXISTS page_cache (cache_key VARCHAR PRIMARY KEY, result JSON, "
                         "created_at TIMESTAMP)")
        self.lock = threading.RLock()
        """One connection: every call holds it (re-entrant: the result cache holds it around its calls too)."""
        self.hits = 0
        self.misses = 0

    def cache_get(self, key: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.con.execute("SELECT result FROM page_cache WHERE cache_key = ?", [key]).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        found: dict[str, Any] = json.loads(row[0])
        return found

    def cache_put(self, key: str, result: dict[str, Any]) -> None:
        with self.lock:
            self.con.execute("INSERT OR REPLACE INTO page_cache VALUES (?, ?, ?)",
                             [key, json.dumps(result, ensure_ascii=False), datetime.now(UTC).replace(tzinfo=None)])

    def entries(self) -> int:
        with self.lock:
            row = self.con.execute("SELECT count(*) FROM page_cache").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self.lock:
            self.con.close()


def engine_identity(engine: Engine) -> str:
    """What an engine's answers depend on, known before it loads anything: for the embedded engine the
    rapidocr version, its model files and parameters (its ``model`` attribute changes when the models
    load, which would key the first page differently from the rest)."""
    from ocrflow.engines.embedded import EmbeddedEngine, check_models_present

    if isinstance(engine, EmbeddedEngine):
        params = dict(engine.options.params)
        models = check_models_present(params)
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
