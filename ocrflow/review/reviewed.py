"""The evidence and the audit rows of an approval: what the reviewer changed becomes ``human``, the rest stays.

- A field the reviewer left alone keeps its evidence row as the machine wrote it (value, source, method, page,
  box, confidence, memory note) and is marked reviewed (``reviewed_by``, ``reviewed_at``).
- A field the reviewer changed gets a ``human`` row (method ``review:<reviewer>``, confidence 1), placed where
  the page prints the new value when it does (so the page still shows its box), and an ``edit`` correction
  that keeps the machine's value and how it was read (``corrections.old_*``).
- Line items were not edited on the page: their evidence stays as it was.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ocrflow.core.evidence import EvidenceRow
from ocrflow.core.models import DocumentRef, DocumentText
from ocrflow.pipeline.evidence.grounding import Grounder
from ocrflow.pipeline.extract.layout import document_lines
from ocrflow.review.record import Record, as_text
from ocrflow.store.records import Correction, OldReading

HUMAN = "human"


def _grounded(row: EvidenceRow, record: Record, value: Any, raw: str) -> EvidenceRow:
    """``row`` placed where the record's pages print ``value`` (unplaced when they do not)."""
    doc = DocumentRef(path=record.path, sha256=record.sha256, mime=record.mime, size_bytes=0)
    hit = Grounder(document_lines(DocumentText(doc, tuple(record.pages)))).locate(value, raw)
    if not hit.lines or hit.bbox is None:
        return row
    sizes = {p.page_no: (p.width, p.height) for p in record.pages}
    width, height = sizes.get(hit.page_no or 0, (None, None))
    return dataclasses.replace(row, page_no=hit.page_no, bbox=hit.bbox, page_width=width, page_height=height,
                               grounding=hit.grounding)


def human_row(record: Record, contract: str, name: str, value: Any, typed: str, reviewer: str,
              now: datetime) -> EvidenceRow:
    row = EvidenceRow(doc_sha256=record.sha256, contract=contract, field=name, value=as_text(value) or None,
                      raw=typed, source=HUMAN, method=f"review:{reviewer}", confidence=1.0, grounding="absent",
                      engine="review", reviewed_by=reviewer, reviewed_at=now)
    return _grounded(row, record, value, typed) if value not in (None, "") else row


def reviewed_evidence(record: Record, stored: Sequence[EvidenceRow], values: Mapping[str, Any],
                      changed: Mapping[str, tuple[str, str]], contract: str, fields: Sequence[str], reviewer: str,
                      now: datetime) -> list[EvidenceRow]:
    """Every evidence row of the approved document (``stored``: as it was; ``values``: the approved row)."""
    header = {ev.field: ev for ev in stored if ev.line_no == 0}
    out = [ev for ev in stored if ev.line_no != 0]
    for name in fields:
        if name in changed:
            out.append(human_row(record, contract, name, values.get(name), changed[name][1], reviewer, now))
            continue
        kept = header.get(name) or EvidenceRow(doc_sha256=record.sha256, contract=contract, field=name,
                                               value=as_text(values.get(name)) or None, raw=None, source="",
                                               method="", confidence=None, grounding="absent")
        out.append(dataclasses.replace(kept, reviewed_by=reviewer, reviewed_at=now))
    return out


def old_reading(ev: EvidenceRow | None) -> OldReading | None:
    if ev is None:
        return None
    return OldReading(raw=ev.raw, page_no=ev.page_no, bbox=ev.bbox, source=ev.source, method=ev.method,
                      confidence=ev.confidence)


def edit_corrections(record: Record, stored: Sequence[EvidenceRow], changed: Mapping[str, tuple[str, str]],
                     contract: str, reviewer: str, now: datetime) -> list[Correction]:
    """One ``edit`` row per changed field: the machine's value and reading, the reviewer's value."""
    header = {ev.field: ev for ev in stored if ev.line_no == 0}
    return [Correction(record.sha256, contract, "edit", reviewer, field=name, old_value=old, new_value=new, at=now,
                       old=old_reading(header.get(name))) for name, (old, new) in changed.items()]
