"""What both stores share: the schema's evolution, the batch writes, the reads (``reads``) and the review's writes.

:class:`SharedStore` is the base class of both stores, written once over what each store gives:
``query``, ``transaction`` (its own BEGIN ... COMMIT), ``_writes`` (the batch writer's primitives:
``DuckDBWrites`` or ``PgLoad``), ``_existing_columns`` (its catalog) and ``_schema_change`` (how it
serialises DDL). The SQL is read the same way by both dialects but for what ``SqlDialect`` spells.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from contextlib import AbstractContextManager

from ocrflow.contracts import Contract
from ocrflow.core.models import DocState
from ocrflow.store import writer
from ocrflow.store.base import REJECTED, Batch, DocumentUpdate
from ocrflow.store.dialect import Dialect, quote_ident
from ocrflow.store.evidence import EVIDENCE_TABLE
from ocrflow.store.indexes import index_ddl
from ocrflow.store.lines import lines_ddl, lines_table_name
from ocrflow.store.locking import serialized
from ocrflow.store.memory import MemoryStore
from ocrflow.store.primitives import WriteTarget
from ocrflow.store.reads import StoreReads
from ocrflow.store.records import CORRECTION_COLUMNS, Correction
from ocrflow.store.schema import ColumnTypes, schema_ddl, table_name


class SharedStore(StoreReads, MemoryStore):
    """The ``Store`` methods written once for both stores (the module docstring lists what each store gives)."""

    dialect: Dialect
    lock: threading.RLock
    _types: ColumnTypes

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """BEGIN ... COMMIT on the store's connection, under its lock; ROLLBACK and the error on failure."""

    @abstractmethod
    def _writes(self) -> WriteTarget:
        """The batch writer's primitives for the next transaction (``bulk_threshold`` as set on the store now)."""

    @abstractmethod
    def _existing_columns(self, table: str) -> dict[str, str]:
        """Column name -> type of ``table`` as the catalog spells it (empty when there is no such table)."""

    @abstractmethod
    def _schema_change(self) -> AbstractContextManager[None]:
        """Where the DDL of ``init_schema`` runs (PostgreSQL: one transaction holding the schema lock)."""

    # -- schema and batches -----------------------------------------------------------
    @serialized
    def init_schema(self, contracts: list[Contract]) -> None:
        self._types.clear()
        with self._schema_change():
            for ddl in schema_ddl(contracts, self.dialect, self._existing_columns):
                self.query(ddl)
            for ddl in lines_ddl(contracts, self.dialect):
                self.query(ddl)
            for ddl in index_ddl(contracts, self.dialect):  # lookups that keep batch writes flat
                self.query(ddl)

    @serialized
    def register(self, docs: list[DocumentUpdate], run_id: str, *, keep_final: bool = False) -> None:
        writer.register(self._writes(), docs, run_id, self.sql.now(), keep_final=keep_final)

    @serialized
    def write_batch(self, batch: Batch, contracts: dict[str, Contract]) -> None:
        writer.write_batch(self._writes(), batch, contracts, self.sql.now())

    # -- claims and review writes ---------------------------------------------------------

    def release(self, hashes: list[str], worker: str) -> None:
        if hashes:
            self.query(f"UPDATE documents SET claimed_by = NULL, claim_expires = NULL WHERE "
                       f"{self.sql.in_list('sha256')} AND claimed_by = {self.sql.mark}", [hashes, worker])

    def _insert_corrections(self, rows: list[Correction]) -> None:
        cols = ", ".join(quote_ident(c) for c in CORRECTION_COLUMNS)
        insert = f"INSERT INTO corrections ({cols}) VALUES ({self.sql.marks(len(CORRECTION_COLUMNS))})"
        for row in rows:
            self.query(insert, row.params())

    def add_corrections(self, rows: list[Correction]) -> None:
        if rows:
            with self.transaction():
                self._insert_corrections(rows)

    def mark_human(self, sha256: str, contract: str, values: dict[str, str | None], reviewer: str) -> None:
        if not values or not self.table_exists(EVIDENCE_TABLE):
            return
        m, now, method = self.sql.mark, self.sql.now(), f"review:{reviewer}"
        key = f"doc_sha256 = {m} AND field = {m} AND line_no = 0"
        with self.transaction():
            for name, value in values.items():
                _, found = self.query(f"SELECT 1 FROM {EVIDENCE_TABLE} WHERE {key}", [sha256, name])
                if found:
                    self.query(f"UPDATE {EVIDENCE_TABLE} SET value = {m}, source = 'human', method = {m}, "
                               f"confidence = 1.0, updated_at = {m} WHERE {key}", [value, method, now, sha256, name])
                else:
                    self.query(f"INSERT INTO {EVIDENCE_TABLE} (doc_sha256, contract, field, line_no, value, "
                               f"source, method, confidence, updated_at) VALUES ({m}, {m}, {m}, 0, {m}, 'human', "
                               f"{m}, 1.0, {m})", [sha256, contract, name, value, method, now])

    def reject(self, sha256: str, contract: Contract | None, error: str, correction: Correction) -> None:
        m = self.sql.mark
        with self.transaction():
            self.query(f"DELETE FROM quarantine WHERE doc_sha256 = {m}", [sha256])
            if contract is not None:
                self.query(f"DELETE FROM {quote_ident(table_name(contract))} WHERE doc_sha256 = {m}", [sha256])
                if contract.lines and self.table_exists(lines_table_name(contract)):
                    self.query(f"DELETE FROM {quote_ident(lines_table_name(contract))} WHERE doc_sha256 = {m}",
                               [sha256])
            self.query(f"UPDATE documents SET state = {m}, error = {m}, error_code = {m}, updated_at = {m} "
                       f"WHERE sha256 = {m}", [DocState.FAILED.value, error, REJECTED, self.sql.now(), sha256])
            self._insert_corrections([correction])
