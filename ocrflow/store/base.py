"""The Store seam: manifest (documents), pages, clean rows, quarantine, run ledger.

DDL is derived from the contracts here, per SQL dialect; the concrete stores
(DuckDB, PostgreSQL) only differ in connection handling and bulk paths.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, Concatenate, Literal, ParamSpec, Protocol, TypeVar

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


_P = ParamSpec("_P")
_R = TypeVar("_R")


class HasLock(Protocol):
    lock: threading.RLock


_S = TypeVar("_S", bound=HasLock)


def serialized(method: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], _R]:
    """Run a store method under the store's lock: one connection, one thread at a time.

    Documents are processed in worker threads while the main thread writes the previous batch;
    the engine's result cache (``page_cache``) and the batch writes share the store's connection."""

    @functools.wraps(method)
    def locked(self: _S, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self.lock:
            return method(self, *args, **kwargs)

    return locked


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


KEYS_BY_CONSTRAINT: dict[Dialect, bool] = {"duckdb": False, "postgres": True}
"""Whether ``documents`` and the clean tables carry a PRIMARY KEY constraint in that dialect.

PostgreSQL: yes; concurrent writers rely on it (``ON CONFLICT``, row locks). DuckDB: no. A DuckDB
file has exactly one writer (its file lock), and that writer keeps the keys unique itself: every
load is DELETE of the batch's keys + INSERT of distinct keys, every ``documents`` upsert is UPDATE
+ INSERT of the absent keys, each in one transaction; ``DuckDBStore.key_problems`` checks the
result at the end of every run. The constraint's ART index over a 64-character text key cost more
than half of a bulk load's time (BENCHMARKS.md, bench_load), and DuckDB's own performance guide
advises against constraints that are not needed for integrity. The smaller tables (pages,
quarantine, runs, page_cache) keep their PRIMARY KEYs in both dialects."""


def contract_ddl(contract: Contract, dialect: Dialect) -> str:
    cols = ",\n  ".join(f"{name} {typ}" for name, typ in contract_columns(contract, dialect))
    key = ",\n  PRIMARY KEY (doc_sha256)" if KEYS_BY_CONSTRAINT[dialect] else ""
    return f"CREATE TABLE IF NOT EXISTS {table_name(contract)} (\n  {cols}{key}\n)"


def base_ddl(dialect: Dialect) -> list[str]:
    ts = "TIMESTAMP" if dialect == "duckdb" else "TIMESTAMPTZ"
    js = "JSON" if dialect == "duckdb" else "JSONB"
    txt = "VARCHAR" if dialect == "duckdb" else "TEXT"
    dbl = "DOUBLE" if dialect == "duckdb" else "DOUBLE PRECISION"
    key = "PRIMARY KEY" if KEYS_BY_CONSTRAINT[dialect] else "NOT NULL"
    return [
        f"""CREATE TABLE IF NOT EXISTS documents (
  sha256 {txt} {key}, path {txt} NOT NULL, mime {txt}, size_bytes BIGINT, pages INTEGER,
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

    def register(self, docs: list[DocumentUpdate], run_id: str, *, keep_final: bool = False) -> None: ...

    def claim(self, hashes: list[str], worker: str, ttl_s: float) -> set[str]: ...

    def release(self, hashes: list[str], worker: str) -> None: ...

    def write_batch(self, batch: Batch, contracts: dict[str, Contract]) -> None: ...

    def start_run(self, run: RunRecord) -> None: ...

    def finish_run(self, run: RunRecord) -> None: ...

    def query(self, sql: str, params: list[Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]: ...

    def cache_get(self, key: str) -> dict[str, Any] | None: ...

    def cache_put(self, key: str, result: dict[str, Any]) -> None: ...

    def key_problems(self) -> list[str]: ...

    def close(self) -> None: ...


def lines_json(page: PageText) -> str:
    return json.dumps([[ln.text, *(round(v, 1) for v in ln.bbox), round(ln.score, 4)] for ln in page.lines],
                      ensure_ascii=False)


_JSON = json.JSONEncoder(ensure_ascii=False, default=str)
"""One encoder for every row: json.dumps with keyword arguments builds a new encoder per call."""


def to_json(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, default=str)``, faster."""
    return _JSON.encode(value)


def row_params(outcome: RowOutcome, contract: Contract) -> list[Any]:
    lin = outcome.lineage
    values = outcome.values
    return [*[values.get(f.name) for f in contract.fields], outcome.doc.sha256, outcome.doc.path,
            list(lin.get("page_numbers", [])), lin.get("engine"), lin.get("model"), lin.get("prompt_version", ""),
            contract.name, contract.version, lin.get("flow_run_id"), lin.get("extracted_at"), to_json(outcome.raw)]


# --------------------------------------------------------------------------- shared row shapes
DOCUMENT_COLUMNS = ("sha256", "path", "mime", "size_bytes", "pages", "state", "contract", "error", "attempts",
                    "first_seen", "updated_at", "run_id")
PAGE_COLUMNS = ("doc_sha256", "page_no", "path_taken", "engine", "model", "prompt_version", "width", "height",
                "text", "lines", "render_s", "ocr_s", "prompt_tokens", "completion_tokens", "is_fallback", "note",
                "run_id", "created_at")
QUARANTINE_COLUMNS = ("doc_sha256", "contract", "contract_version", "source_path", "reasons", "values",
                      "raw_values", "engine", "model", "prompt_version", "flow_run_id", "quarantined_at")

_FINAL_SQL = ", ".join(f"'{s.value}'" for s in FINAL_STATES)
DOCUMENT_UPSERT_SET = (
    "path = excluded.path, mime = excluded.mime, size_bytes = excluded.size_bytes, "
    "pages = greatest(excluded.pages, documents.pages), state = excluded.state, "
    "contract = coalesce(excluded.contract, documents.contract), error = excluded.error, "
    "updated_at = excluded.updated_at, run_id = excluded.run_id, "
    "attempts = documents.attempts + CASE WHEN excluded.state = 'pending' THEN 0 ELSE 1 END")
"""The ON CONFLICT (sha256) DO UPDATE of ``documents``; valid SQL in both dialects."""
CLEAR_FINAL_CLAIMS_SET = (
    f"claimed_by = CASE WHEN excluded.state IN ({_FINAL_SQL}) THEN NULL ELSE documents.claimed_by END, "
    f"claim_expires = CASE WHEN excluded.state IN ({_FINAL_SQL}) THEN NULL ELSE documents.claim_expires END")
"""Appended by write_batch: a document that reaches a final state is no longer claimed."""


def register_guard(now_sql: str, *, keep_final: bool) -> str:
    """The DO UPDATE ... WHERE of ``register``: leave live claims (and, if asked, final states) alone."""
    guard = f"(documents.claimed_by IS NULL OR documents.claim_expires IS NULL OR documents.claim_expires < {now_sql})"
    if keep_final:
        guard += f" AND NOT (excluded.state = 'pending' AND documents.state IN ({_FINAL_SQL}))"
    return guard


def claim_sql(hashes_sql: str, *, worker: str, expires: str, now: str) -> str:
    """UPDATE ... RETURNING that claims documents not final and unclaimed, expired or already ours."""
    return (f"UPDATE documents SET claimed_by = {worker}, claim_expires = {expires} "
            f"WHERE sha256 IN ({hashes_sql}) AND state NOT IN ({_FINAL_SQL}) "
            f"AND (claimed_by IS NULL OR claim_expires IS NULL OR claim_expires < {now} OR claimed_by = {worker}) "
            "RETURNING sha256")


def json_column(values: Sequence[Any]) -> list[str]:
    """``to_json`` of every value, ~3x faster: one C encoder for the whole column.

    ``JSONEncoder.encode`` builds a new C encoder per call, which costs more than encoding a small
    dict. The output is the same text (``ensure_ascii=False``, ``default=str``, same separators).
    """
    if c_make_encoder is None:  # pragma: no cover - CPython always has the C accelerator
        return [_JSON.encode(v) for v in values]
    enc = c_make_encoder({}, str, encode_basestring, None, ": ", ", ", False, False, True)
    join = "".join
    return [join(enc(v, 0)) for v in values]


def row_columns(outcomes: list[RowOutcome], contract: Contract) -> list[list[Any]]:
    """``row_params`` of many outcomes, column by column (the shape a bulk load wants)."""
    values = [o.values for o in outcomes]
    lineage = [o.lineage for o in outcomes]
    docs = [o.doc for o in outcomes]
    get = dict.get
    n = len(outcomes)

    def lin(key: str, default: Any = None) -> list[Any]:
        return list(map(get, lineage, repeat(key, n), repeat(default, n)))

    return [
        *(list(map(get, values, repeat(f.name, n))) for f in contract.fields),
        [d.sha256 for d in docs], [d.path for d in docs],
        list(map(list, lin("page_numbers", ()))), lin("engine"), lin("model"), lin("prompt_version", ""),
        [contract.name] * n, [contract.version] * n, lin("flow_run_id"), lin("extracted_at"),
        json_column([o.raw for o in outcomes]),
    ]


def document_columns(docs: list[DocumentUpdate], run_id: str, now: datetime) -> list[list[Any]]:
    """``document_params`` of many documents, column by column, the last update per document winning."""
    keep = last_indices([d.sha256 for d in docs])
    if keep is not None:
        docs = [docs[i] for i in keep]
    n = len(docs)
    return [[d.sha256 for d in docs], [d.path for d in docs], [d.mime for d in docs],
            [d.size_bytes for d in docs], [d.pages for d in docs],
            [str(d.state) for d in docs],  # a StrEnum's str() is its value, several times faster than .value
            [d.contract for d in docs], [d.error for d in docs], [0] * n, [now] * n, [now] * n, [run_id] * n]


def last_indices(keys: Sequence[Any]) -> list[int] | None:
    """None when the keys are distinct, else the index of the last occurrence of each key in first-seen order
    (what ``last_per_key`` keeps)."""
    if len(set(keys)) == len(keys):
        return None
    return list({k: i for i, k in enumerate(keys)}.values())


def is_constant(values: Sequence[Any]) -> bool:
    """Every value equal to the first and of the same type (a bulk load then sends it once, not per row).

    Floats never count: 0.0 == -0.0."""
    if not values or type(values[0]) is float or values[-1] != values[0]:
        return False
    return values.count(values[0]) == len(values) and len(set(map(type, values))) == 1


def document_params(d: DocumentUpdate, run_id: str, now: datetime) -> list[Any]:
    return [d.sha256, d.path, d.mime, d.size_bytes, d.pages, d.state.value, d.contract, d.error, 0, now, now,
            run_id]


def page_params(sha: str, p: PageText, run_id: str, now: datetime) -> list[Any]:
    return [sha, p.page_no, p.path.value, p.engine, p.model, p.prompt_version, p.width, p.height, p.text,
            lines_json(p), p.render_s, p.latency_s, p.prompt_tokens, p.completion_tokens, p.is_fallback, p.note,
            run_id, now]


def quarantine_params(outcome: RowOutcome, contract: Contract, now: datetime) -> list[Any]:
    lin = outcome.lineage
    return [outcome.doc.sha256, contract.name, contract.version, outcome.doc.path,
            json.dumps([f.as_dict() for f in outcome.failures], ensure_ascii=False), to_json(outcome.values),
            to_json(outcome.raw), lin.get("engine"), lin.get("model"),
            lin.get("prompt_version", ""), lin.get("flow_run_id"), now]


def last_per_key(rows: list[list[Any]], key: int = 0) -> list[list[Any]]:
    """Keep the last row per key (a bulk upsert may touch a key once; row by row, the last one wins)."""
    if len({r[key] for r in rows}) == len(rows):
        return rows
    return list({r[key]: r for r in rows}.values())


def last_outcomes(rows: list[RowOutcome]) -> list[RowOutcome]:
    """The last outcome per document of a batch, in first-seen order."""
    by_doc: dict[str, RowOutcome] = {}
    for o in rows:
        by_doc[o.doc.sha256] = o
    return list(by_doc.values()) if len(by_doc) != len(rows) else rows


def split_rows(batch: Batch, contracts: dict[str, Contract]) -> dict[tuple[str, bool], list[RowOutcome]]:
    """The batch's outcomes grouped by (contract name, clean), the last outcome per document winning."""
    groups: dict[tuple[str, bool], list[RowOutcome]] = {}
    for o in last_outcomes(batch.rows):
        if o.contract not in contracts:
            raise StoreError(f"row for {o.doc.path} names contract {o.contract!r}, which was not passed in")
        groups.setdefault((o.contract, o.clean), []).append(o)
    return groups


def date_field(contract: Contract) -> str | None:
    """The first DATE field of a contract (the export partitions by its month)."""
    for f in contract.fields:
        if field_sql_type(f, "duckdb") == "DATE":
            return f.name
    return None


def columns_to_add(contract: Contract, existing: dict[str, str], dialect: Dialect,
                   norm: Callable[[str], str]) -> list[tuple[str, str]]:
    """Schema evolution for an existing contract table, decided before anything is altered.

    Returns the new optional columns to add. Raises SchemaChangeError naming the field for a breaking
    change: a removed or renamed field, a changed type, or a new required field (existing rows have no
    value for it). A breaking change needs a new major version, which gets its own table.
    """
    table = table_name(contract)
    wanted = contract_columns(contract, dialect)
    where = f"contract {contract.name} {contract.version}"
    removed = sorted(set(existing) - {n for n, _ in wanted})
    if removed:
        raise SchemaChangeError(f"{where}: field(s) {removed} were removed or renamed but table {table} still has "
                                "them; a breaking change needs a new major version")
    required = {f.name for f in contract.fields if f.required}
    add: list[tuple[str, str]] = []
    for name, typ in wanted:
        have = existing.get(name)
        if have is None:
            if name in required:
                raise SchemaChangeError(f"{where}: new field {name!r} is required; existing rows in {table} have no "
                                        "value for it. Make it optional or bump the major version")
            add.append((name, typ))
        elif norm(have) != norm(typ):
            raise SchemaChangeError(f"{where}: field {name!r} changed type from {have} to {typ}; a breaking change "
                                    f"needs a new major version (a new table {table}_vN)")
    return add
