"""A run's summary: counts, problem documents, page latencies, its status and exit code.

Exit codes (``RunSummary.code``), the same for ``ocrflow run`` and ``ocrflow run --prefect``: 0 COMPLETED,
1 FAILED (documents over the error budget, pending documents, an empty input with ``--fail-on-empty``),
2 stopped before or between batches by a usage, configuration, engine or store error, 130 / 143 CANCELLED
by SIGINT / SIGTERM (128 + the signal).
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ocrflow.core.models import DocState, DocumentRef
from ocrflow.core.results import DocResult
from ocrflow.run.planning import Plan
from ocrflow.run.tally import LISTED_MAX, Tally


@dataclass(slots=True)
class RunSummary:
    run_id: str
    flow_run_id: str
    counts: dict[str, int]
    seconds: float
    status: str
    failed: list[tuple[str, str]]
    """``(path, reason)`` of the failed documents, the first LISTED_MAX of them (``counts`` has them all);
    likewise ``quarantined``, ``pending`` and ``unmatched``."""
    quarantined: list[tuple[str, str]]
    pending: list[tuple[str, str]]
    latencies: dict[str, list[float]]
    """Page latencies (render + text or OCR) per path or engine: all of them, or a uniform sample of
    LATENCY_SAMPLES past that many (``latency_pages`` says how many pages they stand for)."""
    data_docs: str = ""
    message: str = ""
    unmatched: list[tuple[str, str]] = field(default_factory=list)
    """Documents no contract matched (state ``unmatched``; ``ocrflow reprocess --unmatched``)."""
    budget: int = 0
    """Failed + unmatched documents this run may have and still be COMPLETED (``max_failed``)."""
    results: list[DocResult] = field(default_factory=list, repr=False)
    """Every processed document's result (pages, row, final state), for callers that score or show them;
    empty when the run kept none (``RunOptions.keep_results`` False: ``ocrflow run``, the flows)."""
    latency_pages: dict[str, int] = field(default_factory=dict)
    """Pages behind each entry of ``latencies``."""
    already_final: dict[str, int] = field(default_factory=dict)
    """The skipped documents (final in an earlier run) by their state: loaded, quarantined, failed, ..."""
    review_waiting: int | None = None
    """Records in the review queue after the run (quarantined + low confidence); None: not counted."""
    code: int = 0
    """The process exit code this run calls for (module docstring)."""


def already_final_text(skipped: int, states: dict[str, int]) -> str:
    """``3 already final (0 loaded, 1 quarantined, 2 failed)``: what a re-run skipped, by state."""
    if not skipped:
        return "0 already final"
    parts = [f"{states.get(k, 0)} {k}" for k in ("loaded", "quarantined", "failed")]
    parts += [f"{n} {k}" for k, n in sorted(states.items()) if k not in ("loaded", "quarantined", "failed") and n]
    return f"{skipped} already final ({', '.join(parts)})"


def stopped_summary(run_id: str, flow_run_id: str, message: str, started: float) -> RunSummary:
    """The summary of a run that stopped before processing anything (a bad parameter, a missing input, a
    store that cannot be opened): every count 0, status FAILED, the one-line reason."""
    counts = dict.fromkeys(("documents", "pages", "loaded", "quarantined", "failed", "pending", "skipped",
                            "unmatched", "duplicates"), 0)
    return RunSummary(run_id=run_id, flow_run_id=flow_run_id, counts=counts, seconds=time.perf_counter() - started,
                      status="FAILED", failed=[], quarantined=[], pending=[], latencies={}, message=message, code=2)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


def failure_budget(max_failed: str, documents: int) -> int:
    """How many failed documents ``max_failed`` allows in a run of ``documents``: a count (``5``) as it is,
    a fraction (``1%``, ``0.01``) of the documents rounded UP, so that one broken file in a small run does
    not fail it (a fraction above 0 always allows at least one)."""
    text = max_failed.strip()
    if text.endswith("%"):
        return math.ceil(float(text[:-1]) / 100 * documents - 1e-9)
    if "." in text:
        return math.ceil(float(text) * documents - 1e-9)
    return int(text)


def summarize(run_id: str, flow_run_id: str, tally: Tally, plan_: Plan, started: float,
              max_failed: str = "0") -> RunSummary:
    """The run's summary from what it kept of its documents (ocrflow.run.tally): counts, bounded lists."""
    counts = {
        "documents": len(plan_.todo) + len(plan_.skipped) + len(plan_.rejected),
        "pages": tally.pages,
        "loaded": tally.count(DocState.LOADED),
        "quarantined": tally.count(DocState.QUARANTINED),
        "failed": tally.count(DocState.FAILED) + len(plan_.rejected),
        "pending": tally.count(DocState.PENDING),
        "skipped": len(plan_.skipped),
        "unmatched": tally.count(DocState.UNMATCHED),
        "duplicates": plan_.duplicates,
    }
    failed = tally.named(DocState.FAILED)
    failed += [(r.path, r.reason) for r in plan_.rejected[:max(LISTED_MAX - len(failed), 0)]]
    unmatched = tally.named(DocState.UNMATCHED)
    budget = failure_budget(max_failed, counts["documents"])
    bad = counts["failed"] + counts["unmatched"]
    status = "COMPLETED" if bad <= budget and not counts["pending"] else "FAILED"
    message = "" if not bad and not counts["pending"] else (
        f"{counts['failed']} failed, {counts['unmatched']} unmatched, {counts['pending']} pending "
        f"(error budget {budget})" + (": " + name_problems([*failed, *unmatched], run_id, total=bad) if bad else ""))
    return RunSummary(
        run_id=run_id, flow_run_id=flow_run_id, counts=counts, seconds=time.perf_counter() - started,
        status=status, failed=failed, quarantined=tally.named(DocState.QUARANTINED),
        pending=tally.named(DocState.PENDING), latencies=tally.latencies, latency_pages=dict(tally.latency_pages),
        message=message, results=tally.results, unmatched=unmatched, budget=budget,
        code=0 if status == "COMPLETED" else 1)


MESSAGE_CHARS = 1500
"""How long the named failures in a summary message may grow before the rest are counted (the message is
one line: the runs row, the flow run's state message, the last line of a cron mail)."""


def name_problems(items: list[tuple[str, str]], run_id: str, limit: int = MESSAGE_CHARS,
                  total: int | None = None) -> str:
    """``a.pdf: reason; b.pdf: reason``, every one while the text stays under ``limit`` characters, then
    how many more and where to see them all. ``total``: how many there are when ``items`` lists only the
    first of them (a run names at most LISTED_MAX per state)."""
    parts: list[str] = []
    used = 0
    total = max(total or 0, len(items))
    for n, (path, why) in enumerate(items):
        part = f"{Path(path).name}: {' '.join((why or '').split())[:160]}"
        if used + len(part) > limit and parts:
            return "; ".join(parts) + (f"; and {total - n} more (all of them: ocrflow query \"SELECT path, state,"
                                       f" error FROM documents WHERE run_id = '{run_id}' AND state IN ('failed', "
                                       "'unmatched')\")")
        parts.append(part)
        used += len(part) + 2
    if total > len(items) and parts:
        return "; ".join(parts) + (f"; and {total - len(items)} more (all of them: ocrflow query \"SELECT path, "
                                   f"state, error FROM documents WHERE run_id = '{run_id}' AND state IN ('failed', "
                                   "'unmatched')\")")
    return "; ".join(parts)


def summary_json(summary: RunSummary) -> dict[str, Any]:
    """The run's summary as JSON: what ``ocrflow run --json`` prints and what the flow returns (the same).
    Each ``*_documents`` list holds ``[path, reason]`` pairs."""
    def listed(items: list[tuple[str, str]]) -> list[list[str]]:
        return [[p, e] for p, e in items]

    return {"run_id": summary.run_id, "status": summary.status, "exit_code": summary.code, **summary.counts,
            "seconds": round(summary.seconds, 2), "message": summary.message, "budget": summary.budget,
            "failed_documents": listed(summary.failed), "unmatched_documents": listed(summary.unmatched),
            "pending_documents": listed(summary.pending), "quarantined_documents": listed(summary.quarantined),
            "already_final": summary.already_final, "review_waiting": summary.review_waiting,
            "data_docs": summary.data_docs}


def batch_line(number: int, batches: int, done: int, total: int, counts: dict[str, int], elapsed_s: float) -> str:
    """One plain progress line per batch (logs, cron mail, ``make``): done, failed, rate and ETA."""
    rate = done / elapsed_s if elapsed_s > 0 else 0.0
    left = max(total - done, 0)
    eta = f"ETA {_duration(left / rate)}" if rate > 0 and left else ("done" if not left else "ETA unknown")
    states = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if v)
    return (f"batch {number}/{batches} written: {done}/{total} documents ({states or 'none'}), "
            f"failed {counts.get('failed', 0)}, {rate:.1f} documents/s, {eta}")


def _duration(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else (f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s")


def effective_plan(plan_: Plan, mine: list[DocumentRef], elsewhere: list[DocumentRef]) -> Plan:
    """The plan as this worker ran it: documents another worker held count as skipped here."""
    return Plan(todo=mine, skipped=[*plan_.skipped, *elsewhere], rejected=plan_.rejected, paths=plan_.paths,
                duplicates=plan_.duplicates)
