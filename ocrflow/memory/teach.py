"""An approval in review -> the lesson for the document's issuer (recognized, or new), ready for ``Store.learn``.

The issuer is recognized from the document's stored pages exactly as the pipeline recognizes it; a document
of no known issuer starts a new one, unless it prints nothing to recognize it by (then nothing is learned).
"""

from __future__ import annotations

from collections.abc import Sequence

from ocrflow.core.models import DocumentRef, DocumentText, PageText
from ocrflow.memory.fingerprint import fingerprint
from ocrflow.memory.learn import Approval, Page, lesson
from ocrflow.memory.recognize import new_issuer_id, recognize
from ocrflow.memory.spots import page_heights
from ocrflow.pipeline.extract.layout import document_lines
from ocrflow.store.base import Store
from ocrflow.store.memory_records import Lesson


def plan_lesson(store: Store, approval: Approval, doc: DocumentRef, pages: Sequence[PageText]) -> Lesson | None:
    """What ``approval`` teaches (reads the store, writes nothing); None for a document without page text."""
    lines = document_lines(DocumentText(doc, tuple(pages)))
    keys = fingerprint(lines)
    if not keys:
        return None
    contract = approval.contract.name
    known_issuer = recognize(store.issuer_matches(contract, [k.key for k in keys]))
    issuer_id = known_issuer or new_issuer_id()
    known = store.issuer_facts(issuer_id, contract) if known_issuer else []
    page = Page(lines, page_heights(lines, {p.page_no: p.height for p in pages}))
    return lesson(approval, page, issuer_id, known, keys, new_issuer=known_issuer is None)
