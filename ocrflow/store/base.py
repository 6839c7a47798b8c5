"""The Store seam: manifest (documents), pages, clean rows, quarantine, run ledger.

DDL is derived from the contracts here, per SQL dialect; the concrete stores
(DuckDB, PostgreSQL) only differ in connection handling and bulk paths.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from ocrflow.contracts import Contract, FieldSpec
from ocrflow.models import DocState, PageText, RowOutcome

Dialect = Literal["duckdb", "postgres"]

LINEAGE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # name, duckdb type, postgres type
    ("doc_sha256", "VARCHAR", "TEXT"),
    ("source_path", "VARCHAR", "TEXT"),
    ("page_numbers", "INTEGER[]", "INTEGER[]"),
    ("engine", "VARCHAR", "TEXT"),
    ("model", "VARCHAR", "TEXT"),
    ("prompt_version", "VARCHAR", "TEXT"),
    ("contract_name", "VARCHAR", "TEXT"),
    ("contract_version", "VARCHAR", "TEXT"),
    ("flow_run_id", "VARCHAR", "TEXT"),
    ("extracted_at", "TIMESTAMP", "TIMESTAMPTZ"),
    ("raw_values", "JSON", "JSONB"),
)

FINAL_STATES = (DocState.LOADED, DocState.QUARANTINED, DocState.FAILED)


class StoreError(RuntimeError):
    """The store cannot be opened or written; the message says what to do."""


class SchemaChangeError(StoreError):
    """A contract change would break an existing table (type change, removed field)."""


def field_sql_type(f: FieldSpec, dialect: Dialect) -> str:
    phys = f.physical_type.upper().strip()
    if f.kind in ("money",) or phys.startswith(("DECIMAL", "NUMERIC")):
        m = re.match(r"(?:DECIMAL|NUMERIC)\((\d+),\s*(\d+)\)", phys)
        p, s = (m.group(1), m.group(2)) if m else ("18", "2")
        return f"DECIMAL({p},{s})" if dialect == "duckdb" else f"NUMERIC({p},{s})"
    if f.kind == "date" or phys == "DATE":
        return "DATE"
    if f.kind == "list" or phys.endswith("[]"):
        return "VARCHAR[]" if dialect == "duckdb" else "TEXT[]"
    if f.kind == "integer":
        return "BIGINT"
    if f.kind == "number":
        return "DOUBLE" if dialect == "duckdb" else "DOUBLE PRECISION"
    return "VARCHAR" if dialect == "duckdb" else "TEXT"


def table_name(contract: Contract) -> str:
    """The clean table; a major version above 1 gets its own table (``invoice_v2``)."""
    base = contract.table
    return base if contract.major <= 1 else f"{base}_v{contract.major}"


def contract_columns(contract: Contract, dialect: Dialect) -> list[tuple[str, str]]:
    cols = [(f.name, field_sql_type(f, dialect)) for f in contract.fields]
    idx = 0 if dialect == "duckdb" else 1
    return [*cols, *((name, types[idx]) for name, *types in LINEAGE_COLUMNS)]


def contract_ddl(contract: Contract, dialect: Dialect) -> str:
    cols = ",\n  ".join(f"{name} {typ}" for name, typ in contract_columns(contract, dialect))
    return f"CREATE TABLE IF NOT EXISTS {table_name(contract)} (\n  {cols},\n  PRIMARY KEY (doc_sha256)\n)"


def base_ddl(dialect: Dialect) -> list[str]:
    ts = "TIMESTAMP" if dialect == "duckdb" else "TIMESTAMPTZ"
    js = "JSON" if dialect == "duckdb" else "JSONB"
    txt = "VARCHAR" if dialect == "duckdb" else "TEXT"
    dbl = "DOUBLE" if dialect == "duckdb" else "DOUBLE PRECISION"
    return [
        f"""CREATE TABLE IF NOT EXISTS documents (
  sha256 {txt} PRIMARY KEY, path {txt} NOT NULL, mime {txt}, size_bytes BIGINT, pages INTEGER,
  state {txt} NOT NULL, contract {txt}, error {txt}, attempts INTEGER DEFAULT 0,
  first_seen {ts}, updated_at {ts}, run_id {txt}, claimed_by {txt}, claim_expires {ts})""",
        f"""CREATE TABLE IF NOT EXISTS pages (
  doc_sha256 {txt} NOT NULL, page_no INTEGER NOT NULL, path_taken {txt} NOT NULL, engine {txt},
  model {txt}, prompt_version {txt}, width INTEGER, height INTEGER, text {txt}, lines {js},
  render_s {dbl}, ocr_s {dbl}, prompt_tokens INTEGER, completion_tokens INTEGER, is_fallback BOOLEAN,
  note {txt}, run_id {txt}, created_at {ts}, PRIMARY KEY (doc_sha256, page_no))""",
        f"""CREATE TABLE IF NOT EXISTS quarantine (
  doc_sha256 {txt} PRIMARY KEY, contract {txt}, contract_version {txt}, source_path {txt},
  reasons {js}, "values" {js}, raw_values {js}, engine {txt}, model {txt}, prompt_version {txt},
  flow_run_id {txt}, quarantined_at {ts})""",
        f"""CREATE TABLE IF NOT EXISTS runs (
  run_id {txt} PRIMARY KEY, flow_run_id {txt}, started_at {ts}, finished_at {ts}, status {txt},
  engine {txt}, contract {txt}, inputs {js}, documents INTEGER, pages INTEGER, loaded INTEGER,
  quarantined INTEGER, failed INTEGER, pending INTEGER, skipped INTEGER, seconds {dbl}, message {txt},
  data_docs {txt})""",
        f"""CREATE TABLE IF NOT EXISTS page_cache (
  cache_key {txt} PRIMARY KEY, result {js}, created_at {ts})""",
    ]


@dataclass(slots=True)
class DocumentUpdate:
    sha256: str
    path: str
    mime: str
    size_bytes: int
    state: DocState
    pages: int = 0
    contract: str | None = None
    error: str | None = None


@dataclass(slots=True)
class Batch:
    """Everything one batch of documents produced; written in one transaction."""

    run_id: str
    documents: list[DocumentUpdate] = field(default_factory=list)
    pages: list[tuple[str, PageText]] = field(default_factory=list)
    rows: list[RowOutcome] = field(default_factory=list)


@dataclass(slots=True)
class RunRecord:
    run_id: str
    flow_run_id: str
    started_at: datetime
    engine: str
    contract: str
    inputs: list[str]
    finished_at: datetime | None = None
    status: str = "RUNNING"
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    message: str = ""
    data_docs: str = ""


class Store(Protocol):
    dialect: Dialect

    def init_schema(self, contracts: list[Contract]) -> None: ...

    def final_hashes(self, hashes: list[str]) -> set[str]: ...

    def register(self, docs: list[DocumentUpdate], run_id: str) -> None: ...

    def write_batch(self, batch: Batch, contracts: dict[str, Contract]) -> None: ...

    def start_run(self, run: RunRecord) -> None: ...

    def finish_run(self, run: RunRecord) -> None: ...

    def query(self, sql: str, params: list[Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]: ...

    def close(self) -> None: ...


def lines_json(page: PageText) -> str:
    return json.dumps([[ln.text, *(round(v, 1) for v in ln.bbox), round(ln.score, 4)] for ln in page.lines],
                      ensure_ascii=False)


def row_params(outcome: RowOutcome, contract: Contract) -> list[Any]:
    lin = outcome.lineage
    values = [outcome.values.get(f.name) for f in contract.fields]
    return [*values, outcome.doc.sha256, outcome.doc.path, list(lin.get("page_numbers", [])),
            lin.get("engine"), lin.get("model"), lin.get("prompt_version", ""), contract.name,
            contract.version, lin.get("flow_run_id"), lin.get("extracted_at"),
            json.dumps(outcome.raw, ensure_ascii=False, default=str)]
