"""ChunkedLimit: a fleet-wide limit leased in chunks (with a recording stand-in for Prefect), and the engine
holding the limiter the flow hands in (flows/limiter.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from PIL import Image

from ocrflow.engines.base import EngineRequest, TransientEngineError
from ocrflow.engines.limits import Limiter
from ocrflow.engines.vllm import RetryPolicy, VllmEngine, VllmOptions
from ocrflow.engines.vllm.gcl import ChunkedLimit
from tests.fakes.fake_vllm import FakeVllm


class Limit:
    """A global limit of ``size`` slots, as the Prefect server keeps it."""

    def __init__(self, size: int | None, fail: int = 0) -> None:
        self.size, self.fail = size, fail
        self.held = self.peak_held = self.occupy_calls = 0
        self.in_use = self.peak_in_use = 0

    async def read(self, name: str) -> int | None:
        return self.size

    @contextlib.asynccontextmanager
    async def occupy(self, name: str, slots: int) -> AsyncIterator[None]:
        self.occupy_calls += 1
        if self.fail:
            self.fail -= 1
            raise RuntimeError("Prefect API unreachable")
        while self.size is not None and self.held + slots > self.size:
            await asyncio.sleep(0.005)
        self.held += slots
        self.peak_held = max(self.peak_held, self.held)
        try:
            yield
        finally:
            self.held -= slots


async def _requests(limit: ChunkedLimit, server: Limit, n: int, seconds: float) -> None:
    async def one() -> None:
        async with limit.slot():
            server.in_use += 1
            server.peak_in_use = max(server.peak_in_use, server.in_use)
            await asyncio.sleep(seconds)
            server.in_use -= 1

    await asyncio.gather(*(one() for _ in range(n)))


def test_one_acquisition_per_chunk_not_per_request_and_idle_chunks_go_back() -> None:
    server = Limit(64)

    async def scenario() -> tuple[int, int]:
        # idle_s with a margin: a loaded 2-core box may pause the loop for tens of ms between the two rounds
        limit = ChunkedLimit("vllm", occupy=server.occupy, read_limit=server.read, chunk=8, idle_s=0.5)
        await _requests(limit, server, 20, 0.02)
        await _requests(limit, server, 20, 0.02)  # the chunks are still held: no new acquisition
        held_while_warm = server.held
        await asyncio.sleep(2.0)
        idle = server.held
        await limit.aclose()
        return held_while_warm, idle

    warm, idle = asyncio.run(scenario())
    assert server.occupy_calls == 3 and server.peak_held == 24  # 20 at once: ceil(20 / 8) chunks, 40 requests
    assert warm == 24 and idle == 0


def test_the_fleet_limit_bounds_requests_and_a_small_limit_shrinks_the_chunk() -> None:
    server = Limit(4)

    async def scenario() -> None:
        limit = ChunkedLimit("vllm", occupy=server.occupy, read_limit=server.read, chunk=8, idle_s=0.05)
        await _requests(limit, server, 12, 0.01)
        assert limit.chunk == 4
        await limit.aclose()

    asyncio.run(scenario())
    assert server.peak_in_use <= 4 and server.peak_held == 4


def test_a_missing_limit_is_read_once_and_limits_nothing(caplog: pytest.LogCaptureFixture) -> None:
    server = Limit(None)

    async def scenario() -> None:
        limit = ChunkedLimit("vllm", occupy=server.occupy, read_limit=server.read)
        await _requests(limit, server, 30, 0.0)
        await limit.aclose()

    asyncio.run(scenario())
    assert server.occupy_calls == 0 and server.peak_in_use == 30
    assert "does not exist" in caplog.text


def test_a_failed_acquisition_fails_the_waiting_requests_as_transient_then_recovers() -> None:
    server = Limit(64, fail=1)

    async def scenario() -> None:
        limit = ChunkedLimit("vllm", occupy=server.occupy, read_limit=server.read)
        with pytest.raises(TransientEngineError, match="global concurrency limit 'vllm': Prefect API unreachable"):
            await _requests(limit, server, 3, 0.0)
        await _requests(limit, server, 3, 0.0)  # the next request tries again
        await limit.aclose()

    asyncio.run(scenario())
    assert server.occupy_calls == 2 and server.held == 0


@pytest.mark.parametrize(("value", "expected"), [(None, "vllm"), ("", "vllm"), ("gpu-fleet", "gpu-fleet"),
                                                 ("none", None), ("OFF", None)])
def test_fleet_limit_name_from_the_environment(monkeypatch: pytest.MonkeyPatch, value: str | None,
                                               expected: str | None) -> None:
    from flows.limiter import fleet_limit_name

    if value is None:
        monkeypatch.delenv("OCRFLOW_VLLM_CONCURRENCY_LIMIT", raising=False)
    else:
        monkeypatch.setenv("OCRFLOW_VLLM_CONCURRENCY_LIMIT", value)
    assert fleet_limit_name() == expected


def _engine(fake: FakeVllm, limiter: Limiter | None) -> VllmEngine:
    options = VllmOptions(urls=fake.url, retry=RetryPolicy(max_attempts=1, base_delay_s=0.01, max_delay_s=0.02))
    return VllmEngine(options, limiter=limiter)


def test_the_engine_holds_the_limiter_the_flow_hands_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """flows.limiter.prefect_limiter through the engine: Prefect's ``concurrency`` occupied once per chunk of 8
    for three requests, given back when the engine closes; without a limiter nothing is occupied."""
    import prefect.concurrency.asyncio as pca

    from flows import limiter as flow_limiter

    calls: list[tuple[str, int]] = []
    released: list[int] = []

    @contextlib.asynccontextmanager
    async def fake_concurrency(names: str, occupy: int = 1, **_: Any) -> AsyncIterator[None]:
        calls.append((names, occupy))
        yield
        released.append(occupy)

    async def limit_size(name: str) -> int | None:
        return 64

    monkeypatch.setattr(pca, "concurrency", fake_concurrency)
    monkeypatch.setattr(flow_limiter, "prefect_limit_size", limit_size)
    monkeypatch.delenv(flow_limiter.LIMIT_ENV, raising=False)
    image = Image.new("RGB", (200, 100), "white")
    with FakeVllm(mode="sleep", capacity=64) as fake:
        limiter = flow_limiter.prefect_limiter()
        assert isinstance(limiter, ChunkedLimit) and isinstance(limiter, Limiter) and limiter.name == "vllm"
        with _engine(fake, limiter) as eng:
            list(eng.run_many(EngineRequest(image=image) for _ in range(3)))
            assert calls == [("vllm", 8)] and released == []  # one chunk for the three requests, still held
        assert released == [8]  # closing the engine gave the chunk back
        with _engine(fake, None) as eng:
            eng.run(EngineRequest(image=image))
    assert len(calls) == 1  # no limiter: no fleet-wide slot


def test_a_limit_turned_off_gives_no_limiter(monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.limiter import LIMIT_ENV, prefect_limiter

    monkeypatch.setenv(LIMIT_ENV, "none")
    assert prefect_limiter() is None
