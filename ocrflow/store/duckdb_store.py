"""DuckDB store: one file, one writer process, one transaction per batch."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from ocrflow.contracts import Contract
from ocrflow.models import RowOutcome
from ocrflow.store.base import (
    CLEAR_FINAL_CLAIMS_SET,
    DOCUMENT_COLUMNS,
    DOCUMENT_UPSERT_SET,
    FINAL_STATES,
    PAGE_COLUMNS,
    QUARANTINE_COLUMNS,
    Batch,
    DocumentUpdate,
    RunRecord,
    StoreError,
    base_ddl,
    claim_sql,
    columns_to_add,
    contract_columns,
    contract_ddl,
    document_columns,
    document_params,
    is_constant,
    last_per_key,
    page_params,
    quarantine_params,
    register_guard,
    row_columns,
    row_params,
    split_rows,
    table_name,
)

if TYPE_CHECKING:
    import pandas as pd


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
    bulk_threshold = 8
    """Row groups at least this large take the bulk path (DataFrame scan + one INSERT ... SELECT).

    Low on purpose: DuckDB's executemany costs milliseconds per row, so even a 16-document batch
    writes ~7x faster in bulk (both paths store the same rows; tests compare them)."""

    checkpoint_threshold = "256MB"
    """WAL size that triggers DuckDB's automatic checkpoint (its default is 16 MiB).

    A 10,000-row invoice batch (rows + documents) writes ~4.7 MB of WAL, so the default checkpointed
    every third or fourth batch, inside that batch's COMMIT, each time rewriting the grown tables
    (~0.2-0.5 s per 100k rows loaded). 256 MB is ~500k rows between checkpoints; ``close`` checkpoints
    explicitly. Commits stay durable: every COMMIT still writes and syncs the WAL; only the fold of
    the WAL into the database file is deferred (a crash replays the WAL on the next open)."""

    def __init__(self, path: str, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self.con = connect(path, read_only=read_only)
        self._types: dict[str, dict[str, str]] = {}
        if not read_only:
            self.con.execute(f"SET checkpoint_threshold = '{self.checkpoint_threshold}'")

    # -- schema -----------------------------------------------------------------
    def init_schema(self, contracts: list[Contract]) -> None:
        self._types.clear()
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
        for name, typ in columns_to_add(contract, existing, "duckdb", _norm_type):
            self.con.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {typ}')

    # -- documents -------------------------------------------------------------
    def final_hashes(self, hashes: list[str]) -> set[str]:
        if not hashes:
            return set()
        rows = self.con.execute(
            "SELECT sha256 FROM documents WHERE sha256 IN (SELECT UNNEST(?)) AND state IN (SELECT UNNEST(?))",
            [hashes, [s.value for s in FINAL_STATES]]).fetchall()
        return {r[0] for r in rows}

    def register(self, docs: list[DocumentUpdate], run_id: str, *, keep_final: bool = False) -> None:
        """Upsert documents; a live claim is left alone, and so is a final state when ``keep_final``."""
        if not docs:
            return
        now = _now()
        guard = register_guard(_ts_literal(now), keep_final=keep_final)
        self.con.begin()
        try:
            self._upsert_documents(docs, run_id, now, where=guard)
            self.con.commit()
        except duckdb.Error:
            self.con.rollback()
            raise

    def _upsert_documents(self, docs: list[DocumentUpdate], run_id: str, now: datetime, *,
                          set_extra: str = "", where: str = "") -> None:
        if not docs:
            return
        sets = f"{DOCUMENT_UPSERT_SET}{', ' + set_extra if set_extra else ''}"
        conflict = f"ON CONFLICT (sha256) DO UPDATE SET {sets}{' WHERE ' + where if where else ''}"
        if len(docs) >= self.bulk_threshold:
            data = document_columns(docs, run_id, now)
            if len(data[0]) >= self.bulk_threshold:
                types = self._column_types("documents", DOCUMENT_COLUMNS)
                if where:
                    self._insert_columns("documents", DOCUMENT_COLUMNS, types, data, conflict, key=("sha256",))
                else:
                    self._update_then_insert_documents(data, types, sets)
                return
        rows = last_per_key([document_params(d, run_id, now) for d in docs])
        self._insert("documents", DOCUMENT_COLUMNS, rows, conflict=conflict, key=("sha256",))

    def _update_then_insert_documents(self, data: list[list[Any]], types: Sequence[str], sets: str) -> None:
        """The unguarded upsert of distinct documents as UPDATE ... FROM, then INSERT of the ones not there.

        The same rows as ``INSERT ... ON CONFLICT DO UPDATE SET sets``, which DuckDB runs as a MERGE
        whose inserts made the statement and the commit about twice as slow here (10,000 new documents:
        90 + 50 ms against 42 + 24 ms); the UPDATE's count tells whether any (or all) documents are
        new, so the common cases need no anti-join."""
        cols = ", ".join(f'"{c}"' for c in DOCUMENT_COLUMNS)
        with self._staged("documents", DOCUMENT_COLUMNS, types, data, key=("sha256",)) as (view, select, params):
            src = f"(SELECT {select} FROM {view}) AS excluded"
            row = self.con.execute(f"UPDATE documents SET {sets} FROM {src} WHERE documents.sha256 = excluded.sha256",
                                   params).fetchone()
            updated = int(row[0]) if row else 0
            if updated < len(data[0]):
                new = " WHERE excluded.sha256 NOT IN (SELECT sha256 FROM documents)" if updated else ""
                self.con.execute(f"INSERT INTO documents ({cols}) SELECT * FROM {src}{new}", params)

    # -- claims ----------------------------------------------------------------
    def claim(self, hashes: list[str], worker: str, ttl_s: float) -> set[str]:
        """Claim the documents among ``hashes`` that are registered, not final, and free (or expired or ours)."""
        if not hashes:
            return set()
        now = _now()
        sql = claim_sql("SELECT UNNEST($hashes)", worker="$worker", expires="$expires", now="$now")
        rows = self.con.execute(sql, {"hashes": hashes, "worker": worker, "now": now,
                                      "expires": now + timedelta(seconds=ttl_s)}).fetchall()
        return {str(r[0]) for r in rows}

    def release(self, hashes: list[str], worker: str) -> None:
        """Drop ``worker``'s claims on ``hashes`` (another worker's claims stay)."""
        if hashes:
            self.con.execute("UPDATE documents SET claimed_by = NULL, claim_expires = NULL "
                             "WHERE sha256 IN (SELECT UNNEST(?)) AND claimed_by = ?", [hashes, worker])

    # -- batch -----------------------------------------------------------------
    def write_batch(self, batch: Batch, contracts: dict[str, Contract]) -> None:
        """Pages, clean/quarantined rows and document states of one batch, in one transaction.

        Groups of at least ``bulk_threshold`` rows go through a DataFrame staging scan (built column
        by column; DELETE of the staged keys + one INSERT ... SELECT per table, or UPDATE + INSERT
        for ``documents``); smaller ones row by row. Both give the same rows.
        """
        now = _now()
        self.con.begin()
        try:
            self._write_pages(batch, now)
            for (name, clean), outcomes in split_rows(batch, contracts).items():
                if clean:
                    self._load_rows(outcomes, contracts[name])
                else:
                    self._quarantine_rows(outcomes, contracts[name], now)
            self._upsert_documents(batch.documents, batch.run_id, now, set_extra=CLEAR_FINAL_CLAIMS_SET)
            self.con.commit()
        except duckdb.Error:
            self.con.rollback()
            raise

    def _write_pages(self, batch: Batch, now: datetime) -> None:
        rows = [page_params(sha, p, batch.run_id, now) for sha, p in batch.pages]
        if rows:
            keyed = list({(r[0], r[1]): r for r in rows}.values())
            self._insert("pages", PAGE_COLUMNS, keyed, conflict="OR REPLACE", key=("doc_sha256", "page_no"))

    def _load_rows(self, outcomes: list[RowOutcome], contract: Contract) -> None:
        cols = contract_columns(contract, "duckdb")
        names, types = [n for n, _ in cols], [t for _, t in cols]
        table = table_name(contract)
        if len(outcomes) < self.bulk_threshold:
            shas = [o.doc.sha256 for o in outcomes]
            self.con.execute("DELETE FROM quarantine WHERE doc_sha256 IN (SELECT UNNEST(?))", [shas])
            self._insert(table, names, [row_params(o, contract) for o in outcomes], conflict="OR REPLACE",
                         key=("doc_sha256",), types=types)
            return
        data = row_columns(outcomes, contract)  # one outcome per document (split_rows)
        with self._staged(table, names, types, data, key=("doc_sha256",)) as (view, select, params):
            self.con.execute(f"DELETE FROM quarantine WHERE doc_sha256 IN (SELECT doc_sha256 FROM {view})")
            if set(names) == set(self._table_columns(table)):
                self._replace_staged(table, names, ("doc_sha256",), view, select, params)
            else:  # pragma: no cover - init_schema keeps the table's columns equal to the contract's
                head, tail = _insert_sql(table, names, "OR REPLACE")
                self.con.execute(f"{head} SELECT {select} FROM {view}{tail}", params)

    def _quarantine_rows(self, outcomes: list[RowOutcome], contract: Contract, now: datetime) -> None:
        shas = [o.doc.sha256 for o in outcomes]
        self.con.execute(f"DELETE FROM {table_name(contract)} WHERE doc_sha256 IN (SELECT UNNEST(?))", [shas])
        rows = [quarantine_params(o, contract, now) for o in outcomes]
        self._insert("quarantine", QUARANTINE_COLUMNS, rows, conflict="OR REPLACE", key=("doc_sha256",))

    def _insert(self, table: str, columns: Sequence[str], rows: list[list[Any]], *, conflict: str,
                key: Sequence[str], types: Sequence[str] | None = None) -> None:
        """INSERT [OR REPLACE] rows, or ``INSERT ... ON CONFLICT`` when ``conflict`` starts with ON.
        ``key``: the table's primary key."""
        if len(rows) >= self.bulk_threshold:
            col_types = list(types) if types is not None else self._column_types(table, columns)
            self._insert_columns(table, columns, col_types, [list(c) for c in zip(*rows, strict=True)], conflict,
                                 key=key)
            return
        head, tail = _insert_sql(table, columns, conflict)
        marks = ", ".join("?" for _ in columns)
        self.con.executemany(f"{head} VALUES ({marks}){tail}", rows)

    def _insert_columns(self, table: str, columns: Sequence[str], types: Sequence[str], data: list[list[Any]],
                        conflict: str, *, key: Sequence[str]) -> None:
        """The bulk path: one INSERT ... SELECT from a DataFrame of the columns, casting to the table types
        (``OR REPLACE`` of rows with distinct keys: DELETE + INSERT, see ``_replace_staged``)."""
        idx = [list(columns).index(k) for k in key]
        replace = (conflict == "OR REPLACE" and set(columns) == set(self._table_columns(table))
                   and len(set(zip(*(data[i] for i in idx), strict=True))) == len(data[0]))
        head, tail = _insert_sql(table, columns, conflict)
        with self._staged(table, columns, types, data, key=key) as (view, select, params):
            if replace:
                self._replace_staged(table, columns, key, view, select, params)
            else:
                self.con.execute(f"{head} SELECT {select} FROM {view}{tail}", params)

    def _replace_staged(self, table: str, columns: Sequence[str], key: Sequence[str], view: str, select: str,
                        params: list[Any]) -> None:
        """``INSERT OR REPLACE`` of staged rows with distinct keys into all of a table's columns, as DELETE
        of the keys + plain INSERT.

        The same rows, but DuckDB runs INSERT OR REPLACE as a MERGE (a join plus a GROUP BY over all
        columns), and replacing rows that exist that way costs ~0.4 ms each: 4 s for a re-loaded
        10,000-row batch here, 0.7 s this way."""
        src = f"(SELECT {select} FROM {view})"
        match = " AND ".join(f'{table}."{k}" = s."{k}"' for k in key)
        self.con.execute(f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {src} AS s WHERE {match})", params)
        quoted = ", ".join(f'"{c}"' for c in columns)
        self.con.execute(f"INSERT INTO {table} ({quoted}) SELECT * FROM {src}", params)

    @contextmanager
    def _staged(self, table: str, columns: Sequence[str], types: Sequence[str], data: list[list[Any]], *,
                key: Sequence[str]) -> Iterator[tuple[str, str, list[Any]]]:
        """Register the staging DataFrame: (view name, SELECT list casting to the table types, its parameters).

        A column with one value in every row (engine, model, run id, timestamps, ...) is not staged
        but sent once as a parameter; the ``key`` columns are always staged."""
        frame, select, params = staging_select(columns, types, data, keep=key)
        view = f"_ocrflow_stage_{table}"
        self.con.register(view, frame)
        try:
            yield view, select, params
        finally:
            self.con.unregister(view)

    def _table_columns(self, table: str) -> dict[str, str]:
        """A table's columns and types, cached until the next ``init_schema`` (the only place that alters)."""
        if table not in self._types:
            self._types[table] = self._existing_columns(table)
        return self._types[table]

    def _column_types(self, table: str, columns: Sequence[str]) -> list[str]:
        have = self._table_columns(table)
        return [have[c] for c in columns]

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

    def checkpoint(self) -> None:
        """Fold the WAL into the database file (DuckDB would do it at close anyway; explicit, it is timed)."""
        self.con.execute("CHECKPOINT")

    def close(self) -> None:
        try:
            if not self.read_only and self.path != ":memory:":
                self.checkpoint()
        except duckdb.Error:  # pragma: no cover - e.g. already closed; DuckDB checkpoints at shutdown anyway
            pass
        finally:
            self.con.close()


def _insert_sql(table: str, columns: Sequence[str], conflict: str) -> tuple[str, str]:
    quoted = ", ".join(f'"{c}"' for c in columns)
    if conflict == "OR REPLACE":
        return f"INSERT OR REPLACE INTO {table} ({quoted})", ""
    return f"INSERT INTO {table} ({quoted})", f" {conflict}"


def _ts_literal(ts: datetime) -> str:
    return f"TIMESTAMP '{ts.isoformat(sep=' ')}'"


def _text(v: Any) -> str | None:
    """A scalar as text that DuckDB casts back to the column type exactly."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, datetime):
        if v.tzinfo is not None:
            v = v.astimezone(UTC).replace(tzinfo=None)
        return v.isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _list(v: Any, *, text: bool) -> list[Any] | None:
    if v is None:
        return None
    items = list(v)
    return [x if x is None or isinstance(x, str) else str(x) for x in items] if text else items


_PASS_TYPES: dict[str, tuple[type, ...]] = {
    "VARCHAR": (str,), "JSON": (str,), "DATE": (date,), "TIMESTAMP": (datetime,), "BIGINT": (int,),
    "INTEGER": (int,), "DOUBLE": (float,), "BOOLEAN": (bool,),
}
"""Column types whose Python values DuckDB's DataFrame scan reads exactly as they are."""


def _column(typ: str, values: Sequence[Any]) -> list[Any]:
    """One staging column: values as they are where DuckDB reads them exactly, else as text or lists."""
    types = set(map(type, values))
    kinds = types - {type(None)}
    if typ.endswith("[]"):
        is_text = not typ.upper().startswith(("INT", "BIGINT"))
        if kinds <= {list} and (not is_text or all(type(x) is str for v in values if v for x in v)):
            return list(values)
        return [_list(v, text=is_text) for v in values]
    passes = _PASS_TYPES.get(typ.upper())
    if passes and all(k in passes for k in kinds):
        if typ.upper() != "TIMESTAMP" or set(map(_TZINFO, filter(None, values))) <= {None}:
            return list(values)
    if kinds <= {Decimal}:
        return list(map(str, values)) if kinds == types else [None if v is None else str(v) for v in values]
    return [v if v is None or type(v) is str else _text(v) for v in values]


_TZINFO = attrgetter("tzinfo")


def staging_frame(columns: Sequence[str], types: Sequence[str], data: list[list[Any]]) -> pd.DataFrame:
    """Columns (one list of values each) as a DataFrame of object columns that DuckDB scans without guessing wrong.

    Values DuckDB reads exactly (str, date, naive datetime, int, float, lists of str/int) pass as
    they are; the rest (Decimal above all: a sampled guess such as DECIMAL(4,2) cannot hold a later
    value) go as text. The INSERT ... SELECT casts every column to its table type, so the bulk path
    stores exactly what the row path stores.
    """
    import pandas as pd

    frame = {name: pd.Series(_column(typ, vals), dtype=object)
             for name, typ, vals in zip(columns, types, data, strict=True)}
    return pd.DataFrame(frame)


def staging_select(columns: Sequence[str], types: Sequence[str], data: list[list[Any]], *,
                   keep: Sequence[str] = ()) -> tuple[pd.DataFrame, str, list[Any]]:
    """``staging_frame`` without the columns that hold one value in every row, and the SELECT list that
    casts every column to its table type: a staged column as ``CAST("c" AS T)``, a constant one as
    ``CAST(? AS T)`` with its (staged) value as the parameter. Columns in ``keep`` are always staged.

    Scanning a DataFrame column costs DuckDB a Python object per row; lineage columns (engine, model,
    run id, extraction time, ...) are usually the same for a whole batch and cost nothing this way.
    """
    import pandas as pd

    frame: dict[str, pd.Series] = {}
    select: list[str] = []
    params: list[Any] = []
    for name, typ, vals in zip(columns, types, data, strict=True):
        same = (name not in keep and bool(vals) and vals[-1] is vals[0] and vals.count(vals[0]) == len(vals)
                and len(set(map(id, vals))) == 1)
        staged = _column(typ, vals[:1] if same else vals)  # one object in every row: stage it once
        if same or (name not in keep and is_constant(staged)):
            select.append(f'CAST(? AS {typ}) AS "{name}"')
            params.append(staged[0])
        else:
            select.append(f'CAST("{name}" AS {typ}) AS "{name}"')
            frame[name] = pd.Series(staged, dtype=object)
    if not frame:
        raise ValueError("staging_select needs at least one staged column (pass the key in keep)")
    return pd.DataFrame(frame), ", ".join(select), params


def _norm_type(t: str) -> str:
    t = t.upper().replace(" ", "")
    return {"TEXT": "VARCHAR", "STRING": "VARCHAR", "INT8": "BIGINT", "FLOAT8": "DOUBLE"}.get(t, t)
