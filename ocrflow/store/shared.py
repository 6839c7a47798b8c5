"""What both stores share beyond the batch writer: the reads (``reads``) and the review's writes.

:class:`SharedStore` is the base class of both stores. The review's writes (corrections, a field
marked human, a rejection) run in the store's own transaction (``transaction``, one per store), with
SQL both dialects read the same way but for what ``SqlDialect`` spells.
"""

from __future__ import annotations

from abc import abstractmethod
from contextlib import AbstractContextManager

from ocrflow.contracts import Contract
from ocrflow.core.models import DocState
from ocrflow.store.dialect import quote_ident
from ocrflow.store.evidence import EVIDENCE_TABLE
from ocrflow.store.lines import lines_table_name
from ocrflow.store.reads import StoreReads
from ocrflow.store.records import CORRECTION_COLUMNS, Correction
from ocrflow.store.schema import table_name


class SharedStore(StoreReads):
    """The ``Store`` methods written once for both stores, over ``query``, ``transaction`` and ``sql``."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """BEGIN ... COMMIT on the store's connection, under its lock; ROLLBACK and the error on failure."""

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
            self.query(f"UPDATE documents SET state = {m}, error = {m}, updated_at = {m} WHERE sha256 = {m}",
                       [DocState.FAILED.value, error, self.sql.now(), sha256])
            self._insert_corrections([correction])
