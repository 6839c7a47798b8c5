"""The tables, derived from the contracts per SQL dialect, and their evolution.

Both stores create and evolve their schema with :func:`schema_ddl` (they differ only in how they
read a table's columns and how they run DDL), and cache column types with :class:`ColumnTypes`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from ocrflow.contracts import Contract, FieldSpec
from ocrflow.contracts.identifiers import column_problems, contract_identifier_problems, identifier_problem
from ocrflow.store.base import SchemaChangeError, StoreError
from ocrflow.store.corrections import corrections_ddl
from ocrflow.store.dialect import Dialect, quote_ident, sql_dialect
from ocrflow.store.evidence import evidence_ddl
from ocrflow.store.memory import memory_ddl
from ocrflow.store.paths import added_columns_ddl, document_paths_ddl
from ocrflow.store.review_schema import review_columns_ddl

LINEAGE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # name, duckdb type, postgres type
    ("doc_sha256", "VARCHAR", "TEXT"),
    ("source_path", "VARCHAR", "TEXT"),
    ("page_numbers", "INTEGER[]", "INTEGER[]"),
    ("engine", "VARCHAR", "TEXT"),
    ("model", "VARCHAR", "TEXT"),
    ("prompt_version", "VARCHAR", "TEXT"),
    ("contract_name", "VARCHAR", "TEXT"),
    ("contract_version", "VARCHAR", "TEXT"),
    ("flow_run_id", "VARCHAR", "TEXT"),
    ("extracted_at", "TIMESTAMP", "TIMESTAMPTZ"),
    ("raw_values", "JSON", "JSONB"),
)


def field_sql_type(f: FieldSpec, dialect: Dialect) -> str:
    d = sql_dialect(dialect)
    phys = f.physical_type.upper().strip()
    if f.kind in ("money",) or phys.startswith(("DECIMAL", "NUMERIC")):
        m = re.match(r"(?:DECIMAL|NUMERIC)\((\d+),\s*(\d+)\)", phys)
        p, s = (m.group(1), m.group(2)) if m else ("18", "2")
        return f"{d.pick('DECIMAL', 'NUMERIC')}({p},{s})"
    if f.kind == "date" or phys == "DATE":
        return "DATE"
    if f.kind == "list" or phys.endswith("[]"):
        return f"{d.text}[]"
    if f.kind == "integer":
        return "BIGINT"
    if f.kind == "number":
        return d.double
    return d.text


def table_name(contract: Contract) -> str:
    """The clean table; a major version above 1 gets its own table (``invoice_v2``)."""
    base = contract.table
    return base if contract.major <= 1 else f"{base}_v{contract.major}"


def contract_columns(contract: Contract, dialect: Dialect) -> list[tuple[str, str]]:
    cols = [(f.name, field_sql_type(f, dialect)) for f in contract.fields]
    d = sql_dialect(dialect)
    return [*cols, *((name, d.pick(duck, pg)) for name, duck, pg in LINEAGE_COLUMNS)]


def date_field(contract: Contract) -> str | None:
    """The first DATE field of a contract (the export partitions by its month)."""
    for f in contract.fields:
        if field_sql_type(f, "duckdb") == "DATE":
            return f.name
    return None


KEYS_BY_CONSTRAINT: dict[Dialect, bool] = {"duckdb": False, "postgres": True}
"""Whether ``documents`` and the clean tables carry a PRIMARY KEY constraint in that dialect.

PostgreSQL: yes; concurrent writers rely on it (``ON CONFLICT``, row locks). DuckDB: no. A DuckDB
file has exactly one writer (its file lock), and that writer keeps the keys unique itself: every
load is DELETE of the batch's keys + INSERT of distinct keys, every ``documents`` upsert is UPDATE
+ INSERT of the absent keys, each in one transaction; ``DuckDBStore.key_problems`` checks the
result at the end of every run. The constraint's ART index over a 64-character text key cost more
than half of a bulk load's time (BENCHMARKS.md, bench_load), and DuckDB's own performance guide
advises against constraints that are not needed for integrity. The smaller tables (pages,
quarantine, runs, page_cache) keep their PRIMARY KEYs in both dialects."""


def contract_ddl(contract: Contract, dialect: Dialect) -> str:
    """CREATE TABLE of a contract's clean table; any identifier that is not plain is quoted (:func:`ident`;
    :func:`schema_ddl` refuses such names before this is called)."""
    cols = ",\n  ".join(f"{ident(name)} {typ}" for name, typ in contract_columns(contract, dialect))
    key = ",\n  PRIMARY KEY (doc_sha256)" if KEYS_BY_CONSTRAINT[dialect] else ""
    return f"CREATE TABLE IF NOT EXISTS {ident(table_name(contract))} (\n  {cols}{key}\n)"


class IdentifierError(StoreError):
    """A contract names a table or column that is not a safe SQL identifier; nothing was created."""


def identifier_problems(contracts: Sequence[Contract]) -> list[str]:
    """Every unsafe name of ``contracts`` (see :mod:`ocrflow.contracts.identifiers`), checked here again
    against the lineage columns this module adds, and clean tables two contracts would share."""
    lineage = [name for name, *_ in LINEAGE_COLUMNS]
    problems: list[str] = []
    owners: dict[str, str] = {}
    for contract in contracts:
        problems += contract_identifier_problems(contract)
        problems += column_problems(contract.field_names, lineage, f"contract {contract.name!r}: field name")
        table = table_name(contract)
        if table in owners and owners[table] != contract.name:
            problems.append(f"contracts {owners[table]!r} and {contract.name!r} both use table {table!r}")
        owners.setdefault(table, contract.name)
    return list(dict.fromkeys(problems))


def check_identifiers(contracts: Sequence[Contract]) -> None:
    """Raise :class:`IdentifierError` listing every unsafe name, before any SQL is built or run."""
    problems = identifier_problems(contracts)
    if problems:
        raise IdentifierError("refused before any table was created: " + "; ".join(problems))


def base_ddl(dialect: Dialect) -> list[str]:
    d = sql_dialect(dialect)
    ts, js, txt, dbl = d.timestamp, d.json, d.text, d.double
    key = "PRIMARY KEY" if KEYS_BY_CONSTRAINT[dialect] else "NOT NULL"
    return [
        f"""CREATE TABLE IF NOT EXISTS documents (
  sha256 {txt} {key}, path {txt} NOT NULL, mime {txt}, size_bytes BIGINT, pages INTEGER,
  state {txt} NOT NULL, contract {txt}, error {txt}, attempts INTEGER DEFAULT 0,
  first_seen {ts}, updated_at {ts}, run_id {txt}, claimed_by {txt}, claim_expires {ts}, error_code {txt},
  pages_read INTEGER, path_raw {txt}, einvoice_syntax {txt}, einvoice_profile {txt})""",
        *added_columns_ddl(dialect),
        document_paths_ddl(dialect),
        f"""CREATE TABLE IF NOT EXISTS pages (
  doc_sha256 {txt} NOT NULL, page_no INTEGER NOT NULL, path_taken {txt} NOT NULL, engine {txt},
  model {txt}, prompt_version {txt}, width INTEGER, height INTEGER, text {txt}, lines {js},
  render_s {dbl}, ocr_s {dbl}, prompt_tokens INTEGER, completion_tokens INTEGER, is_fallback BOOLEAN,
  note {txt}, run_id {txt}, created_at {ts}, PRIMARY KEY (doc_sha256, page_no))""",
        f"""CREATE TABLE IF NOT EXISTS quarantine (
  doc_sha256 {txt} PRIMARY KEY, contract {txt}, contract_version {txt}, source_path {txt},
  reasons {js}, "values" {js}, raw_values {js}, engine {txt}, model {txt}, prompt_version {txt},
  flow_run_id {txt}, quarantined_at {ts})""",
        f"""CREATE TABLE IF NOT EXISTS runs (
  run_id {txt} PRIMARY KEY, flow_run_id {txt}, started_at {ts}, finished_at {ts}, status {txt},
  engine {txt}, contract {txt}, inputs {js}, documents INTEGER, pages INTEGER, loaded INTEGER,
  quarantined INTEGER, failed INTEGER, pending INTEGER, skipped INTEGER, seconds {dbl}, message {txt},
  data_docs {txt})""",
        f"""CREATE TABLE IF NOT EXISTS page_cache (
  cache_key {txt} PRIMARY KEY, result {js}, created_at {ts})""",
        *corrections_ddl(dialect),
        evidence_ddl(dialect),
        *memory_ddl(dialect),  # issuer memory and documents.issuer_id (ocrflow.store.memory)
        *review_columns_ddl(dialect),  # review's evidence and correction columns (issue 20)
    ]


# --------------------------------------------------------------------------- schema evolution
def duckdb_norm_type(t: str) -> str:
    """A DuckDB type spelled one way (``TEXT`` == ``VARCHAR``)."""
    t = t.upper().replace(" ", "")
    return {"TEXT": "VARCHAR", "STRING": "VARCHAR", "INT8": "BIGINT", "FLOAT8": "DOUBLE"}.get(t, t)


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


NORM_TYPE: dict[Dialect, Callable[[str], str]] = {"duckdb": duckdb_norm_type, "postgres": pg_norm_type}
"""How each dialect's catalog spells a type, made comparable with the types the DDL asks for."""


def columns_to_add(contract: Contract, existing: dict[str, str], dialect: Dialect) -> list[tuple[str, str]]:
    """Schema evolution for an existing contract table, decided before anything is altered.

    Returns the new optional columns to add. Raises SchemaChangeError naming the field for a breaking
    change: a removed or renamed field, a changed type, or a new required field (existing rows have no
    value for it). A breaking change needs a new major version, which gets its own table.
    """
    norm = NORM_TYPE[dialect]
    table = table_name(contract)
    wanted = contract_columns(contract, dialect)
    where = f"contract {contract.name} {contract.version}"
    removed = sorted(set(existing) - {n for n, _ in wanted})
    if removed:
        raise SchemaChangeError(f"{where}: field(s) {removed} were removed or renamed but table {table} still has "
                                "them; a breaking change needs a new major version")
    required = {f.name for f in contract.fields if f.required}
    add: list[tuple[str, str]] = []
    for name, typ in wanted:
        have = existing.get(name)
        if have is None:
            if name in required:
                raise SchemaChangeError(f"{where}: new field {name!r} is required; existing rows in {table} have no "
                                        "value for it. Make it optional or bump the major version")
            add.append((name, typ))
        elif norm(have) != norm(typ):
            raise SchemaChangeError(f"{where}: field {name!r} changed type from {have} to {typ}; a breaking change "
                                    f"needs a new major version (a new table {table}_vN)")
    return add


def ident(name: str) -> str:
    """``name`` as SQL: as it is when it is a plain identifier (snake_case, not a reserved word: then quoting
    it changes nothing in either dialect), else quoted. Never raw SQL text."""
    return name if identifier_problem(name, "name") is None else quote_ident(name)


def schema_ddl(contracts: Sequence[Contract], dialect: Dialect,
               existing_columns: Callable[[str], dict[str, str]]) -> Iterator[str]:
    """The DDL that brings a store's schema to ``contracts``, statement by statement, to run in order.

    Every contract's names are validated first (:func:`check_identifiers`: nothing runs when one is
    unsafe). Then the base tables, then per contract its CREATE TABLE, or for a table that exists the ADD COLUMNs
    of ``columns_to_add`` (which raises ``SchemaChangeError`` before any of that table's). Lazy: a
    contract's table is looked up (``existing_columns``: name -> type, empty when there is no such
    table) only once the statements before it have been run.
    """
    check_identifiers(contracts)
    yield from base_ddl(dialect)
    for contract in contracts:
        table = table_name(contract)
        existing = existing_columns(table)
        if not existing:
            yield contract_ddl(contract, dialect)
            continue
        for name, typ in columns_to_add(contract, existing, dialect):
            yield f"ALTER TABLE {quote_ident(table)} ADD COLUMN {quote_ident(name)} {typ}"


class ColumnTypes:
    """Tables' column types, read from the catalog once and cached until ``clear`` (``init_schema``,
    the only place that alters tables, clears it)."""

    def __init__(self, read: Callable[[str], dict[str, str]]) -> None:
        self._read = read
        self._tables: dict[str, dict[str, str]] = {}

    def clear(self) -> None:
        self._tables.clear()

    def of(self, table: str, columns: Sequence[str]) -> list[str]:
        """The types of ``columns`` of ``table``, in that order."""
        have = self._tables.get(table)
        if have is None:
            have = self._tables[table] = self._read(table)
        return [have[c] for c in columns]
