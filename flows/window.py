"""Submit document tasks as in-flight slots free up, in order, across batches.

``run_batches`` starts batch k+1 before it waits for batch k. Mapping a whole batch onto the task
runner at once would create every task run immediately (shown Running in the UI while it only waits
for a slot, and one thread each). The window instead queues started documents and submits the next
one only when fewer than ``limit`` are running; waiting on any batch keeps the queue moving.
Everything runs on the flow's thread (task submission needs the flow run context).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from prefect.futures import PrefectFuture, as_completed

D = TypeVar("D")
R = TypeVar("R")


@dataclass(slots=True)
class _Slot(Generic[D, R]):
    item: D
    result: R | None = None
    done: bool = False


class Window(Generic[D, R]):
    """``start(items)`` queues items and returns a waiter giving their results in order."""

    def __init__(self, submit: Callable[[D], PrefectFuture[Any]], collect: Callable[[PrefectFuture[Any], D], R],
                 limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self._submit, self._collect, self.limit = submit, collect, limit
        self._queue: deque[_Slot[D, R]] = deque()
        self._running: dict[PrefectFuture[Any], _Slot[D, R]] = {}
        self.peak = 0

    @property
    def running(self) -> int:
        """Task runs submitted and not yet collected (what the Prefect UI shows as running)."""
        return len(self._running)

    def start(self, items: list[D]) -> Callable[[], list[R]]:
        slots = [_Slot[D, R](item) for item in items]
        self._queue.extend(slots)
        self._fill()
        return lambda: self._wait(slots)

    def _fill(self) -> None:
        while self._queue and len(self._running) < self.limit:
            slot = self._queue.popleft()
            self._running[self._submit(slot.item)] = slot
        self.peak = max(self.peak, len(self._running))

    def _wait(self, slots: list[_Slot[D, R]]) -> list[R]:
        while not all(s.done for s in slots):
            future = next(as_completed(list(self._running)))
            slot = self._running.pop(future)
            slot.result, slot.done = self._collect(future, slot.item), True
            self._fill()
        return [s.result for s in slots]  # type: ignore[misc]  # every slot is done: results are set
