"""DuckDB store: one file, one writer process, one transaction per batch."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from ocrflow.contracts import Contract
from ocrflow.core.models import RowOutcome
from ocrflow.store.base import FINAL_STATES, Batch, Columns, Dialect, DocumentUpdate, Rows, RunRecord, Store, StoreError
from ocrflow.store.business_keys import mark_duplicates
from ocrflow.store.documents import CLEAR_FINAL_CLAIMS_SET, DOCUMENT_UPSERT_SET, claim_sql, register_guard
from ocrflow.store.duckdb_tx import refused_writes, transaction
from ocrflow.store.evidence import write_evidence_duckdb
from ocrflow.store.lines import lines_ddl, write_lines_duckdb
from ocrflow.store.locking import serialized
from ocrflow.store.paths import write_paths_duckdb
from ocrflow.store.rows import (
    DOCUMENT_COLUMNS,
    PAGE_COLUMNS,
    QUARANTINE_COLUMNS,
    document_columns,
    page_params,
    quarantine_params,
    row_columns,
    row_params,
    split_rows,
)
from ocrflow.store.schema import ColumnTypes, contract_columns, schema_ddl, table_name
from ocrflow.store.staging import staging_table

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _lock_message(path: str, exc: Exception) -> str:
    pid = re.search(r"PID (\d+)", str(exc))
    holder = f"process {pid.group(1)}" if pid else "another process"
    return (f"DuckDB file {path} is locked by {holder} (DuckDB allows one writer per file). Wait for that run "
            f"to finish or stop it (kill {pid.group(1) if pid else '<pid>'}), or point --db/--store at another "
            "file. `ocrflow query` reads only, but it too cannot open the file while a writer holds it.")


def connect(path: str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    elif not Path(path).exists():
        raise StoreError(f"DuckDB file {path} does not exist yet: run `ocrflow run` first")
    try:
        return duckdb.connect(path, read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreError(_lock_message(path, exc)) from exc
        raise StoreError(f"cannot open DuckDB file {path}: {exc}") from exc


class DuckDBStore:
    """The default store (a ``Store``): one DuckDB file, one writer process, one transaction per batch."""

    dialect: Dialect = "duckdb"
    bulk_threshold = 8
    """Row groups at least this large take the bulk path (an Arrow staging scan + one INSERT ... SELECT).

    Low on purpose: DuckDB's executemany costs milliseconds per row, so even a 16-document batch
    writes several times faster in bulk (both paths store the same rows; tests compare them)."""

    checkpoint_threshold = "256MB"
    """WAL size that triggers DuckDB's automatic checkpoint (its default is 16 MiB).

    A 10,000-row invoice batch (rows + documents) writes ~4.7 MB of WAL, so the default checkpointed
    every third or fourth batch, inside that batch's COMMIT, each time rewriting the grown tables
    (~0.2-0.5 s per 100k rows loaded). 256 MB is ~500k rows between checkpoints; ``close`` checkpoints
    explicitly. Commits stay durable: every COMMIT still writes and syncs the WAL; only the fold of
    the WAL into the database file is deferred (a crash replays the WAL on the next open)."""

    def __init__(self, path: str, *, read_only: bool = False) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.read_only = read_only
        self.con = connect(path, read_only=read_only)
        self._types = ColumnTypes(self._existing_columns)
        if not read_only:
            self.con.execute(f"SET checkpoint_threshold = '{self.checkpoint_threshold}'")

    def shares_writes(self) -> bool:
        """Never: DuckDB allows one writer per file (its lock), so a claim found here belongs to a dead run."""
        return False

    # -- schema -----------------------------------------------------------------
    @serialized
    def init_schema(self, contracts: list[Contract]) -> None:
        self._types.clear()
        for ddl in schema_ddl(contracts, "duckdb", self._existing_columns):
            self.con.execute(ddl)
        for ddl in lines_ddl(contracts, "duckdb"):
            self.con.execute(ddl)

    def _existing_columns(self, table: str) -> dict[str, str]:
        rows = self.con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
            "AND table_schema = current_schema()", [table]).fetchall()
        return {str(n): str(t) for n, t in rows}

    # -- documents -------------------------------------------------------------
    @serialized
    def final_hashes(self, hashes: list[str]) -> set[str]:
        if not hashes:
            return set()
        rows = self.con.execute(
            "SELECT sha256 FROM documents WHERE sha256 IN (SELECT UNNEST(?)) AND state IN (SELECT UNNEST(?))",
            [hashes, [s.value for s in FINAL_STATES]]).fetchall()
        return {r[0] for r in rows}

    @serialized
    def register(self, docs: list[DocumentUpdate], run_id: str, *, keep_final: bool = False) -> None:
        """Upsert documents; a live claim is left alone, and so is a final state when ``keep_final``."""
        if not docs:
            return
        now = _now()
        guard = register_guard(_ts_literal(now), keep_final=keep_final)
        with transaction(self.con, self.path):
            self._upsert_documents(docs, run_id, now, where=guard)

    def _upsert_documents(self, docs: list[DocumentUpdate], run_id: str, now: datetime, *,
                          set_extra: str = "", where: str = "") -> None:
        """``INSERT ... ON CONFLICT (sha256) DO UPDATE SET ... [WHERE where]`` of ``docs``, as UPDATE of the
        documents that exist (those passing ``where``) + INSERT of the ones that do not (the table has no
        constraint to conflict on: see ``KEYS_BY_CONSTRAINT``). The last update per document wins."""
        if not docs:
            return
        sets = f"{DOCUMENT_UPSERT_SET}{', ' + set_extra if set_extra else ''}"
        guard = f" AND {where}" if where else ""
        data = document_columns(docs, run_id, now)
        types = self._types.of("documents", DOCUMENT_COLUMNS)
        cols = ", ".join(f'"{c}"' for c in DOCUMENT_COLUMNS)
        absent = " WHERE NOT EXISTS (SELECT 1 FROM documents AS d WHERE d.sha256 = excluded.sha256)"
        update = "UPDATE documents SET {sets} FROM {src} WHERE documents.sha256 = excluded.sha256{guard}"
        if len(data[0]) < self.bulk_threshold:
            src = "(SELECT " + ", ".join(f'CAST(? AS {t}) AS "{c}"' for c, t in zip(DOCUMENT_COLUMNS, types,
                                                                                  strict=True)) + ") AS excluded"
            rows = [list(r) for r in zip(*data, strict=True)]
            self.con.executemany(update.format(sets=sets, src=src, guard=guard), rows)
            self.con.executemany(f"INSERT INTO documents ({cols}) SELECT * FROM {src}{absent}", rows)
            return
        with self._staged("documents", DOCUMENT_COLUMNS, types, data, key=("sha256",)) as (view, select, params):
            src = f"(SELECT {select} FROM {view}) AS excluded"
            row = self.con.execute(update.format(sets=sets, src=src, guard=guard), params).fetchone()
            updated = int(row[0]) if row else 0
            if updated < len(data[0]):
                # Unguarded, an UPDATE that touched nothing means every document is new: no anti-join needed.
                new = absent if updated or where else ""
                self.con.execute(f"INSERT INTO documents ({cols}) SELECT * FROM {src}{new}", params)

    # -- claims ----------------------------------------------------------------
    @serialized
    def claim(self, hashes: list[str], worker: str, ttl_s: float) -> set[str]:
        """Claim the documents among ``hashes`` that are registered, not final, and free (or expired or ours)."""
        if not hashes:
            return set()
        now = _now()
        sql = claim_sql("SELECT UNNEST($hashes)", worker="$worker", expires="$expires", now="$now")
        rows = self.con.execute(sql, {"hashes": hashes, "worker": worker, "now": now,
                                      "expires": now + timedelta(seconds=ttl_s)}).fetchall()
        return {str(r[0]) for r in rows}

    @serialized
    def release(self, hashes: list[str], worker: str) -> None:
        """Drop ``worker``'s claims on ``hashes`` (another worker's claims stay)."""
        if hashes:
            self.con.execute("UPDATE documents SET claimed_by = NULL, claim_expires = NULL "
                             "WHERE sha256 IN (SELECT UNNEST(?)) AND claimed_by = ?", [hashes, worker])

    # -- batch -----------------------------------------------------------------
    @serialized
    def write_batch(self, batch: Batch, contracts: dict[str, Contract]) -> None:
        """Pages, clean/quarantined rows and document states of one batch, in one transaction.

        Every write replaces by key: DELETE of the batch's keys + INSERT (``documents``: UPDATE +
        INSERT of the new ones). Groups of at least ``bulk_threshold`` rows are staged as one Arrow
        table per statement (``ocrflow.store.staging``); smaller ones go row by row. Both give the
        same rows (tests compare them).
        """
        now = _now()
        with transaction(self.con, self.path):
            mark_duplicates(batch, contracts, lambda q, p: self.con.execute(q, p).fetchall(), "duckdb")
            self._write_pages(batch, now)
            for (name, clean), outcomes in split_rows(batch, contracts).items():
                if clean:
                    self._load_rows(outcomes, contracts[name])
                else:
                    self._quarantine_rows(outcomes, contracts[name], now)
            self._upsert_documents(batch.documents, batch.run_id, now, set_extra=CLEAR_FINAL_CLAIMS_SET)
            write_paths_duckdb(self.con, batch.paths, batch.run_id, now)
            write_lines_duckdb(self.con, batch, contracts)
            write_evidence_duckdb(self.con, batch, now)

    def _write_pages(self, batch: Batch, now: datetime) -> None:
        rows = [page_params(sha, p, batch.run_id, now) for sha, p in batch.pages]
        self._replace_rows("pages", PAGE_COLUMNS, rows, key=("doc_sha256", "page_no"))

    def _load_rows(self, outcomes: list[RowOutcome], contract: Contract) -> None:
        """Clean rows of one contract (one per document: ``split_rows``); they leave quarantine."""
        cols = contract_columns(contract, "duckdb")
        names, types = [n for n, _ in cols], [t for _, t in cols]
        table = table_name(contract)
        if len(outcomes) < self.bulk_threshold:
            shas = [o.doc.sha256 for o in outcomes]
            self.con.execute("DELETE FROM quarantine WHERE doc_sha256 IN (SELECT UNNEST(?))", [shas])
            self._replace_rows(table, names, [row_params(o, contract) for o in outcomes], key=("doc_sha256",),
                               types=types)
            return
        data = row_columns(outcomes, contract)
        with self._staged(table, names, types, data, key=("doc_sha256",)) as (view, select, params):
            self.con.execute(f"DELETE FROM quarantine WHERE doc_sha256 IN (SELECT doc_sha256 FROM {view})")
            self._replace_staged(table, names, ("doc_sha256",), view, select, params)

    def _quarantine_rows(self, outcomes: list[RowOutcome], contract: Contract, now: datetime) -> None:
        shas = [o.doc.sha256 for o in outcomes]
        self.con.execute(f"DELETE FROM {table_name(contract)} WHERE doc_sha256 IN (SELECT UNNEST(?))", [shas])
        rows = [quarantine_params(o, contract, now) for o in outcomes]
        self._replace_rows("quarantine", QUARANTINE_COLUMNS, rows, key=("doc_sha256",))

    def _replace_rows(self, table: str, columns: Sequence[str], rows: list[list[Any]], *, key: Sequence[str],
                      types: Sequence[str] | None = None) -> None:
        """Replace rows by ``key`` (the last row per key wins): DELETE of their keys + INSERT, staged in bulk
        from ``bulk_threshold`` rows, else one row at a time (executemany)."""
        if not rows:
            return
        idx = [list(columns).index(k) for k in key]
        rows = list({tuple(r[i] for i in idx): r for r in rows}.values())
        if len(rows) >= self.bulk_threshold:
            col_types = list(types) if types is not None else self._types.of(table, columns)
            data = [list(c) for c in zip(*rows, strict=True)]
            with self._staged(table, columns, col_types, data, key=key) as (view, select, params):
                self._replace_staged(table, columns, key, view, select, params)
            return
        match = " AND ".join(f'"{k}" = ?' for k in key)
        self.con.executemany(f"DELETE FROM {table} WHERE {match}", [[r[i] for i in idx] for r in rows])
        quoted = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        self.con.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({marks})", rows)

    def _replace_staged(self, table: str, columns: Sequence[str], key: Sequence[str], view: str, select: str,
                        params: list[Any]) -> None:
        """Replace staged rows with distinct keys: DELETE of their keys + one INSERT ... SELECT.

        Also where the table has a PRIMARY KEY: DuckDB runs ``INSERT OR REPLACE`` as a MERGE (a join
        plus a GROUP BY over all columns), and replacing rows that exist that way cost ~0.4 ms each
        (4 s for a re-loaded 10,000-row batch here, 0.7 s this way)."""
        src = f"(SELECT {select} FROM {view})"
        match = " AND ".join(f'{table}."{k}" = s."{k}"' for k in key)
        self.con.execute(f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {src} AS s WHERE {match})", params)
        quoted = ", ".join(f'"{c}"' for c in columns)
        self.con.execute(f"INSERT INTO {table} ({quoted}) SELECT * FROM {src}", params)

    @contextmanager
    def _staged(self, table: str, columns: Sequence[str], types: Sequence[str], data: list[list[Any]], *,
                key: Sequence[str]) -> Iterator[tuple[str, str, list[Any]]]:
        """Register the staging Arrow table: (view name, SELECT list casting to the table types, its parameters).

        A column with one value in every row (engine, model, run id, timestamps, ...) is not staged
        but sent once as a parameter; the ``key`` columns are always staged."""
        frame, select, params = staging_table(columns, types, data, keep=key)
        view = f"_ocrflow_stage_{table}"
        self.con.register(view, frame)
        try:
            yield view, select, params
        finally:
            self.con.unregister(view)

    # -- integrity -------------------------------------------------------------
    @serialized
    def key_problems(self) -> list[str]:
        """Keys stored more than once in ``documents`` or a clean table (none, unless something wrote the
        file behind the store's back: these tables have no constraint here, see ``KEYS_BY_CONSTRAINT``)."""
        tables = [t for (t,) in self.con.execute(
            "SELECT DISTINCT table_name FROM information_schema.columns WHERE column_name = 'doc_sha256' "
            "AND table_schema = current_schema() AND table_name NOT IN ('pages', 'quarantine', 'corrections') "
            "AND table_name NOT IN (SELECT table_name FROM information_schema.table_constraints "
            "WHERE constraint_type = 'PRIMARY KEY' AND table_schema = current_schema()) "
            "ORDER BY 1").fetchall()]
        problems = []
        for table, key in [("documents", "sha256"), *((str(t), "doc_sha256") for t in tables)]:
            row = self.con.execute(f'SELECT count(*), min("{key}") FROM (SELECT "{key}" FROM {table} '
                                   f'GROUP BY "{key}" HAVING count(*) > 1)').fetchone()
            if row and row[0]:
                problems.append(f"{table}: {row[0]} {key} value(s) stored more than once (e.g. {row[1]})")
        return problems

    # -- runs ------------------------------------------------------------------
    @serialized
    def start_run(self, run: RunRecord) -> None:
        with refused_writes(self.path):
            self.con.execute(
                "INSERT OR REPLACE INTO runs (run_id, flow_run_id, started_at, status, engine, contract, inputs) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [run.run_id, run.flow_run_id, run.started_at.replace(tzinfo=None), run.status, run.engine,
                 run.contract, json.dumps(run.inputs)])

    @serialized
    def finish_run(self, run: RunRecord) -> None:
        with refused_writes(self.path):
            c = run.counts
            self.con.execute(
                """UPDATE runs SET finished_at = ?, status = ?, documents = ?, pages = ?, loaded = ?,
                   quarantined = ?, failed = ?, pending = ?, skipped = ?, seconds = ?, message = ?, data_docs = ?
                   WHERE run_id = ?""",
                [(run.finished_at or _now()).replace(tzinfo=None), run.status, c.get("documents", 0),
                 c.get("pages", 0), c.get("loaded", 0), c.get("quarantined", 0), c.get("failed", 0),
                 c.get("pending", 0), c.get("skipped", 0), run.seconds, run.message, run.data_docs, run.run_id])

    # -- cache -----------------------------------------------------------------
    @serialized
    def cache_get(self, key: str) -> dict[str, Any] | None:
        row = self.con.execute("SELECT result FROM page_cache WHERE cache_key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else None

    @serialized
    def cache_put(self, key: str, result: dict[str, Any]) -> None:
        self.con.execute("INSERT OR REPLACE INTO page_cache VALUES (?, ?, ?)",
                         [key, json.dumps(result, ensure_ascii=False), _now()])

    # -- reads -----------------------------------------------------------------
    @serialized
    def query(self, sql_text: str, params: list[Any] | None = None) -> tuple[Columns, Rows]:
        cur = self.con.execute(sql_text, params or [])
        cols = [d[0] for d in (cur.description or [])]
        return cols, cur.fetchall()

    def iter_rows(self, sql_text: str, size: int = 10_000) -> Iterator[tuple[Columns, Rows]]:
        """A large result in chunks of at most ``size`` rows, on a cursor of its own."""
        with self.lock:
            cur = self.con.cursor()
        try:
            cur.execute(sql_text)
            cols = [d[0] for d in (cur.description or [])]
            while chunk := cur.fetchmany(size):
                yield cols, chunk
        finally:
            cur.close()

    def checkpoint(self) -> None:
        """Fold the WAL into the database file (DuckDB would do it at close anyway; explicit, it is timed)."""
        self.con.execute("CHECKPOINT")

    def close(self) -> None:
        try:
            if not self.read_only and self.path != ":memory:":
                self.checkpoint()
        except duckdb.Error as exc:  # committed batches stay in the WAL; the next open replays it
            log.warning("DuckDB file %s not checkpointed at close (its WAL keeps every committed batch and "
                        "is replayed on the next open): %s", self.path, " ".join(str(exc).split()))
        finally:
            self.con.close()


def _ts_literal(ts: datetime) -> str:
    return f"TIMESTAMP '{ts.isoformat(sep=' ')}'"


if TYPE_CHECKING:  # mypy proves here that DuckDBStore implements every Store method, signatures included
    _is_a_store: type[Store] = DuckDBStore
