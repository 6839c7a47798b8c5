"""Document claims: how runs that share a store split an inbox (PostgreSQL); a no-op on a one-writer store."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence

from ocrflow.core.models import DocumentRef
from ocrflow.store.base import Store


def claim_docs(store: Store, docs: Sequence[DocumentRef], worker: str, ttl_s: float) -> list[DocumentRef]:
    """The documents of ``docs`` this worker now owns (all of them for a single-writer store).

    A claim only succeeds on a document that is not final and not claimed by a live worker, so two
    runs on the same inbox split the work and a document finished elsewhere is never redone. A DuckDB
    file has one writer, enforced by its lock: holding it, any claim in the file belongs to a dead run,
    and honouring it would only leave those documents pending until the TTL runs out.
    """
    if not docs or not store.shares_writes():
        return list(docs)
    got = set(store.claim([d.sha256 for d in docs], worker, ttl_s))
    return [d for d in docs if d.sha256 in got]


def release_docs(store: Store, docs: Sequence[DocumentRef], worker: str) -> None:
    """Give back claims (documents left pending become claimable at once instead of after the TTL)."""
    if docs and store.shares_writes():
        store.release([d.sha256 for d in docs], worker)


def worker_id(run_id: str = "") -> str:
    """Who holds a document claim: host, process and run (unique per run, readable in the table)."""
    return f"{socket.gethostname()}:{os.getpid()}:{(run_id or 'local')[:8]}"
