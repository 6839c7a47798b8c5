"""A reviewer's decisions: approve (edited values coerced, validated, written as a run would) or reject.

Approve goes through the pipeline's own path: the one row assembly (``ocrflow.pipeline.row``), the
contract's expectation suite (``validate_and_build_batch``) and ``Store.write_batch``, so a passing row
moves to the clean table and leaves the quarantine in one transaction, exactly as ``reprocess`` does. An
approval whose values do not pass (a total of "abc", a date 2024-13-45, a rule still broken) is refused and
changes nothing: no evidence, no correction, the quarantine row as the machine left it. A passing one keeps
the evidence of every field the reviewer left alone, marked reviewed, and makes only the changed fields
``human`` (``ocrflow.review.reviewed``); each change is an ``edit`` correction that keeps the machine's value
and reading; then the approval teaches the document's issuer (``ocrflow.memory``). Reject is final: the
document becomes ``failed`` with error code ``rejected`` and the error text ``rejected in review by
<reviewer>: <reason>`` (failed is a final state, so no run redoes it, nor ``reprocess --failed`` unless
``--include-rejected``), its row leaves the quarantine and the clean table, and the values it had are kept
in the ``reject`` correction. Both need the store writable: on a DuckDB file held by a run the open raises
``StoreBusy`` before anything is written.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocrflow.contracts import Contract
from ocrflow.core.evidence import EvidenceRow
from ocrflow.core.models import DocState, DocumentRef
from ocrflow.core.results import DocResult
from ocrflow.memory.learn import Approval
from ocrflow.memory.teach import plan_lesson
from ocrflow.pipeline.row import assemble_row
from ocrflow.review.record import Record, load_record
from ocrflow.review.reviewed import edit_corrections, reviewed_evidence
from ocrflow.run.batch_write import validate_and_build_batch
from ocrflow.store.base import Store
from ocrflow.store.corrections import Correction, write_corrections
from ocrflow.store.memory_records import Lesson

REVIEW_ENGINE = "review"


class ReviewError(ValueError):
    """A decision that cannot be made (no contract, empty reason); the message says why."""


REFUSED = "refused"
"""The state of an approval whose values do not pass: nothing was written."""


@dataclass(slots=True)
class Decision:
    sha256: str
    state: str
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    issuer_id: str | None = None
    """The issuer the approval taught (``ocrflow.memory``), if any."""
    facts: int = 0


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _lineage(store: Store, record: Record, contract: Contract, run_id: str) -> dict[str, Any]:
    """The row's lineage: the engine and model that read it stay; the review run and time are new."""
    read = (store.quarantine_entry(record.sha256) if record.state == "quarantined"
            else store.contract_row(contract, record.sha256))
    engine, model, prompt = (read.engine, read.model, read.prompt_version) if read else (REVIEW_ENGINE, "", "")
    return {"page_numbers": [p.page_no for p in record.pages], "engine": engine or REVIEW_ENGINE,
            "model": model or "", "prompt_version": prompt or "", "flow_run_id": run_id, "extracted_at": _now()}


def approve(store: Store, contracts: dict[str, Contract], sha256: str, edits: dict[str, str], reviewer: str, *,
            day_first: bool = True, learn: bool = True) -> Decision:
    """Coerce and validate the edited values; load the row when it passes, else change nothing (``refused``).

    A passing approval writes the row through ``Store.write_batch`` with the reviewed evidence (only what the
    reviewer changed becomes ``human``; ``ocrflow.review.reviewed``), then its corrections, then what it
    teaches the document's issuer (``ocrflow.memory``; ``learn=False`` teaches nothing)."""
    store.ensure_review_schema()
    record = load_record(store, sha256, contracts)
    contract = contracts.get(record.contract)
    if contract is None:
        raise ReviewError(f"document {sha256[:12]} has no contract the app knows ({record.contract!r})")
    old = {f.name: f.value for f in record.fields}
    raw: dict[str, Any] = {name: edits.get(name, old.get(name, "")) for name in contract.field_names}
    changed = {n: (old.get(n, ""), v) for n, v in raw.items() if v != old.get(n, "")}
    run_id = f"review-{uuid.uuid4().hex[:12]}"
    doc = DocumentRef(path=record.path, sha256=sha256, mime=record.mime, size_bytes=0)
    row = assemble_row(doc, contract, raw, lines=record.raw_lines, lineage=_lineage(store, record, contract, run_id),
                       day_first=day_first)  # the pipeline's one row assembly: signs, lines with their header
    result = DocResult(doc, DocState.PENDING, pages=list(record.pages), row=row, contract=contract.name)
    batch = validate_and_build_batch([result], contracts, run_id, keep_pages=False)
    reasons = [f.message for f in row.failures]
    if result.state != DocState.LOADED:  # refused: nothing is written, the machine's reading stays as it was
        return Decision(sha256, REFUSED, changed, reasons)
    now = _now()
    stored = store.field_evidence(sha256)
    batch.evidence = reviewed_evidence(record, stored, row.values, changed, contract.name, contract.field_names,
                                       reviewer, now)
    batch.documents[0].size_bytes = _size(store, sha256)
    store.write_batch(batch, contracts)
    notes = edit_corrections(record, stored, changed, contract.name, reviewer, now)
    notes.append(Correction(sha256, contract.name, "approve", reviewer, new_value=str(result.state), at=now))
    lesson = _lesson(store, record, contract, row.values, stored, notes, day_first) if learn else None
    for note in notes:
        note.issuer_id = lesson.issuer_id if lesson is not None else None
    write_corrections(store, notes)
    if lesson is not None:
        store.learn(lesson)
    return Decision(sha256, str(result.state), changed, reasons, lesson.issuer_id if lesson else None,
                    len(lesson.facts) if lesson else 0)


def _lesson(store: Store, record: Record, contract: Contract, values: dict[str, Any], stored: list[EvidenceRow],
            notes: list[Correction], day_first: bool) -> Lesson | None:
    """What the approval teaches the document's issuer (``ocrflow.memory.teach``)."""
    edits = {n.field: n.id for n in notes if n.action == "edit" and n.field}
    methods = {ev.field: ev.method for ev in stored if ev.line_no == 0}
    approval = Approval(record.sha256, contract, values, {f.name: f.value for f in record.fields}, methods, edits,
                        notes[-1].id, day_first)
    doc = DocumentRef(path=record.path, sha256=record.sha256, mime=record.mime, size_bytes=0)
    return plan_lesson(store, approval, doc, record.pages)


def _size(store: Store, sha256: str) -> int:
    stored = store.document(sha256)
    return stored.size_bytes if stored else 0


def reject(store: Store, contracts: dict[str, Contract], sha256: str, reason: str, reviewer: str) -> Decision:
    """A final decision: state failed with the reviewer's reason, the row out of quarantine and clean table
    (and its line items), in one transaction of the store (``Store.reject``)."""
    reason = reason.strip()
    if not reason:
        raise ReviewError("a rejection needs a reason")
    store.ensure_review_schema()
    record = load_record(store, sha256, contracts)
    contract = contracts.get(record.contract)
    old = json.dumps({f.name: f.value for f in record.fields}, ensure_ascii=False)
    store.reject(sha256, contract, f"rejected in review by {reviewer}: {reason}",
                 Correction(sha256, record.contract, "reject", reviewer, old_value=old, new_value="failed",
                            reason=reason))
    return Decision(sha256, "rejected", reasons=[reason])
