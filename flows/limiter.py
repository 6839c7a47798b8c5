"""The fleet-wide vLLM request limit as a Prefect global concurrency limit, handed to the engine.

``prefect gcl create vllm --limit N`` bounds requests to the whole vLLM fleet across every flow run.
The core engine holds a slot of an ``ocrflow.engines.limits.Limiter`` around each request; this module
builds that limiter from Prefect's ``concurrency`` (slots leased in chunks by
``ocrflow.engines.vllm.gcl.ChunkedLimit``). Prefect is imported when a chunk is first occupied, never at
import time.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from ocrflow.engines.limits import Limiter
from ocrflow.engines.vllm.gcl import ChunkedLimit

VLLM_CONCURRENCY_LIMIT = "vllm"
"""Global concurrency limit that bounds requests to the vLLM fleet across all flow runs (``prefect gcl``)."""
LIMIT_ENV = "OCRFLOW_VLLM_CONCURRENCY_LIMIT"


def prefect_occupy(name: str, slots: int) -> AbstractAsyncContextManager[Any]:
    """Hold ``slots`` slots of the global concurrency limit ``name`` (two Prefect API calls)."""
    from prefect.concurrency.asyncio import concurrency

    return concurrency(name, occupy=slots)


async def prefect_limit_size(name: str) -> int | None:
    """The size of the global concurrency limit ``name``, or None when it does not exist."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            found = await client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            return None
    return int(found.limit)


def fleet_limit_name() -> str | None:
    """The global concurrency limit vLLM requests hold: OCRFLOW_VLLM_CONCURRENCY_LIMIT, default ``vllm``;
    ``none`` turns it off (an empty value means "not set", as for every OCRFLOW_* variable)."""
    name = os.environ.get(LIMIT_ENV, "").strip() or VLLM_CONCURRENCY_LIMIT
    return None if name.lower() in ("none", "off") else name


def _with_settings(settings: Any) -> tuple[Callable[[str, int], AbstractAsyncContextManager[Any]],
                                           Callable[[str], Awaitable[int | None]]]:
    """``prefect_occupy`` and ``prefect_limit_size`` under the Prefect settings of the flow that made the
    limiter: the engine calls them from its own event-loop thread, where the flow's settings context (a
    temporary server's API URL, a profile's) is not set. A fresh copy per use: a context is entered once."""

    @asynccontextmanager
    async def occupy(name: str, slots: int) -> AsyncIterator[Any]:
        with settings.model_copy():
            async with prefect_occupy(name, slots) as held:
                yield held

    async def limit_size(name: str) -> int | None:
        with settings.model_copy():
            return await prefect_limit_size(name)

    return occupy, limit_size


def prefect_limiter(name: str | None = None, *, chunk: int = 8, idle_s: float = 2.0) -> Limiter | None:
    """The limiter a flow's vLLM engine holds: ``name`` (default: fleet_limit_name()) leased in chunks;
    None when the limit is turned off. Called inside the flow: the flow's Prefect settings go with it."""
    name = name or fleet_limit_name()
    if not name:
        return None
    from prefect.context import SettingsContext

    current = SettingsContext.get()
    if current is None:
        return ChunkedLimit(name, occupy=prefect_occupy, read_limit=prefect_limit_size, chunk=chunk, idle_s=idle_s)
    occupy, limit_size = _with_settings(current)
    return ChunkedLimit(name, occupy=occupy, read_limit=limit_size, chunk=chunk, idle_s=idle_s)
