"""The batch loop shared by the CLI run and the Prefect flow."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ocrflow.core.models import DocState, DocumentRef
from ocrflow.core.results import DocResult
from ocrflow.run.batches import MAX_FAILED_LOADS, BatchReport, run_batches
from ocrflow.store.base import DocumentUpdate, StoreError
from ocrflow.store.duckdb_store import DuckDBStore


def _docs(n: int) -> list[DocumentRef]:
    return [DocumentRef(path=f"/in/{i}.pdf", sha256=f"{i:064x}", mime="application/pdf", size_bytes=10)
            for i in range(n)]


def _processed(docs: list[DocumentRef]) -> list[DocResult]:
    return [DocResult(d, DocState.LOADED, contract="invoice") for d in docs]


def _started(docs: list[DocumentRef]) -> Callable[[], list[DocResult]]:
    return lambda: _processed(docs)


class _ClaimingStore:
    """A store other workers write too: it hands this worker only the documents nobody else holds."""

    dialect = "postgres"

    def __init__(self, held_elsewhere: set[str]) -> None:
        self.held = held_elsewhere
        self.released: list[str] = []

    def shares_writes(self) -> bool:
        return True

    def claim(self, hashes: list[str], worker: str, ttl_s: float) -> set[str]:
        return {h for h in hashes if h not in self.held}

    def release(self, hashes: list[str], worker: str) -> None:
        self.released += hashes


def test_a_failed_write_leaves_that_batch_pending_and_the_run_goes_on(tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "b.duckdb"))
    calls: list[int] = []
    reports: list[BatchReport] = []

    def load(done: list[DocResult]) -> list[DocResult]:
        calls.append(len(done))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return done

    out = run_batches(store, _docs(10), start=_started, load=load, worker="w", ttl_s=60, batch_size=4,
                      store_name="test.duckdb", on_batch=reports.append)
    assert calls == [4, 4, 2]
    assert [r.state for r in out.results] == [DocState.LOADED] * 4 + [DocState.PENDING] * 4 + [DocState.LOADED] * 2
    assert "not written, left pending for the next run: RuntimeError: disk full" in (out.results[4].error or "")
    assert [(r.number, r.batches, r.documents, r.load_error) for r in reports] == [
        (1, 3, 4, ""), (2, 3, 4, "RuntimeError: disk full"), (3, 3, 2, "")]
    store.close()


def test_consecutive_failed_writes_stop_the_run_naming_the_store(tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "b.duckdb"))

    def load(done: list[DocResult]) -> list[DocResult]:
        raise RuntimeError("connection refused")

    with pytest.raises(StoreError, match=f"{MAX_FAILED_LOADS} batches in a row could not be written to x.duckdb"):
        run_batches(store, _docs(10), start=_started, load=load, worker="w", ttl_s=60, batch_size=2,
                    store_name="x.duckdb")
    store.close()


def test_documents_held_by_another_worker_are_left_to_it_and_claims_are_released() -> None:
    docs = _docs(6)
    store = _ClaimingStore({docs[1].sha256, docs[4].sha256})
    seen: list[str] = []

    def start(owned: list[DocumentRef]) -> Callable[[], list[DocResult]]:
        seen.extend(d.path for d in owned)
        return lambda: _processed(owned)

    out = run_batches(store, docs, start=start, load=lambda done: done, worker="w", ttl_s=60, batch_size=3,
                      store_name="pg")
    assert seen == ["/in/0.pdf", "/in/2.pdf", "/in/3.pdf", "/in/5.pdf"]
    assert out.mine == [docs[0], docs[2], docs[3], docs[5]] and out.elsewhere == [docs[1], docs[4]]
    assert store.released == [d.sha256 for d in out.mine]


def test_the_cli_run_keeps_a_failed_batch_pending_in_the_store(tmp_path: Path) -> None:
    """End to end through run_batches and a real DuckDB store: the second batch's write fails once."""
    store = DuckDBStore(str(tmp_path / "c.duckdb"))
    store.init_schema([])
    docs = _docs(4)
    store.register([DocumentUpdate(d.sha256, d.path, d.mime, d.size_bytes, DocState.PENDING) for d in docs], "r")
    from ocrflow.run.batch_write import validate_and_build_batch

    def load(done: list[DocResult]) -> list[DocResult]:
        if done[0].doc is docs[2]:
            raise RuntimeError("injected")
        store.write_batch(validate_and_build_batch(done, {}, "r"), {})
        return done

    run_batches(store, docs, start=lambda owned: lambda: [DocResult(d, DocState.FAILED, error="bad") for d in owned],
                load=load, worker="w", ttl_s=60, batch_size=2, store_name="c")
    _, rows = store.query("SELECT path, state FROM documents ORDER BY path")
    assert rows == [("/in/0.pdf", "failed"), ("/in/1.pdf", "failed"), ("/in/2.pdf", "pending"),
                    ("/in/3.pdf", "pending")]
    store.close()


def test_the_next_batch_starts_before_the_current_one_is_written() -> None:
    events: list[str] = []

    def start(owned: list[DocumentRef]) -> Callable[[], list[DocResult]]:
        events.append(f"start {owned[0].path}")
        return lambda: _processed(owned)

    def load(done: list[DocResult]) -> list[DocResult]:
        events.append(f"write {done[0].doc.path}")
        return done

    run_batches(_ClaimingStore(set()), _docs(6), start=start, load=load, worker="w", ttl_s=60, batch_size=2,
                store_name="pg")
    assert events == ["start /in/0.pdf", "start /in/2.pdf", "write /in/0.pdf", "start /in/4.pdf", "write /in/2.pdf",
                      "write /in/4.pdf"]


def test_a_stopped_run_gives_back_the_claims_of_the_batch_started_ahead() -> None:
    docs = _docs(8)
    store = _ClaimingStore(set())

    def load(done: list[DocResult]) -> list[DocResult]:
        raise RuntimeError("server closed the connection")

    with pytest.raises(StoreError):
        run_batches(store, docs, start=_started, load=load, worker="w", ttl_s=60, batch_size=2, store_name="pg")
    assert sorted(store.released) == sorted(d.sha256 for d in docs[:6])  # batches 1-2 written (failed), 3 ahead
