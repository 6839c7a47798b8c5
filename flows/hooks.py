"""What the Prefect flow adds to the core run lifecycle: stages as tasks, documents as task runs through a
window, progress as an artifact, logging to the run's log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture

from flows.reporting import Progress
from flows.window import Window
from ocrflow.core.models import DocumentRef
from ocrflow.core.results import DocResult, failed_result, pending_result, state_counts
from ocrflow.engines.base import TransientEngineError
from ocrflow.metrics import observe_error
from ocrflow.run.batches import BatchReport, StartFn
from ocrflow.run.lifecycle import DocumentProcessor, RunHooks
from ocrflow.run.planning import Plan
from ocrflow.run.summary import already_final_text
from tasks.stages import STAGE_TASKS, process_document_task

T = TypeVar("T")


class FlowHooks(RunHooks):
    def __init__(self, logger: Any, label: str = "process-documents") -> None:
        self.logger, self.label = logger, label
        self.progress: Progress | None = None
        self.written: list[DocResult] = []
        self.window: Window[DocumentRef, DocResult] | None = None
        self.already_final: dict[str, int] = {}

    def stage(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        task = STAGE_TASKS.get(name)
        result: Any = task(fn, *args) if task is not None else fn(*args)
        if isinstance(result, State):  # the stage stopped for an expected reason (tasks.stages): raise it here
            result.result(raise_on_failure=True)
            raise RuntimeError(f"stage {name} returned a {result.type.value} state: {result.message}")
        staged: T = result
        return staged

    @contextmanager
    def documents(self, processor: DocumentProcessor, in_flight: int) -> Iterator[StartFn]:
        """Each document is a task run, submitted only when one of ``in_flight`` slots is free."""
        self.window = Window(lambda doc: process_document_task.submit(processor, doc), result_or_pending, in_flight)
        yield self.window.start

    def on_already_final(self, counts: dict[str, int]) -> None:
        self.already_final = counts

    def on_plan(self, plan: Plan) -> None:
        self.logger.info("%d to process, %s, %d rejected", len(plan.todo),
                         already_final_text(len(plan.skipped), self.already_final), len(plan.rejected))
        self.progress = Progress(len(plan.todo), self.label)
        self.progress.start()

    def on_batch(self, b: BatchReport) -> None:
        self.written.extend(b.written)
        counts = state_counts(self.written)
        if self.progress is not None:
            self.progress.advance(b.documents, counts)
        if b.load_error:
            self.logger.error("writing batch %d/%d failed, its %d documents stay pending: %s", b.number, b.batches,
                              len(b.written), b.load_error)
        else:
            self.logger.info("batch %d/%d written: %d documents (%s); %d claimed by other workers", b.number,
                             b.batches, len(b.written), ", ".join(f"{k} {v}" for k, v in counts.items()),
                             b.elsewhere)


def result_or_pending(future: PrefectFuture[Any], doc: DocumentRef) -> DocResult:
    """The task's result; a transient error that outlived the retries leaves the document pending."""
    try:
        result: DocResult = future.result()
        return result
    except TransientEngineError as exc:
        observe_error(type(exc).__name__)
        return pending_result(doc, exc)
    except Exception as exc:  # noqa: BLE001 - a bug on one document must not stop the others
        observe_error(type(exc).__name__)
        return failed_result(doc, exc)
