"""Run artifacts: a markdown summary, a table of problem documents and a progress bar.

Keys (lowercase, dashes) make the artifacts show on the UI's Artifacts page, one version per run.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any
from uuid import UUID

from ocrflow.contracts import Contract
from ocrflow.run.summary import RunSummary, already_final_text
from ocrflow.store.base import Store

log = logging.getLogger("ocrflow.flows")

SUMMARY_KEY = "ocrflow-run-summary"
PROBLEMS_KEY = "ocrflow-problem-documents"
PROGRESS_KEY = "ocrflow-progress"
COUNTS_KEY = "ocrflow-run-counts"
"""A one-row table artifact with the run's counts: what the nightly run adds up over its child runs."""
COUNT_KEYS = ("documents", "pages", "loaded", "quarantined", "failed", "pending", "skipped")
TOTAL_KEYS = ("documents", "loaded", "quarantined", "failed", "unmatched", "pending", "skipped", "duplicates")
"""The counts the nightly summary adds up over its children."""
REVIEW_URL_ENV = "OCRFLOW_REVIEW_URL"
"""Where the review page (``ocrflow review``) is served; the summary links to it when set."""


def review_waiting(store: Store, contracts: dict[str, Contract]) -> int | None:
    """Records waiting in the review queue (quarantined + low confidence); None if they cannot be counted."""
    from ocrflow.review.queue import review_queue

    try:
        return review_queue(store, contracts).total
    except Exception as exc:  # noqa: BLE001 - a count for the summary never fails the run
        log.warning("review queue not counted: %s: %s", type(exc).__name__, exc)
        return None


def review_markdown(waiting: int | None) -> list[str]:
    """The summary's review line: how many records wait, and a link when OCRFLOW_REVIEW_URL is set."""
    if waiting is None:
        return []
    url = os.environ.get(REVIEW_URL_ENV, "").strip()
    where = f"[open the review page]({url})" if url else "run `ocrflow review` to open the review page"
    return [f"**{waiting} record(s) wait for review**: {where}.", ""]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_rows(latencies: dict[str, list[float]], pages: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """p50 / p95 per engine from the run's latencies (all of them, or a uniform sample of a long run's:
    ``pages`` says how many pages each sample stands for)."""
    return [{"engine": name, "pages": max(len(vals), (pages or {}).get(name, 0)),
             "p50_s": round(percentile(vals, 50), 3), "p95_s": round(percentile(vals, 95), 3)}
            for name, vals in sorted(latencies.items()) if vals]


def mask_url(url: str) -> str:
    """A store URL without its password (postgresql://user:***@host/db)."""
    from ocrflow.core.settings import redact_url

    return redact_url(url)


def summary_markdown(summary: RunSummary, *, title: str, store_url: str) -> str:
    c = summary.counts
    lines = [f"# {title}", "",
             f"**Status: {summary.status}** in {summary.seconds:.1f} s — run `{summary.run_id}`, "
             f"store `{mask_url(store_url)}`", ""]
    if summary.message:
        lines += [f"> {summary.message}", ""]
    lines += ["| " + " | ".join(COUNT_KEYS) + " |", "|" + "---:|" * len(COUNT_KEYS),
              "| " + " | ".join(str(c.get(k, 0)) for k in COUNT_KEYS) + " |", ""]
    if c.get("skipped"):
        lines += [f"Skipped: {already_final_text(c['skipped'], summary.already_final)}.", ""]
    lines += review_markdown(summary.review_waiting)
    rows = latency_rows(summary.latencies, summary.latency_pages)
    if rows:
        lines += ["## Page latency (render + text/OCR, seconds)", "", "| engine | pages | p50 | p95 |",
                  "|---|---:|---:|---:|"]
        lines += [f"| {r['engine']} | {r['pages']} | {r['p50_s']:.3f} | {r['p95_s']:.3f} |" for r in rows]
        lines.append("")
    if summary.data_docs:
        lines += [f"Validation report (Great Expectations Data Docs): `{summary.data_docs}`", ""]
    problems = sum(c.get(k, 0) for k in ("quarantined", "failed", "pending"))
    if problems:
        lines += [f"{problems} document(s) need attention: see the `{PROBLEMS_KEY}` table artifact.", ""]
    return "\n".join(lines)


def failed_names(summary: RunSummary) -> str:
    """The failed and unmatched documents by name with their reasons, for the nightly summary."""
    from ocrflow.run.summary import name_problems

    total = summary.counts.get("failed", 0) + summary.counts.get("unmatched", 0)
    return name_problems([*summary.failed, *summary.unmatched], summary.run_id, total=total)


def problem_rows(summary: RunSummary, limit: int = 500) -> list[dict[str, str]]:
    """Quarantined, failed and pending documents with the reason, for the table artifact."""
    rows = []
    for state, items in (("failed", summary.failed), ("quarantined", summary.quarantined),
                         ("pending", summary.pending)):
        for path, why in items:
            rows.append({"state": state, "document": Path(path).name, "path": str(path),
                         "reason": (why or "")[:300]})
    return rows[:limit]


def publish_summary(summary: RunSummary, *, title: str, store_url: str) -> None:
    """The markdown summary and the problem-documents table, attached to the current flow run."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    create_markdown_artifact(markdown=summary_markdown(summary, title=title, store_url=store_url),
                             key=SUMMARY_KEY, description=f"{summary.status}: {summary.run_id}")
    rows = problem_rows(summary)
    table: list[dict[str, str]] = rows or [{"state": "", "document": "(none)", "path": "", "reason": ""}]
    create_table_artifact(table=table, key=PROBLEMS_KEY,
                          description=f"{len(rows)} quarantined, failed or pending document(s)")
    counts: dict[str, Any] = {"run_id": summary.run_id, "status": summary.status, "message": summary.message,
                              **{k: int(summary.counts.get(k, 0)) for k in TOTAL_KEYS},
                              "failed_documents": failed_names(summary)}
    create_table_artifact(table=[counts], key=COUNTS_KEY, description=f"{summary.status}: counts of this run")


class Progress:
    """A progress artifact updated as batches finish (the UI shows a bar on the run page)."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.done, self.label = max(total, 0), 0, label
        self._id: UUID | None = None

    def start(self) -> None:
        from prefect.artifacts import create_progress_artifact

        artifact_id: Any = create_progress_artifact(
            progress=0.0 if self.total else 100.0, key=PROGRESS_KEY, description=self._describe())
        self._id = artifact_id

    def advance(self, n: int, counts: dict[str, int] | None = None) -> None:
        from prefect.artifacts import update_progress_artifact

        self.done = min(self.total, self.done + n)
        if self._id is not None:
            update_progress_artifact(artifact_id=self._id, progress=self.percent(),
                                     description=self._describe(counts))

    def percent(self) -> float:
        return 100.0 if not self.total else round(100.0 * self.done / self.total, 1)

    def _describe(self, counts: dict[str, int] | None = None) -> str:
        tail = ", ".join(f"{k} {v}" for k, v in (counts or {}).items() if v)
        return f"{self.label}: {self.done}/{self.total} documents" + (f" ({tail})" if tail else "")
