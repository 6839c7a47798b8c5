"""Opening the store for the review app: read-only per request for browsing, writable briefly for a decision.

A DuckDB file has one writer. Browsing opens the file read-only and closes it at the end of the request,
so the app never holds the lock a run needs; an approval or rejection opens it writable for the length
of one write (a brief writer: it waits its turn between a run's batches). A run lets its file go between
batches and within moments of a waiting reader's knock; an open that meets the lock retries for
``OCRFLOW_STORE_WAIT_S`` (default 10 s, ``ocrflow.store.duckdb_conn``) and then fails with the store's lock
message (which names the holder's PID) as :class:`StoreBusy`. PostgreSQL has no such limit; a connection
per request is opened the same way. Within the app process every open is serialized: DuckDB refuses one
process holding the same file read-only and writable at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ocrflow.contracts import Contract
from ocrflow.store import Store, StoreError, open_store


class StoreBusy(StoreError):
    """The store cannot be opened now (a DuckDB file held by a run); the message names the holder."""


@dataclass(slots=True)
class StoreAccess:
    """How the app reaches the store: its URL, and one lock for the opens of this process."""

    url: str
    contracts: dict[str, Contract]
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def read(self) -> Iterator[Store]:
        """A read-only store for the length of one request."""
        with self._lock:
            store = self._open(read_only=True)
            try:
                yield store
            finally:
                store.close()

    @contextmanager
    def write(self) -> Iterator[Store]:
        """A writable store for one decision; the schema is brought up to date first (corrections table)."""
        with self._lock:
            store = self._open(read_only=False)
            try:
                store.init_schema(list(self.contracts.values()))
                yield store
            finally:
                store.close()

    def prepare(self) -> None:
        """Bring the schema of a store an older release made up to date once (the review's columns and tables),
        when it can be opened writable now; a file a run holds gets them from the run's own ``init_schema``."""
        if "://" not in self.url and not Path(self.url).exists():
            return  # no store yet: the pages say so
        try:
            with self.write():
                pass
        except StoreError:
            return

    def _open(self, *, read_only: bool) -> Store:
        try:
            return open_store(self.url, read_only=read_only, brief=not read_only)
        except StoreError as exc:
            if "locked by" in str(exc):
                raise StoreBusy(str(exc)) from exc
            raise
