"""Issuer memory in the store: what review taught per issuer (``ocrflow.memory``), written once for both stores.

Tables (created by ``init_schema`` and by :meth:`MemoryStore.ensure_review_schema`):

- ``issuers(issuer_id, contract, name, documents, corrections, created_at, updated_at)``;
- ``issuer_keys(issuer_id, contract, kind, key, seen)``: what the issuer's documents print that tells it apart
  (tax / registration / phone numbers, lines of the letterhead), looked up by the documents being read;
- ``issuer_facts(issuer_id, contract, field, kind, fact_key, value, label, place, nth, y, shape, hits, misses,
  sources, variants, updated_at)``: constant values (with the spellings approved), positions, wrong readings and
  the machine's record (``ocrflow.store.memory_records``);
- ``documents.issuer_id``: the issuer a document was recognized as (written with its batch, or by review).

An approval's lesson is one transaction (:meth:`MemoryStore.learn`); forgetting an issuer deletes its rows in
one transaction and unlinks its documents. The SQL is the same in both dialects but for ``SqlDialect``.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from ocrflow.store.base import Columns, Rows
from ocrflow.store.dialect import Dialect, SqlDialect, decode_json, sql_dialect
from ocrflow.store.memory_records import Fact, Issuer, IssuerKey, KeyMatch, Lesson
from ocrflow.store.review_schema import review_columns_ddl

FACT_COLUMNS = ("issuer_id", "contract", "field", "kind", "fact_key", "value", "label", "place", "nth", "y",
                "shape", "hits", "misses", "sources", "variants", "updated_at")
FACT_KEY = ("issuer_id", "field", "kind", "fact_key")
KEY_COLUMNS = ("issuer_id", "contract", "kind", "key", "seen")


def memory_ddl(dialect: Dialect) -> list[str]:
    """CREATE TABLE of the memory tables and the ``documents.issuer_id`` column (idempotent)."""
    d = sql_dialect(dialect)
    txt, ts, dbl = d.text, d.timestamp, d.double
    return [
        f"""CREATE TABLE IF NOT EXISTS issuers (
  issuer_id {txt} PRIMARY KEY, contract {txt} NOT NULL, name {txt}, documents INTEGER DEFAULT 0,
  corrections INTEGER DEFAULT 0, created_at {ts}, updated_at {ts})""",
        f"""CREATE TABLE IF NOT EXISTS issuer_keys (
  issuer_id {txt} NOT NULL, contract {txt} NOT NULL, kind {txt} NOT NULL, key {txt} NOT NULL, seen INTEGER DEFAULT 1,
  PRIMARY KEY (issuer_id, kind, key))""",
        "CREATE INDEX IF NOT EXISTS issuer_keys_by_key ON issuer_keys (contract, key)",
        f"""CREATE TABLE IF NOT EXISTS issuer_facts (
  issuer_id {txt} NOT NULL, contract {txt} NOT NULL, field {txt} NOT NULL, kind {txt} NOT NULL,
  fact_key {txt} NOT NULL, value {txt}, label {txt}, place {txt}, nth INTEGER, y {dbl}, shape {txt},
  hits INTEGER DEFAULT 0, misses INTEGER DEFAULT 0, sources {txt}, variants {txt}, updated_at {ts},
  PRIMARY KEY (issuer_id, field, kind, fact_key))""",
        f"ALTER TABLE documents ADD COLUMN IF NOT EXISTS issuer_id {txt}",
    ]


def _fact(row: dict[str, Any]) -> Fact:
    return Fact(issuer_id=str(row["issuer_id"]), contract=str(row["contract"]), field=str(row["field"]),
                kind=str(row["kind"]), fact_key=str(row["fact_key"]), value=str(row["value"] or ""),
                label=str(row["label"] or ""), place=str(row["place"] or ""), nth=int(row["nth"] or 0),
                y=None if row["y"] is None else float(row["y"]), shape=str(row["shape"] or ""),
                hits=int(row["hits"] or 0), misses=int(row["misses"] or 0),
                sources=tuple(str(s) for s in decode_json(row["sources"], [])),
                variants=tuple((str(k), int(v)) for k, v in dict(decode_json(row["variants"], {})).items()),
                updated_at=row["updated_at"])


def _fact_params(f: Fact, now: datetime) -> list[Any]:
    return [f.issuer_id, f.contract, f.field, f.kind, f.fact_key, f.value, f.label, f.place, f.nth, f.y, f.shape,
            f.hits, f.misses, json.dumps(list(f.sources)), json.dumps(dict(f.variants), ensure_ascii=False), now]


class MemoryStore:
    """The ``Store`` methods of issuer memory and the review's schema, over ``query`` and ``transaction``."""

    sql: SqlDialect
    dialect: Dialect

    @abstractmethod
    def query(self, sql_text: str, params: list[Any] | None = None) -> tuple[Columns, Rows]: ...

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]: ...

    @abstractmethod
    def table_exists(self, table: str) -> bool: ...

    def _dicts(self, sql_text: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cols, rows = self.query(sql_text, list(params))
        return [dict(zip(cols, r, strict=True)) for r in rows]

    # -- schema -------------------------------------------------------------------
    def ensure_review_schema(self) -> None:
        """The memory tables and the review's columns, for a store an older release created (idempotent)."""
        with self.transaction():
            for ddl in [*memory_ddl(self.dialect), *review_columns_ddl(self.dialect)]:
                self.query(ddl)

    # -- recognition ----------------------------------------------------------------
    def issuer_matches(self, contract: str, keys: Sequence[str]) -> list[KeyMatch]:
        """The stored keys of ``contract``'s issuers among ``keys``, each with how many issuers hold it."""
        if not keys or not self.table_exists("issuer_keys"):
            return []
        # every row holding one of the keys comes back, so each key's owners are counted here: one indexed
        # select per document instead of a join with a grouped sub-query (~3x the time on DuckDB, issue 21)
        rows = self._dicts(
            f"SELECT issuer_id, kind, key FROM issuer_keys WHERE contract = {self.sql.mark} AND "
            f"{self.sql.in_list('key', len(keys))} ORDER BY issuer_id, kind, key", [contract, list(keys)])
        owners: dict[str, set[str]] = {}
        for r in rows:
            owners.setdefault(str(r["key"]), set()).add(str(r["issuer_id"]))
        return [KeyMatch(str(r["issuer_id"]), str(r["kind"]), str(r["key"]), len(owners[str(r["key"])]))
                for r in rows]

    def issuer_facts(self, issuer_id: str, contract: str | None = None) -> list[Fact]:
        """The facts of one issuer (of one contract when given), by field, kind and key."""
        if not self.table_exists("issuer_facts"):
            return []
        m = self.sql.mark
        where, params = f"issuer_id = {m}", [issuer_id]
        if contract is not None:
            where, params = f"{where} AND contract = {m}", [*params, contract]
        cols = ", ".join(FACT_COLUMNS)
        rows = self._dicts(f"SELECT {cols} FROM issuer_facts WHERE {where} ORDER BY field, kind, fact_key", params)
        return [_fact(r) for r in rows]

    def issuer_keys(self, issuer_id: str) -> list[IssuerKey]:
        if not self.table_exists("issuer_keys"):
            return []
        rows = self._dicts(f"SELECT kind, key FROM issuer_keys WHERE issuer_id = {self.sql.mark} ORDER BY kind, key",
                           [issuer_id])
        return [IssuerKey(str(r["kind"]), str(r["key"])) for r in rows]

    # -- lessons ----------------------------------------------------------------------
    def learn(self, lesson: Lesson) -> None:
        """Store one approval's lesson in one transaction: the issuer row, its keys (counted), its facts
        (replacing those with the same key) and the document's ``issuer_id``."""
        m, now = self.sql.mark, self.sql.now()
        with self.transaction():
            self._upsert_issuer(lesson, now)
            for key in lesson.keys:
                self._add_key(lesson, key)
            upsert = self.sql.upsert("issuer_facts", FACT_COLUMNS, FACT_KEY)
            for fact in lesson.facts:
                self.query(upsert, _fact_params(fact, now))
            self.query(f"UPDATE documents SET issuer_id = {m} WHERE sha256 = {m}", [lesson.issuer_id,
                                                                                  lesson.doc_sha256])

    def _upsert_issuer(self, lesson: Lesson, now: datetime) -> None:
        m = self.sql.mark
        _, found = self.query(f"SELECT 1 FROM issuers WHERE issuer_id = {m}", [lesson.issuer_id])
        if found:
            self.query(f"UPDATE issuers SET documents = documents + 1, corrections = corrections + {m}, "
                       f"name = coalesce({m}, name), updated_at = {m} WHERE issuer_id = {m}",
                       [lesson.corrections, lesson.name or None, now, lesson.issuer_id])
            return
        self.query(f"INSERT INTO issuers (issuer_id, contract, name, documents, corrections, created_at, updated_at) "
                   f"VALUES ({self.sql.marks(7)})", [lesson.issuer_id, lesson.contract, lesson.name, 1,
                                                     lesson.corrections, now, now])

    def _add_key(self, lesson: Lesson, key: IssuerKey) -> None:
        m = self.sql.mark
        where = f"issuer_id = {m} AND kind = {m} AND key = {m}"
        params = [lesson.issuer_id, key.kind, key.key]
        _, found = self.query(f"SELECT 1 FROM issuer_keys WHERE {where}", params)
        if found:
            self.query(f"UPDATE issuer_keys SET seen = seen + 1 WHERE {where}", params)
        else:
            self.query(f"INSERT INTO issuer_keys ({', '.join(KEY_COLUMNS)}) VALUES ({self.sql.marks(5)})",
                       [lesson.issuer_id, lesson.contract, key.kind, key.key, 1])

    # -- list, show, forget -------------------------------------------------------------
    def issuers(self, contract: str | None = None) -> list[Issuer]:
        """The issuers memory knows (of ``contract`` when given), most recently taught first."""
        if not self.table_exists("issuers"):
            return []
        where, params = ("WHERE i.contract = " + self.sql.mark, [contract]) if contract else ("", [])
        rows = self._dicts(
            "SELECT i.issuer_id, i.contract, i.name, i.documents, i.corrections, i.created_at, i.updated_at, "
            "(SELECT count(*) FROM issuer_facts AS f WHERE f.issuer_id = i.issuer_id) AS facts FROM issuers AS i "
            f"{where} ORDER BY i.updated_at DESC, i.issuer_id", params)
        return [Issuer(str(r["issuer_id"]), str(r["contract"]), str(r["name"] or ""), int(r["documents"] or 0),
                       int(r["corrections"] or 0), int(r["facts"] or 0), r["created_at"], r["updated_at"])
                for r in rows]

    def issuer_documents(self, issuer_id: str) -> list[str]:
        """Hashes of the documents recognized as (or taught by) the issuer."""
        _, rows = self.query(f"SELECT sha256 FROM documents WHERE issuer_id = {self.sql.mark} ORDER BY path",
                             [issuer_id])
        return [str(r[0]) for r in rows]

    def forget_issuer(self, issuer_id: str) -> int:
        """Delete everything memory holds about ``issuer_id`` in one transaction; its documents keep their rows
        but lose the link. Returns the number of facts forgotten."""
        m = self.sql.mark
        with self.transaction():
            _, counted = self.query(f"SELECT count(*) FROM issuer_facts WHERE issuer_id = {m}", [issuer_id])
            for table in ("issuer_facts", "issuer_keys", "issuers"):
                self.query(f"DELETE FROM {table} WHERE issuer_id = {m}", [issuer_id])
            self.query(f"UPDATE documents SET issuer_id = NULL WHERE issuer_id = {m}", [issuer_id])
        return int(counted[0][0]) if counted else 0
