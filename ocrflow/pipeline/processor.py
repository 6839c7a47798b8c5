"""One document -> its pages and a coerced row (nothing is written here): the driver of the stages.

The stage order is data: ``ocrflow.pipeline.stages.STAGES`` (standalone XML, embedded e-invoice, pages,
contract, extraction, row). The processor runs them and turns what goes wrong into the document's state
(``ocrflow.pipeline.failures``). Validation and loading happen per batch (``ocrflow.run.batch_write``).
"""

from __future__ import annotations

import time
from dataclasses import replace

from ocrflow.contracts import Contract, load_contracts
from ocrflow.core.errors import AuthEngineError
from ocrflow.core.models import DocumentRef
from ocrflow.core.results import DocResult, pending_result
from ocrflow.core.settings import Settings
from ocrflow.engines.base import Engine, TransientEngineError
from ocrflow.pipeline.failures import auth_pending, check_unchanged, failure_result
from ocrflow.pipeline.pages import PageReader
from ocrflow.pipeline.stages import STAGES, MemorySource, Stage, StageContext, run_stages


class Processor:
    """Turns one document into pages and a coerced row. Thread-safe if the engine is."""

    def __init__(self, settings: Settings, engine: Engine, contracts: dict[str, Contract] | None = None,
                 *, flow_run_id: str = "", stages: tuple[Stage, ...] = STAGES) -> None:
        self.settings = settings
        self.engine = engine
        self.contracts = contracts if contracts is not None else load_contracts(settings.contracts_dir)
        self.flow_run_id = flow_run_id
        self.stages = stages
        self.context = StageContext(settings, engine, self.contracts, PageReader.from_settings(settings, engine),
                                    flow_run_id)
        self.auth_error: AuthEngineError | None = None

    def remember(self, memory: MemorySource | None) -> None:
        """Read issuer memory from ``memory`` in the ``recall_issuer`` stage (the run gives its store's)."""
        self.context = replace(self.context, memory=memory)

    def process(self, doc: DocumentRef, *, raise_transient: bool = False) -> DocResult:
        """Process one document; errors become a state. ``raise_transient`` lets a caller retry."""
        t0 = time.perf_counter()
        if self.auth_error is not None:  # the deployment refused the key: stop sending, leave it pending
            result = auth_pending(doc, self.auth_error)
        else:
            try:
                check_unchanged(doc)
                result = run_stages(self.stages, self.context, doc)
                check_unchanged(doc)
            except AuthEngineError as exc:
                self.auth_error = exc
                result = auth_pending(doc, exc)
            except TransientEngineError as exc:
                if raise_transient:
                    raise
                result = pending_result(doc, exc)
            except Exception as exc:  # noqa: BLE001 - input, terminal engine, bug: one document; logged
                result = failure_result(doc, exc)
        result.seconds = time.perf_counter() - t0
        return result
