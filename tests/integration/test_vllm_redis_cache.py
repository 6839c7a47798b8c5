"""The Redis result cache (OCRFLOW_CACHE_URL) against the real Redis on 127.0.0.1:6379: hits and misses, expiry,
the per-entry size bound, two workers on two stores sharing answers, and a run that goes on when Redis is down.

Each test writes under a key prefix of its own and deletes it afterwards."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from PIL import Image

from ocrflow.core.models import Line
from ocrflow.core.settings import ConfigError, load_settings
from ocrflow.engines.base import EngineError, EngineRequest, EngineResult, Task
from ocrflow.engines.cache import CachingEngine, cache_backend
from ocrflow.engines.redis_cache import CacheOptions, RedisCache, split_cache_url
from ocrflow.engines.vllm import make_vllm_engine
from tests.fakes.fake_vllm import FakeVllm, closed_port_url
from tests.support.duck import rows, run_into
from tests.support.vllm import inbox_fixture

REDIS = "redis://127.0.0.1:6379/0"
inbox = inbox_fixture("receipt_scan_01.jpg", "receipt_scan_02.png", scope="module")


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"ocrflow-test:{uuid.uuid4().hex}:"
    yield name
    client = redis.Redis.from_url(REDIS)
    keys = list(client.scan_iter(match=name + "*"))
    if keys:
        client.delete(*keys)
    client.close()


class _Engine:
    """A versioned engine that counts what it is asked; ``text`` sets the size of its answer."""

    name, model, supports_extraction = "vllm", "m1", True

    def __init__(self, text: str = "hello") -> None:
        self.text, self.asked = text, 0

    def prompt_version(self, request: EngineRequest) -> str:
        return "v1"

    def run(self, request: EngineRequest) -> EngineResult:
        self.asked += 1
        return EngineResult(lines=(Line(self.text, (1.0, 2.0, 3.0, 4.0), 0.9),), text=self.text, engine=self.name,
                            model=self.model, prompt_version="v1", replica="gpu-1")

    def run_many(self, requests: Iterable[EngineRequest]) -> Iterator[EngineResult | EngineError]:
        for r in requests:
            yield self.run(r)

    def preflight(self) -> None: ...

    def close(self) -> None: ...


def _cache(prefix: str, **query: Any) -> RedisCache:
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    return RedisCache.from_url(f"{REDIS}?prefix={prefix}{extra}")


def _page(n: int = 0) -> EngineRequest:
    image = Image.new("RGB", (60, 40), (n, 255 - n, 128))
    return EngineRequest(image=image, task=Task.SPOT)


def test_a_miss_asks_the_model_and_a_hit_does_not(prefix: str) -> None:
    inner = _Engine()
    engine = CachingEngine(inner, _cache(prefix))
    first = engine.run(_page())
    again = engine.run(_page())  # another image object, the same pixels
    other = engine.run(_page(1))
    assert inner.asked == 2 and engine.hits == 1
    assert (first.replica, again.replica, other.replica) == ("gpu-1", "cache", "gpu-1")
    assert "cache_hit" in again.flags and again.lines == first.lines
    client = redis.Redis.from_url(REDIS)
    assert sorted(k.decode() for k in client.scan_iter(match=prefix + "*")) == sorted(
        prefix + engine.key(r) for r in (_page(), _page(1)))  # keyed as the store cache, under the prefix


def test_an_entry_expires_after_its_ttl(prefix: str) -> None:
    inner = _Engine()
    engine = CachingEngine(inner, _cache(prefix, ttl_s=1))
    engine.run(_page())
    key = prefix + engine.key(_page())
    assert 0 < redis.Redis.from_url(REDIS).pttl(key) <= 1000
    engine.run(_page())
    assert inner.asked == 1
    deadline = time.monotonic() + 10
    while redis.Redis.from_url(REDIS).exists(key) and time.monotonic() < deadline:
        time.sleep(0.2)
    engine.run(_page())
    assert inner.asked == 2  # expired: asked again


def test_an_answer_over_the_size_bound_is_answered_but_not_stored(prefix: str) -> None:
    inner = _Engine(text="x" * 5000)
    cache = _cache(prefix, max_entry_bytes=4096)
    engine = CachingEngine(inner, cache)
    assert engine.run(_page()).text == "x" * 5000
    engine.run(_page())
    assert inner.asked == 2 and cache.too_large == 2
    assert list(redis.Redis.from_url(REDIS).scan_iter(match=prefix + "*")) == []
    small = CachingEngine(_Engine(text="x" * 100), cache)
    small.run(_page())
    assert len(list(redis.Redis.from_url(REDIS).scan_iter(match=prefix + "*"))) == 1


def test_document_threads_use_redis_at_once(prefix: str) -> None:
    """No lock around a thread-safe backend: two threads inside the cache together (a lock would deadlock them)."""
    gate = threading.Barrier(2, timeout=10)
    cache = _cache(prefix)
    real_get = cache.cache_get

    def get(key: str) -> dict[str, Any] | None:
        gate.wait()
        return real_get(key)

    cache.cache_get = get  # type: ignore[method-assign]
    engine = CachingEngine(_Engine(), cache)
    errors: list[BaseException] = []

    def one(n: int) -> None:
        try:
            engine.run(_page(n))
        except BaseException as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []


@pytest.mark.slow
def test_two_workers_on_two_stores_share_the_answers(inbox: Path, tmp_path: Path, prefix: str,
                                                     clean_env: None) -> None:
    with FakeVllm(mode="sleep", capacity=8) as fake:
        values = {"vllm_url": fake.url, "cache_url": f"{REDIS}?prefix={prefix}", "contract": "receipt"}
        asked = []
        for worker in ("a", "b"):
            engine = make_vllm_engine(load_settings(**values))
            before = fake.counters.chat_requests
            try:
                summary = run_into([str(inbox)], tmp_path / f"{worker}.duckdb", engine, **values)
            finally:
                engine.close()
            assert summary.counts["pending"] == 0 and summary.counts["failed"] == 0
            asked.append(fake.counters.chat_requests - before)
    assert asked == [4, 0]  # 2 receipts x (spotting + extraction), then all from Redis
    stored = list(redis.Redis.from_url(REDIS).scan_iter(match=prefix + "*"))
    assert len(stored) == 4
    assert rows(tmp_path / "a.duckdb", "SELECT count(*) FROM page_cache") == [(0,)]  # Redis, not the store


def test_redis_down_is_a_degraded_run_with_one_warning(inbox: Path, tmp_path: Path, clean_env: None,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    down = closed_port_url().replace("http://", "redis://")
    with FakeVllm(mode="sleep", capacity=8) as fake:
        values = {"vllm_url": fake.url, "cache_url": down, "contract": "receipt"}
        engine = make_vllm_engine(load_settings(**values))
        try:
            with caplog.at_level(logging.WARNING, logger="ocrflow.engines.redis_cache"):
                summary = run_into([str(inbox)], tmp_path / "d.duckdb", engine, **values)
        finally:
            engine.close()
    assert summary.counts["documents"] == 2 and summary.counts["pending"] == 0
    assert fake.counters.chat_requests == 4  # every answer from the model
    warnings = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1 and down.split("//")[1] in warnings[0], warnings


def test_redis_back_after_an_outage_is_used_again(prefix: str) -> None:
    cache = RedisCache(redis.Redis.from_url(closed_port_url().replace("http://", "redis://"),
                                            socket_connect_timeout=1),
                       CacheOptions(prefix=prefix, retry_after_s=0.0))
    engine = CachingEngine(_Engine(), cache)
    engine.run(_page())
    assert cache.errors == 2  # the read and the write failed; the answer came from the model
    cache.client = redis.Redis.from_url(REDIS)  # the server is back
    engine.run(_page())
    engine.run(_page())
    assert engine.hits == 1


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "127.0.0.1:6379", f"{REDIS}?ttl_s=soon",
                                 f"{REDIS}?max_entry_bytes=0"])
def test_a_url_that_is_no_redis_url_stops_the_run_before_any_document(url: str) -> None:
    with pytest.raises(ConfigError, match="OCRFLOW_CACHE_URL"):
        split_cache_url(url)


def test_the_url_options_and_the_timeouts(clean_env: None) -> None:
    url, options = split_cache_url("redis://:pw@127.0.0.1:6379/2?ttl_s=60&max_entry_bytes=10&prefix=p:"
                                   "&socket_timeout=9")
    assert options == CacheOptions(prefix="p:", ttl_s=60, max_entry_bytes=10)
    assert "socket_timeout=9" in url and "socket_connect_timeout=2" in url and "ttl_s" not in url
    settings = load_settings(cache_url="redis://:pw@127.0.0.1:6379/2")
    assert "pw" not in repr(settings)  # a secret, as the API key is
    backend = cache_backend(settings, store=object())  # type: ignore[arg-type]
    assert isinstance(backend, RedisCache) and "pw" not in backend.name
    store = object()
    assert cache_backend(load_settings(), store) is store  # type: ignore[arg-type]
    assert cache_backend(load_settings(vllm_cache=False, cache_url=REDIS), store) is None  # type: ignore[arg-type]
