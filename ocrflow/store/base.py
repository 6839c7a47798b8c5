"""The Store seam: the protocol every store implements, and the records it reads and writes.

A store holds the manifest (``documents``), pages, clean rows, quarantine, the run ledger and the
page cache. Two implementations: :class:`~ocrflow.store.duckdb_store.DuckDBStore` (one file, one
writer) and :class:`~ocrflow.store.postgres_store.PostgresStore` (any number of writers). The DDL
lives in :mod:`ocrflow.store.schema`, the row shapes in :mod:`ocrflow.store.rows`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from ocrflow.contracts import Contract
from ocrflow.core.evidence import EvidenceRow
from ocrflow.core.models import DocState, PageText, RowOutcome
from ocrflow.store import memory_records, records
from ocrflow.store.dialect import Dialect, SqlDialect

FINAL_STATES = (DocState.LOADED, DocState.QUARANTINED, DocState.FAILED, DocState.UNMATCHED)
"""Document states a run does not redo (unless asked to reprocess: ``ocrflow reprocess --failed``,
``--unmatched``, ``--quarantined``)."""
REJECTED = "rejected"
"""The ``error_code`` of a document a reviewer rejected: final, ``reprocess --failed`` leaves it alone unless
``--include-rejected`` (issue 20)."""


class StoreError(RuntimeError):
    """The store cannot be opened or written; the message says what to do."""


class SchemaChangeError(StoreError):
    """A contract change would break an existing table (type change, removed field)."""


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
    error_code: str | None = None
    pages_read: int | None = None
    path_raw: str | None = None
    einvoice_syntax: str | None = None
    einvoice_profile: str | None = None
    issuer_id: str | None = None
    """The issuer memory recognized the document as (``ocrflow.memory``); None keeps the stored one."""


@dataclass(slots=True)
class Batch:
    """Everything one batch of documents produced; written in one transaction."""

    run_id: str
    documents: list[DocumentUpdate] = field(default_factory=list)
    pages: list[tuple[str, PageText]] = field(default_factory=list)
    rows: list[RowOutcome] = field(default_factory=list)
    paths: list[tuple[str, str, str | None]] = field(default_factory=list)
    """(sha256, shown path, raw path) of every path a document was found under (``document_paths``)."""
    evidence: list[EvidenceRow] = field(default_factory=list)
    """One row per field of every row of the batch (``field_evidence``; ``ocrflow.store.evidence``)."""


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


Columns = list[str]
Rows = list[tuple[Any, ...]]


class Store(Protocol):
    """What the pipeline, the CLI, the review and the flows need from a store; both stores implement all of it.

    No SQL is written outside ``ocrflow.store``: every read and write the rest of the package needs is a
    method here (``query``/``iter_rows`` serve the user's own SQL of ``ocrflow query``). The reads and the
    review's writes are written once for both stores (``ocrflow.store.reads``, ``ocrflow.store.shared``),
    the batch writes once over each store's primitives (``ocrflow.store.writer``)."""

    dialect: Dialect
    """The SQL dialect of ``query`` (its placeholder: DuckDB ``?``, PostgreSQL ``%s``)."""
    sql: SqlDialect
    """What the dialect spells its own way (``ocrflow.store.dialect``)."""

    def shares_writes(self) -> bool:
        """Whether other processes may write this store at the same time (PostgreSQL yes, DuckDB no).

        Only then do ``claim``/``release`` mean anything: a DuckDB file has one writer, enforced by
        its lock, so any claim found in it belongs to a dead run."""
        ...

    def init_schema(self, contracts: list[Contract]) -> None:
        """Create the tables, or evolve the contract tables (new optional columns); ``SchemaChangeError``
        for a breaking change."""
        ...

    def final_hashes(self, hashes: list[str]) -> set[str]:
        """The documents among ``hashes`` already in a final state."""
        ...

    def register(self, docs: list[DocumentUpdate], run_id: str, *, keep_final: bool = False) -> None:
        """Upsert documents; a live claim is left alone, and so is a final state when ``keep_final``."""
        ...

    def claim(self, hashes: list[str], worker: str, ttl_s: float) -> set[str]:
        """Claim the documents among ``hashes`` that are registered, not final, and free (or expired or ours)."""
        ...

    def release(self, hashes: list[str], worker: str) -> None:
        """Drop ``worker``'s claims on ``hashes`` (another worker's claims stay)."""
        ...

    def write_batch(self, batch: Batch, contracts: dict[str, Contract]) -> None:
        """Pages, clean/quarantined rows and document states of one batch, in one transaction."""
        ...

    def start_run(self, run: RunRecord) -> None: ...

    def finish_run(self, run: RunRecord) -> None: ...

    def query(self, sql_text: str, params: list[Any] | None = None) -> tuple[Columns, Rows]: ...

    def iter_rows(self, sql_text: str, size: int = 10_000) -> Iterator[tuple[Columns, Rows]]:
        """A large result in chunks of at most ``size`` rows (for exports)."""
        ...

    def cache_get(self, key: str) -> dict[str, Any] | None: ...

    def cache_put(self, key: str, result: dict[str, Any]) -> None: ...

    def key_problems(self) -> list[str]:
        """Keys stored more than once where the store keeps them unique itself (none expected)."""
        ...

    # -- reads: documents ----------------------------------------------------------
    def table_exists(self, table: str) -> bool:
        """Whether ``table`` exists in the store's schema (an older store may lack a newer table)."""
        ...

    def document(self, sha256: str) -> records.StoredDocument | None:
        """The ``documents`` row of ``sha256`` (path, mime, size, state, contract, error), or None."""
        ...

    def documents_in_state(self, state: str, error_code: str | None = None) -> list[records.StoredDocument]:
        """The documents in ``state`` (of ``error_code`` only, when given), by path."""
        ...

    def state_counts(self, hashes: list[str]) -> dict[str, int]:
        """How many of ``hashes`` are in each state (registered documents only)."""
        ...

    # -- reads: quarantine and pages -------------------------------------------------
    def quarantine_entries(self, contract: str | None = None) -> list[records.QuarantineEntry]:
        """Quarantined rows, newest first; only ``contract``'s when given."""
        ...

    def quarantine_entry(self, sha256: str) -> records.QuarantineEntry | None:
        """The quarantine row of ``sha256``, or None."""
        ...

    def quarantine_by_prefix(self, prefix: str) -> list[records.QuarantineEntry]:
        """Quarantined rows whose document hash starts with ``prefix``, newest first."""
        ...

    def quarantined_documents(self) -> list[records.StoredDocument]:
        """Documents in state quarantined with a quarantine row (``contract``: the quarantine's), oldest
        update first."""
        ...

    def stored_pages(self, sha256: str) -> list[PageText]:
        """A document's pages as the pipeline stored them (text lines with boxes), in page order."""
        ...

    # -- reads: clean rows, evidence, review -----------------------------------------------
    def contract_row(self, contract: Contract, sha256: str) -> records.StoredRow | None:
        """The document's row in ``contract``'s clean table (values, raw values, lineage), or None."""
        ...

    def field_evidence(self, sha256: str, line_no: int | None = None) -> list[EvidenceRow]:
        """The document's stored evidence, by line number then field (only ``line_no``'s when given: 0 is
        the header); none where the store has no evidence table."""
        ...

    def lowest_confidences(self) -> dict[str, float]:
        """Per document, the lowest confidence of its header fields' evidence."""
        ...

    def loaded_field_confidences(self) -> list[records.FieldConfidence]:
        """Header fields of loaded documents that have a value and a confidence and that no reviewer approved,
        by document and field."""
        ...

    def reviewed_documents(self) -> list[records.ReviewedDocument]:
        """Documents approved in review that are loaded now, in the order of their last approval."""
        ...

    def corrections(self, sha256: str) -> list[records.Correction]:
        """The review's audit trail of one document, oldest first."""
        ...

    # -- writes outside a batch ---------------------------------------------------------
    def transaction(self) -> AbstractContextManager[None]:
        """BEGIN ... COMMIT on the store's connection, under its lock; ROLLBACK and the error on failure."""
        ...

    def add_corrections(self, rows: list[records.Correction]) -> None:
        """Append ``rows`` to ``corrections``, in one transaction."""
        ...

    def mark_human(self, sha256: str, contract: str, values: dict[str, str | None], reviewer: str) -> None:
        """The header evidence of the fields of ``values`` becomes source ``human``, method ``review:<reviewer>``,
        confidence 1, with the given value (page and box stay; a field without evidence gets a row without)."""
        ...

    def reject(self, sha256: str, contract: Contract | None, error: str, correction: records.Correction) -> None:
        """In one transaction: the document leaves the quarantine, its contract's clean and line tables,
        becomes ``failed`` with ``error``, and ``correction`` is appended."""
        ...

    # -- review schema and issuer memory (ocrflow.store.memory) ---------------------------
    def ensure_review_schema(self) -> None:
        """The memory tables and the review columns, for a store an older release created (idempotent)."""
        ...

    def issuer_matches(self, contract: str, keys: Sequence[str]) -> list[memory_records.KeyMatch]:
        """The stored keys of ``contract``'s issuers among ``keys``, each with how many issuers hold it."""
        ...

    def issuer_facts(self, issuer_id: str, contract: str | None = None) -> list[memory_records.Fact]:
        """What review taught about one issuer (of one contract when given)."""
        ...

    def issuer_keys(self, issuer_id: str) -> list[memory_records.IssuerKey]:
        """The keys an issuer is recognized by."""
        ...

    def learn(self, lesson: memory_records.Lesson) -> None:
        """One approval's lesson, in one transaction (issuer, keys, facts, the document's ``issuer_id``)."""
        ...

    def issuers(self, contract: str | None = None) -> list[memory_records.Issuer]:
        """The issuers memory knows, most recently taught first."""
        ...

    def issuer_documents(self, issuer_id: str) -> list[str]:
        """The documents recognized as (or taught by) the issuer."""
        ...

    def forget_issuer(self, issuer_id: str) -> int:
        """Delete what memory knows about the issuer (one transaction); returns the facts forgotten."""
        ...

    def export_parquet(self, contract: Contract, target: Path) -> bool:
        """Write ``contract``'s clean table as Parquet under ``target``, partitioned by month (rewritten);
        False, writing nothing, when the table does not exist (``ocrflow.store.parquet``)."""
        ...

    def close(self) -> None: ...
