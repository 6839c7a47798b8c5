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
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import chain
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

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
    serialized,
    split_rows,
    table_name,
)

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
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def _connect(url: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError as exc:
        raise StoreError(f"cannot connect to PostgreSQL at {redact(url)}: {str(exc).strip()}. Check that the "
                         "server runs, the URL (user, host, port, database) and the credentials "
                         "(PGPASSWORD or ~/.pgpass)") from exc


class PostgresStore:
    dialect = "postgres"
    bulk_threshold = 64
    """Row groups at least this large are loaded by COPY into a temp table + INSERT ... SELECT."""

    def __init__(self, url: str, *, read_only: bool = False, schema: str | None = None) -> None:
        conninfo, url_schema = split_url(url)
        self.url = redact(conninfo)
        self.lock = threading.RLock()
        self.read_only = read_only
        self.conn = _connect(conninfo)
        self.schema = schema or url_schema
        self._types: dict[str, dict[str, str]] = {}
        self._setup_session()

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

    # -- schema -----------------------------------------------------------------
    @serialized
    def init_schema(self, contracts: list[Contract]) -> None:
        self._types.clear()
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", [_SCHEMA_LOCK])
            for ddl in base_ddl("postgres"):
                self.conn.execute(ddl)
            for c in contracts:
                self._ensure_contract_table(c)

    def _existing_columns(self, table: str) -> dict[str, str]:
        rows = self.conn.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "WHERE a.attrelid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident(%s)) "
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", [table]).fetchall()
        return {str(n): str(t) for n, t in rows}

    def _ensure_contract_table(self, contract: Contract) -> None:
        table = table_name(contract)
        existing = self._existing_columns(table)
        if not existing:
            self.conn.execute(contract_ddl(contract, "postgres"))
            return
        for name, typ in columns_to_add(contract, existing, "postgres", pg_norm_type):
            self.conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} " + typ).format(
                sql.Identifier(table), sql.Identifier(name)))

    # -- documents -------------------------------------------------------------
    @serialized
    def final_hashes(self, hashes: list[str]) -> set[str]:
        if not hashes:
            return set()
        rows = self.conn.execute("SELECT sha256 FROM documents WHERE sha256 = ANY(%s) AND state = ANY(%s)",
                                 [hashes, [s.value for s in FINAL_STATES]]).fetchall()
        return {str(r[0]) for r in rows}

    @serialized
    def register(self, docs: list[DocumentUpdate], run_id: str, *, keep_final: bool = False) -> None:
        """Upsert documents; a live claim is left alone, and so is a final state when ``keep_final``."""
        if not docs:
            return
        with self.conn.transaction():
            self._upsert_documents(docs, run_id, _now(), where=register_guard("now()", keep_final=keep_final))

    def _upsert_documents(self, docs: list[DocumentUpdate], run_id: str, now: datetime, *,
                          set_extra: str = "", where: str = "") -> None:
        if not docs:
            return
        conflict = (f"ON CONFLICT (sha256) DO UPDATE SET {DOCUMENT_UPSERT_SET}"
                    f"{', ' + set_extra if set_extra else ''}{' WHERE ' + where if where else ''}")
        if len(docs) >= self.bulk_threshold:
            data = document_columns(docs, run_id, now)
            if len(data[0]) >= self.bulk_threshold:
                self._upsert_columns("documents", DOCUMENT_COLUMNS, self._column_types("documents", DOCUMENT_COLUMNS),
                                     data, conflict, key=("sha256",))
                return
        rows = last_per_key([document_params(d, run_id, now) for d in docs])
        self._upsert("documents", DOCUMENT_COLUMNS, rows, conflict, key=("sha256",))

    # -- claims ----------------------------------------------------------------
    @serialized
    def claim(self, hashes: list[str], worker: str, ttl_s: float) -> set[str]:
        """Claim the documents among ``hashes`` that are registered, not final, and free (or expired or ours).

        ``SELECT ... FOR UPDATE SKIP LOCKED`` + ``UPDATE ... RETURNING`` in one statement: a row that
        another worker is claiming or writing right now is skipped (never waited for, so no deadlocks),
        and the condition is re-checked on the locked row, so each document goes to exactly one worker.
        """
        if not hashes:
            return set()
        rows = self.conn.execute(
            """WITH free AS (
                  SELECT sha256 FROM documents WHERE sha256 = ANY(%(hashes)s) AND state <> ALL(%(final)s)
                    AND (claimed_by IS NULL OR claim_expires IS NULL OR claim_expires < now()
                         OR claimed_by = %(worker)s)
                  ORDER BY sha256 FOR UPDATE SKIP LOCKED)
                UPDATE documents d SET claimed_by = %(worker)s,
                  claim_expires = now() + make_interval(secs => %(ttl)s)
                FROM free WHERE d.sha256 = free.sha256 RETURNING d.sha256""",
            {"hashes": hashes, "worker": worker, "ttl": float(ttl_s),
             "final": [s.value for s in FINAL_STATES]}).fetchall()
        return {str(r[0]) for r in rows}

    @serialized
    def release(self, hashes: list[str], worker: str) -> None:
        """Drop ``worker``'s claims on ``hashes`` (another worker's claims stay)."""
        if hashes:
            self.conn.execute("UPDATE documents SET claimed_by = NULL, claim_expires = NULL "
                              "WHERE sha256 = ANY(%s) AND claimed_by = %s", [hashes, worker])

    # -- batch -----------------------------------------------------------------
    @serialized
    def write_batch(self, batch: Batch, contracts: dict[str, Contract]) -> None:
        """Pages, clean/quarantined rows and document states of one batch, in one transaction.

        Groups of at least ``bulk_threshold`` rows are COPied into a temp staging table and
        upserted with one INSERT ... SELECT ... ON CONFLICT DO UPDATE; smaller ones row by row.
        """
        now = _now()
        with self.conn.transaction():
            self._write_pages(batch, now)
            for (name, clean), outcomes in split_rows(batch, contracts).items():
                if clean:
                    self._load_rows(outcomes, contracts[name])
                else:
                    self._quarantine_rows(outcomes, contracts[name], now)
            self._upsert_documents(batch.documents, batch.run_id, now, set_extra=CLEAR_FINAL_CLAIMS_SET)

    def _write_pages(self, batch: Batch, now: datetime) -> None:
        rows = [page_params(sha, p, batch.run_id, now) for sha, p in batch.pages]
        if rows:
            keyed = list({(r[0], r[1]): r for r in rows}.values())
            self._upsert("pages", PAGE_COLUMNS, keyed, _replace_all("doc_sha256, page_no", PAGE_COLUMNS),
                         key=("doc_sha256", "page_no"))

    def _load_rows(self, outcomes: list[RowOutcome], contract: Contract) -> None:
        cols = contract_columns(contract, "postgres")
        names, types = [n for n, _ in cols], [t for _, t in cols]
        conflict = _replace_all("doc_sha256", names)
        if len(outcomes) >= self.bulk_threshold:
            self._upsert_columns(table_name(contract), names, types, row_columns(outcomes, contract), conflict,
                                 key=("doc_sha256",), delete_from="quarantine")
            return
        self.conn.execute("DELETE FROM quarantine WHERE doc_sha256 = ANY(%s)", [[o.doc.sha256 for o in outcomes]])
        rows = [row_params(o, contract) for o in outcomes]
        self._upsert(table_name(contract), names, rows, conflict, key=("doc_sha256",))

    def _quarantine_rows(self, outcomes: list[RowOutcome], contract: Contract, now: datetime) -> None:
        self.conn.execute(sql.SQL("DELETE FROM {} WHERE doc_sha256 = ANY(%s)").format(
            sql.Identifier(table_name(contract))), [[o.doc.sha256 for o in outcomes]])
        rows = [quarantine_params(o, contract, now) for o in outcomes]
        self._upsert("quarantine", QUARANTINE_COLUMNS, rows, _replace_all("doc_sha256", QUARANTINE_COLUMNS),
                     key=("doc_sha256",))

    def _upsert(self, table: str, columns: Sequence[str], rows: list[list[Any]], conflict: str, *,
                key: tuple[str, ...]) -> None:
        """INSERT ... ON CONFLICT: executemany for a few rows; COPY into a temp table + INSERT ... SELECT
        for many. Must run inside a transaction (the staging table is dropped on commit).

        Rows go in key order (sorted here for executemany, ``ORDER BY`` in the bulk INSERT ... SELECT),
        so two workers upserting overlapping rows lock them in the same order (one waits for the other
        instead of deadlocking)."""
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        target = sql.Identifier(table)
        if len(rows) < self.bulk_threshold:
            idx = [list(columns).index(k) for k in key]
            rows = sorted(rows, key=lambda r: tuple(r[i] for i in idx))
            marks = sql.SQL(", ").join(sql.Placeholder() for _ in columns)
            query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) " + conflict).format(
                target, cols, marks)
            with self.conn.cursor() as cur:
                cur.executemany(query, rows)
            return
        self._upsert_columns(table, columns, self._column_types(table, columns),
                             [list(c) for c in zip(*rows, strict=True)], conflict, key=key)

    def _column_types(self, table: str, columns: Sequence[str]) -> list[str]:
        if table not in self._types:  # only the fixed tables come here (contract tables pass their types)
            self._types[table] = self._existing_columns(table)
        have = self._types[table]
        return [have[c] for c in columns]

    def _upsert_columns(self, table: str, columns: Sequence[str], types: Sequence[str], data: list[list[Any]],
                        conflict: str, *, key: tuple[str, ...], delete_from: str | None = None) -> None:
        """The bulk path: COPY the columns (one list of values each, distinct keys) into a temp table,
        then one INSERT ... SELECT ... ORDER BY key ... ON CONFLICT. Must run inside a transaction.

        The COPY data is built column by column as text (``copy_columns``); a column with one value in
        every row is not copied but cast once in the SELECT. ``delete_from``: a table whose rows with
        the staged keys are deleted first (the quarantine, when rows load clean)."""
        formatted = copy_columns(types, data)
        if formatted is None:  # a value COPY text cannot carry exactly: let psycopg adapt it row by row
            self._copy_rows(table, columns, types, data, conflict, key=key, delete_from=delete_from)
            return
        target = sql.Identifier(table)
        stage = sql.Identifier(f"_ocrflow_stage_{table}")
        copied: list[str] = []
        payload: list[list[str]] = []
        select: list[sql.Composable] = []
        params: list[str | None] = []
        for name, typ, (text, const) in zip(columns, types, formatted, strict=True):
            if const and name not in key:
                select.append(sql.SQL("CAST({} AS " + typ + ")").format(sql.Placeholder()))
                params.append(text[0])
            else:
                select.append(sql.Identifier(name))
                copied.append(name)
                payload.append(escape_copy_text(text))
        copy_cols = sql.SQL(", ").join(sql.Identifier(c) for c in copied)
        self.conn.execute(sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            stage, copy_cols, target))
        with self.conn.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(stage, copy_cols)) as copy:
            copy.write("\n".join(map("\t".join, zip(*payload, strict=True))) + "\n")
        self._merge_stage(table, columns, sql.SQL(", ").join(select), params, conflict, key=key,
                          delete_from=delete_from)

    def _copy_rows(self, table: str, columns: Sequence[str], types: Sequence[str], data: list[list[Any]],
                   conflict: str, *, key: tuple[str, ...], delete_from: str | None) -> None:
        """COPY row by row with psycopg's adaptation (values ``copy_columns`` does not format)."""
        stage = sql.Identifier(f"_ocrflow_stage_{table}")
        self.conn.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP").format(stage, sql.Identifier(table)))
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        arrays = [i for i, t in enumerate(types) if t.endswith("[]")]
        with self.conn.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(stage, cols)) as copy:
            for row in zip(*data, strict=True):
                values = list(row)
                for i in arrays:
                    values[i] = array_literal(values[i])
                copy.write_row(values)
        self._merge_stage(table, columns, cols, [], conflict, key=key, delete_from=delete_from)

    def _merge_stage(self, table: str, columns: Sequence[str], select: sql.Composable, params: list[str | None],
                     conflict: str, *, key: tuple[str, ...], delete_from: str | None) -> None:
        """DELETE the staged keys from ``delete_from``, then INSERT ... SELECT ... ORDER BY key ... ON CONFLICT."""
        target = sql.Identifier(table)
        stage = sql.Identifier(f"_ocrflow_stage_{table}")
        if delete_from:
            keys = sql.SQL(" AND ").join(sql.SQL("d.{k} = s.{k}").format(k=sql.Identifier(k)) for k in key)
            self.conn.execute(sql.SQL("DELETE FROM {} d USING {} s WHERE {}").format(
                sql.Identifier(delete_from), stage, keys))
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        order = sql.SQL(", ").join(sql.Identifier(k) for k in key)
        self.conn.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ORDER BY {} " + conflict).format(
            target, cols, select, stage, order), params)
        self.conn.execute(sql.SQL("DROP TABLE {}").format(stage))

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
    def query(self, sql_text: str, params: list[Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self.conn.cursor() as cur:
            cur.execute(sql_text, params or None)
            cols = [d.name for d in (cur.description or [])]
            return cols, cur.fetchall() if cur.description else []

    def iter_rows(self, sql_text: str, size: int = 10_000) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
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


def array_literal(values: Sequence[Any] | None) -> str | None:
    """A one-dimensional list as a PostgreSQL array literal (COPY sends it as text; much faster than
    psycopg's generic list dumper)."""
    if values is None:
        return None
    items = ("NULL" if v is None else '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
             for v in values)
    return "{" + ",".join(items) + "}"


_COPY_SPECIALS = ("\\", "\n", "\r", "\t")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_NULL = "\\N"


_FORMATS: dict[type, Any] = {
    str: None, int: str, Decimal: str, date: date.isoformat, datetime: datetime.isoformat,
    float: repr, bool: lambda v: "t" if v else "f",
}
"""Python types whose COPY text this module writes itself: what psycopg's text dumpers write."""


def copy_columns(types: Sequence[str], data: list[list[Any]]) -> list[tuple[list[str | None], bool]] | None:
    """Each column as (unescaped COPY text per row, None for NULL; whether every row holds one value),
    or None when a value is not one ``_FORMATS`` knows (the caller then lets psycopg adapt it).

    Column by column, with one conversion per distinct Python type instead of psycopg's per-value
    dumper lookup; arrays as ``array_literal``. The text is what psycopg's text dumpers produce, so
    the rows stored are the same."""
    out: list[tuple[list[str | None], bool]] = []
    for typ, values in zip(types, data, strict=True):
        if (len(values) > 1 and values[-1] is values[0] and values.count(values[0]) == len(values)
                and len(set(map(id, values))) == 1):
            one = copy_columns([typ], [values[:1]])  # one object in every row: format it once
            if one is None:
                return None
            out.append((one[0][0] * len(values), True))
            continue
        present = set(map(type, values))
        kinds = present - {type(None)}
        text: list[Any]
        if typ.endswith("[]"):
            if not kinds <= {list, tuple}:
                return None
            text = _int_array_literals(values) or [array_literal(v) for v in values]
        elif not kinds <= _FORMATS.keys():
            return None
        elif kinds <= {str}:
            text = list(values)
        elif len(kinds) == 1 and kinds == present:
            text = list(map(_FORMATS[next(iter(kinds))], values))
        else:
            text = [v if v is None or type(v) is str else _FORMATS[type(v)](v) for v in values]
        out.append((text, is_constant(text)))
    return out


def _int_array_literals(values: Sequence[Any]) -> list[str | None] | None:
    """``array_literal`` of lists that hold only ints (page numbers), each distinct list formatted once;
    None when some element is not an int."""
    elements = set(map(type, chain.from_iterable(v for v in values if v is not None)))
    if not elements <= {int}:
        return None
    seen: dict[tuple[int, ...], str] = {}
    out: list[str | None] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        key = tuple(v)
        text = seen.get(key)
        if text is None:
            text = seen[key] = array_literal(key) or "{}"
        out.append(text)
    return out


def escape_copy_text(values: list[str | None]) -> list[str]:
    """COPY text format: backslash, newline, carriage return and tab escaped, NULL as ``\\N``."""
    joined = "\x00".join(filter(None, values))
    if any(c in joined for c in _COPY_SPECIALS):
        return [_NULL if v is None else v.translate(_COPY_ESCAPES) for v in values]
    return [_NULL if v is None else v for v in values]


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _replace_all(key: str, columns: Sequence[str]) -> str:
    keys = {k.strip() for k in key.split(",")}
    sets = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in keys)
    return f"ON CONFLICT ({key}) DO UPDATE SET {sets}"


_PG_ALIASES = {
    "timestamptz": "timestamp with time zone", "int8": "bigint", "int4": "integer", "int": "integer",
    "float8": "double precision", "decimal": "numeric", "varchar": "text", "character varying": "text",
    "bool": "boolean",
}


def pg_norm_type(t: str) -> str:
    """A PostgreSQL type spelled one way (``TIMESTAMPTZ`` == ``timestamp with time zone``)."""
    t = re.sub(r"\s+", " ", t.strip().lower())
    array = t.endswith("[]")
    base = t[:-2] if array else t
    base = re.sub(r"\s*,\s*", ",", base).replace(" (", "(")
    head, paren, tail = base.partition("(")
    head = _PG_ALIASES.get(head, head)
    return f"{head}{paren}{tail}" + ("[]" if array else "")
