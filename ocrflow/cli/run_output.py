"""What ``ocrflow run`` prints, the same with and without ``--prefect``.

On a terminal: a progress bar. Elsewhere (make, cron, a worker's log): one plain line when the plan is
known, one per batch (done, failed, rate, ETA), no bar, and tables at their full width (rich cuts to 80
columns when it sees no terminal). The summary names every failed and unmatched document with its reason;
quarantined and pending documents are listed up to a limit, then counted with where to see them all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from ocrflow.cli.common import console, err

if TYPE_CHECKING:
    from ocrflow.core.results import DocResult
    from ocrflow.run.batches import BatchReport
    from ocrflow.run.lifecycle import RunHooks
    from ocrflow.run.planning import Plan

COUNT_KEYS = ("documents", "pages", "loaded", "quarantined", "failed", "unmatched", "pending", "skipped",
              "duplicates")
LISTED = (("failed", "failed_documents", 0), ("unmatched", "unmatched_documents", 0),
          ("pending", "pending_documents", 20), ("quarantined", "quarantined_documents", 20))
"""(label, summary key, how many are listed; 0: all of them)."""
WHERE = {"pending": "the next run takes them; list them with ocrflow query \"SELECT path, error FROM documents "
                    "WHERE state = 'pending'\"",
         "quarantined": "list them with ocrflow quarantine list",
         "failed": "list them with ocrflow query \"SELECT path, error_code, error FROM documents WHERE state = "
                   "'failed'\"",
         "unmatched": "list them with ocrflow query \"SELECT path FROM documents WHERE state = 'unmatched'\""}
def plan_line(plan: Plan) -> str:
    return f"{len(plan.todo)} to process, {len(plan.skipped)} already final, {len(plan.rejected)} rejected"


def progress_hooks() -> type[RunHooks]:
    """RunHooks that print a plain line per batch (no terminal) or drive a bar (see ``progress``)."""
    from ocrflow.core.results import state_counts
    from ocrflow.run.lifecycle import RunHooks
    from ocrflow.run.summary import batch_line

    class Lines(RunHooks):
        def __init__(self, bar: Any = None, task: Any = None) -> None:
            self.bar, self.task, self.total, self.done = bar, task, 0, 0
            self.counts: dict[str, int] = {}
            self.started = time.perf_counter()

        def on_plan(self, plan: Plan) -> None:
            self.total, self.started = len(plan.todo), time.perf_counter()
            if self.bar is not None:
                self.bar.update(self.task, total=self.total, description=f"processing ({len(plan.skipped)} "
                                                                         "already final)")
            else:
                err.print(plan_line(plan), highlight=False, soft_wrap=True)

        def on_document(self, result: DocResult) -> None:
            if self.bar is not None:
                state = "extracted" if result.row is not None else result.state.value
                self.bar.update(self.task, advance=1, description=f"{Path(result.doc.path).name[:40]} -> {state}")

        def on_batch(self, report: BatchReport) -> None:
            self.done += report.documents
            for k, v in state_counts(report.written).items():
                self.counts[k] = self.counts.get(k, 0) + v
            if self.bar is None:
                err.print(batch_line(report.number, report.batches, self.done, self.total, self.counts,
                                     time.perf_counter() - self.started), highlight=False, soft_wrap=True)

    return Lines


@contextmanager
def progress() -> Iterator[RunHooks]:
    """The run's hooks: a bar on a terminal, plain lines elsewhere."""
    hooks: Any = progress_hooks()
    if not err.is_terminal:
        yield hooks()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=False) as bar:
        yield hooks(bar, bar.add_task("discovering", total=None))


def print_summary(out: dict[str, Any], title: str) -> None:
    """The summary (``ocrflow.run.summary.summary_json``) as a table and one line per problem document."""
    t = Table(title=title)
    for col in (*COUNT_KEYS, "time"):
        t.add_column(col, justify="right")
    t.add_row(*(str(out.get(k, 0)) for k in COUNT_KEYS), f"{float(out.get('seconds') or 0):.1f}s")
    console.print(t)
    for label, key, limit in LISTED:
        items = list(out.get(key) or [])
        shown = items[:limit or None]
        for path, why in shown:
            console.print(f"  [yellow]{label}[/yellow] {path}: {' '.join(str(why).split())[:300]}", soft_wrap=True)
        total = max(len(items), int(out.get(label) or 0))  # a run lists at most 1,000 per state (ocrflow.run.tally)
        if total > len(shown):
            console.print(f"  ... and {total - len(shown)} more {label} ({WHERE[label]})", soft_wrap=True)
    if out.get("data_docs"):
        console.print(f"data docs: {out['data_docs']}", soft_wrap=True)
    status = out.get("status", "?")
    if out.get("message") and (status == "CANCELLED" or not out.get("documents")):
        console.print(str(out["message"]), soft_wrap=True)
    console.print(f"status: [bold]{status}[/bold] (error budget: {out.get('budget', 0)} failed or unmatched)")
