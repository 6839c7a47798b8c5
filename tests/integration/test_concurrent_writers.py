"""Two OS processes load the same documents into one PostgreSQL schema at the same time.

Each worker discovers the same N hashes, registers them, claims chunks, "processes" what it
won (synthetic RowOutcome rows, no OCR) and writes batches. Afterwards: N rows in all, no
duplicates, every document final exactly once, and each one processed by exactly one worker.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from typing import Any

import pytest

from ocrflow.contracts import load_contracts
from ocrflow.store.postgres_store import PostgresStore
from tests.support.store import make_batch, make_outcome, pending, sha

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

N_DOCS = 240
CHUNK = 8


def _worker(url: str, schema: str, name: str, start: Any, results: Any, reverse: bool) -> None:
    """One loader process: register, then claim -> process -> write_batch until nothing is left."""
    contracts = load_contracts()
    inv = contracts["invoice"]
    store = PostgresStore(url, schema=schema)
    try:
        store.init_schema(list(contracts.values()))
        order = list(range(N_DOCS))[::-1] if reverse else list(range(N_DOCS))
        outcomes = {sha(i): make_outcome(inv, i, clean=i % 7 != 0) for i in order}
        start.wait(300)  # a barrier: both processes are imported and connected; they begin together
        todo = [h for h in outcomes if h not in store.final_hashes(list(outcomes))]
        store.register(pending([outcomes[h] for h in todo]), f"run-{name}", keep_final=True)
        processed: list[str] = []
        for i in range(0, len(todo), CHUNK):
            won = store.claim(todo[i:i + CHUNK], name, ttl_s=30)
            mine = [outcomes[h] for h in todo[i:i + CHUNK] if h in won]
            for o in mine:
                o.lineage = {**o.lineage, "flow_run_id": name}
            time.sleep(0.002 * len(mine))  # the "OCR"
            if mine:
                store.write_batch(make_batch(mine, run_id=f"run-{name}"), contracts)
            processed.extend(o.doc.sha256 for o in mine)
        results.put((name, processed))
    finally:
        store.close()


def _claim_and_exit(url: str, schema: str, hashes: list[str], ttl_s: float, results: Any) -> None:
    """A worker that claims and then dies without releasing (a crash)."""
    store = PostgresStore(url, schema=schema)
    results.put(sorted(store.claim(hashes, "crashed", ttl_s)))
    store.close()


def _wait_until_expired(store: PostgresStore, sha256: str, deadline_s: float = 60.0) -> None:
    """Wait for the database clock (the one claims are judged by) to pass the claim's expiry: no fixed sleep."""
    stop = time.monotonic() + deadline_s
    while True:
        expired = store.query("SELECT claim_expires < now() FROM documents WHERE sha256 = %s", [sha256])[1][0][0]
        if expired:
            return
        if time.monotonic() > stop:
            raise AssertionError(f"claim on {sha256} still live after {deadline_s} s")
        time.sleep(0.05)


@pytest.fixture()
def schema(pg_schema: tuple[str, str]) -> tuple[str, str]:
    return pg_schema


@pytest.mark.parametrize("order", ["same", "opposite"])
def test_two_processes_load_each_document_exactly_once(schema: tuple[str, str], order: str) -> None:
    """``same``: both walk the hashes in one order, so every chunk is contended; ``opposite``: they
    register and claim in reverse orders and meet in the middle."""
    url, name = schema
    ctx = mp.get_context("spawn")
    start, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, name, w, start, results, order == "opposite" and w == "b"))
             for w in ("a", "b")]
    for p in procs:
        p.start()
    done = dict(results.get(timeout=480) for _ in procs)  # spawn + import on a loaded box
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = PostgresStore(url, schema=name, read_only=True)
    rows = store.query("SELECT (SELECT count(*) FROM invoice), (SELECT count(DISTINCT doc_sha256) FROM invoice), "
                       "(SELECT count(*) FROM quarantine), (SELECT count(*) FROM documents), "
                       "(SELECT count(*) FROM invoice i JOIN quarantine q USING (doc_sha256))")[1][0]
    clean, distinct_clean, quarantined, documents, overlap = rows
    states = dict(store.query("SELECT state, count(*) FROM documents GROUP BY state")[1])
    attempts = dict(store.query("SELECT attempts, count(*) FROM documents GROUP BY attempts")[1])
    by_worker = dict(store.query(
        "SELECT flow_run_id, count(*) FROM (SELECT flow_run_id FROM invoice UNION ALL "
        "SELECT flow_run_id FROM quarantine) t GROUP BY flow_run_id")[1])
    by_run = dict(store.query("SELECT run_id, count(*) FROM documents GROUP BY run_id")[1])
    live_claims = store.query("SELECT count(*) FROM documents WHERE claimed_by IS NOT NULL")[1][0][0]
    store.close()
    print(f"\nconcurrent writers ({order} order), N={N_DOCS}: clean rows {clean}, quarantined {quarantined}, documents "
          f"{documents}, states {states}, attempts {attempts}, processed per worker "
          f"{ {k: len(v) for k, v in done.items()} }, rows per worker {by_worker}, documents per run {by_run}, "
          f"live claims left {live_claims}")
    assert clean + quarantined == N_DOCS and clean == distinct_clean and overlap == 0
    assert documents == N_DOCS and states == {"loaded": clean, "quarantined": quarantined}
    assert attempts == {1: N_DOCS}  # finalized once each: nobody wrote a document twice
    assert not set(done["a"]) & set(done["b"]) and len(done["a"]) + len(done["b"]) == N_DOCS
    assert by_worker == {k: len(v) for k, v in done.items() if v}
    assert by_run == {f"run-{k}": len(v) for k, v in done.items() if v}
    assert all(done.values()), "both workers should have won some documents"
    assert live_claims == 0


def test_expired_claim_of_a_dead_worker_is_taken_over(schema: tuple[str, str]) -> None:
    url, name = schema
    contracts = load_contracts()
    rows = [make_outcome(contracts["invoice"], i) for i in range(2)]
    store = PostgresStore(url, schema=name)
    store.init_schema(list(contracts.values()))
    store.register(pending(rows), "run")
    short, long = rows[0].doc.sha256, rows[1].doc.sha256
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    # the short claim expires (0.1 s), the long one cannot expire during the test on any machine (1 h)
    for h, ttl in ((short, 0.1), (long, 3600.0)):
        p = ctx.Process(target=_claim_and_exit, args=(url, name, [h], ttl, results))
        p.start()
        assert results.get(timeout=300) == [h]
        p.join(60)
    _wait_until_expired(store, short)
    taken = store.claim([short, long], "survivor", ttl_s=30)
    by = dict(store.query("SELECT sha256, claimed_by FROM documents")[1])
    print(f"\nexpired claim taken over: {len(taken)} of 2 (the live one stays with {by[long]!r})")
    assert taken == {short}
    assert by == {short: "survivor", long: "crashed"}
    store.close()
