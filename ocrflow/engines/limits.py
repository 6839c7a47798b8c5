"""The Limiter seam: a fleet-wide bound on engine requests, handed to an engine by whoever runs it.

The core knows no orchestrator. An engine that talks to a shared deployment (vLLM) holds a slot of a
``Limiter`` around every request; the Prefect flows hand in one backed by a Prefect global concurrency
limit (flows/limiter.py), ``ocrflow run`` hands in none (each process is bounded by its own
``max_in_flight`` only). ``ocrflow.engines.vllm.gcl.ChunkedLimit`` is the implementation that leases
slots of a global limit in chunks; the global limit's API comes in as two callables.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable


@runtime_checkable
class Limiter(Protocol):
    """Async slots of a limit shared with other processes. Used from one event loop (the engine's)."""

    def slot(self) -> AbstractAsyncContextManager[None]:
        """Hold one slot while the block runs; raise ``TransientEngineError`` when the limit cannot be
        reached (the document stays pending, the next run takes it)."""
        ...

    async def aclose(self) -> None:
        """Give every held slot back (the engine is closing; no request is in flight)."""
        ...
