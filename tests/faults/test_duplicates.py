"""Business keys are unique across a contract's table: the first document loads, later ones are quarantined
as ``duplicate`` naming the original; in one batch, across batches, in both stores, and between two
PostgreSQL writer processes at once (decided inside the write transaction)."""

from __future__ import annotations

import json
import multiprocessing as mp
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ocrflow.contracts import Contract, load_contracts
from ocrflow.store.duckdb_store import DuckDBStore
from ocrflow.store.postgres_store import PostgresStore
from tests.support.store import STORE_KINDS, count, drop_schema, make_batch, make_outcome, require_pg, sha

KEY = {"seller_tax_id": "DE123456789", "invoice_number": "INV-42"}


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path, contracts: dict[str, Contract]) -> Iterator[Any]:
    schema = f"dup_{uuid.uuid4().hex[:10]}"
    url = require_pg() if request.param == "postgres" else ""
    s: Any = DuckDBStore(str(tmp_path / "s.duckdb")) if request.param == "duckdb" else PostgresStore(url, schema=schema)
    s.init_schema(list(contracts.values()))
    yield s
    s.close()
    if url:
        drop_schema(url, schema)


def _states(store: Any) -> dict[str, tuple[str, str | None, str | None]]:
    _, rows = store.query("SELECT sha256, state, error, error_code FROM documents")
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_same_invoice_twice_in_one_batch_first_loads(store: Any, contracts: dict[str, Contract]) -> None:
    inv = contracts["invoice"]
    first, second = make_outcome(inv, 1, overrides=KEY), make_outcome(inv, 2, overrides=KEY)
    other = make_outcome(inv, 3)
    store.write_batch(make_batch([first, second, other]), contracts)
    states = _states(store)
    assert states[sha(1)] == ("loaded", None, None)
    assert states[sha(3)][0] == "loaded"
    assert states[sha(2)] == ("quarantined", f"duplicate of {sha(1)[:12]} (/in/doc-1.pdf)", "duplicate")
    assert count(store, "SELECT count(*) FROM invoice") == 2
    _, rows = store.query("SELECT reasons FROM quarantine WHERE doc_sha256 = " +
                          ("?" if store.dialect == "duckdb" else "%s"), [sha(2)])
    failures = rows[0][0] if isinstance(rows[0][0], list) else json.loads(rows[0][0])
    assert [f["check"] for f in failures] == ["duplicate"]
    assert failures[0]["value"] == KEY


def test_a_later_run_with_the_same_key_is_quarantined(store: Any, contracts: dict[str, Contract]) -> None:
    inv = contracts["invoice"]
    store.write_batch(make_batch([make_outcome(inv, 1, overrides=KEY)], run_id="run-1"), contracts)
    later = make_outcome(inv, 2, salt="later-", overrides=KEY)
    store.write_batch(make_batch([later], run_id="run-2"), contracts)
    assert later.failures[0].message == f"duplicate of {sha(1)[:12]} (/in/doc-1.pdf)"
    assert _states(store)[sha(2, "later-")][0] == "quarantined"
    # Re-writing the original itself (a reprocess) is not a duplicate of itself.
    again = make_outcome(inv, 1, overrides=KEY)
    store.write_batch(make_batch([again], run_id="run-3"), contracts)
    assert again.clean and _states(store)[sha(1)][0] == "loaded"
    assert count(store, "SELECT count(*) FROM invoice") == 1


def test_missing_key_values_are_not_compared(store: Any, contracts: dict[str, Contract]) -> None:
    inv = contracts["invoice"]
    rows = [make_outcome(inv, i, overrides={**KEY, "seller_tax_id": None}) for i in (1, 2)]
    store.write_batch(make_batch(rows), contracts)
    assert all(o.clean for o in rows)


def _writer(url: str, schema: str, salt: str, start: Any, results: Any) -> None:
    contracts = load_contracts()
    inv = contracts["invoice"]
    store = PostgresStore(url, schema=schema)
    try:
        start.wait(60)
        loaded = 0
        for i in range(40):  # 40 batches of one document each; the other process writes the same keys
            o = make_outcome(inv, i, salt=salt, overrides={"seller_tax_id": "DE1", "invoice_number": f"N-{i}"})
            store.write_batch(make_batch([o], run_id=f"run-{salt}"), contracts)
            loaded += o.clean
        results.put(loaded)
    finally:
        store.close()


@pytest.mark.postgres
def test_two_postgres_writers_at_once_load_each_key_once(contracts: dict[str, Contract]) -> None:
    url, schema = require_pg(), f"dup_{uuid.uuid4().hex[:10]}"
    PostgresStore(url, schema=schema).init_schema(list(contracts.values()))
    ctx = mp.get_context("spawn")
    start, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, schema, salt, start, results)) for salt in ("a-", "b-")]
    try:
        for p in procs:
            p.start()
        loaded = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(30)
        store = PostgresStore(url, schema=schema)
        try:
            assert count(store, "SELECT count(*) FROM invoice") == 40
            assert count(store, "SELECT count(DISTINCT invoice_number) FROM invoice") == 40
            assert count(store, "SELECT count(*) FROM quarantine") == 40
            assert sum(loaded) == 40
        finally:
            store.close()
    finally:
        drop_schema(url, schema)


def test_two_files_with_one_invoice_in_one_run_first_planned_loads(store: Any, demo_dir: Path,
                                                                    tmp_path: Path) -> None:
    """A whole run, both stores: two different files (other bytes, other sha256) carrying the same invoice
    in ONE batch. The first in plan order loads; the second is quarantined naming the first (the GX suite
    no longer fails every copy of a repeated key)."""
    from ocrflow.core.settings import load_settings
    from ocrflow.engines.embedded import EmbeddedEngine
    from ocrflow.run.files_work import run_files

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    original = (demo_dir / "docs" / "invoice_digital.pdf").read_bytes()
    (inbox / "a_first.pdf").write_bytes(original)
    (inbox / "b_rescan.pdf").write_bytes(original + b"\n% the same invoice, sent again\n")  # other sha256
    settings = load_settings(store=str(tmp_path / "unused.duckdb"), engine="embedded")
    summary = run_files([str(inbox)], settings, store, EmbeddedEngine())
    assert summary.counts["loaded"] == 1 and summary.counts["quarantined"] == 1, summary.counts
    _, docs = store.query("SELECT path, sha256, state, error, error_code FROM documents ORDER BY path")
    (first_path, first_sha, first_state, _, _), (_, _, state, error, code) = docs
    assert first_path.endswith("a_first.pdf") and first_state == "loaded"
    assert (state, code) == ("quarantined", "duplicate")
    assert error == f"duplicate of {first_sha[:12]} ({first_path})"
    assert count(store, "SELECT count(*) FROM invoice") == 1
    _, rows = store.query("SELECT doc_sha256 FROM invoice")
    assert rows == [(first_sha,)]
    assert [(p.rsplit("/", 1)[-1], why) for p, why in summary.quarantined] == [("b_rescan.pdf", error)]
