"""A run in a child process with one store fault injected, for tests/faults/test_store_faults*.py.

``python -m tests.support.store_driver fsize BATCHES -- ARGS``: ``ocrflow ARGS`` (the real command line)
whose files stop growing once ``BATCHES`` batches are written: then ``RLIMIT_FSIZE`` is set to the
WAL's size plus one and a half batches' growth (SIGXFSZ ignored, so a write past the cap fails
with EFBIG, as on a full disk, instead of killing the process). The next batch still fits; the one
after it fails inside its COMMIT, in the middle of the run. (Measured rather than a fixed byte count,
so the cap stays mid-run when the schema grows.)

``python -m tests.support.store_driver block BATCH READY STORE INBOX``: a run of ``INBOX`` into ``STORE``
(two documents per batch, claims expiring after 2 s) whose ``BATCH``-th batch write stops inside its
transaction, after its rows, lines and document states and before the evidence and COMMIT: it
creates the file ``READY`` and waits there for ever (the test SIGKILLs it).
"""

from __future__ import annotations

import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any

BATCH_SIZE = 2
CLAIM_TTL_S = 2.0


def _fsize(batches: int, args: list[str]) -> int:
    from ocrflow.cli import app
    from ocrflow.store.duckdb_store import DuckDBStore

    real = DuckDBStore.write_batch
    sizes: list[int] = []

    def write_batch(self: DuckDBStore, batch: Any, contracts: Any) -> None:
        wal = Path(f"{self.path}.wal")
        if batch.documents and not sizes:
            sizes.append(wal.stat().st_size if wal.exists() else 0)
        real(self, batch, contracts)
        if batch.documents:
            sizes.append(wal.stat().st_size)
            if len(sizes) == batches + 1:
                cap = sizes[-1] + (sizes[-1] - sizes[0]) * 3 // (2 * batches)
                resource.setrlimit(resource.RLIMIT_FSIZE, (cap, resource.RLIM_INFINITY))
                print(f"[driver] {batches} batches written; files capped at {cap} bytes", file=sys.stderr)

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    DuckDBStore.write_batch = write_batch  # type: ignore[method-assign]
    try:
        app(args, prog_name="ocrflow")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def _block(batch: int, ready: Path, store_url: str, inbox: str) -> int:
    import ocrflow.store.writer as writer
    from ocrflow.core.settings import load_settings
    from ocrflow.engines.embedded import EmbeddedEngine
    from ocrflow.run.files_work import run_files
    from ocrflow.run.lifecycle import RunOptions
    from ocrflow.store import open_store

    writes = 0

    def blocking(real: Any) -> Any:
        def evidence(target: Any, batch_: Any, now: Any) -> Any:
            nonlocal writes
            writes += bool(batch_.documents)  # not the paths-only write of registration
            if writes == batch:
                ready.write_text("inside the write transaction\n")
                while True:
                    time.sleep(60)
            return real(target, batch_, now)
        return evidence

    writer.write_evidence = blocking(writer.write_evidence)  # the batch writer's step on both stores
    store = open_store(store_url)
    try:
        settings = load_settings(store=store_url, engine="embedded", documents_in_flight=1)
        run_files([inbox], settings, store, EmbeddedEngine(),
                  options=RunOptions(batch_size=BATCH_SIZE, claim_ttl_s=CLAIM_TTL_S, data_docs=False))
    finally:
        store.close()
    return 0


def main(argv: list[str]) -> int:
    if argv[0] == "fsize" and argv[2] == "--":
        return _fsize(int(argv[1]), argv[3:])
    if argv[0] == "block":
        return _block(int(argv[1]), Path(argv[2]), argv[3], argv[4])
    raise SystemExit(f"usage: see {__doc__}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
