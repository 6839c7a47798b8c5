"""A fleet-wide request limit (a global concurrency limit held by an orchestrator), leased in chunks.

Occupying the limit around every request costs two Prefect API calls per request; measured against
a local Prefect server that capped a whole flow run at ~11 acquisitions/s (an existing limit) and
slowed it ~5x even when the limit did not exist. ``ChunkedLimit`` instead holds slots of the limit in
chunks of ``chunk``: a request takes a local permit; when none is free another chunk is occupied;
a chunk no request needs for ``idle_s`` is given back. The fleet guarantee is the same (this
process never has more requests on the wire than slots it holds), at one acquisition per ``chunk``
requests of growth instead of one per request.

``ChunkedLimit`` is a ``ocrflow.engines.limits.Limiter``. It knows the global limit only through two
callables, ``occupy`` and ``read_limit``: the Prefect ones live in flows/limiter.py, so that the core
never imports Prefect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from ocrflow.engines.base import TransientEngineError

log = logging.getLogger(__name__)

UNLIMITED = 10**9

Occupy = Callable[[str, int], AbstractAsyncContextManager[Any]]
"""``(limit name, slots) -> async context manager`` holding that many slots (e.g. Prefect's ``concurrency``)."""


ReadLimit = Callable[[str], Awaitable[int | None]]
"""``limit name -> its size``, or None when no such limit exists."""


class ChunkedLimit:
    """Local permits backed by slots of a global limit held in chunks. Use from one event loop."""

    def __init__(self, name: str, *, occupy: Occupy, read_limit: ReadLimit, chunk: int = 8,
                 idle_s: float = 2.0) -> None:
        if chunk < 1:
            raise ValueError("chunk must be >= 1")
        self.name, self.chunk, self.idle_s = name, chunk, idle_s
        self._occupy, self._read_limit = occupy, read_limit
        self._size: int | None = -1  # -1: not read yet; None: no such limit (nothing to hold)
        self._free = 0
        self._chunks: list[asyncio.Event] = []  # one release event per held chunk
        self._holders: set[asyncio.Task[None]] = set()
        self._cond: asyncio.Condition | None = None
        self._grower: asyncio.Task[None] | None = None  # the holder still occupying its chunk
        self._error: BaseException | None = None
        self._shrink: asyncio.TimerHandle | None = None

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self._acquire()
        try:
            yield
        finally:
            await self._release()

    async def _acquire(self) -> None:
        cond = self._condition()
        async with cond:
            if self._error is not None and self._grower is None:
                self._error = None  # an earlier failure: try again for this request
            while self._free == 0:
                if self._error is not None:
                    raise TransientEngineError(f"global concurrency limit {self.name!r}: {self._error}") \
                        from self._error
                if self._grower is None:
                    self._grower = asyncio.get_running_loop().create_task(self._hold())
                    self._holders.add(self._grower)
                    self._grower.add_done_callback(self._holders.discard)
                await cond.wait()
            self._free -= 1
            self._cancel_shrink()

    async def _release(self) -> None:
        cond = self._condition()
        async with cond:
            self._free += 1
            cond.notify()
            if self._chunks and self._free >= self.chunk and self._shrink is None:
                self._shrink = asyncio.get_running_loop().call_later(self.idle_s, self._give_back)

    async def _hold(self) -> None:
        """Occupy one chunk and keep it until told to give it back."""
        done = asyncio.Event()
        cond = self._condition()
        try:
            if self._size == -1:
                self._size = await self._read_limit(self.name)
                if self._size is not None:
                    self.chunk = max(1, min(self.chunk, self._size))
            if self._size is None:
                log.warning("global concurrency limit %r does not exist: requests are not limited fleet-wide "
                            "(create it: prefect gcl create %s --limit N)", self.name, self.name)
                async with cond:
                    self._free, self._grower = UNLIMITED, None
                    cond.notify_all()
                return
            async with self._occupy(self.name, self.chunk):
                async with cond:
                    self._chunks.append(done)
                    self._free += self.chunk
                    self._grower = None
                    cond.notify_all()
                await done.wait()
        except Exception as exc:  # the limit could not be occupied: the waiting requests must hear why
            log.error("global concurrency limit %r: %s", self.name, exc, exc_info=True)
            async with cond:
                self._error, self._grower = exc, None
                cond.notify_all()

    def _give_back(self) -> None:
        """Release one idle chunk (and look again later while more are idle)."""
        self._shrink = None
        if self._free >= self.chunk and self._chunks:
            self._free -= self.chunk
            self._chunks.pop().set()
            if self._free >= self.chunk:
                self._shrink = asyncio.get_running_loop().call_later(self.idle_s, self._give_back)

    def _cancel_shrink(self) -> None:
        if self._shrink is not None and self._free < self.chunk:
            self._shrink.cancel()
            self._shrink = None

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    async def aclose(self) -> None:
        """Give every chunk back (requests are done by now) and wait for the holders to exit."""
        if self._shrink is not None:
            self._shrink.cancel()
            self._shrink = None
        for done in self._chunks:
            done.set()
        self._chunks.clear()
        self._free = 0
        if self._grower is not None:  # still waiting to occupy: nothing to give back
            self._grower.cancel()
        holders = list(self._holders)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*holders, return_exceptions=True)
