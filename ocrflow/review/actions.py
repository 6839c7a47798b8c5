"""A reviewer's decisions: approve (edited values coerced, validated, written as a run would) or reject.

Approve goes through the pipeline's own path: the one row assembly (``ocrflow.pipeline.row``), the
contract's expectation suite (``validate_and_build_batch``) and ``Store.write_batch``, so a passing row
moves to the clean table and leaves the quarantine in one transaction, exactly as ``reprocess`` does; a
failing one stays quarantined with the new reasons. Then every edited field is appended to ``corrections``
and its evidence becomes ``human`` with confidence 1 (all fields of a row that loaded: the reviewer
confirmed them). Reject is final: the document becomes ``failed`` with the error text
``rejected in review by <reviewer>: <reason>`` (failed is a final state, so no run redoes it; ``--force``
would), its row leaves the quarantine and the clean table, and the values it had are kept in the
``reject`` correction. Both need the store writable: on a DuckDB file held by a run the open raises
``StoreBusy`` before anything is written.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocrflow.contracts import Contract
from ocrflow.core.models import DocState, DocumentRef
from ocrflow.core.results import DocResult
from ocrflow.pipeline.row import assemble_row
from ocrflow.review.record import Record, as_text, load_record
from ocrflow.run.batch_write import validate_and_build_batch
from ocrflow.store.base import Store
from ocrflow.store.corrections import Correction, write_corrections

REVIEW_ENGINE = "review"


class ReviewError(ValueError):
    """A decision that cannot be made (no contract, empty reason); the message says why."""


@dataclass(slots=True)
class Decision:
    sha256: str
    state: str
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)


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
            day_first: bool = True) -> Decision:
    """Coerce and validate the edited values; load the row when it passes, else keep it quarantined."""
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
    values = row.values
    result = DocResult(doc, DocState.PENDING, pages=list(record.pages), row=row, contract=contract.name)
    batch = validate_and_build_batch([result], contracts, run_id, keep_pages=False)
    batch.documents[0].size_bytes = _size(store, sha256)
    store.write_batch(batch, contracts)
    state = str(result.state)
    notes = [Correction(sha256, contract.name, "edit", reviewer, field=n, old_value=a, new_value=b)
             for n, (a, b) in changed.items()]
    notes.append(Correction(sha256, contract.name, "approve", reviewer, new_value=state,
                            reason="; ".join(f.message for f in row.failures) or None))
    write_corrections(store, notes)
    confirmed = ({n: raw[n] for n in contract.field_names} if result.state == DocState.LOADED
                 else {n: b for n, (_, b) in changed.items()})
    store.mark_human(sha256, contract.name, {n: as_text(values.get(n)) or None for n in confirmed}, reviewer)
    return Decision(sha256, state, changed, [f.message for f in row.failures])


def _size(store: Store, sha256: str) -> int:
    stored = store.document(sha256)
    return stored.size_bytes if stored else 0


def reject(store: Store, contracts: dict[str, Contract], sha256: str, reason: str, reviewer: str) -> Decision:
    """A final decision: state failed with the reviewer's reason, the row out of quarantine and clean table
    (and its line items), in one transaction of the store (``Store.reject``)."""
    reason = reason.strip()
    if not reason:
        raise ReviewError("a rejection needs a reason")
    record = load_record(store, sha256, contracts)
    contract = contracts.get(record.contract)
    old = json.dumps({f.name: f.value for f in record.fields}, ensure_ascii=False)
    store.reject(sha256, contract, f"rejected in review by {reviewer}: {reason}",
                 Correction(sha256, record.contract, "reject", reviewer, old_value=old, new_value="failed",
                            reason=reason))
    return Decision(sha256, "rejected", reasons=[reason])
