"""What processing one document produced, before anything is written (shared by the processor,
the batch loop, the run lifecycle and reprocessing)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ocrflow.core.models import DocState, DocumentRef, PageText, RowOutcome


@dataclass(slots=True)
class DocResult:
    """One document's pages and coerced row, and the state it is headed for."""

    doc: DocumentRef
    state: DocState
    pages: list[PageText] = field(default_factory=list)
    row: RowOutcome | None = None
    contract: str | None = None
    error: str | None = None
    seconds: float = 0.0
    page_count: int = 0
    """The document's page count when it is known without its pages (a document over the page limit)."""
    error_code: str | None = None
    """An ``ocrflow.core.errors.ErrorCode`` value when the document failed (or stayed pending) for a known reason."""
    pages_read: int | None = None
    """Pages actually read (None: all of them, or not known); 0 for a document refused before any page."""
    einvoice_syntax: str | None = None
    einvoice_profile: str | None = None
    issuer_id: str | None = None
    """The issuer memory recognized the document as (``ocrflow.memory``), else None."""


def pending_result(doc: DocumentRef, exc: Exception) -> DocResult:
    """An engine outage: the document stays pending for the next run."""
    return DocResult(doc, DocState.PENDING, error=f"engine unavailable, left pending for the next run: {exc}",
                     error_code="engine")


def failed_result(doc: DocumentRef, exc: Exception) -> DocResult:
    """A bug on one document: that document fails, the others go on."""
    return DocResult(doc, DocState.FAILED, error=f"{type(exc).__name__}: {exc}", error_code="internal")


def state_counts(results: list[DocResult]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.state.value] = counts.get(r.state.value, 0) + 1
    return counts
