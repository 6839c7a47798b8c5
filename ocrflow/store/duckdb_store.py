"""DuckDB store: one file, one writer process, one transaction per batch."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from ocrflow.contracts import Contract
from ocrflow.store.base import Batch, Columns, Dialect, Rows, RunRecord, Store, StoreError
from ocrflow.store.dialect import DUCKDB
from ocrflow.store.documents import claim_sql
from ocrflow.store.duckdb_conn import OPEN_WAIT_S, FileHold, WriterLock, open_file, read_wait_s, unknock
from ocrflow.store.duckdb_tx import refused_writes, transaction
from ocrflow.store.duckdb_writes import DuckDBWrites
from ocrflow.store.locking import serialized
from ocrflow.store.parquet import copy_partitioned
from ocrflow.store.sandbox import DUCKDB_SANDBOX
from ocrflow.store.schema import ColumnTypes, table_name
from ocrflow.store.shared import SharedStore

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def connect(path: str, *, read_only: bool = False, sandbox: bool = False,
            wait_s: float | None = None) -> tuple[duckdb.DuckDBPyConnection, Path | None]:
    """A connection held until closed (a reader, a sandbox, a brief writer) and the knock it left, if any:
    a busy file is retried for ``wait_s`` (``OCRFLOW_STORE_WAIT_S``, default 10 s; ``ocrflow.store.duckdb_conn``)."""
    if not read_only and not sandbox:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    elif path != ":memory:" and not Path(path).exists():
        raise StoreError(f"DuckDB file {path} does not exist yet: run `ocrflow run` first")
    return open_file(path, read_only=read_only or sandbox, config=DUCKDB_SANDBOX if sandbox else {},
                     wait_s=read_wait_s() if wait_s is None else wait_s, knock_when_busy=path != ":memory:")


class DuckDBStore(SharedStore):
    """The default store (a ``Store``): one DuckDB file, one writer process, one transaction per batch."""

    dialect: Dialect = "duckdb"
    sql = DUCKDB
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

    release_after_batch = False
    """Let the file go after every batch write, not only when a reader knocks or the run idles. Off: the next
    batch would attach it again with its indexes and caches cold, which cost 35-55 ms of CPU per 16-document
    batch at 100k stored invoices (bench_store_writes) - the growth the indexes remove. Readers that knock
    (``ocrflow query``, the review page) get in within ``POLL_S`` either way."""

    def __init__(self, path: str, *, read_only: bool = False, sandbox: bool = False, brief: bool = False,
                 wait_s: float | None = None) -> None:
        """``sandbox``: read-only for the user's SQL (``ocrflow.store.sandbox``). ``brief``: a writer for one
        decision (the review's) that waits its turn between a run's batches instead of being the file's one
        writer. ``wait_s``: how long a reader or brief writer waits for a busy file (``OCRFLOW_STORE_WAIT_S``).

        Any other writable store is its file's one ocrflow writer (``<db>.writer.lock``) and lets the file go
        between batches (``ocrflow.store.duckdb_conn``)."""
        self.path = path
        self.lock = threading.RLock()
        self.read_only = read_only or sandbox
        self._types = ColumnTypes(self._existing_columns)
        self._writer: WriterLock | None = None
        self._mark: Path | None = None
        if self.read_only or brief or path == ":memory:":
            con, self._mark = connect(path, read_only=read_only, sandbox=sandbox, wait_s=wait_s)
            self._hold = FileHold(path, self.lock, on_open=self._configure, con=con)
            if not self.read_only:
                self._configure(con)
            return
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._writer = WriterLock(path)
        self._hold = FileHold(path, self.lock, on_open=self._configure)
        try:
            self._hold.connection(wait_s=OPEN_WAIT_S)
        except BaseException:
            self._writer.release()
            raise

    def _configure(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(f"SET checkpoint_threshold = '{self.checkpoint_threshold}'")

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The connection, opened again if the store let the file go (``ocrflow.store.duckdb_conn``)."""
        return self._hold.connection()

    def let_go(self) -> None:
        """Let the file go now, so that readers get in (a run's store does it after every batch)."""
        self._hold.release()

    def shares_writes(self) -> bool:
        """Never: DuckDB allows one writer per file (its lock), so a claim found here belongs to a dead run."""
        return False

    # -- schema -----------------------------------------------------------------
    def _schema_change(self) -> AbstractContextManager[None]:
        """DDL runs statement by statement: the file's lock makes this process its only writer."""
        return nullcontext()

    def _existing_columns(self, table: str) -> dict[str, str]:
        rows = self.con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
            "AND table_schema = current_schema()", [table]).fetchall()
        return {str(n): str(t) for n, t in rows}

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

    # -- batch -----------------------------------------------------------------
    def _writes(self) -> DuckDBWrites:
        """``write_batch`` and ``register`` run ``ocrflow.store.writer`` over these: DELETE + INSERT, Arrow
        staging for groups of at least ``bulk_threshold`` rows."""
        return DuckDBWrites(self.con, self.path, bulk_threshold=self.bulk_threshold, types=self._types)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock, transaction(self.con, self.path):
            yield

    def write_batch(self, batch: Batch, contracts: dict[str, Contract]) -> None:
        """The batch in one transaction; with ``release_after_batch`` the file is let go after it."""
        with self.lock:
            try:
                super().write_batch(batch, contracts)
            finally:
                if self.release_after_batch:
                    self._hold.release()

    @serialized
    def export_parquet(self, contract: Contract, target: Path) -> bool:
        if not self.table_exists(table_name(contract)):
            return False
        copy_partitioned(self.con, contract, target)
        return True

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
            cur = self._hold.cursor()
            self._hold.pin()
        try:
            cur.execute(sql_text)
            cols = [d[0] for d in (cur.description or [])]
            while chunk := cur.fetchmany(size):
                yield cols, chunk
        finally:
            cur.close()
            self._hold.unpin()

    def checkpoint(self) -> None:
        """Fold the WAL into the database file (DuckDB would do it at close anyway; explicit, it is timed)."""
        self.con.execute("CHECKPOINT")

    def close(self) -> None:
        """Checkpoint a writable file (a failure is logged: the WAL keeps every committed batch), let it go."""
        try:
            if not self._hold.releases and not self.read_only and self.path != ":memory:":
                self._checkpoint_held()
        finally:
            self._hold.close()
            unknock(self._mark)
            if self._writer is not None:
                self._writer.release()

    def _checkpoint_held(self) -> None:
        try:
            self.checkpoint()
        except duckdb.Error as exc:  # committed batches stay in the WAL; the next open replays it
            log.warning("DuckDB file %s not checkpointed at close (its WAL keeps every committed batch and "
                        "is replayed on the next open): %s", self.path, " ".join(str(exc).split()))


if TYPE_CHECKING:  # mypy proves here that DuckDBStore implements every Store method, signatures included
    _is_a_store: type[Store] = DuckDBStore
