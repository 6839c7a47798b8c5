"""Review tests' documents (tests/review, tests/browser): generated PDFs run through the real pipeline into a
real store, plus field_evidence rows written the way the evidence stage stores them (schema of the shared
design); ``fill`` makes the store the review page is tested on, ``client_for`` the app over it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from ocrflow.contracts import load_contracts
from ocrflow.core.settings import load_settings
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.review.app import ReviewConfig, create_app
from ocrflow.run.files_work import run_files
from ocrflow.store import Store, open_store
from tests.pdfs import write_lines_pdf

HEADER = ["Acme Tools GmbH", "Bill To: Beta Corp", "Currency: EUR", "Invoice Date: 2024-03-05",
          "Subtotal: 100.00", "Tax: 19.00"]
XSS_NAME = "<img src=x onerror=alert(1)>.pdf"

EVIDENCE_DDL = """CREATE TABLE IF NOT EXISTS field_evidence (
  doc_sha256 TEXT NOT NULL, contract TEXT, field TEXT NOT NULL, line_no INTEGER NOT NULL DEFAULT 0, value TEXT,
  raw TEXT, page_no INTEGER, x0 DOUBLE PRECISION, y0 DOUBLE PRECISION, x1 DOUBLE PRECISION, y1 DOUBLE PRECISION,
  page_width INTEGER, page_height INTEGER, source TEXT, method TEXT, confidence DOUBLE PRECISION, grounding TEXT,
  engine TEXT, model TEXT, prompt_version TEXT, run_id TEXT, updated_at TIMESTAMP,
  PRIMARY KEY (doc_sha256, field, line_no))"""


def make_inbox(inbox: Path) -> dict[str, Path]:
    """A bad invoice (total 130.00 where 100 + 19 = 119), a good one, and one with a hostile file name."""
    inbox.mkdir(parents=True, exist_ok=True)
    docs = {"bad_total.pdf": [*HEADER[:1], "Invoice Number: INV-1001", *HEADER[1:], "Total: 130.00"],
            "good.pdf": [*HEADER[:1], "Invoice Number: INV-1002", *HEADER[1:], "Total: 119.00"],
            XSS_NAME: [*HEADER[:1], "Invoice Number: INV-1003", *HEADER[1:], "Total: 999.00"]}
    paths = {}
    for name, lines in docs.items():
        write_lines_pdf(inbox / name, lines)
        paths[name] = inbox / name
    return paths


def run_inbox(inbox: Path, store_url: str) -> None:
    settings = load_settings(store=store_url, use_embedded_xml=False)
    store = open_store(store_url)
    try:
        run_files([str(inbox)], settings, store, EmbeddedEngine())
    finally:
        store.close()


def sha_of(store: Store, name: str) -> str:
    mark = store.sql.mark
    _, rows = store.query(f"SELECT sha256 FROM documents WHERE path LIKE {mark}", ["%" + name])
    return str(rows[0][0])


def add_evidence(store: Store, sha256: str, contract: str, confidences: dict[str, float]) -> None:
    """field_evidence rows for the document's header values, boxed on the stored line that holds each value.

    They replace the rows the run wrote for those fields, so that a test decides each field's confidence."""
    store.query(EVIDENCE_DDL)
    mark = store.sql.mark
    _, rows = store.query(f'SELECT "values" FROM quarantine WHERE doc_sha256 = {mark}', [sha256])
    page = store.stored_pages(sha256)[0]
    values: dict[str, Any] = {}
    if rows:
        import json
        values = rows[0][0] if isinstance(rows[0][0], dict) else json.loads(rows[0][0])
    for name, conf in confidences.items():
        value = values.get(name)
        line = next((ln for ln in page.lines if value is not None and str(value).split(".")[0] in ln.text),
                    page.lines[0])
        store.query(f"DELETE FROM field_evidence WHERE doc_sha256 = {mark} AND field = {mark} AND line_no = 0",
                    [sha256, name])
        store.query(f"INSERT INTO field_evidence (doc_sha256, contract, field, line_no, value, raw, page_no, x0, y0, "
                    f"x1, y1, page_width, page_height, source, method, confidence, grounding) VALUES "
                    f"({', '.join([mark] * 17)})",
                    [sha256, contract, name, 0, None if value is None else str(value), line.text, page.page_no,
                     *line.bbox, page.width, page.height, "text_layer", "label", conf, "exact"])


@dataclass(slots=True)
class Reviewed:
    """A filled store: its URL and the hashes of the bad, the good and the hostile-named invoice."""

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


def client_for(url: str, token: str | None = None) -> TestClient:
    config = ReviewConfig(url, load_contracts(), load_settings(store=url), token=token, reviewer="tester")
    return TestClient(create_app(config))


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    if found is None:
        raise AssertionError("no CSRF token in the form")
    return found.group(1)


def one(url: str, sql: str) -> list[tuple[object, ...]]:
    store = open_store(url, read_only=True)
    try:
        return store.query(sql)[1]
    finally:
        store.close()
