"""Plan a run: discover the inputs, drop what already reached a final state, register the rest."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ocrflow.discover import Rejected, discover
from ocrflow.models import DocState, DocumentRef
from ocrflow.store.base import DocumentUpdate, Store


@dataclass(slots=True)
class Plan:
    todo: list[DocumentRef]
    skipped: list[DocumentRef]
    rejected: list[Rejected]


def plan(inputs: Iterable[str], store: Store, *, glob: str = "**/*", force: bool = False) -> Plan:
    """Discover inputs and drop documents whose hash already reached a final state (unless forced)."""
    found = list(discover(inputs, glob))
    docs = [d for d in found if isinstance(d, DocumentRef)]
    rejected = [d for d in found if isinstance(d, Rejected)]
    done = set() if force else store.final_hashes([d.sha256 for d in docs])
    todo = [d for d in docs if d.sha256 not in done]
    skipped = [d for d in docs if d.sha256 in done]
    if rejected and not force:
        final = store.final_hashes([r.sha256 for r in rejected])
        rejected = [r for r in rejected if r.sha256 not in final]
    return Plan(todo=todo, skipped=skipped, rejected=rejected)


def pending_updates(todo: list[DocumentRef]) -> list[DocumentUpdate]:
    return [DocumentUpdate(d.sha256, d.path, d.mime, d.size_bytes, DocState.PENDING) for d in todo]


def rejected_updates(rejected: list[Rejected]) -> list[DocumentUpdate]:
    return [DocumentUpdate(r.sha256, r.path, "application/octet-stream", r.size_bytes, DocState.FAILED,
                           error=r.reason) for r in rejected]


def register_plan(store: Store, plan_: Plan, run_id: str, *, force: bool) -> None:
    """Record every discovered document: to-do ones pending, rejected ones failed with the reason.

    A finished document is never turned back into pending by a late worker, except when the run was
    forced (then it must become claimable again to be re-processed).
    """
    store.register(pending_updates(plan_.todo) + rejected_updates(plan_.rejected), run_id, keep_final=not force)
