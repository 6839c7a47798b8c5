"""What the Prefect flow adds to the core run lifecycle: stages as task runs (discover, one validate-and-load
per batch), progress as an artifact, a plain line per batch in the run's log.

Documents are not task runs: they run on the core's pool (``documents_in_flight`` at a time, as in
``ocrflow run``); each batch's task run returns its documents in their final states.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from prefect.client.schemas.objects import State
from prefect.utilities.annotations import quote

from flows.reporting import Progress
from ocrflow.core.results import state_counts
from ocrflow.run.batches import BatchReport
from ocrflow.run.lifecycle import RunHooks
from ocrflow.run.planning import Plan
from ocrflow.run.summary import already_final_text, batch_line, name_problems
from tasks.stages import STAGE_TASKS

T = TypeVar("T")


class FlowHooks(RunHooks):
    def __init__(self, logger: Any, label: str = "process-documents") -> None:
        self.logger, self.label = logger, label
        self.progress: Progress | None = None
        self.counts: dict[str, int] = {}
        """Written documents by state (the documents themselves are in the store, not kept here)."""
        self.written = 0
        self.already_final: dict[str, int] = {}
        self.batches = 0
        self.started = time.perf_counter()

    def stage(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        task = STAGE_TASKS.get(name)
        if task is not None and name == "load":
            self.batches += 1
            task = task.with_options(task_run_name=f"batch {self.batches}: {len(args[0])} documents")
        # quote(): Prefect would otherwise walk every argument (a batch's documents with their pages and lines)
        # to look for upstream futures, twice per task run: 80 % of a 200-document flow's overhead
        result: Any = task(quote(fn), *(quote(a) for a in args)) if task is not None else fn(*args)
        if isinstance(result, State):  # the stage stopped for an expected reason (tasks.stages): raise it here
            result.result(raise_on_failure=True)
            raise RuntimeError(f"stage {name} returned a {result.type.value} state: {result.message}")
        staged: T = result
        return staged

    def on_already_final(self, counts: dict[str, int]) -> None:
        self.already_final = counts

    def on_plan(self, plan: Plan) -> None:
        self.logger.info("%d to process, %s, %d rejected", len(plan.todo),
                         already_final_text(len(plan.skipped), self.already_final), len(plan.rejected))
        self.progress = Progress(len(plan.todo), self.label)
        self.progress.start()
        self.started = time.perf_counter()

    def on_batch(self, b: BatchReport) -> None:
        self.written += len(b.written)
        for state, n in state_counts(b.written).items():
            self.counts[state] = self.counts.get(state, 0) + n
        counts = dict(self.counts)
        done = self.progress.done + b.documents if self.progress is not None else self.written
        total = self.progress.total if self.progress is not None else done
        if self.progress is not None:
            self.progress.advance(b.documents, counts)
        line = batch_line(b.number, b.batches, done, total, counts, time.perf_counter() - self.started)
        failed = [(r.doc.path, r.error or "") for r in b.written if r.state.value in ("failed", "unmatched")]
        if b.load_error:
            self.logger.error("%s; writing it failed, its %d documents stay pending: %s", line, len(b.written),
                              b.load_error)
        elif failed:
            self.logger.warning("%s; failed here: %s", line, name_problems(failed, ""))
        else:
            self.logger.info("%s%s", line, f"; {b.elsewhere} claimed by other workers" if b.elsewhere else "")
