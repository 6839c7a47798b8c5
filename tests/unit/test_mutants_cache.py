"""The result cache (ocrflow/engines/cache.py), pinned where mutation testing found it unpinned: what a key
is made of, what a cached answer looks like when it comes back, what is never cached, the backend's lock,
and ``run_many`` keeping order while only misses reach the engine."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from PIL import Image

from ocrflow.core.models import Line
from ocrflow.engines.base import EngineError, EngineRequest, EngineResult, Task, TerminalEngineError
from ocrflow.engines.cache import CachingEngine, image_digest, result_from_dict, result_to_dict, with_cache


class _Backend:
    """A page_cache in memory; with ``lock`` set, every call must hold it (as the store's lock is)."""

    def __init__(self, lock: Any = None) -> None:
        self.data: dict[str, dict[str, Any]] = {}
        self.puts: list[str] = []
        if lock is not None:
            self.lock = lock

    def cache_get(self, key: str) -> dict[str, Any] | None:
        self._held()
        return self.data.get(key)

    def cache_put(self, key: str, result: dict[str, Any]) -> None:
        self._held()
        self.puts.append(key)
        self.data[key] = result

    def _held(self) -> None:
        lock = getattr(self, "lock", None)
        if lock is not None and not lock.locked():
            raise AssertionError("cache used without the store's lock")


class _Engine:
    """A versioned engine that answers with the request's fields; ``fail`` names fields that raise."""

    supports_extraction = True

    def __init__(self, name: str = "vllm", model: str = "m1", version: str = "v1", *,
                 fallback: bool = False, fail: Iterable[str] = ()) -> None:
        self.name, self.model, self.version = name, model, version
        self.fallback, self.fail = fallback, set(fail)
        self.asked: list[tuple[str, ...]] = []
        self.preflights = self.closes = 0

    def prompt_version(self, request: EngineRequest) -> str:
        return f"{self.version}/{request.task.value}"  # like the vLLM engine: one prompt per task

    def _answer(self, request: EngineRequest) -> EngineResult | EngineError:
        self.asked.append(request.fields)
        if set(request.fields) & self.fail:
            return TerminalEngineError(f"bad {request.fields}")
        return EngineResult(lines=(Line("a", (1.0, 2.0, 3.0, 4.0), 0.5),), text=",".join(request.fields),
                            engine=self.name, model=self.model, prompt_version=self.version,
                            fields={f: f.upper() for f in request.fields}, latency_s=1.5, prompt_tokens=7,
                            completion_tokens=3, replica="gpu-1", is_fallback=self.fallback, flags=("x",))

    def run(self, request: EngineRequest) -> EngineResult:
        out = self._answer(request)
        if isinstance(out, EngineError):
            raise out
        return out

    def run_many(self, requests: Iterable[EngineRequest]) -> Iterator[EngineResult | EngineError]:
        for r in requests:
            yield self._answer(r)

    def preflight(self) -> None:
        self.preflights += 1

    def close(self) -> None:
        self.closes += 1


def _image(color: tuple[int, int, int] = (10, 20, 30), size: tuple[int, int] = (4, 2)) -> Image.Image:
    return Image.new("RGB", size, color)


def _req(*fields: str, **kw: Any) -> EngineRequest:
    return EngineRequest(image=kw.pop("image", _image()), task=kw.pop("task", Task.EXTRACT), fields=fields, **kw)


def test_image_digest_is_the_given_hash_or_one_of_size_and_rgb_pixels() -> None:
    assert image_digest(_req(image_sha256="abc")) == "abc"
    rgb = _image()
    same = image_digest(_req(image=rgb))
    assert image_digest(_req(image=rgb.convert("RGBA"))) == same  # pixels, not the mode
    assert image_digest(_req(image=_image((10, 20, 31)))) != same
    # same pixel bytes, other shape: the size is part of the hash
    assert image_digest(_req(image=_image(size=(2, 4)))) != image_digest(_req(image=_image(size=(4, 2))))
    assert len(same) == 64 and int(same, 16) >= 0


def test_a_result_survives_the_cache_with_replica_cache_and_a_cache_hit_flag() -> None:
    r = _Engine().run(_req("total"))
    back = result_from_dict(result_to_dict(r))
    assert back.lines == r.lines and back.text == r.text and back.engine == r.engine and back.model == r.model
    assert back.prompt_version == "v1" and back.fields == {"total": "TOTAL"}
    assert (back.prompt_tokens, back.completion_tokens, back.is_fallback) == (7, 3, False)
    assert back.latency_s == 0.0 and back.replica == "cache" and back.flags == ("x", "cache_hit")
    stored = result_to_dict(r)
    assert stored["lines"] == [["a", 1.0, 2.0, 3.0, 4.0, 0.5]] and stored["latency_s"] == 1.5
    assert stored["replica"] == "gpu-1" and stored["flags"] == ["x"] and stored["is_fallback"] is False
    assert set(stored) == {"lines", "text", "engine", "model", "prompt_version", "fields", "latency_s",
                           "prompt_tokens", "completion_tokens", "replica", "is_fallback", "flags"}


def test_an_old_cache_row_without_optional_keys_still_reads() -> None:
    back = result_from_dict({})
    assert back.lines == () and back.text == "" and back.engine == "" and back.model == ""
    assert back.prompt_version == "" and back.fields is None
    assert (back.prompt_tokens, back.completion_tokens, back.is_fallback, back.flags) == (0, 0, False, ("cache_hit",))
    typed = result_from_dict({"lines": [[5, "1", "2", "3", "4", "0.25"]], "prompt_tokens": "9", "is_fallback": 1})
    assert typed.lines == (Line("5", (1.0, 2.0, 3.0, 4.0), 0.25),) and typed.prompt_tokens == 9
    assert typed.is_fallback is True


def test_the_key_changes_with_each_part_and_nothing_else() -> None:
    engine = CachingEngine(_Engine(), _Backend())
    base = engine.key(_req("a", "b", json_schema={"x": 1, "y": 2}))
    assert engine.key(_req("a", "b", json_schema={"y": 2, "x": 1})) == base  # the schema's key order is no change
    variants = [
        _req("a", "b", json_schema={"x": 1, "y": 3}), _req("a", "b"), _req("a", json_schema={"x": 1, "y": 2}),
        _req("b", "a", json_schema={"x": 1, "y": 2}), _req("a", "b", json_schema={"x": 1, "y": 2}, language="de"),
        _req("a", "b", json_schema={"x": 1, "y": 2}, task=Task.SPOT),
        _req("a", "b", json_schema={"x": 1, "y": 2}, image=_image((0, 0, 0))),
    ]
    keys = {engine.key(r) for r in variants}
    assert len(keys) == len(variants) and base not in keys
    for other in (_Engine(name="other"), _Engine(model="m2"), _Engine(version="v2")):
        assert CachingEngine(other, _Backend()).key(_req("a", "b", json_schema={"x": 1, "y": 2})) != base


def test_key_parts_cannot_run_into_each_other() -> None:
    """name "ab" + model "c" is not name "a" + model "bc": the parts are separated."""
    one = CachingEngine(_Engine(name="ab", model="c"), _Backend()).key(_req("f"))
    two = CachingEngine(_Engine(name="a", model="bc"), _Backend()).key(_req("f"))
    assert one != two and len(one) == 64


def test_a_hit_is_answered_from_the_store_and_a_miss_asks_the_engine_once() -> None:
    inner, backend = _Engine(), _Backend()
    engine = CachingEngine(inner, backend)
    assert (engine.name, engine.model, engine.supports_extraction) == ("vllm", "m1", True)
    first = engine.run(_req("total"))
    assert first.replica == "gpu-1" and inner.asked == [("total",)] and engine.hits == 0
    assert backend.puts == [engine.key(_req("total"))]
    again = engine.run(_req("total"))
    assert again.replica == "cache" and "cache_hit" in again.flags and again.fields == first.fields
    assert inner.asked == [("total",)] and engine.hits == 1 and len(backend.puts) == 1


def test_a_fallback_answer_is_never_cached() -> None:
    inner, backend = _Engine(fallback=True), _Backend()
    engine = CachingEngine(inner, backend)
    engine.run(_req("total"))
    engine.run(_req("total"))
    assert backend.puts == [] and inner.asked == [("total",), ("total",)] and engine.hits == 0
    list(engine.run_many([_req("total")]))
    assert backend.puts == []


def test_the_store_lock_guards_every_cache_call() -> None:
    lock = threading.Lock()
    backend = _Backend(lock=lock)
    engine = CachingEngine(_Engine(), backend)
    engine.run(_req("a"))
    engine.run(_req("a"))
    assert list(engine.run_many([_req("a"), _req("b")]))[1].fields == {"b": "B"}
    assert engine.hits == 2 and not lock.locked()


def test_run_many_keeps_order_sends_only_misses_and_caches_no_error() -> None:
    inner, backend = _Engine(fail={"bad"}), _Backend()
    engine = CachingEngine(inner, backend)
    engine.run(_req("b"))
    inner.asked.clear()
    out = list(engine.run_many([_req("a"), _req("b"), _req("bad"), _req("c"), _req("b")]))
    assert [o.text if isinstance(o, EngineResult) else "error" for o in out] == ["a", "b", "error", "c", "b"]
    assert [o.replica for o in out if isinstance(o, EngineResult)] == ["gpu-1", "cache", "gpu-1", "cache"]
    assert inner.asked == [("a",), ("bad",), ("c",)]
    assert isinstance(out[2], TerminalEngineError)
    assert engine.hits == 2
    assert engine.key(_req("bad")) not in backend.data and engine.key(_req("c")) in backend.data
    assert list(engine.run_many([])) == []
    again = list(engine.run_many([_req("a"), _req("c")]))
    assert [o.replica for o in again if isinstance(o, EngineResult)] == ["cache", "cache"]
    assert inner.asked == [("a",), ("bad",), ("c",)]


def test_run_many_with_only_hits_never_asks_the_engine() -> None:
    inner = _Engine()
    engine = CachingEngine(inner, _Backend())
    engine.run(_req("a"))
    inner.asked.clear()
    assert [o.text for o in engine.run_many([_req("a"), _req("a")]) if isinstance(o, EngineResult)] == ["a", "a"]
    assert inner.asked == []


def test_preflight_and_close_reach_the_engine_and_with_cache_wraps_only_versioned_engines() -> None:
    inner = _Engine()
    backend = _Backend()
    engine = with_cache(inner, backend)
    assert isinstance(engine, CachingEngine) and engine.inner is inner
    engine.run(_req("a"))
    assert len(backend.puts) == 1  # the store given is the one used
    engine.preflight()
    engine.close()
    assert (inner.preflights, inner.closes) == (1, 1)
    assert with_cache(inner, None) is inner

    class Plain:
        name, model, supports_extraction = "embedded", "rapidocr", False

        def preflight(self) -> None: ...

        def run(self, request: EngineRequest) -> EngineResult:
            raise NotImplementedError

        def run_many(self, requests: Iterable[EngineRequest]) -> Iterator[EngineResult | EngineError]:
            raise NotImplementedError

        def close(self) -> None: ...

    plain = Plain()
    assert with_cache(plain, _Backend()) is plain  # type: ignore[arg-type]


class _ReadAhead(_Engine):
    """Takes every request before it answers the first (as an engine with requests in flight does)."""

    def run_many(self, requests: Iterable[EngineRequest]) -> Iterator[EngineResult | EngineError]:
        taken = list(requests)
        for r in taken:
            yield self._answer(r)


def test_run_many_keeps_order_with_an_engine_that_reads_ahead() -> None:
    inner = _ReadAhead()
    engine = CachingEngine(inner, _Backend())
    engine.run(_req("b"))
    out = [o.text for o in engine.run_many([_req("a"), _req("b"), _req("c"), _req("d")]) if isinstance(o, EngineResult)]
    assert out == ["a", "b", "c", "d"] and inner.asked == [("b",), ("a",), ("c",), ("d",)]


@pytest.mark.parametrize("fields", [("a",), ("a", "b", "c")])
def test_run_many_pulls_the_engine_lazily(fields: tuple[str, ...]) -> None:
    """Outcomes come out as the requests go in: the first answer is ready before the last request exists."""
    engine = CachingEngine(_Engine(), _Backend())
    made: list[str] = []

    def requests() -> Iterator[EngineRequest]:
        for f in fields:
            made.append(f)
            yield _req(f)

    stream = engine.run_many(requests())
    first = next(stream)
    assert isinstance(first, EngineResult) and first.text == "a" and made == ["a"]
    assert [o.text for o in stream if isinstance(o, EngineResult)] == list(fields[1:])
