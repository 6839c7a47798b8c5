"""Retry documents the ledger holds as final: ``failed`` (after a fix: a password configured, a cap
raised, a file replaced, a bug fixed) and ``unmatched`` (after a new contract), through the same run
lifecycle as any run.

Each document is found again by its stored path (``path_raw`` when its name is not UTF-8), hashed and
typed again, registered ``pending`` (so a run that stops halfway leaves it for the next ordinary run)
and processed from the file like any input. A file no longer there stays as it was.

A document a reviewer rejected (error code ``rejected``; a store from before that code: its error text
``rejected in review by ...``) is final: ``--failed`` leaves it as it is, reason and all, unless
``include_rejected`` (``--include-rejected``) takes it back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote_to_bytes

from ocrflow.contracts import Contract
from ocrflow.core.models import DocState, DocumentRef
from ocrflow.core.results import DocResult
from ocrflow.core.settings import Settings
from ocrflow.engines.base import Engine
from ocrflow.pipeline.processor import Processor
from ocrflow.run.batch_write import validate_and_build_batch
from ocrflow.run.discover import Rejected, describe
from ocrflow.run.lifecycle import DocumentRun
from ocrflow.run.planning import Plan, input_limits, register_plan
from ocrflow.run.summary import RunSummary
from ocrflow.store.base import REJECTED, Batch, Store
from ocrflow.store.records import StoredDocument
from ocrflow.validate.session import RunValidation

REJECTED_PREFIX = "rejected in review by "


def is_rejected(stored: StoredDocument) -> bool:
    """A document a reviewer rejected (by its code; in an older store, by the text ``reject`` wrote)."""
    return stored.error_code == REJECTED or stored.error.startswith(REJECTED_PREFIX)


def os_path(path: str, path_raw: str | None) -> str:
    """The name the operating system knows: the raw bytes when the stored name was escaped."""
    return os.fsdecode(unquote_to_bytes(path_raw)) if path_raw else path


@dataclass(slots=True)
class LedgerWork:
    """The documents of the ledger in ``state`` (failed or unmatched; failed ones of ``code`` only when given)."""

    settings: Settings
    state: DocState
    code: str | None = None
    inputs: list[str] = field(default_factory=list)
    label: str = ""
    engine_label: str = ""
    claims: bool = True
    missing: list[str] = field(default_factory=list)
    """Stored paths that no longer exist (those documents are left as they were)."""
    include_rejected: bool = False
    rejected: list[str] = field(default_factory=list)
    """Paths of documents left alone because a reviewer rejected them."""

    def __post_init__(self) -> None:
        self.label = f"reprocess:{self.state.value}" + (f":{self.code}" if self.code else "")

    def plan(self, store: Store) -> Plan:
        todo: list[DocumentRef] = []
        rejected: list[Rejected] = []
        limits = input_limits(self.settings)
        for stored in store.documents_in_state(self.state, self.code):
            if is_rejected(stored) and not (self.include_rejected or self.code == REJECTED):
                self.rejected.append(stored.path)
                continue
            local = Path(os_path(stored.path, stored.path_raw))
            if not (local.exists() or local.is_symlink()):
                self.missing.append(stored.path)
                continue
            self.inputs.append(stored.path)
            item = describe(local, local.parent, limits)
            (todo if isinstance(item, DocumentRef) else rejected).append(item)  # type: ignore[arg-type]
        return Plan(todo=todo, skipped=[], rejected=rejected)

    def register(self, store: Store, plan_: Plan, run_id: str) -> None:
        register_plan(store, plan_, run_id, force=True)  # final -> pending: claimable, and safe if we stop

    def build_batch(self, done: list[DocResult], contracts: dict[str, Contract], run_id: str,
                    validation: RunValidation) -> Batch:
        return validate_and_build_batch(done, contracts, run_id, validation)

    def processor(self, engine: Engine | None, contracts: dict[str, Contract], flow_run_id: str) -> Processor:
        if engine is None:
            raise ValueError("reprocessing from the files needs an engine")
        return Processor(self.settings, engine, contracts, flow_run_id=flow_run_id)


def reprocess_ledger(store: Store, settings: Settings, engine: Engine, *, state: DocState,
                     code: str | None = None, include_rejected: bool = False,
                     rejected: list[str] | None = None) -> tuple[RunSummary, list[str]]:
    """Run the failed (or unmatched) documents again; returns the run's summary and the paths not found.
    ``rejected`` (when given) receives the paths of rejected documents left alone."""
    work = LedgerWork(settings, state, code, include_rejected=include_rejected)
    summary = DocumentRun(settings, store, engine, work).execute()
    if rejected is not None:
        rejected.extend(work.rejected)
    return summary, work.missing
