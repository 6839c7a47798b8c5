"""The engine fault tests' common part: a small inbox, ``ocrflow run --engine vllm`` into a DuckDB file
against a fake (in-process or a process of its own), and what the store holds afterwards."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocrflow.core.settings import load_settings
from ocrflow.engines.vllm import CircuitBreaker, RetryPolicy, make_vllm_engine
from ocrflow.run.summary import RunSummary
from tests.support.duck import rows, run_into

if TYPE_CHECKING:
    from tests.fakes.fake_vllm import FakeVllm

KEY = "fault-key"
RECEIPTS = ("receipt_scan_01.jpg", "receipt_scan_02.png")
"""Raster documents: every page goes through the engine (spotting), then one extraction each. Not the
two-page ``receipt_scan_03.tif``: the model fake knows the first page of a demo document only."""
DIGITAL = "invoice_digital.pdf"
"""A text-layer PDF: never sent to the engine, loads whatever the engine does."""
FAST = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.02)
FIELDS = ("merchant_name", "merchant_address", "receipt_date", "total_amount")


def make_inbox(demo_dir: Path, dest: Path, names: tuple[str, ...] = (*RECEIPTS, DIGITAL)) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(demo_dir / "docs" / name, dest / name)
    return dest


def run_vllm(inputs: Path | list[str], db: Path, url: str, *, breaker: CircuitBreaker | None = None,
             retry: RetryPolicy = FAST, **overrides: Any) -> RunSummary:
    """One run with the vLLM engine: one document at a time (requests in a known order), no result cache
    (every page asks the fake), retries bounded and fast, the breaker at 3 consecutive failures."""
    values: dict[str, Any] = {"vllm_url": url, "vllm_api_key": KEY, "documents_in_flight": 1, "vllm_cache": False,
                              **overrides}
    engine = make_vllm_engine(load_settings(store=str(db), **values), retry=retry,
                              breaker=breaker if breaker is not None else CircuitBreaker(threshold=3, cooldown_s=600))
    paths = [str(inputs)] if isinstance(inputs, Path) else inputs
    try:
        return run_into(paths, db, engine, **values)
    finally:
        engine.close()


def run_under_fault(fake: FakeVllm, kind: str, inputs: Path | list[str], db: Path, *,
                    fault: dict[str, Any] | None = None, **run: Any) -> RunSummary:
    """``run_vllm`` while the fake injects ``kind`` on every request (``fault``: retry_after, delay_s); the fault
    is cleared afterwards, whatever the run did, so that the test's re-run meets a healthy server."""
    fake.inject(kind, times=None, **(fault or {}))
    try:
        return run_vllm(inputs, db, fake.url, **run)
    finally:
        fake.clear_faults()


def states(db: Path) -> dict[str, int]:
    """Documents per state, e.g. ``{"loaded": 1, "pending": 3}``."""
    return dict(Counter(state for (state,) in rows(db, "SELECT state FROM documents")))


def by_name(db: Path) -> dict[str, tuple[str, str | None]]:
    """File name -> (state, error_code)."""
    return {Path(p).name: (s, c) for p, s, c in rows(db, "SELECT path, state, error_code FROM documents")}


def notes(db: Path) -> dict[str, str]:
    """File name -> the notes (flags) of its pages, joined."""
    found = rows(db, "SELECT d.path, string_agg(p.note, ',' ORDER BY p.page_no) FROM pages p "
                     "JOIN documents d ON d.sha256 = p.doc_sha256 GROUP BY d.path")
    return {Path(p).name: n or "" for p, n in found}


def assert_whole(db: Path) -> None:
    """Only whole documents are stored: a loaded one has its row and pages, a quarantined one its quarantine
    record and pages; a pending or failed one has no row, no pages and no evidence anywhere."""
    docs = dict(rows(db, "SELECT sha256, state FROM documents"))
    clean = {s for (s,) in rows(db, "SELECT doc_sha256 FROM receipt UNION ALL SELECT doc_sha256 FROM invoice")}
    held = {s for (s,) in rows(db, "SELECT doc_sha256 FROM quarantine")}
    paged = {s for (s,) in rows(db, "SELECT DISTINCT doc_sha256 FROM pages")}
    evidenced = {s for (s,) in rows(db, "SELECT DISTINCT doc_sha256 FROM field_evidence")}
    assert clean == {s for s, st in docs.items() if st == "loaded"}
    assert held == {s for s, st in docs.items() if st == "quarantined"}
    final = {s for s, st in docs.items() if st in ("loaded", "quarantined")}
    assert paged == final and evidenced <= final
