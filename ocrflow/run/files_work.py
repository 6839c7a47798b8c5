"""The work of an ordinary run: files, folders or fsspec URLs through the whole pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field

from ocrflow.contracts import Contract
from ocrflow.core.results import DocResult
from ocrflow.core.settings import Settings
from ocrflow.engines.base import Engine
from ocrflow.pipeline.processor import Processor
from ocrflow.run.batch_write import validate_and_build_batch
from ocrflow.run.lifecycle import DocumentRun, RunHooks, RunOptions
from ocrflow.run.planning import Plan, input_limits, plan, register_plan
from ocrflow.run.summary import RunSummary
from ocrflow.store.base import Batch, Store
from ocrflow.validate.session import RunValidation


@dataclass(slots=True)
class FilesWork:
    """Discover ``inputs``, skip what is final (unless forced), process the rest from the source files."""

    inputs: list[str]
    settings: Settings
    label: str = field(init=False)
    engine_label: str = ""
    claims: bool = True

    def __post_init__(self) -> None:
        self.label = self.settings.contract

    def plan(self, store: Store) -> Plan:
        return plan(self.inputs, store, glob=self.settings.glob, force=self.settings.force,
                    limits=input_limits(self.settings))

    def register(self, store: Store, plan_: Plan, run_id: str) -> None:
        register_plan(store, plan_, run_id, force=self.settings.force)

    def build_batch(self, done: list[DocResult], contracts: dict[str, Contract], run_id: str,
                    validation: RunValidation) -> Batch:
        return validate_and_build_batch(done, contracts, run_id, validation)

    def processor(self, engine: Engine | None, contracts: dict[str, Contract], flow_run_id: str) -> Processor:
        if engine is None:
            raise ValueError("a run over files needs an engine")
        return Processor(self.settings, engine, contracts, flow_run_id=flow_run_id)


def run_files(inputs: list[str], settings: Settings, store: Store, engine: Engine, *,
              hooks: RunHooks | None = None, options: RunOptions | None = None) -> RunSummary:
    """Run the whole pipeline over ``inputs`` (the CLI path; the flow passes its own hooks)."""
    return DocumentRun(settings, store, engine, FilesWork(list(inputs), settings), hooks, options).execute()
