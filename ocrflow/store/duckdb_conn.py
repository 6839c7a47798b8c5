"""A DuckDB store's hold on its file: opened when used, let go between batches, so that readers get in.

DuckDB lets one process open a file read-write, or any number of processes open it read-only, never both
at once (DuckDB's "Concurrency" page). A run used to hold its file from start to end, so the review page,
``ocrflow query`` and BI tools could not read during a run. Now:

- A writable store attaches the file when a method needs it and lets it go within ``POLL_S`` of a reader's
  knock or after ``IDLE_RELEASE_S`` without a call (the watcher thread; never in the middle of a method:
  every method runs under the store's lock), and after each batch write where the store asks
  (``DuckDBStore.release_after_batch``, off: see there).
- A reader (or a brief writer: a review decision) that meets the lock leaves a knock, a file in
  ``<db>.readers/``, and retries every ``POLL_S`` for up to ``OCRFLOW_STORE_WAIT_S`` (default
  ``READ_WAIT_S``); it keeps the knock until it closes, and the run waits for it to go before it takes the
  file back (a knock older than ``STALE_KNOCK_S``, a reader that died, is ignored).
  After the wait: a ``StoreError`` naming the holder. BI tools do not knock: they get in while the run
  idles.
- One ocrflow writer per file still: a writable store that is not brief holds ``<db>.writer.lock``
  (``fcntl.flock``) for its lifetime; a second one fails at once naming the first one's PID. Reopening
  between batches the run waits up to ``REOPEN_WAIT_S`` for readers to finish.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import duckdb

from ocrflow.store.base import StoreError

log = logging.getLogger(__name__)
_T = TypeVar("_T")

POLL_S = 0.02
"""How often a waiting opener retries, and how often the writer's watcher looks for knocks."""
READ_WAIT_S = 10.0
"""How long a reader (or a brief writer) waits for a busy file by default (``OCRFLOW_STORE_WAIT_S``)."""
OPEN_WAIT_S = 2.0
"""How long a writer waits for the file when it opens the store (another process's hold fails it soon)."""
REOPEN_WAIT_S = 120.0
"""How long a run waits for readers when it takes its file back between batches."""
IDLE_RELEASE_S = 0.5
"""A writer lets the file go after this long without a call."""
STALE_KNOCK_S = 30.0
"""A knock older than this is from a reader that died: ignored and removed."""


def read_wait_s() -> float:
    """``OCRFLOW_STORE_WAIT_S`` when set (seconds), else ``READ_WAIT_S``."""
    raw = os.environ.get("OCRFLOW_STORE_WAIT_S", "").strip()
    try:
        return max(0.0, float(raw)) if raw else READ_WAIT_S
    except ValueError:
        return READ_WAIT_S


def lock_message(path: str, holder: str | None, waited: float = 0.0) -> str:
    who = f"process {holder}" if holder else "another process"
    after = f" (waited {waited:.1f} s)" if waited >= 0.1 else ""
    return (f"DuckDB file {path} is locked by {who}{after} (DuckDB allows one writer per file). Wait for that run "
            f"to finish or stop it (kill {holder or '<pid>'}), or point --db/--store at another file. Readers "
            "(`ocrflow query`, the review page) get in between a run's batches; set OCRFLOW_STORE_WAIT_S to wait "
            "longer.")


def _holder(exc: Exception) -> str | None:
    pid = re.search(r"PID (\d+)", str(exc))
    return pid.group(1) if pid else None


def _busy(exc: Exception) -> bool:
    """The file is held: by another process (its lock) or by this one with another configuration."""
    text = str(exc).lower()
    return "lock" in text or "different configuration" in text or "already attached" in text


def readers_dir(path: str) -> Path:
    return Path(f"{path}.readers")


def knocked(path: str) -> bool:
    """Whether a live reader waits for the file (stale knocks are removed)."""
    try:
        entries = list(os.scandir(readers_dir(path)))
    except OSError:
        return False
    now = time.time()
    for entry in entries:
        try:
            if now - entry.stat().st_mtime < STALE_KNOCK_S:
                return True
            os.unlink(entry.path)
        except OSError:
            continue
    return False


def knock(path: str) -> Path | None:
    """Leave a knock for the writer; None where the folder cannot be written (the reader just waits)."""
    folder = readers_dir(path)
    try:
        folder.mkdir(exist_ok=True)
        mark = folder / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        mark.touch()
        return mark
    except OSError:
        return None


def unknock(mark: Path | None) -> None:
    if mark is not None:
        with contextlib.suppress(OSError):
            mark.unlink()


def retry_busy(path: str, opener: Callable[[], _T], *, wait_s: float, knock_when_busy: bool) -> tuple[_T, Path | None]:
    """(``opener()``, the knock it left or None): a busy file is retried every ``POLL_S`` for ``wait_s``."""
    started = time.monotonic()
    mark: Path | None = None
    try:
        while True:
            try:
                return opener(), mark
            except duckdb.Error as exc:
                if not _busy(exc):
                    raise StoreError(f"cannot open DuckDB file {path}: {' '.join(str(exc).split())}") from exc
                waited = time.monotonic() - started
                if waited >= wait_s:
                    raise StoreError(lock_message(path, _holder(exc), waited)) from exc
                if knock_when_busy and mark is None:
                    mark = knock(path)
                time.sleep(POLL_S)
    except BaseException:
        unknock(mark)
        raise


def open_file(path: str, *, read_only: bool, config: dict[str, Any], wait_s: float,
              knock_when_busy: bool) -> tuple[duckdb.DuckDBPyConnection, Path | None]:
    """(connection, the knock it left or None): a busy file is retried every ``POLL_S`` for ``wait_s``."""
    return retry_busy(path, lambda: duckdb.connect(path, read_only=read_only, config=config), wait_s=wait_s,
                      knock_when_busy=knock_when_busy)


class WriterLock:
    """``<db>.writer.lock``, flocked by the one ocrflow writer of the file (it holds its PID)."""

    def __init__(self, path: str) -> None:
        self.file: IO[str] | None = None
        lock = Path(f"{path}.writer.lock")
        handle = open(lock, "a+", encoding="utf-8")  # held open (and flocked) for the store's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or None
            handle.close()
            raise StoreError(lock_message(path, holder)) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self.file = handle

    def release(self) -> None:
        if self.file is not None:
            self.file.close()  # closing drops the flock
            self.file = None


CATALOG = "store"
"""The name the file is attached under in a releasing hold (``USE store``: unqualified names resolve there)."""
CHECKPOINT_WAL_BYTES = 8 * 1024 * 1024
"""A releasing hold checkpoints when it lets go of a WAL larger than this: a reader replays at most this much."""


class FileHold:
    """The store's connection to its file: ``connection()`` gives it, attaching the file when needed;
    ``release()`` lets the file go.

    A releasing hold (a run's store) keeps one in-memory DuckDB connection for its lifetime and ATTACHes the
    file to it when used, DETACHes it to let go: a few ms each way, where a new connection costs tens (its
    database instance), and without a checkpoint (``checkpoint_on_detach``) unless the WAL outgrew
    ``CHECKPOINT_WAL_BYTES``. Every store method runs under ``lock``; the watcher detaches only when it can
    take that lock, so never in the middle of a method. ``pin``/``unpin`` keep the file across a generator
    (``iter_rows``)."""

    def __init__(self, path: str, lock: threading.RLock, *, on_open: Callable[[duckdb.DuckDBPyConnection], None],
                 con: duckdb.DuckDBPyConnection | None = None) -> None:
        self.path, self.lock, self.on_open = path, lock, on_open
        self.releases = con is None
        """Whether the file is let go between uses (a run's store); else ``con`` is held until close."""
        self._con = con
        self._attached = con is not None
        self._pins = 0
        self._used = time.monotonic()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self.attaches = 0

    def connection(self, wait_s: float = REOPEN_WAIT_S) -> duckdb.DuckDBPyConnection:
        with self.lock:
            self._used = time.monotonic()
            if self._stop.is_set():
                raise StoreError(f"DuckDB store {self.path} is closed")
            if self._con is None:
                self._con = duckdb.connect(":memory:")
                self._con.execute("SET checkpoint_on_detach = 'DISABLED'")
                self.on_open(self._con)
            if not self._attached:
                self._wait_for_readers(wait_s)
                escaped = self.path.replace("'", "''")
                con = self._con
                retry_busy(self.path, lambda: con.execute(f"ATTACH '{escaped}' AS {CATALOG}"), wait_s=wait_s,
                           knock_when_busy=False)
                con.execute(f"USE {CATALOG}")
                self._attached = True
                self.attaches += 1
                self._watch()
            return self._con

    def _wait_for_readers(self, wait_s: float) -> None:
        """A reader that knocked keeps its knock until it is done: wait for that before taking the file back
        (else the run, calling again within ms, would take it before the reader's next try)."""
        deadline = time.monotonic() + wait_s
        while knocked(self.path) and time.monotonic() < deadline:
            time.sleep(POLL_S)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of its own on the store's database (pinned by the caller)."""
        cur = self.connection().cursor()
        if self.releases:
            cur.execute(f"USE {CATALOG}")
        return cur

    def pin(self) -> None:
        with self.lock:
            self._pins += 1

    def unpin(self) -> None:
        with self.lock:
            self._pins -= 1

    def release(self, *, checkpoint: bool = False) -> None:
        """Let the file go now (a releasing hold only, and not while a generator reads it); its WAL is
        checkpointed first when asked or when it outgrew ``CHECKPOINT_WAL_BYTES``."""
        with self.lock:
            if not self.releases or not self._attached or self._con is None or self._pins:
                return
            con, self._attached = self._con, False
            try:
                if checkpoint or _wal_bytes(self.path) > CHECKPOINT_WAL_BYTES:
                    con.execute(f"CHECKPOINT {CATALOG}")
            finally:
                con.execute("USE memory")
                con.execute(f"DETACH {CATALOG}")

    def close(self) -> None:
        """Stop the watcher and let the file go; a releasing hold checkpoints first (a failure is logged)."""
        self._stop.set()
        with self.lock:
            con, self._con = self._con, None
            if con is None:
                return
            try:
                if self.releases and (self._attached or _wal_bytes(self.path)):
                    self._final_checkpoint(con)
            finally:
                self._attached = False
                con.close()

    def _final_checkpoint(self, con: duckdb.DuckDBPyConnection) -> None:
        escaped = self.path.replace("'", "''")
        try:
            if not self._attached:
                retry_busy(self.path, lambda: con.execute(f"ATTACH '{escaped}' AS {CATALOG}"), wait_s=OPEN_WAIT_S,
                           knock_when_busy=False)
            con.execute(f"CHECKPOINT {CATALOG}")
        except (duckdb.Error, StoreError) as exc:  # committed batches stay in the WAL; the next open replays it
            log.warning("DuckDB file %s not checkpointed at close (its WAL keeps every committed batch and "
                        "is replayed on the next open): %s", self.path, " ".join(str(exc).split()))

    def _watch(self) -> None:
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._loop, name="ocrflow-duckdb-release", daemon=True)
            self._watcher.start()

    def _loop(self) -> None:
        while not self._stop.wait(POLL_S):
            if not self._attached:
                continue
            idle = time.monotonic() - self._used > IDLE_RELEASE_S
            if not (idle or knocked(self.path)) or not self.lock.acquire(blocking=False):
                continue
            try:
                if not self._stop.is_set():
                    self.release()
            except duckdb.Error as exc:  # the checkpoint failed: the WAL keeps the commits
                log.warning("DuckDB file %s: release failed: %s", self.path, " ".join(str(exc).split()))
            finally:
                self.lock.release()


def _wal_bytes(path: str) -> int:
    try:
        return os.path.getsize(f"{path}.wal")
    except OSError:
        return 0
