"""The quarantine as the store holds it: find a quarantined document by its id, rebuild its text.

The reads are ``Store`` methods (``quarantine_entries``, ``quarantine_by_prefix``, ``stored_pages``,
``document``); this module adds what the CLI and reprocessing make of them. Reprocessing
(ocrflow.run.quarantine_work) rebuilds documents from the text rebuilt here.
"""

from __future__ import annotations

from ocrflow.core.models import DocumentRef, DocumentText
from ocrflow.store.base import Store
from ocrflow.store.records import SHORT_ID, QuarantineEntry

__all__ = ["MIN_PREFIX", "SHORT_ID", "QuarantineEntry", "QuarantineError", "document_text", "find_entry"]

MIN_PREFIX = 4
"""The shortest id prefix ``find_entry`` accepts."""


class QuarantineError(LookupError):
    """A quarantine id matches no document, or more than one."""


def find_entry(store: Store, id_or_prefix: str) -> QuarantineEntry:
    """The quarantined document whose hash starts with ``id_or_prefix`` (at least 4 hex digits)."""
    prefix = id_or_prefix.strip().lower()
    if len(prefix) < MIN_PREFIX or any(ch not in "0123456789abcdef" for ch in prefix):
        raise QuarantineError(f"{id_or_prefix!r} is not a document id: give at least {MIN_PREFIX} hex digits "
                              "of its sha256 (the id column of `ocrflow quarantine list`)")
    found = store.quarantine_by_prefix(prefix)
    if not found:
        raise QuarantineError(f"no quarantined document has an id starting with {prefix!r}")
    if len(found) > 1:
        ids = ", ".join(e.short_id for e in found[:5])
        raise QuarantineError(f"{prefix!r} matches {len(found)} quarantined documents ({ids}); give more digits")
    return found[0]


def document_text(store: Store, entry: QuarantineEntry) -> DocumentText:
    """The document's text rebuilt from the stored pages (no rendering, no OCR)."""
    stored = store.document(entry.sha256)
    doc = (DocumentRef(path=entry.path, sha256=entry.sha256, mime="", size_bytes=0) if stored is None else
           DocumentRef(path=stored.path or entry.path, sha256=entry.sha256, mime=stored.mime,
                       size_bytes=stored.size_bytes))
    return DocumentText(doc=doc, pages=tuple(store.stored_pages(entry.sha256)))
