"""Document claims on PostgreSQL: each document goes to one of several concurrent workers.

Functions of the store's connection (``PostgresStore`` calls them under its lock).
"""

from __future__ import annotations

from typing import Any

import psycopg

from ocrflow.store.base import FINAL_STATES

_CLAIM = """WITH free AS (
      SELECT sha256 FROM documents WHERE sha256 = ANY(%(hashes)s) AND state <> ALL(%(final)s)
        AND (claimed_by IS NULL OR claim_expires IS NULL OR claim_expires < now()
             OR claimed_by = %(worker)s)
      ORDER BY sha256 FOR UPDATE SKIP LOCKED)
    UPDATE documents d SET claimed_by = %(worker)s,
      claim_expires = now() + make_interval(secs => %(ttl)s)
    FROM free WHERE d.sha256 = free.sha256 RETURNING d.sha256"""


def claim(conn: psycopg.Connection[Any], hashes: list[str], worker: str, ttl_s: float) -> set[str]:
    """Claim the documents among ``hashes`` that are registered, not final, and free (or expired or ours).

    ``SELECT ... FOR UPDATE SKIP LOCKED`` + ``UPDATE ... RETURNING`` in one statement: a row that
    another worker is claiming or writing right now is skipped (never waited for, so no deadlocks),
    and the condition is re-checked on the locked row, so each document goes to exactly one worker.
    """
    if not hashes:
        return set()
    rows = conn.execute(_CLAIM, {"hashes": hashes, "worker": worker, "ttl": float(ttl_s),
                                 "final": [s.value for s in FINAL_STATES]}).fetchall()
    return {str(r[0]) for r in rows}
