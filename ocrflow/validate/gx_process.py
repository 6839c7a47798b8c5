"""Great Expectations in a process of its own, for a run large enough to pay for one.

GX is imported, validates the run's frames and renders their Data Docs pages; all of it is Python that holds the
GIL (the import alone is ~2.6 s of CPU), and in the run's process it stalled the documents in flight for that
long. A run that asks for it (``RunOptions.gx_process``: ``ocrflow run`` and the flows, whose entry points are
guarded as ``spawn`` needs) and plans at least ``MIN_DOCUMENTS`` documents starts one child process (``spawn``:
the run's process has threads) as it begins: the child imports GX while the documents are read, then does the
run's GX work on the other core. The batch checks that decide the documents' states stay in the run's process
and never import GX (``ocrflow.validate.checks.compile_specs``). Smaller runs keep GX in a thread, where a
child's start would cost more than it saves (BENCHMARKS.md "Digital pages end to end").

The child ignores SIGINT and SIGTERM: the run's process decides how a run stops, and ``close`` ends the
child (frames not yet validated are dropped, as a stopped run builds no Data Docs).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocrflow.contracts import Contract

if TYPE_CHECKING:
    import pandas as pd

MIN_DOCUMENTS = 200
"""Runs planning at least this many documents validate with GX in a child process (a child costs ~3 s of CPU
to start and import GX, on the core the run's process leaves idle)."""


def _child_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _warm() -> None:
    """Import GX and make its context, so the first frame does not wait for them."""
    from ocrflow.validate.runtime import LOCK, runtime

    with LOCK:
        runtime()


def _summary(contract: Contract, frame: pd.DataFrame, today: dt.date) -> dict[str, Any]:
    from ocrflow.validate.run import gx_summary

    return gx_summary(contract, frame, today)


def _render(raws: list[dict[str, Any]], site: Path, run_id: str, when: dt.datetime) -> list[Path]:
    from ocrflow.validate.docs import render_pages

    return render_pages(raws, site, run_id, when)


class GxProcess:
    """One child process doing a run's GX work, in submission order."""

    def __init__(self) -> None:
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_child_init)
        self._pool.submit(_warm)

    def summary(self, contract: Contract, frame: pd.DataFrame, today: dt.date) -> Future[dict[str, Any]]:
        """GX's SUMMARY validation of ``frame`` (``ocrflow.validate.run.gx_summary``), in the child."""
        return self._pool.submit(_summary, contract, frame, today)

    def render(self, raws: list[dict[str, Any]], site: Path, run_id: str, when: dt.datetime) -> list[Path]:
        """``ocrflow.validate.docs.render_pages`` in the child; waits for it."""
        return self._pool.submit(_render, raws, site, run_id, when).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
