"""Transactions on a DuckDB connection, and writes the disk refused (full, quota, file size limit).

A COMMIT whose WAL write fails (EFBIG past ``RLIMIT_FSIZE``, ENOSPC, EDQUOT) ends the transaction
itself: DuckDB has rolled it back, and a second ROLLBACK would only replace the real error with
"no transaction is active". Such a refused write becomes a ``StoreError`` that says what to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from ocrflow.store.base import StoreError

_REFUSED = ("file too large", "no space left", "disk quota", "could not write")
"""How DuckDB words a write the file system refused."""


def refused_write(path: str, exc: duckdb.Error) -> StoreError | None:
    """A clear ``StoreError`` for a write the disk refused; None for any other error."""
    text = " ".join(str(exc).split())
    if not any(s in text.lower() for s in _REFUSED):
        return None
    return StoreError(f"cannot write DuckDB file {path}: the disk is full or a file size limit was reached "
                      f"({text}); nothing of the failed write was kept. Free space and run again")


@contextmanager
def refused_writes(path: str) -> Iterator[None]:
    """Re-raise a refused disk write as ``refused_write``'s ``StoreError``; other errors pass unchanged."""
    try:
        yield
    except duckdb.Error as exc:
        clear = refused_write(path, exc)
        if clear is None:
            raise
        raise clear from exc


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, path: str) -> Iterator[None]:
    """BEGIN ... COMMIT. On any error: ROLLBACK (unless the failed COMMIT already ended the transaction)
    and the original error, a refused write as a ``StoreError``."""
    with refused_writes(path):
        con.begin()
        try:
            yield
            con.commit()
        except BaseException:
            try:
                con.rollback()
            except duckdb.TransactionException:  # "no transaction is active": the COMMIT failed and ended it
                pass
            raise
