"""The batch loop of a run, shared by ``ocrflow run`` and the Prefect flow.

Per batch: claim the documents (on a store that other workers write too), process the ones this
worker owns, validate and write them in one transaction, release the claims. A batch whose write
fails is not lost: its documents are reported ``pending`` (the store still says pending, so the next
run takes them) and the run goes on; ``MAX_FAILED_LOADS`` failed writes in a row mean the store
itself is down, and the run stops with a ``StoreError``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ocrflow.models import DocState, DocumentRef
from ocrflow.pipeline import DocResult, claim_docs, observe_results, release_docs
from ocrflow.store.base import StoreError

log = logging.getLogger(__name__)

MAX_FAILED_LOADS = 2
"""Consecutive batches that failed to write before the run gives up (the store is down, not a document)."""

ProcessFn = Callable[[list[DocumentRef]], list[DocResult]]
"""Process the documents of one batch (in order; one result each, never raising for one document)."""
LoadFn = Callable[[list[DocResult]], list[DocResult]]
"""Validate and write one batch in one transaction; returns the results with their final states."""


@dataclass(slots=True)
class BatchReport:
    """What one batch did, for progress bars and logs."""

    number: int
    batches: int
    documents: int
    written: list[DocResult]
    elsewhere: int
    load_error: str = ""


@dataclass(slots=True)
class LoopResult:
    results: list[DocResult] = field(default_factory=list)
    mine: list[DocumentRef] = field(default_factory=list)
    """Documents this worker claimed (all of them on a single-writer store)."""
    elsewhere: list[DocumentRef] = field(default_factory=list)
    """Documents another worker held: theirs to finish, counted as skipped here."""


def not_written(results: list[DocResult], exc: Exception) -> list[DocResult]:
    """The batch's documents as pending: the write failed, so the store still has them pending."""
    return [DocResult(r.doc, DocState.PENDING, pages=r.pages, contract=r.contract,
                      error=f"not written, left pending for the next run: {type(exc).__name__}: {exc}")
            for r in results]


def run_batches(store: Any, todo: list[DocumentRef], *, process: ProcessFn, load: LoadFn, worker: str,
                ttl_s: float, batch_size: int, store_name: str,
                on_batch: Callable[[BatchReport], None] | None = None) -> LoopResult:
    """Claim, process, write and release ``todo`` in batches of ``batch_size`` documents."""
    out = LoopResult()
    failed_loads = 0
    batches = (len(todo) + batch_size - 1) // batch_size
    for number, start in enumerate(range(0, len(todo), batch_size), 1):
        chunk = todo[start:start + batch_size]
        owned = claim_docs(store, chunk, worker, ttl_s)
        owned_set = {d.sha256 for d in owned}
        out.elsewhere += [d for d in chunk if d.sha256 not in owned_set]
        out.mine += owned
        error = ""
        try:
            done = process(owned) if owned else []
            try:
                written = load(done) if done else []
            except Exception as exc:  # isolate the batch; MAX_FAILED_LOADS stops a dead store
                log.exception("writing a batch of %d documents failed; they stay pending", len(done))
                from ocrflow.metrics import observe_error

                observe_error(f"load:{type(exc).__name__}")
                written, error = not_written(done, exc), f"{type(exc).__name__}: {exc}"
        finally:
            release_docs(store, owned, worker)
        failed_loads = failed_loads + 1 if error else 0
        if failed_loads >= MAX_FAILED_LOADS:
            raise StoreError(f"{failed_loads} batches in a row could not be written to {store_name} (last: {error}); "
                             "stopping (documents not written stay pending for the next run)")
        out.results += written
        observe_results(written)
        if on_batch:
            on_batch(BatchReport(number, batches, len(chunk), written, len(out.elsewhere), error))
    return out
