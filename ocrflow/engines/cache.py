"""Result cache for expensive engines: a re-run never asks the GPU again for the same page and question.

Key: sha256 of (page image pixels, engine, model, prompt version, task, field list, JSON Schema hash).
Values live in the store's ``page_cache`` table, so the cache is shared by every worker on that store, or, with
``OCRFLOW_CACHE_URL``, in Redis (``ocrflow.engines.redis_cache``), shared by every worker of every store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from ocrflow.core.models import Line
from ocrflow.engines.base import Engine, EngineError, EngineRequest, EngineResult, VersionedEngine

if TYPE_CHECKING:
    from ocrflow.core.settings import Settings


class CacheBackend(Protocol):
    def cache_get(self, key: str) -> dict[str, Any] | None: ...

    def cache_put(self, key: str, result: dict[str, Any]) -> None: ...


def image_digest(request: EngineRequest) -> str:
    if request.image_sha256:
        return request.image_sha256
    img = request.image.convert("RGB")
    h = hashlib.sha256(f"{img.width}x{img.height}:".encode())
    h.update(img.tobytes())
    return h.hexdigest()


def result_to_dict(r: EngineResult) -> dict[str, Any]:
    return {"lines": [[ln.text, *ln.bbox, ln.score] for ln in r.lines], "text": r.text, "engine": r.engine,
            "model": r.model, "prompt_version": r.prompt_version, "fields": r.fields,
            "latency_s": r.latency_s, "prompt_tokens": r.prompt_tokens,
            "completion_tokens": r.completion_tokens, "replica": r.replica, "is_fallback": r.is_fallback,
            "flags": list(r.flags)}


def result_from_dict(d: dict[str, Any]) -> EngineResult:
    lines = tuple(Line(text=str(t), bbox=(float(a), float(b), float(c), float(e)), score=float(s))
                  for t, a, b, c, e, s in d.get("lines", []))
    return EngineResult(lines=lines, text=str(d.get("text", "")), engine=str(d.get("engine", "")),
                        model=str(d.get("model", "")), prompt_version=str(d.get("prompt_version", "")),
                        fields=d.get("fields"), latency_s=0.0, prompt_tokens=int(d.get("prompt_tokens", 0)),
                        completion_tokens=int(d.get("completion_tokens", 0)), replica="cache",
                        is_fallback=bool(d.get("is_fallback", False)),
                        flags=(*tuple(d.get("flags", [])), "cache_hit"))


class CachingEngine:
    """Wraps an engine that has ``prompt_version(request)``; answers repeated questions from the store."""

    def __init__(self, inner: VersionedEngine, backend: CacheBackend) -> None:
        self.inner = inner
        self.backend = backend
        self.name = inner.name
        self.model = inner.model
        self.supports_extraction = inner.supports_extraction
        # one store connection: share the store's lock (batch writes run beside document threads); a backend
        # that says it is thread_safe (Redis: a connection pool) is called from every document thread at once
        self._lock: Any = (contextlib.nullcontext() if getattr(backend, "thread_safe", False)
                           else getattr(backend, "lock", None) or threading.Lock())
        self.hits = 0

    def key(self, request: EngineRequest) -> str:
        schema = json.dumps(request.json_schema, sort_keys=True) if request.json_schema else ""
        parts = [image_digest(request), self.inner.name, self.inner.model, self.inner.prompt_version(request),
                 request.task.value, request.language, ",".join(request.fields),
                 hashlib.sha256(schema.encode()).hexdigest()]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

    def _get(self, key: str) -> EngineResult | None:
        with self._lock:
            found = self.backend.cache_get(key)
        if found is None:
            return None
        self.hits += 1
        return result_from_dict(found)

    def _put(self, key: str, result: EngineResult) -> None:
        if result.is_fallback:
            return  # never pin a degraded answer
        with self._lock:
            self.backend.cache_put(key, result_to_dict(result))

    def run(self, request: EngineRequest) -> EngineResult:
        key = self.key(request)
        cached = self._get(key)
        if cached is not None:
            return cached
        result = self.inner.run(request)
        self._put(key, result)
        return result

    def run_many(self, requests: Iterable[EngineRequest]) -> Iterator[EngineResult | EngineError]:
        """Cache hits are answered from the store; misses stream to the inner engine; input order is kept."""
        order: list[tuple[str, EngineResult | None]] = []

        def misses() -> Iterator[EngineRequest]:
            for req in requests:
                key = self.key(req)
                hit = self._get(key)
                order.append((key, hit))
                if hit is None:
                    yield req

        inner = iter(self.inner.run_many(misses()))
        ahead: deque[EngineResult | EngineError] = deque()  # inner outcomes for misses not reached yet
        i = 0
        while True:
            if i >= len(order):  # the inner engine has not pulled this far: make it pull
                try:
                    ahead.append(next(inner))
                except StopIteration:
                    if i >= len(order):
                        return
                continue
            key, hit = order[i]
            i += 1
            if hit is not None:
                yield hit
                continue
            outcome = ahead.popleft() if ahead else next(inner)
            if isinstance(outcome, EngineResult):
                self._put(key, outcome)
            yield outcome

    def preflight(self) -> None:
        self.inner.preflight()

    def close(self) -> None:
        self.inner.close()
        close_cache = getattr(self.backend, "close_cache", None)  # a backend of its own (Redis), not the store
        if close_cache is not None:
            close_cache()


def cache_backend(settings: Settings, store: CacheBackend) -> CacheBackend | None:
    """Where answers are cached: nowhere (``vllm_cache`` off), Redis (``cache_url``), else the store."""
    if not settings.vllm_cache:
        return None
    if settings.cache_url is not None and settings.cache_url.get_secret_value().strip():
        from ocrflow.engines.redis_cache import RedisCache

        return RedisCache.from_url(settings.cache_url.get_secret_value())
    return store


def with_cache(engine: Engine, backend: CacheBackend | None) -> Engine:
    if backend is None or not isinstance(engine, VersionedEngine):
        return engine
    return CachingEngine(engine, backend)
