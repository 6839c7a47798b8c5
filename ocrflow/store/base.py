"""The Store seam: the protocol every store implements, and the records it reads and writes.

A store holds the manifest (``documents``), pages, clean rows, quarantine, the run ledger and the
page cache. Two implementations: :class:`~ocrflow.store.duckdb_store.DuckDBStore` (one file, one
writer) and :class:`~ocrflow.store.postgres_store.PostgresStore` (any number of writers). The DDL
lives in :mod:`ocrflow.store.schema`, the row shapes in :mod:`ocrflow.store.rows`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from ocrflow.contracts import Contract
from ocrflow.core.evidence import EvidenceRow
from ocrflow.core.models import DocState, PageText, RowOutcome

Dialect = Literal["duckdb", "postgres"]

FINAL_STATES = (DocState.LOADED, DocState.QUARANTINED, DocState.FAILED, DocState.UNMATCHED)
"""Document states a run does not redo (unless asked to reprocess: ``ocrflow reprocess --failed``,
``--unmatched``, ``--quarantined``)."""


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
    """What the pipeline, the CLI and the flows need from a store; both stores implement all of it."""

    dialect: Dialect
    """The SQL dialect of ``query`` (its placeholder: DuckDB ``?``, PostgreSQL ``%s``)."""

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

    def close(self) -> None: ...
