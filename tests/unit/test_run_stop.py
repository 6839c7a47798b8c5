"""Stopping a run (ocrflow.run.stopping) and what the core does with a stop: no new batch, no new document,
finished documents written, the rest pending; a second signal waits for a write in progress; transient
engine errors retried by the run's processor, other errors not."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable

import pytest

from ocrflow.core.models import DocState, DocumentRef
from ocrflow.core.results import DocResult
from ocrflow.engines.base import TransientEngineError
from ocrflow.run.batches import run_batches
from ocrflow.run.lifecycle import RunProcessor
from ocrflow.run.stopping import STOPPED_CODE, HardStop, StopRequest, stop_on_signals, stopped_result
from ocrflow.run.summary import batch_line, name_problems


def _docs(n: int) -> list[DocumentRef]:
    return [DocumentRef(path=f"/in/{i}.pdf", sha256=f"{i:064x}", mime="application/pdf", size_bytes=10)
            for i in range(n)]


class _Store:
    """A single-writer store: every claim succeeds (what run_batches needs of it here)."""

    dialect = "duckdb"

    def shares_writes(self) -> bool:
        return False

    def claim(self, hashes: list[str], worker: str, ttl_s: float) -> set[str]:
        return set(hashes)

    def release(self, hashes: list[str], worker: str) -> None:
        pass


def test_a_stop_begins_no_new_batch_writes_what_is_finished_and_reports_the_rest() -> None:
    stop = StopRequest()
    written: list[list[str]] = []

    def start(docs: list[DocumentRef]) -> Callable[[], list[DocResult]]:
        def wait() -> list[DocResult]:
            out = []
            for d in docs:  # the stop arrives while the second batch is being processed, after its first document
                if stop.is_set():
                    out.append(stopped_result(d, stop.reason))
                    continue
                out.append(DocResult(d, DocState.LOADED))
                if d.path == "/in/4.pdf":
                    stop.request(signal.SIGTERM)
            return out
        return wait

    def load(done: list[DocResult]) -> list[DocResult]:
        written.append([r.doc.path for r in done])
        return done

    out = run_batches(_Store(), _docs(16), start=start, load=load, worker="w", ttl_s=60, batch_size=4,
                      store_name="s", stop=stop)
    # batch 1 written; batch 2 stopped after its first document (only that one is written); batch 3 was begun
    # before the stop (the next batch starts before the current one is awaited) and starts no document;
    # batch 4 is never begun
    assert written == [["/in/0.pdf", "/in/1.pdf", "/in/2.pdf", "/in/3.pdf"], ["/in/4.pdf"]]
    assert [d.path for d in out.not_started] == [f"/in/{i}.pdf" for i in range(12, 16)]
    kept = [r for r in out.results if r.error_code == STOPPED_CODE]
    assert [r.doc.path for r in kept] == [f"/in/{i}.pdf" for i in range(5, 12)]
    assert {r.state for r in kept} == {DocState.PENDING} and "SIGTERM" in (kept[0].error or "")


def test_a_stop_before_the_first_batch_begins_nothing() -> None:
    stop = StopRequest()
    stop.request(signal.SIGINT)
    started: list[int] = []

    def start(docs: list[DocumentRef]) -> Callable[[], list[DocResult]]:
        started.append(len(docs))
        return lambda: []

    out = run_batches(_Store(), _docs(5), start=start, load=lambda d: d, worker="w", ttl_s=60, batch_size=2,
                      store_name="s", stop=stop)
    assert started == [] and len(out.not_started) == 5 and out.results == []
    assert stop.exit_code == 130


class _Flaky:
    def __init__(self, transient: int, error: Exception | None = None) -> None:
        self.transient, self.error, self.calls = transient, error, 0

    def process(self, doc: DocumentRef, *, raise_transient: bool = False) -> DocResult:
        self.calls += 1
        if self.error is not None:
            raise self.error
        if self.calls <= self.transient:
            if raise_transient:
                raise TransientEngineError("503 from the engine")
            return DocResult(doc, DocState.PENDING, error="engine unavailable", error_code="engine")
        return DocResult(doc, DocState.LOADED)


def test_the_run_processor_retries_transient_errors_then_leaves_the_document_pending() -> None:
    (doc,) = _docs(1)
    once = _Flaky(transient=1)
    assert RunProcessor(once, retry_delays=(0.0, 0.0)).process(doc).state == DocState.LOADED and once.calls == 2
    always = _Flaky(transient=10)
    result = RunProcessor(always, retry_delays=(0.0, 0.0)).process(doc)
    assert result.state == DocState.PENDING and always.calls == 3  # two retries, then pending
    bug = _Flaky(transient=0, error=ValueError("a bug"))
    with pytest.raises(ValueError):  # not transient: not retried (the processor itself turns bugs into failed)
        RunProcessor(bug, retry_delays=(0.0, 0.0)).process(doc)
    assert bug.calls == 1
    plain = _Flaky(transient=1)
    assert RunProcessor(plain).process(doc).state == DocState.PENDING and plain.calls == 1  # ocrflow run: no retry


def test_a_stop_cuts_the_retry_wait_short_and_starts_no_document() -> None:
    (doc,) = _docs(1)
    stop = StopRequest()
    flaky = _Flaky(transient=10)
    timer = threading.Timer(0.2, stop.request, args=(signal.SIGTERM,))
    timer.start()
    result = RunProcessor(flaky, stop, retry_delays=(3600.0,)).process(doc)  # would sleep an hour without the stop
    timer.join()
    assert result.error_code == STOPPED_CODE and result.state == DocState.PENDING and flaky.calls == 1
    assert RunProcessor(_Flaky(0), stop).process(doc).error_code == STOPPED_CODE


def test_a_second_signal_waits_for_the_write_in_progress() -> None:
    stop = StopRequest()
    stop.request(signal.SIGINT)
    with pytest.raises(HardStop) as raised, stop.writing():
        stop.hard(signal.SIGINT)  # what the handler does on the second signal: deferred while writing
        finished = True
    assert finished and raised.value.signum == signal.SIGINT
    with pytest.raises(HardStop):
        stop.hard(signal.SIGTERM)  # outside a write: at once


class _SwallowsTheStop:
    """A document whose native code swallows the second signal's HardStop: pybind11 turns an exception raised
    while a C extension is imported into ``ImportError: initialization failed``, and the processor records
    the document failed (what CI saw with onnxruntime being imported when the second SIGINT came)."""

    def __init__(self, stop: StopRequest) -> None:
        self.stop = stop

    def process(self, doc: DocumentRef, *, raise_transient: bool = False) -> DocResult:
        try:
            try:
                self.stop.hard(signal.SIGINT)
            except HardStop as exc:
                raise ImportError("initialization failed") from exc
        except ImportError as exc:
            return DocResult(doc, DocState.FAILED, error=f"ImportError: {exc}", error_code="internal")
        return DocResult(doc, DocState.LOADED)


def test_a_stop_at_once_swallowed_by_the_documents_code_still_stops_the_run() -> None:
    (doc,) = _docs(1)
    stop = StopRequest()
    stop.request(signal.SIGINT)
    assert RunProcessor(_Flaky(0), stop).process(doc).error_code == STOPPED_CODE and stop.hard_raised == 0
    late = StopRequest()  # the first signal came after the document had started
    with pytest.raises(HardStop) as raised:  # not a failed document: it stays pending, the run leaves now
        RunProcessor(_SwallowsTheStop(late), late).process(doc)
    assert raised.value.signum == signal.SIGINT and late.hard_raised == signal.SIGINT


def test_real_signals_through_the_handlers() -> None:
    stop = StopRequest()
    lines: list[str] = []
    previous = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(stop, lines.append):
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.is_set() and stop.exit_code == 143 and "SIGTERM again stops at once" in lines[0]
        with pytest.raises(HardStop):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is previous  # restored


def test_messages_name_every_failure_then_say_where_the_rest_are() -> None:
    items = [(f"/in/doc{i}.pdf", "render: cannot open PDF") for i in range(6)]
    assert all(f"doc{i}.pdf" in name_problems(items, "r1") for i in range(6))  # six named (it used to stop at 5)
    many = [(f"/in/doc{i:03d}.pdf", "x" * 100) for i in range(100)]
    text = name_problems(many, "r1", limit=500)
    assert "doc000.pdf" in text and "doc099.pdf" not in text
    assert "more (all of them: ocrflow query" in text and "run_id = 'r1'" in text
    line = batch_line(3, 10, 48, 160, {"loaded": 45, "failed": 3}, 12.0)
    assert line == "batch 3/10 written: 48/160 documents (failed 3, loaded 45), failed 3, 4.0 documents/s, ETA 28s"


def test_a_stop_asked_for_outside_holds_inside_and_one_inside_is_seen_outside() -> None:
    """``ocrflow run --prefect``: the CLI's handlers around the flow's own."""
    cli, flow, later = StopRequest(), StopRequest(), StopRequest()
    with stop_on_signals(cli):
        with stop_on_signals(flow):
            os.kill(os.getpid(), signal.SIGINT)
        assert flow.is_set() and cli.is_set() and cli.exit_code == 130
        with stop_on_signals(later):
            assert later.is_set()  # a Ctrl-C before the flow installed its handlers still stops the flow
