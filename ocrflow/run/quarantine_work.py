"""Reprocess quarantined documents without OCR, through the same run lifecycle as any run.

Each document's text is rebuilt from the stored page lines (``pages.lines``); the contract-driven
extraction, coercion and validation run again with the CURRENT contracts, and the batch is written
through the store's ``write_batch``. A row therefore leaves the quarantine only by passing validation
(it moves to the contract's clean table); otherwise it stays with updated reasons. A document that
cannot be rebuilt (no stored pages, no contract) is reported failed and left in the quarantine as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ocrflow.contracts import Contract, pick_contract
from ocrflow.contracts.model import LINES_KEY
from ocrflow.core.models import DocState, DocumentRef, DocumentText, RowOutcome
from ocrflow.core.results import DocResult
from ocrflow.core.settings import Settings
from ocrflow.engines.base import Engine
from ocrflow.pipeline.evidence.collect import kept_reading
from ocrflow.pipeline.extract.rules import extract_fields_with_evidence
from ocrflow.pipeline.extraction import fill_gaps, table_on_pages
from ocrflow.pipeline.row import EvidenceBasis, assemble_row, row_lineage
from ocrflow.run.batch_write import validate_and_build_batch
from ocrflow.run.lifecycle import DocumentRun
from ocrflow.run.planning import Plan
from ocrflow.store.base import Batch, Store
from ocrflow.store.quarantine import QuarantineEntry, document_text
from ocrflow.validate.session import RunValidation

RULE_ONLY_ENGINES = frozenset({"embedded", "pdfium", ""})
"""Engines whose raw values came from the rule extractor alone: reprocessing recomputes them all.
Raw values from a model (vLLM) or embedded e-invoice XML cannot be recomputed from page lines, so
they are kept and the rule extractor only fills the gaps, as in the pipeline."""
REPROCESS_ENGINE = "reprocess"


@dataclass(slots=True)
class ReprocessOutcome:
    """What happened to one quarantined document."""

    sha256: str
    path: str
    contract: str
    state: DocState
    reasons: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ReprocessSummary:
    run_id: str
    outcomes: list[ReprocessOutcome]
    status: str
    counts: dict[str, int]
    seconds: float = 0.0

    @property
    def released(self) -> list[ReprocessOutcome]:
        return [o for o in self.outcomes if o.state == DocState.LOADED]

    @property
    def still_quarantined(self) -> list[ReprocessOutcome]:
        return [o for o in self.outcomes if o.state == DocState.QUARANTINED]

    @property
    def failed(self) -> list[ReprocessOutcome]:
        return [o for o in self.outcomes if o.state == DocState.FAILED]


def choose_contract(entry: QuarantineEntry, text: DocumentText, contracts: dict[str, Contract]) -> Contract | None:
    """The entry's contract as it is now; auto selection when that contract no longer exists."""
    if entry.contract in contracts:
        return contracts[entry.contract]
    return pick_contract(text.text, contracts)


def kept_raw(entry: QuarantineEntry, contract: Contract) -> dict[str, Any]:
    """Raw values that page lines cannot reproduce (from a model or e-invoice XML), for current fields."""
    if entry.engine in RULE_ONLY_ENGINES:
        return {}
    names = set(contract.field_names)
    return {k: v for k, v in entry.raw_values.items() if k in names and v not in (None, "", [])}


def rebuild_row(entry: QuarantineEntry, text: DocumentText, contract: Contract, settings: Settings,
                flow_run_id: str) -> RowOutcome:
    """Extraction + coercion with the current contract, from the stored text (the one row assembly)."""
    raw = kept_raw(entry, contract)
    primary = kept_reading(raw, entry.engine, entry.model, entry.prompt_version)
    found = extract_fields_with_evidence(text, contract, day_first=settings.day_first)
    fill_gaps(raw, found)
    # the lines travel with their header: a model's or the XML's kept, else the page table
    kept = entry.raw_values.get(LINES_KEY) if entry.engine not in RULE_ONLY_ENGINES else None
    lineage = row_lineage([p.page_no for p in text.pages], entry.engine or REPROCESS_ENGINE, entry.model,
                          entry.prompt_version, flow_run_id)
    return assemble_row(text.doc, contract, raw, lines=kept or table_on_pages(text, contract), lineage=lineage,
                        day_first=settings.day_first, evidence=EvidenceBasis(text, found, primary))


@dataclass(slots=True)
class Rebuilder:
    """The processor of a reprocess run: one quarantined document from its stored pages."""

    store: Store
    entries: dict[str, QuarantineEntry]
    contracts: dict[str, Contract]
    settings: Settings
    flow_run_id: str

    def process(self, doc: DocumentRef, *, raise_transient: bool = False) -> DocResult:
        entry = self.entries[doc.sha256]
        text = document_text(self.store, entry)
        if not text.pages:
            return DocResult(text.doc, DocState.FAILED, contract=entry.contract,
                             error="reprocess: no stored pages for this document; run it again with --force")
        contract = choose_contract(entry, text, self.contracts)
        if contract is None:
            return DocResult(text.doc, DocState.FAILED, pages=list(text.pages),
                             error=f"reprocess: contract {entry.contract!r} no longer exists and no other matched")
        row = rebuild_row(entry, text, contract, self.settings, self.flow_run_id)
        return DocResult(text.doc, DocState.PENDING, pages=list(text.pages), row=row, contract=contract.name)


@dataclass(slots=True)
class QuarantineWork:
    """The quarantined documents (of one contract, or all), rebuilt from their stored pages."""

    settings: Settings
    contract: str | None = None
    inputs: list[str] = field(default_factory=list)
    label: str = "quarantined"
    engine_label: str = REPROCESS_ENGINE
    claims: bool = False
    """Quarantined documents are final, so no claim would succeed; a reprocess run takes them all."""
    _store: Store | None = None
    _entries: dict[str, QuarantineEntry] = field(default_factory=dict)

    def plan(self, store: Store) -> Plan:
        self._store = store
        self._entries = {e.sha256: e for e in store.quarantine_entries(self.contract)}
        self.inputs[:] = [f"quarantine:{e.short_id}" for e in self._entries.values()]
        todo = [DocumentRef(path=e.path, sha256=e.sha256, mime="", size_bytes=0) for e in self._entries.values()]
        return Plan(todo=todo, skipped=[], rejected=[])

    def register(self, store: Store, plan: Plan, run_id: str) -> None:
        """Nothing to register: every document is in ``documents`` already."""

    def build_batch(self, done: list[DocResult], contracts: dict[str, Contract], run_id: str,
                    validation: RunValidation) -> Batch:
        """Only rebuilt rows are written, without their pages (the stored pages are the input, left as they
        are); a document that could not be rebuilt stays quarantined untouched."""
        rebuilt = [r for r in done if r.row is not None]
        return validate_and_build_batch(rebuilt, contracts, run_id, validation, keep_pages=False)

    def processor(self, engine: Engine | None, contracts: dict[str, Contract], flow_run_id: str) -> Rebuilder:
        if self._store is None:
            raise RuntimeError("plan() first")
        return Rebuilder(self._store, self._entries, contracts, self.settings, flow_run_id)


def reprocess_quarantined(store: Store, settings: Settings, *, contract: str | None = None) -> ReprocessSummary:
    """Re-extract, re-coerce and re-validate quarantined documents with the current contracts."""
    work = QuarantineWork(settings, contract)
    if contract:
        work.label = contract
    summary = DocumentRun(settings.model_copy(update={"contract": "auto"}), store, None, work).execute()
    outcomes = [_outcome(r) for r in summary.results]
    return ReprocessSummary(run_id=summary.run_id, outcomes=outcomes, status=summary.status,
                            counts=summary.counts, seconds=summary.seconds)


def _outcome(result: DocResult) -> ReprocessOutcome:
    reasons = [f.message for f in result.row.failures] if result.row is not None else []
    if result.state == DocState.FAILED and result.error:
        reasons = [result.error]
    return ReprocessOutcome(sha256=result.doc.sha256, path=result.doc.path, contract=result.contract or "",
                            state=result.state, reasons=reasons)
