"""DuckDB store: one file, one writer process, one transaction per batch."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ocrflow.contracts import Contract
from ocrflow.models import DocState
from ocrflow.store.base import (
    FINAL_STATES,
    Batch,
    DocumentUpdate,
    RunRecord,
    SchemaChangeError,
    StoreError,
    base_ddl,
    contract_columns,
    contract_ddl,
    lines_json,
    row_params,
    table_name,
)


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
    dialect = "duckdb"

    def __init__(self, path: str, *, read_only: bool = False) -> None:
        self.path = path
        self.con = connect(path, read_only=read_only)

    # -- schema -----------------------------------------------------------------
    def init_schema(self, contracts: list[Contract]) -> None:
        for ddl in base_ddl("duckdb"):
            self.con.execute(ddl)
        for c in contracts:
            self._ensure_contract_table(c)

    def _existing_columns(self, table: str) -> dict[str, str]:
        rows = self.con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
            "AND table_schema = current_schema()", [table]).fetchall()
        return {str(n): str(t) for n, t in rows}

    def _ensure_contract_table(self, contract: Contract) -> None:
        table = table_name(contract)
        existing = self._existing_columns(table)
        if not existing:
            self.con.execute(contract_ddl(contract, "duckdb"))
            return
        wanted = contract_columns(contract, "duckdb")
        wanted_names = {n for n, _ in wanted}
        removed = sorted(set(existing) - wanted_names)
        if removed:
            raise SchemaChangeError(
                f"contract {contract.name} {contract.version}: field(s) {removed} were removed or renamed but "
                f"table {table} still has them; a breaking change needs a new major version")
        for name, typ in wanted:
            have = existing.get(name)
            if have is None:
                if any(f.name == name and f.required for f in contract.fields):
                    raise SchemaChangeError(
                        f"contract {contract.name} {contract.version}: new field {name!r} is required; existing "
                        f"rows in {table} have no value for it. Make it optional or bump the major version")
                self.con.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {typ}')
            elif _norm_type(have) != _norm_type(typ):
                raise SchemaChangeError(
                    f"contract {contract.name} {contract.version}: field {name!r} changed type from {have} to "
                    f"{typ}; a breaking change needs a new major version (a new table {table}_vN)")

    # -- documents -------------------------------------------------------------
    def final_hashes(self, hashes: list[str]) -> set[str]:
        if not hashes:
            return set()
        rows = self.con.execute(
            "SELECT sha256 FROM documents WHERE sha256 IN (SELECT UNNEST(?)) AND state IN (SELECT UNNEST(?))",
            [hashes, [s.value for s in FINAL_STATES]]).fetchall()
        return {r[0] for r in rows}

    def register(self, docs: list[DocumentUpdate], run_id: str) -> None:
        if not docs:
            return
        now = _now()
        self.con.begin()
        try:
            self._upsert_documents(docs, run_id, now)
            self.con.commit()
        except duckdb.Error:
            self.con.rollback()
            raise

    def _upsert_documents(self, docs: list[DocumentUpdate], run_id: str, now: datetime) -> None:
        self.con.executemany(
            """INSERT INTO documents (sha256, path, mime, size_bytes, pages, state, contract, error, attempts,
                                      first_seen, updated_at, run_id)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
               ON CONFLICT (sha256) DO UPDATE SET path = excluded.path, mime = excluded.mime,
                 size_bytes = excluded.size_bytes, pages = greatest(excluded.pages, documents.pages),
                 state = excluded.state, contract = coalesce(excluded.contract, documents.contract),
                 error = excluded.error, updated_at = excluded.updated_at, run_id = excluded.run_id,
                 attempts = documents.attempts + CASE WHEN excluded.state = 'pending' THEN 0 ELSE 1 END""",
            [[d.sha256, d.path, d.mime, d.size_bytes, d.pages, d.state.value, d.contract, d.error, now, now,
              run_id] for d in docs])

    # -- batch -----------------------------------------------------------------
    def write_batch(self, batch: Batch, contracts: dict[str, Contract]) -> None:
        now = _now()
        self.con.begin()
        try:
            self._write_pages(batch, now)
            for outcome in batch.rows:
                contract = contracts[outcome.contract]
                if outcome.clean:
                    self._load_row(outcome, contract)
                else:
                    self._quarantine_row(outcome, contract, now)
            self._upsert_documents(batch.documents, batch.run_id, now)
            self.con.commit()
        except duckdb.Error:
            self.con.rollback()
            raise

    def _write_pages(self, batch: Batch, now: datetime) -> None:
        if not batch.pages:
            return
        self.con.executemany(
            """INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [[sha, p.page_no, p.path.value, p.engine, p.model, p.prompt_version, p.width, p.height, p.text,
              lines_json(p), p.render_s, p.latency_s, p.prompt_tokens, p.completion_tokens, p.is_fallback,
              p.note, batch.run_id, now] for sha, p in batch.pages])

    def _load_row(self, outcome: Any, contract: Contract) -> None:
        table = table_name(contract)
        cols = [n for n, _ in contract_columns(contract, "duckdb")]
        quoted = ", ".join(f'"{c}"' for c in cols)
        marks = ", ".join("?" for _ in cols)
        self.con.execute(f"DELETE FROM quarantine WHERE doc_sha256 = ?", [outcome.doc.sha256])  # noqa: F541
        self.con.execute(f"INSERT OR REPLACE INTO {table} ({quoted}) VALUES ({marks})",
                         row_params(outcome, contract))

    def _quarantine_row(self, outcome: Any, contract: Contract, now: datetime) -> None:
        lin = outcome.lineage
        self.con.execute(f"DELETE FROM {table_name(contract)} WHERE doc_sha256 = ?", [outcome.doc.sha256])
        self.con.execute(
            "INSERT OR REPLACE INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [outcome.doc.sha256, contract.name, contract.version, outcome.doc.path,
             json.dumps([f.as_dict() for f in outcome.failures], ensure_ascii=False),
             json.dumps(outcome.values, ensure_ascii=False, default=str),
             json.dumps(outcome.raw, ensure_ascii=False, default=str), lin.get("engine"), lin.get("model"),
             lin.get("prompt_version", ""), lin.get("flow_run_id"), now])

    # -- runs ------------------------------------------------------------------
    def start_run(self, run: RunRecord) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO runs (run_id, flow_run_id, started_at, status, engine, contract, inputs) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [run.run_id, run.flow_run_id, run.started_at.replace(tzinfo=None), run.status, run.engine,
             run.contract, json.dumps(run.inputs)])

    def finish_run(self, run: RunRecord) -> None:
        c = run.counts
        self.con.execute(
            """UPDATE runs SET finished_at = ?, status = ?, documents = ?, pages = ?, loaded = ?, quarantined = ?,
               failed = ?, pending = ?, skipped = ?, seconds = ?, message = ?, data_docs = ? WHERE run_id = ?""",
            [(run.finished_at or _now()).replace(tzinfo=None), run.status, c.get("documents", 0),
             c.get("pages", 0), c.get("loaded", 0), c.get("quarantined", 0), c.get("failed", 0),
             c.get("pending", 0), c.get("skipped", 0), run.seconds, run.message, run.data_docs, run.run_id])

    # -- cache -----------------------------------------------------------------
    def cache_get(self, key: str) -> dict[str, Any] | None:
        row = self.con.execute("SELECT result FROM page_cache WHERE cache_key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else None

    def cache_put(self, key: str, result: dict[str, Any]) -> None:
        self.con.execute("INSERT OR REPLACE INTO page_cache VALUES (?, ?, ?)",
                         [key, json.dumps(result, ensure_ascii=False), _now()])

    # -- reads -----------------------------------------------------------------
    def query(self, sql: str, params: list[Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        cur = self.con.execute(sql, params or [])
        cols = [d[0] for d in (cur.description or [])]
        return cols, cur.fetchall()

    def close(self) -> None:
        self.con.close()


def _norm_type(t: str) -> str:
    t = t.upper().replace(" ", "")
    return {"TEXT": "VARCHAR", "STRING": "VARCHAR", "INT8": "BIGINT", "FLOAT8": "DOUBLE"}.get(t, t)


def open_store(url: str, *, read_only: bool = False) -> DuckDBStore:
    """Open the store named by a DuckDB path (PostgreSQL URLs are handled by ocrflow.store.open_store)."""
    return DuckDBStore(url, read_only=read_only)


def state_counts(store: DuckDBStore) -> dict[str, int]:
    _, rows = store.query("SELECT state, count(*) FROM documents GROUP BY state")
    return {str(s): int(n) for s, n in rows} | {s.value: 0 for s in DocState if s.value not in
                                                 {str(r[0]) for r in rows}}
