"""The one place where DuckDB's and PostgreSQL's SQL differ: placeholders, lists, upserts, types, JSON.

Everything else in ``ocrflow.store`` writes SQL that both dialects read the same way and asks the
store's :class:`SqlDialect` (``store.sql``) for the pieces that differ:

=====================  ==============================  ===================================
                       DuckDB                          PostgreSQL
=====================  ==============================  ===================================
placeholder            ``?``                           ``%s``
a column in a list     ``x IN (SELECT UNNEST(?))``     ``x = ANY(%s)``
replace a whole row    ``INSERT OR REPLACE INTO``      ``INSERT ... ON CONFLICT DO UPDATE``
insert column arrays   ``SELECT UNNEST(?::T[]), ...``  ``SELECT ... FROM unnest(%s::T[], ...)``
JSON column read back  text                            parsed (JSONB)
timestamps             naive UTC                       aware UTC (``TIMESTAMPTZ``)
=====================  ==============================  ===================================

Identifiers are quoted the same way in both (:func:`quote_ident`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

Dialect = Literal["duckdb", "postgres"]
ANY_LIMIT = 2048
"""Lists up to this long are looked up through an index in DuckDB (its ``index_scan_max_count``)."""


def quote_ident(name: str) -> str:
    """A quoted SQL identifier (the same in DuckDB and PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


def decode_json(value: Any, default: Any) -> Any:
    """A JSON column as Python: DuckDB returns text, PostgreSQL JSONB returns parsed values."""
    if value is None:
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return default
    return value


@dataclass(frozen=True, slots=True)
class SqlDialect:
    """What one dialect spells its own way; every store holds one as ``store.sql``."""

    name: Dialect
    mark: str
    """The query placeholder of the driver (DuckDB ``?``, psycopg ``%s``)."""
    text: str
    timestamp: str
    json: str
    double: str

    def marks(self, n: int) -> str:
        """``n`` placeholders, comma-separated."""
        return ", ".join([self.mark] * n)

    def in_list(self, column: str, size: int | None = None) -> str:
        """``column`` is one of a list passed as one parameter. A list of at most ``ANY_LIMIT`` (``size``, where
        the caller gives it) is ``= ANY(?)`` in DuckDB too, which it looks up in an index on ``column`` (a
        batch's rows in a large table: issue 21); a longer one is a join (one pass over the table, where
        thousands of index lookups would cost more)."""
        if self.name == "duckdb" and (size is None or size > ANY_LIMIT):
            return f"{column} IN (SELECT UNNEST({self.mark}))"
        return f"{column} = ANY({self.mark})"

    def not_in_list(self, column: str) -> str:
        """``column`` is none of a list passed as one parameter."""
        if self.name == "duckdb":
            return f"{column} NOT IN (SELECT UNNEST({self.mark}))"
        return f"{column} <> ALL({self.mark})"

    def pick(self, duckdb: str, postgres: str) -> str:
        """The type (or text) of this dialect out of a (DuckDB, PostgreSQL) pair."""
        return duckdb if self.name == "duckdb" else postgres

    def upsert(self, table: str, columns: Sequence[str], key: Sequence[str], *, also: str = "") -> str:
        """INSERT of one row (``columns``, placeholders) replacing the row with the same ``key``.

        DuckDB: ``INSERT OR REPLACE`` (columns not named become NULL); PostgreSQL: ``ON CONFLICT (key)
        DO UPDATE`` of the named columns, plus ``also`` (e.g. ``finished_at = NULL``)."""
        cols = ", ".join(quote_ident(c) for c in columns)
        values = f"({cols}) VALUES ({self.marks(len(columns))})"
        if self.name == "duckdb":
            return f"INSERT OR REPLACE INTO {table} {values}"
        sets = ", ".join(f"{quote_ident(c)} = excluded.{quote_ident(c)}" for c in columns if c not in key)
        return (f"INSERT INTO {table} {values} ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}"
                f"{', ' + also if also else ''}")

    def insert_arrays(self, table: str, columns: Sequence[tuple[str, str]], *, conflict: str = "") -> str:
        """INSERT of many rows given as one array parameter per column (``columns``: name, type in this
        dialect); JSON columns travel as text. ``conflict``: an ``ON CONFLICT ...`` clause (both dialects
        read it the same way)."""
        names = ", ".join(quote_ident(n) for n, _ in columns)
        tail = f" {conflict}" if conflict else ""
        if self.name == "duckdb":
            arrays = ", ".join(f"UNNEST({self.mark}::{'VARCHAR' if t == 'JSON' else t}[])" for _, t in columns)
            return f"INSERT INTO {table} ({names}) SELECT {arrays}{tail}"
        arrays = ", ".join(f"{self.mark}::{'text' if t.upper() == 'JSONB' else t}[]" for _, t in columns)
        casts = ", ".join(f"{quote_ident(n)}::jsonb" if t.upper() == "JSONB" else quote_ident(n) for n, t in columns)
        return f"INSERT INTO {table} ({names}) SELECT {casts} FROM unnest({arrays}) AS s ({names}){tail}"

    def array_params(self, columns: Sequence[tuple[str, str]], data: list[list[Any]]) -> list[list[Any]]:
        """The column arrays of :meth:`insert_arrays` as this driver binds them: PostgreSQL gets naive
        timestamps as UTC (the session's zone: the values stored are the same)."""
        if self.name == "duckdb":
            return data
        out = list(data)
        for i, (_, typ) in enumerate(columns):
            if typ.upper() == "TIMESTAMPTZ":
                out[i] = [v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v
                          for v in data[i]]
        return out

    def to_timestamp(self, ts: datetime) -> datetime:
        """A timestamp as this dialect stores it: DuckDB naive, PostgreSQL aware (naive taken as UTC)."""
        if self.name == "duckdb":
            return ts.replace(tzinfo=None)
        return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)

    def now(self) -> datetime:
        """Now, in UTC, as this dialect stores timestamps."""
        return self.to_timestamp(datetime.now(UTC))


DUCKDB = SqlDialect("duckdb", "?", text="VARCHAR", timestamp="TIMESTAMP", json="JSON", double="DOUBLE")
POSTGRES = SqlDialect("postgres", "%s", text="TEXT", timestamp="TIMESTAMPTZ", json="JSONB", double="DOUBLE PRECISION")
DIALECTS: dict[Dialect, SqlDialect] = {"duckdb": DUCKDB, "postgres": POSTGRES}


def sql_dialect(name: Dialect) -> SqlDialect:
    """The :class:`SqlDialect` named ``name``."""
    return DIALECTS[name]
