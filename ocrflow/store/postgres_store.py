"""PostgreSQL store: the warehouse sink. Same tables, columns and semantics as the DuckDB store.

Connection URL: ``postgresql://user[:password]@host[:port]/db``. The schema (PostgreSQL
namespace) is chosen, first match wins, by

1. the ``schema`` argument of :class:`PostgresStore`;
2. a ``schema`` query parameter in the URL (``...?schema=ocr``; removed before libpq sees it);
3. libpq's own ``options`` (``...?options=-csearch_path%3Docr``), used as given.

With 1 or 2 the schema is created when missing (read-write stores only) and becomes the
``search_path``; with 3 it must exist already. Sessions run in UTC.

Unlike DuckDB, any number of processes may write at once: loads are upserts keyed by
``doc_sha256`` (one transaction per batch) and ``claim`` hands each document to one worker.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

import ocrflow.store.postgres_claims as postgres_claims
from ocrflow.contracts import Contract
from ocrflow.core.settings import redact_url, scrub
from ocrflow.store.base import Columns, Dialect, Rows, RunRecord, Store, StoreError
from ocrflow.store.dialect import POSTGRES
from ocrflow.store.locking import serialized
from ocrflow.store.parquet import mirror_partitioned, select_columns
from ocrflow.store.postgres_load import PgLoad
from ocrflow.store.postgres_sandbox import drop_role_needed, pg_read_query
from ocrflow.store.schema import ColumnTypes, table_name
from ocrflow.store.shared import SharedStore

_SCHEMA_LOCK = 0x6F637266  # "ocrf": advisory lock serialising DDL between concurrent workers


def _now() -> datetime:
    return datetime.now(UTC)


def split_url(url: str) -> tuple[str, str | None]:
    """(libpq URL, schema from a ``schema`` query parameter); ``postgresql+psycopg://`` is accepted."""
    url = re.sub(r"^postgresql\+psycopg://", "postgresql://", url)
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema or None


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    return redact_url(url)


def _connect(url: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError as exc:
        why = scrub(str(exc).strip(), url)  # libpq may echo a piece of a malformed URL's password
        raise StoreError(f"cannot connect to PostgreSQL at {redact(url)}: {why}. Check that the "
                         "server runs, the URL (user, host, port, database) and the credentials "
                         "(PGPASSWORD or ~/.pgpass)") from None


class PostgresStore(SharedStore):
    """The warehouse store (a ``Store``): any number of writers, each batch one transaction."""

    dialect: Dialect = "postgres"
    sql = POSTGRES
    bulk_threshold = 64
    """Row groups at least this large are loaded by COPY into a temp table + INSERT ... SELECT."""

    def __init__(self, url: str, *, read_only: bool = False, schema: str | None = None,
                 sandbox: bool = False) -> None:
        conninfo, url_schema = split_url(url)
        self.url = redact(conninfo)
        self.lock = threading.RLock()
        self.read_only = read_only or sandbox
        self.sandbox = sandbox
        """``query`` runs the user's SQL (``ocrflow query``): one read, rolled back (``ocrflow.store.sandbox``)."""
        self.conn = _connect(conninfo)
        self.schema = schema or url_schema
        self._types = ColumnTypes(self._existing_columns)
        self._setup_session()
        self._drop_role = drop_role_needed(self.conn) if sandbox else False

    def _setup_session(self) -> None:
        self.conn.execute("SET TIME ZONE 'UTC'")
        if self.schema:
            if not self.read_only:
                with self.conn.transaction():
                    self.conn.execute("SELECT pg_advisory_xact_lock(%s)", [_SCHEMA_LOCK])
                    self.conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            self.conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        if self.read_only:
            self.conn.execute("SET default_transaction_read_only = on")
        current = self.conn.execute("SELECT current_schema()").fetchone()
        if current is None or current[0] is None:
            raise StoreError(f"no schema of the search_path exists in {self.url}: create it, or name it with "
                             "?schema=NAME (created on first use)")
        self.schema = str(current[0])

    def shares_writes(self) -> bool:
        """Always: loads are upserts keyed by ``doc_sha256`` and ``claim`` hands each document to one worker."""
        return True

    # -- schema -----------------------------------------------------------------
    @contextmanager
    def _schema_change(self) -> Iterator[None]:
        """One transaction holding the advisory schema lock: concurrent workers evolve the schema one at a time."""
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", [_SCHEMA_LOCK])
            yield

    def _existing_columns(self, table: str) -> dict[str, str]:
        rows = self.conn.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "WHERE a.attrelid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident(%s)) "
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", [table]).fetchall()
        return {str(n): str(t) for n, t in rows}

    # -- documents and claims --------------------------------------------------
    @serialized
    def claim(self, hashes: list[str], worker: str, ttl_s: float) -> set[str]:
        """Claim the documents among ``hashes`` that are registered, not final, and free (or expired or ours);
        each goes to exactly one worker (``postgres_claims.claim``)."""
        return postgres_claims.claim(self.conn, hashes, worker, ttl_s)

    # -- batch -----------------------------------------------------------------
    def _writes(self) -> PgLoad:
        """``write_batch`` and ``register`` run ``ocrflow.store.writer`` over these: upserts keyed by the
        PRIMARY KEYs; groups of at least ``bulk_threshold`` rows are COPied into a temp staging table and
        upserted with one INSERT ... SELECT ... ON CONFLICT DO UPDATE, smaller ones row by row."""
        return PgLoad(self.conn, bulk_threshold=self.bulk_threshold, types=self._types)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock, self.conn.transaction():
            yield

    def export_parquet(self, contract: Contract, target: Path) -> bool:
        """Stream the table into an in-memory DuckDB table of the same DDL, then COPY it out (``parquet``)."""
        if not self.table_exists(table_name(contract)):
            return False
        rows = (chunk for _, chunk in self.iter_rows(f"SELECT {select_columns(contract)} FROM {table_name(contract)}"))
        mirror_partitioned(rows, contract, target)
        return True

    # -- runs ------------------------------------------------------------------
    @serialized
    def start_run(self, run: RunRecord) -> None:
        self.conn.execute(
            "INSERT INTO runs (run_id, flow_run_id, started_at, status, engine, contract, inputs) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (run_id) DO UPDATE SET flow_run_id = "
            "excluded.flow_run_id, started_at = excluded.started_at, status = excluded.status, engine = "
            "excluded.engine, contract = excluded.contract, inputs = excluded.inputs, finished_at = NULL",
            [run.run_id, run.flow_run_id, _aware(run.started_at), run.status, run.engine, run.contract,
             json.dumps(run.inputs)])

    @serialized
    def finish_run(self, run: RunRecord) -> None:
        c = run.counts
        self.conn.execute(
            """UPDATE runs SET finished_at = %s, status = %s, documents = %s, pages = %s, loaded = %s,
               quarantined = %s, failed = %s, pending = %s, skipped = %s, seconds = %s, message = %s,
               data_docs = %s WHERE run_id = %s""",
            [_aware(run.finished_at or _now()), run.status, c.get("documents", 0), c.get("pages", 0),
             c.get("loaded", 0), c.get("quarantined", 0), c.get("failed", 0), c.get("pending", 0),
             c.get("skipped", 0), run.seconds, run.message, run.data_docs, run.run_id])

    # -- cache -----------------------------------------------------------------
    @serialized
    def cache_get(self, key: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT result FROM page_cache WHERE cache_key = %s", [key]).fetchone()
        if not row:
            return None
        value = row[0]
        return json.loads(value) if isinstance(value, str) else dict(value)

    @serialized
    def cache_put(self, key: str, result: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO page_cache VALUES (%s, %s, %s) ON CONFLICT (cache_key) DO UPDATE SET "
            "result = excluded.result, created_at = excluded.created_at",
            [key, json.dumps(result, ensure_ascii=False), _now()])

    # -- reads -----------------------------------------------------------------
    @serialized
    def query(self, sql_text: str, params: list[Any] | None = None) -> tuple[Columns, Rows]:
        if self.sandbox:
            return pg_read_query(self.conn, sql_text, params, drop_role=self._drop_role)
        with self.conn.cursor() as cur:
            cur.execute(sql_text, params or None)
            cols = [d.name for d in (cur.description or [])]
            return cols, cur.fetchall() if cur.description else []

    def iter_rows(self, sql_text: str, size: int = 10_000) -> Iterator[tuple[Columns, Rows]]:
        """A large result in chunks, through a server-side cursor (for exports)."""
        with self.conn.transaction(), self.conn.cursor(name="ocrflow_iter") as cur:
            cur.execute(sql_text)
            while True:
                chunk = cur.fetchmany(size)
                if not chunk:
                    return
                yield [d.name for d in (cur.description or [])], chunk

    @serialized
    def key_problems(self) -> list[str]:
        """Always none: PRIMARY KEY constraints keep every key unique here (``KEYS_BY_CONSTRAINT``)."""
        return []

    def close(self) -> None:
        self.conn.close()


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


if TYPE_CHECKING:  # mypy proves here that PostgresStore implements every Store method, signatures included
    _is_a_store: type[Store] = PostgresStore
