"""The batch loop and document claims, pinned where mutation testing found them unpinned (docs/testing.md):
what a failed write reports, who the claims are taken and given back for, ``claims=False``, and a batch
whose documents all belong to another worker."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable

import pytest

from ocrflow.core.models import DocState, DocumentRef
from ocrflow.core.results import DocResult
from ocrflow.run.batches import BatchReport, not_written, run_batches
from ocrflow.run.claims import claim_docs, release_docs, worker_id
from ocrflow.store.base import StoreError


def _docs(n: int) -> list[DocumentRef]:
    return [DocumentRef(path=f"/in/{i}.pdf", sha256=f"{i:064x}", mime="application/pdf", size_bytes=10)
            for i in range(n)]


def _processed(docs: list[DocumentRef]) -> list[DocResult]:
    return [DocResult(d, DocState.LOADED, contract="invoice") for d in docs]


class _SharedStore:
    """A store other workers write too; records every claim and release with who asked and for how long."""

    dialect = "postgres"

    def __init__(self, held_elsewhere: set[str] | None = None) -> None:
        self.held = held_elsewhere or set()
        self.claims: list[tuple[list[str], str, float]] = []
        self.releases: list[tuple[list[str], str]] = []

    def shares_writes(self) -> bool:
        return True

    def claim(self, hashes: list[str], worker: str, ttl_s: float) -> set[str]:
        self.claims.append((list(hashes), worker, ttl_s))
        return {h for h in hashes if h not in self.held}

    def release(self, hashes: list[str], worker: str) -> None:
        self.releases.append((list(hashes), worker))


class _OneWriterStore(_SharedStore):
    def shares_writes(self) -> bool:
        return False


def test_not_written_keeps_each_document_its_pages_and_contract_as_pending() -> None:
    doc = _docs(1)[0]
    done = [DocResult(doc, DocState.LOADED, pages=3, contract="receipt")]
    out = not_written(done, RuntimeError("disk full"))
    assert len(out) == 1
    r = out[0]
    assert r.doc is doc and r.state == DocState.PENDING and r.pages == 3 and r.contract == "receipt"
    assert r.error == "not written, left pending for the next run: RuntimeError: disk full"


def test_claims_are_taken_and_given_back_for_this_worker_with_its_ttl() -> None:
    docs = _docs(4)
    store = _SharedStore({docs[3].sha256})
    assert claim_docs(store, docs, "w-1", 42.5) == docs[:3]
    assert store.claims == [([d.sha256 for d in docs], "w-1", 42.5)]
    release_docs(store, docs[:2], "w-1")
    assert store.releases == [([docs[0].sha256, docs[1].sha256], "w-1")]


def test_a_one_writer_store_is_never_asked_for_claims() -> None:
    docs = _docs(2)
    store = _OneWriterStore({docs[0].sha256})
    assert claim_docs(store, docs, "w", 1.0) == docs  # every document: the file lock makes this the only writer
    release_docs(store, docs, "w")
    assert store.claims == [] and store.releases == []
    shared = _SharedStore()
    assert claim_docs(shared, [], "w", 1.0) == [] and shared.claims == []
    release_docs(shared, [], "w")
    assert shared.releases == []


def test_worker_id_names_host_process_and_the_first_8_characters_of_the_run() -> None:
    prefix = f"{socket.gethostname()}:{os.getpid()}:"
    assert worker_id() == prefix + "local"
    assert worker_id("") == prefix + "local"
    assert worker_id("0123456789abcdef") == prefix + "01234567"


def test_every_claim_and_release_of_the_loop_is_for_this_worker() -> None:
    docs = _docs(5)
    store = _SharedStore()
    run_batches(store, docs, start=lambda owned: lambda: _processed(owned), load=lambda done: done,
                worker="me", ttl_s=17.0, batch_size=2, store_name="pg")
    assert [(len(h), w, t) for h, w, t in store.claims] == [(2, "me", 17.0), (2, "me", 17.0), (1, "me", 17.0)]
    assert [w for _, w in store.releases] == ["me"] * 3
    assert [h for hs, _ in store.releases for h in hs] == [d.sha256 for d in docs]


def test_without_claims_every_document_is_processed_and_nothing_is_claimed() -> None:
    docs = _docs(3)
    store = _SharedStore({docs[0].sha256})  # would be held elsewhere if claims were asked for
    seen: list[str] = []

    def start(owned: list[DocumentRef]) -> Callable[[], list[DocResult]]:
        seen.extend(d.path for d in owned)
        return lambda: _processed(owned)

    out = run_batches(store, docs, start=start, load=lambda done: done, worker="w", ttl_s=60, batch_size=2,
                      store_name="pg", claims=False)
    assert seen == [d.path for d in docs] and out.mine == docs and out.elsewhere == []
    assert store.claims == []  # (the loop still gives back this worker's claims on them: a no-op here)
    assert [r.state for r in out.results] == [DocState.LOADED] * 3


def test_a_batch_held_entirely_elsewhere_is_not_started_and_is_no_failed_write() -> None:
    """Two such batches in a row are no 'store down' either: an empty batch writes nothing and fails nothing."""
    docs = _docs(6)
    store = _SharedStore({d.sha256 for d in docs[:4]})
    started: list[int] = []
    loads: list[int] = []
    reports: list[BatchReport] = []

    def start(owned: list[DocumentRef]) -> Callable[[], list[DocResult]]:
        started.append(len(owned))
        return lambda: _processed(owned)

    def load(done: list[DocResult]) -> list[DocResult]:
        loads.append(len(done))
        return done

    out = run_batches(store, docs, start=start, load=load, worker="w", ttl_s=60, batch_size=2, store_name="pg",
                      on_batch=reports.append)
    assert started == [2] and loads == [2]
    assert [(r.number, r.documents, len(r.written), r.elsewhere, r.load_error) for r in reports] == [
        (1, 2, 0, 4, ""), (2, 2, 0, 4, ""), (3, 2, 2, 4, "")]  # batch 2 is claimed before batch 1 reports
    assert [r.doc for r in reports[2].written] == docs[4:]
    assert out.elsewhere == docs[:4] and out.mine == docs[4:]


def test_a_start_that_fails_gives_the_batch_claims_back() -> None:
    docs = _docs(2)
    store = _SharedStore({docs[1].sha256})

    def start(owned: list[DocumentRef]) -> Callable[[], list[DocResult]]:
        raise RuntimeError("no slot")

    with pytest.raises(RuntimeError, match="no slot"):
        run_batches(store, docs, start=start, load=lambda done: done, worker="me", ttl_s=60, batch_size=2,
                    store_name="pg")
    assert store.releases == [([docs[0].sha256], "me")]


def test_the_last_batch_failing_to_write_stops_the_run_and_releases_its_claims() -> None:
    docs = _docs(4)
    store = _SharedStore()

    def load(done: list[DocResult]) -> list[DocResult]:
        raise RuntimeError("gone")

    with pytest.raises(StoreError, match="2 batches in a row could not be written to pg"):
        run_batches(store, docs, start=lambda owned: lambda: _processed(owned), load=load, worker="me", ttl_s=60,
                    batch_size=2, store_name="pg")
    assert store.releases == [([d.sha256 for d in docs[:2]], "me"), ([d.sha256 for d in docs[2:]], "me")]


def test_a_stop_mid_run_gives_back_the_claims_of_the_batch_started_ahead_for_this_worker() -> None:
    docs = _docs(6)
    store = _SharedStore()

    def load(done: list[DocResult]) -> list[DocResult]:
        raise RuntimeError("gone")

    with pytest.raises(StoreError):
        run_batches(store, docs, start=lambda owned: lambda: _processed(owned), load=load, worker="me", ttl_s=60,
                    batch_size=2, store_name="pg")
    assert sorted(store.releases) == sorted([([d.sha256 for d in docs[i:i + 2]], "me") for i in (0, 2, 4)])


def test_an_unexpected_write_error_is_logged_with_its_traceback_and_counted(
        caplog: pytest.LogCaptureFixture) -> None:
    from prometheus_client import REGISTRY

    def count() -> float:
        return REGISTRY.get_sample_value("ocrflow_errors_total", {"kind": "load:KeyError"}) or 0.0

    before = count()
    calls: list[int] = []

    def load(done: list[DocResult]) -> list[DocResult]:
        calls.append(1)
        if len(calls) == 1:
            raise KeyError("column")
        return done

    with caplog.at_level(logging.ERROR, logger="ocrflow.run.batches"):
        run_batches(_OneWriterStore(), _docs(3), start=lambda owned: lambda: _processed(owned), load=load,
                    worker="w", ttl_s=60, batch_size=2, store_name="pg")
    records = [r for r in caplog.records if r.name == "ocrflow.run.batches"]
    assert len(records) == 1 and records[0].exc_info is not None
    assert records[0].getMessage().startswith("writing a batch of 2 documents failed; they stay pending")
    assert count() == before + 1


def test_a_failed_write_is_logged_with_its_size_and_reason(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def load(done: list[DocResult]) -> list[DocResult]:
        calls.append(1)
        if len(calls) == 1:
            raise StoreError("disk gone")
        return done

    with caplog.at_level(logging.ERROR, logger="ocrflow.run.batches"):
        out = run_batches(_OneWriterStore(), _docs(3), start=lambda owned: lambda: _processed(owned), load=load,
                          worker="w", ttl_s=60, batch_size=2, store_name="pg")
    records = [r for r in caplog.records if r.name == "ocrflow.run.batches"]
    assert len(records) == 1 and records[0].levelno == logging.ERROR
    assert records[0].getMessage().startswith("writing a batch of 2 documents failed; they stay pending")
    assert "disk gone" in caplog.text
    assert [r.state for r in out.results] == [DocState.PENDING] * 2 + [DocState.LOADED]
