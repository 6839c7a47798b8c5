"""Fixtures: a real store (DuckDB file or PostgreSQL schema) filled by a real run over generated PDFs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ocrflow.contracts import load_contracts
from ocrflow.core.settings import load_settings
from ocrflow.review.app import ReviewConfig, create_app
from ocrflow.store import open_store
from tests.review.support import XSS_NAME, add_evidence, make_inbox, run_inbox, sha_of
from tests.support.store import STORE_KINDS, drop_schema, require_pg


@dataclass(slots=True)
class Reviewed:
    url: str
    bad: str
    good: str
    xss: str


def fill(url: str, inbox: Path) -> Reviewed:
    make_inbox(inbox)
    run_inbox(inbox, url)
    store = open_store(url)
    try:
        docs = Reviewed(url, sha_of(store, "bad_total.pdf"), sha_of(store, "good.pdf"), sha_of(store, XSS_NAME))
        # the run's own confidences depend on the extractor's tuning; the tests decide them: every value
        # sure, then the few under test below the threshold
        store.query("UPDATE field_evidence SET confidence = 0.95")
        add_evidence(store, docs.bad, "invoice", {"total_amount": 0.2, "invoice_number": 0.95})
        add_evidence(store, docs.xss, "invoice", {"total_amount": 0.5})
    finally:
        store.close()
    return docs


@pytest.fixture(params=STORE_KINDS)
def reviewed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Reviewed]:
    if request.param == "duckdb":
        yield fill(str(tmp_path / "review.duckdb"), tmp_path / "inbox")
        return
    base = require_pg()
    schema = f"ocrflow_review_{uuid.uuid4().hex[:10]}"
    try:
        yield fill(f"{base}?schema={schema}", tmp_path / "inbox")
    finally:
        drop_schema(base, schema)


@pytest.fixture()
def duck(tmp_path: Path) -> Reviewed:
    return fill(str(tmp_path / "review.duckdb"), tmp_path / "inbox")


def client_for(url: str, token: str | None = None) -> TestClient:
    config = ReviewConfig(url, load_contracts(), load_settings(store=url), token=token, reviewer="tester")
    return TestClient(create_app(config))
