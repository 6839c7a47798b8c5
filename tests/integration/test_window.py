"""flows.window against a real Prefect server: tasks are created only when a slot is free, results in order."""

from __future__ import annotations

import threading
import time
from typing import Any

from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

from tests.integration.prefect_server import PrefectServer

_running = {"now": 0, "peak": 0}
_lock = threading.Lock()
# the first window's three tasks meet here: the peak of 3 is reached by synchronisation, not by timing (a 0.2 s
# sleep on a loaded 2-core box could let one finish before the third starts); a window of fewer than 3 breaks it
_first_three = threading.Barrier(3, timeout=60)


@task
def _work(i: int) -> int:
    with _lock:
        _running["now"] += 1
        _running["peak"] = max(_running["peak"], _running["now"])
    if i < 3:
        _first_three.wait()
    time.sleep(0.05)  # the others overlap too: a window that let them all start would show a peak over 3
    with _lock:
        _running["now"] -= 1
    if i == 4:
        raise ValueError("bad item 4")
    return i * 10


def _collect(future: Any, item: int) -> int:
    try:
        return int(future.result())
    except ValueError:
        return -item


@flow(task_runner=ThreadPoolTaskRunner(max_workers=16))  # type: ignore[arg-type]
def _windowed(limit: int) -> tuple[list[int], list[int], int, int]:
    from flows.window import Window

    window: Window[int, int] = Window(_work.submit, _collect, limit)
    first = window.start([0, 1, 2, 3])
    second = window.start([4, 5, 6])  # started ahead, as run_batches does
    created_before_waiting = window.running  # task runs that exist now (the UI shows them)
    return first(), second(), window.peak, created_before_waiting


def test_window_bounds_running_tasks_and_keeps_order(prefect_server: PrefectServer) -> None:
    _running.update(now=0, peak=0)
    _first_three.reset()
    first, second, peak, created = _windowed(3)
    assert first == [0, 10, 20, 30] and second == [-4, 50, 60]
    assert peak == 3 and _running["peak"] == 3 and created == 3
