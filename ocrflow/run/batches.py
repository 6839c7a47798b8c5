"""The batch loop of a run, shared by ``ocrflow run`` and the Prefect flow.

Per batch: claim the documents (on a store that other workers write too), process the ones this
worker owns, validate and write them in one transaction, release the claims. The next batch is
claimed and started before the current one is awaited, so the processing slots
(``documents_in_flight``) stay busy while a batch waits for its slowest document and is written,
instead of draining at every batch boundary. A batch whose write
fails is not lost: its documents are reported ``pending`` (the store still says pending, so the next
run takes them) and the run goes on; ``MAX_FAILED_LOADS`` failed writes in a row mean the store
itself is down, and the run stops with a ``StoreError``.

A run asked to stop (``stop()`` true: SIGINT / SIGTERM, ocrflow.run.stopping) begins no new batch; the
batches already begun finish, their processed documents are written, the ones the stop kept from starting
(``error_code`` ``stopped``) are not written (the store still has them pending), and the documents of the
batches never begun are reported in ``LoopResult.not_started``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from ocrflow.core.models import DocState, DocumentRef
from ocrflow.core.results import DocResult
from ocrflow.metrics import observe_error, observe_final
from ocrflow.run.claims import claim_docs, release_docs
from ocrflow.run.stopping import STOPPED_CODE
from ocrflow.run.tally import Tally
from ocrflow.store.base import Store, StoreError

log = logging.getLogger(__name__)

MAX_FAILED_LOADS = 2
"""Consecutive batches that failed to write before the run gives up (the store is down, not a document)."""

Waiter = Callable[[], list[DocResult]]
StartFn = Callable[[list[DocumentRef]], Waiter]
"""Start processing the documents of one batch without waiting; the returned callable waits and gives
their results in order (one each, never raising for one document)."""
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
    tally: Tally = field(default_factory=Tally)
    """The written documents: counts, bounded lists, and their results only if ``tally.keep_results``."""
    mine: list[DocumentRef] = field(default_factory=list)
    """Documents this worker claimed (all of them on a single-writer store)."""
    elsewhere: list[DocumentRef] = field(default_factory=list)
    """Documents another worker held: theirs to finish, counted as skipped here."""
    not_started: list[DocumentRef] = field(default_factory=list)
    """Documents of the batches a stopped run never began (neither claimed nor processed: still pending)."""

    @property
    def results(self) -> list[DocResult]:
        """The written documents' results (empty unless the tally keeps them)."""
        return self.tally.results


def not_written(results: list[DocResult], exc: Exception) -> list[DocResult]:
    """The batch's documents as pending: the write failed, so the store still has them pending."""
    return [DocResult(r.doc, DocState.PENDING, pages=r.pages, contract=r.contract,
                      error=f"not written, left pending for the next run: {type(exc).__name__}: {exc}")
            for r in results]


@dataclass(slots=True)
class _Started:
    chunk: list[DocumentRef]
    owned: list[DocumentRef]
    wait: Waiter


def _nothing() -> list[DocResult]:
    return []


def run_batches(store: Store, todo: list[DocumentRef], *, start: StartFn, load: LoadFn, worker: str,
                ttl_s: float, batch_size: int, store_name: str,
                on_batch: Callable[[BatchReport], None] | None = None, claims: bool = True,
                stop: Callable[[], bool] | None = None, tally: Tally | None = None) -> LoopResult:
    """Claim, process, write and release ``todo`` in batches of ``batch_size`` documents.

    ``claims=False``: process every document without claiming it (reprocessing final documents).
    ``stop``: when it turns true, no further batch is begun (see the module docstring).
    ``tally``: what is kept of the written documents (default: everything, their results included)."""
    out = LoopResult(tally or Tally())
    chunks = [todo[i:i + batch_size] for i in range(0, len(todo), batch_size)]
    stopped = stop or _never

    def begin(chunk: list[DocumentRef]) -> _Started:
        owned = claim_docs(store, chunk, worker, ttl_s) if claims else list(chunk)
        owned_set = {d.sha256 for d in owned}
        out.elsewhere += [d for d in chunk if d.sha256 not in owned_set]
        out.mine += owned
        try:
            return _Started(chunk, owned, start(owned) if owned else _nothing)
        except BaseException:
            release_docs(store, owned, worker)
            raise

    failed_loads = 0
    if not chunks or stopped():
        out.not_started = list(todo)
        return out
    current = begin(chunks[0])
    for number in range(1, len(chunks) + 1):
        upcoming: _Started | None = None
        try:
            if number < len(chunks) and not stopped():
                upcoming = begin(chunks[number])  # keep the slots busy while this batch finishes
            written, error = _write(current.wait(), load)
            failed_loads = failed_loads + 1 if error else 0
            if failed_loads >= MAX_FAILED_LOADS:
                raise StoreError(f"{failed_loads} batches in a row could not be written to {store_name} "
                                 f"(last: {error}); stopping (documents not written stay pending for the next run)")
        except BaseException:
            if upcoming is not None:  # its documents stay pending; their claims go back now
                release_docs(store, upcoming.owned, worker)
            raise
        finally:
            release_docs(store, current.owned, worker)
        out.tally.add(written)
        for r in written:
            if r.error_code != STOPPED_CODE:
                observe_final(r)
        if on_batch:
            on_batch(BatchReport(number, len(chunks), len(current.chunk), written, len(out.elsewhere), error))
        if upcoming is None:
            out.not_started = [d for chunk in chunks[number:] for d in chunk]  # empty unless stopped
            break
        current = upcoming
    return out


def _never() -> bool:
    return False


def _write(results: list[DocResult], load: LoadFn) -> tuple[list[DocResult], str]:
    """(results, "") after a successful write; (the documents as pending, the error) after a failed one.

    Documents a stop kept from starting are not written (the store has them pending already)."""
    kept = [r for r in results if r.error_code == STOPPED_CODE]
    done = [r for r in results if r.error_code != STOPPED_CODE]
    if not done:
        return kept, ""
    try:
        return load(done) + kept, ""
    except Exception as exc:  # isolate the batch; MAX_FAILED_LOADS stops a dead store
        if isinstance(exc, StoreError):  # the store says what happened and what to do: no traceback
            log.error("writing a batch of %d documents failed; they stay pending: %s", len(done), exc)
        else:
            log.exception("writing a batch of %d documents failed; they stay pending", len(done))
        observe_error(f"load:{type(exc).__name__}")
        return not_written(done, exc) + kept, f"{type(exc).__name__}: {exc}"
