"""Plan a run: discover the inputs, drop what already reached a final state, register the rest."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from ocrflow.core.models import DocState, DocumentRef
from ocrflow.core.settings import Settings
from ocrflow.run.discover import InputLimits, Rejected, raw_path, scan
from ocrflow.store.base import Batch, DocumentUpdate, Store

log = logging.getLogger("ocrflow")


@dataclass(slots=True)
class Plan:
    todo: list[DocumentRef]
    skipped: list[DocumentRef]
    rejected: list[Rejected]
    paths: list[tuple[str, str, str | None]] = field(default_factory=list)
    """(sha256, shown path, raw path) of every path found, duplicates included (``document_paths``)."""
    duplicates: int = 0
    """Paths beyond the first per document: the same bytes under another name."""


def input_limits(settings: Settings) -> InputLimits:
    return InputLimits(max_file_bytes=settings.max_file_bytes,
                       follow_symlinks_outside_root=settings.follow_symlinks_outside_root)


def _as_ref(rejected: Rejected) -> DocumentRef:
    return DocumentRef(path=rejected.path, sha256=rejected.sha256, mime="application/octet-stream",
                       size_bytes=rejected.size_bytes, fs_path=rejected.fs_path)


def plan(inputs: Iterable[str], store: Store, *, glob: str = "**/*", force: bool = False,
         limits: InputLimits | None = None) -> Plan:
    """Discover inputs and drop documents whose hash already reached a final state (unless forced)."""
    found = scan(inputs, glob, limits)
    docs = [d for d in found.items if isinstance(d, DocumentRef)]
    rejected = [d for d in found.items if isinstance(d, Rejected)]
    done = set() if force else store.final_hashes([d.sha256 for d in docs])
    todo = [d for d in docs if d.sha256 not in done]
    skipped = [d for d in docs if d.sha256 in done]
    if rejected and not force:
        final = store.final_hashes([r.sha256 for r in rejected])
        # refused in an earlier run and recorded failed then: skipped like any final document, and counted
        skipped += [_as_ref(r) for r in rejected if r.sha256 in final]
        rejected = [r for r in rejected if r.sha256 not in final]
    return Plan(todo=todo, skipped=skipped, rejected=rejected, paths=found.paths, duplicates=found.duplicates)


def pending_updates(todo: list[DocumentRef]) -> list[DocumentUpdate]:
    return [DocumentUpdate(d.sha256, d.path, d.mime, d.size_bytes, DocState.PENDING, path_raw=raw_path(d.fs_path))
            for d in todo]


def rejected_updates(rejected: list[Rejected]) -> list[DocumentUpdate]:
    return [DocumentUpdate(r.sha256, r.path, "application/octet-stream", r.size_bytes, DocState.FAILED,
                           error=r.reason, error_code=r.code.value, pages_read=0, path_raw=raw_path(r.fs_path))
            for r in rejected]


def register_plan(store: Store, plan_: Plan, run_id: str, *, force: bool) -> None:
    """Record every discovered document: to-do ones pending, rejected ones failed with the reason and code,
    and every path of every document (skipped ones too: a known document under a new name is recorded).

    A finished document is never turned back into pending by a late worker, except when the run was
    forced (then it must become claimable again to be re-processed).
    """
    store.register(pending_updates(plan_.todo) + rejected_updates(plan_.rejected), run_id, keep_final=not force)
    if plan_.paths:
        try:
            store.write_batch(Batch(run_id=run_id, paths=plan_.paths), {})
        except Exception as exc:  # noqa: BLE001 - logged; a store that takes no writes stops the batch loop
            log.warning("the %d paths of run %s were not recorded in document_paths: %s: %s", len(plan_.paths),
                        run_id, type(exc).__name__, exc)
