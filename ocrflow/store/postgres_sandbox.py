"""``ocrflow query`` on PostgreSQL: one query in a READ ONLY transaction, rolled back (``ocrflow.store.sandbox``)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from ocrflow.store.base import Columns, Rows, StoreError
from ocrflow.store.sandbox import check_statement

READER_ROLE = "pg_read_all_data"
_PRIVILEGED = """SELECT r.rolsuper OR pg_has_role(current_user, 'pg_read_server_files', 'MEMBER')
  OR pg_has_role(current_user, 'pg_write_server_files', 'MEMBER')
  OR pg_has_role(current_user, 'pg_execute_server_program', 'MEMBER'),
  EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pg_read_all_data')
FROM pg_roles r WHERE r.rolname = current_user"""


def drop_role_needed(conn: psycopg.Connection[Any]) -> bool:
    """Whether the login role can reach server files or programs, so that a query must run as
    ``pg_read_all_data``; a ``StoreError`` where that role does not exist (PostgreSQL before 14)."""
    row = conn.execute(_PRIVILEGED).fetchone()
    if not row or not row[0]:
        return False
    if not row[1]:
        raise StoreError("ocrflow query will not run as a role that can read or write the server's files "
                         "(superuser, pg_read_server_files, pg_write_server_files, pg_execute_server_program) on a "
                         "server without pg_read_all_data: connect as a read-only role")
    return True


def pg_read_query(conn: psycopg.Connection[Any], sql_text: str, params: list[Any] | None,
                  *, drop_role: bool) -> tuple[Columns, Rows]:
    """One query in a READ ONLY transaction that is rolled back, as ``pg_read_all_data`` when ``drop_role``."""
    check_statement(sql_text)
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        if drop_role:
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(READER_ROLE)))
        with conn.cursor() as cur:
            cur.execute(sql_text, params or None, prepare=True)  # prepared: exactly one statement
            cols = [d.name for d in (cur.description or [])]
            rows = cur.fetchall() if cur.description else []
        raise psycopg.Rollback()
    return cols, rows
