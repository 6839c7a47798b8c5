"""Shared by the store tests: synthetic rows, a PostgreSQL schema per test, a store of either kind.

Each test gets its own schema, dropped afterwards. PostgreSQL must be running: the URL is
``OCRFLOW_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``); if it cannot
be reached the tests fail and say so (they never skip). A test that needs it carries
``@pytest.mark.postgres``; a fixture of either kind takes ``params=STORE_KINDS``, which marks its
PostgreSQL half only (``-m "not postgres"`` still runs the DuckDB half).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import yaml

from ocrflow.contracts import Contract, default_contracts_dir, parse_contract
from ocrflow.core.models import DocState, DocumentRef, Failure, Line, PagePath, PageText, RowOutcome
from ocrflow.store.base import (
    Batch,
    DocumentUpdate,
)

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
STORE_KINDS = ("duckdb", pytest.param("postgres", marks=pytest.mark.postgres))
"""The ``params`` of a fixture that yields a store of either kind: the PostgreSQL half is marked."""


# --------------------------------------------------------------------------- synthetic rows
def sha(i: int, salt: str = "") -> str:
    return hashlib.sha256(f"{salt}doc-{i}".encode()).hexdigest()


def synthetic_value(kind: str, i: int) -> Any:
    if kind == "money":
        return Decimal(f"{(i * 37) % 100000}.{i % 100:02d}")
    if kind == "date":
        return date(2024, 1 + i % 12, 1 + i % 28)
    if kind == "list":
        return [f"party {i}", f"party {i + 1}"]
    if kind == "integer":
        return i
    if kind == "number":
        return i / 8
    if kind == "currency":
        return "EUR"
    return f"value {i}"


def make_outcome(contract: Contract, i: int, *, clean: bool = True, salt: str = "",
                 overrides: dict[str, Any] | None = None) -> RowOutcome:
    doc = DocumentRef(path=f"/in/{salt}doc-{i}.pdf", sha256=sha(i, salt), mime="application/pdf", size_bytes=1000 + i)
    values = {f.name: synthetic_value(f.kind, i) for f in contract.fields} | (overrides or {})
    failures = [] if clean else [Failure(field=contract.fields[0].name, check="required", value=None,
                                         message="missing")]
    lineage = {"page_numbers": [1, 2], "engine": "embedded", "model": "rapidocr", "prompt_version": "p1",
               "flow_run_id": "flow-1", "extracted_at": datetime(2024, 5, 1, 12, 0, i % 60, 123456)}
    return RowOutcome(doc=doc, contract=contract.name, contract_version=contract.version, values=values,
                      raw={k: str(v) for k, v in values.items()}, lineage=lineage, failures=failures)


def make_batch(outcomes: list[RowOutcome], run_id: str = "run-1") -> Batch:
    docs = [DocumentUpdate(o.doc.sha256, o.doc.path, o.doc.mime, o.doc.size_bytes,
                           DocState.LOADED if o.clean else DocState.QUARANTINED, pages=2, contract=o.contract,
                           error=None if o.clean else "missing") for o in outcomes]
    return Batch(run_id=run_id, documents=docs, rows=list(outcomes))


def make_pages(outcomes: list[RowOutcome]) -> list[tuple[str, PageText]]:
    lines = (Line("Invoice 'INV-1' \\ \"quoted\"", (1.0, 2.0, 30.5, 8.25), 0.98765),
             Line("中文 total", (0, 10, 20, 18)))
    return [(o.doc.sha256, PageText(page_no=n, width=1240, height=1754, lines=lines, path=PagePath.OCR,
                                    engine="embedded", model="rapidocr", latency_s=0.5, render_s=0.1,
                                    prompt_tokens=10, completion_tokens=20, is_fallback=n == 2, note="x"))
            for o in outcomes for n in (1, 2)]


def pending(outcomes: list[RowOutcome]) -> list[DocumentUpdate]:
    return [DocumentUpdate(o.doc.sha256, o.doc.path, o.doc.mime, o.doc.size_bytes, DocState.PENDING)
            for o in outcomes]


def load_sample(store: Any, contracts: dict[str, Contract]) -> None:
    """63 invoices (every 9th quarantined, 3 without a date) and 5 NDAs, written as two batches."""
    inv = contracts["invoice"]
    rows = [make_outcome(inv, i, clean=i % 9 != 0) for i in range(60)]
    rows += [make_outcome(inv, 100 + i, overrides={"invoice_date": None}) for i in range(3)]
    store.write_batch(make_batch(rows), contracts)
    nda = contracts["nda"]
    store.write_batch(make_batch([make_outcome(nda, i, salt="nda") for i in range(5)]), contracts)


# --------------------------------------------------------------------------- fixtures
def pg_url() -> str:
    return os.environ.get("OCRFLOW_TEST_PG_URL", DEFAULT_PG_URL)


def require_pg() -> str:
    url = pg_url()
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for these tests and is not reachable at {url}: {exc}. Start it, "
                    "or set OCRFLOW_TEST_PG_URL to a database where this user may create schemas.")
    return url


def schema_name(prefix: str = "ocrflow_test") -> str:
    """A fresh schema name for one test."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(psycopg.sql.Identifier(schema)))


def receipt_contract(mutate: Any = None) -> Contract:
    doc = yaml.safe_load((default_contracts_dir() / "receipt.yaml").read_text())
    if mutate:
        mutate(doc)
    return parse_contract(doc, "receipt.yaml")


def count(store: Any, sql: str, params: list[Any] | None = None) -> int:
    return int(store.query(sql, params)[1][0][0])


def normalize_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None) if v.tzinfo else v
    if isinstance(v, str) and v.startswith(("[", "{")):
        return json.loads(v)
    if isinstance(v, list):
        return [normalize_value(x) for x in v]
    return v
