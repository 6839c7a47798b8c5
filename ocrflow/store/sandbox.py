"""The user's own SQL (``ocrflow query``), read-only for real on both stores.

DuckDB: the file is opened read-only with ``enable_external_access = false`` (no ``COPY ... TO`` a file, no
``read_csv``/``read_text``/``glob`` of the file system, no ``ATTACH`` of another file, no ``INSTALL``/``LOAD``),
extensions neither installed nor loaded on their own, and ``lock_configuration = true``: no ``SET``/``RESET``
can take any of it back (DuckDB's "Securing DuckDB" page).

PostgreSQL: one statement per call (the extended protocol refuses ``SELECT 1; DELETE ...``), and it must be a
query (``SELECT``, ``WITH``, ``VALUES``, ``TABLE``, ``SHOW``, ``EXPLAIN``); it runs in a ``READ ONLY``
transaction that is always rolled back, so a ``set_config`` or a large object it made is gone after it. A
role that can reach the server's files or programs (a superuser, ``pg_read_server_files``,
``pg_write_server_files``, ``pg_execute_server_program``) is dropped for the statement to
``pg_read_all_data`` (it reads every table and nothing else), and a statement that could take the role
back from inside a query (``set_config``, the functions that run SQL given as text, ``U&`` escapes) is
refused. The boundary
that cannot be talked around is a login role without those rights: give ``ocrflow query`` one
(docs/scaling.md, "Readers during a run").
"""

from __future__ import annotations

import re
from typing import Any

from ocrflow.store.base import StoreError

DUCKDB_SANDBOX: dict[str, Any] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "lock_configuration": True,  # last: nothing set above can be changed by the query
}
"""DuckDB configuration of a connection that runs the user's SQL (read-only as well)."""

READ_STATEMENTS = frozenset({"select", "with", "values", "table", "show", "explain"})
_COMMENT = re.compile(r"\s+|--[^\n]*(?:\n|$)|/\*.*?\*/", re.S)
_ESCAPES = re.compile(r"set_config|query_to_xml|cursor_to_xml|ts_stat|ts_rewrite|\bu&\s*['\"]", re.I)
"""What could take the role back from inside one query: ``set_config('role', ...)``, the core functions that run
SQL given as text (planned after an earlier ``set_config`` ran), and ``U&`` escapes that could spell either."""


class RefusedQuery(StoreError):
    """The user's SQL is not a single read: nothing of it ran."""


def first_keyword(sql_text: str) -> str:
    """The statement's first word, lower case, after comments, blanks and opening parentheses."""
    at = 0
    while True:
        m = _COMMENT.match(sql_text, at)
        if m is None or m.end() == at:
            break
        at = m.end()
    word = re.match(r"\(*\s*([A-Za-z]+)", sql_text[at:])
    return word.group(1).lower() if word else ""


def check_statement(sql_text: str) -> None:
    """Refuse SQL that is not one query, or that could change the session's role from inside one."""
    word = first_keyword(sql_text)
    if word not in READ_STATEMENTS:
        raise RefusedQuery(f"ocrflow query runs reads only ({', '.join(sorted(READ_STATEMENTS))}); "
                           f"refused a statement starting with {word.upper() or 'nothing'!r}")
    if _ESCAPES.search(sql_text):
        raise RefusedQuery("ocrflow query refuses set_config, functions that run SQL given as text "
                           "(query_to_xml, ts_stat, ...) and U& escapes: they could change the role the query runs as")
