"""A run's summary: counts, problem documents, page latencies and its status."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ocrflow.models import DocState, DocumentRef, PagePath
from ocrflow.planning import Plan
from ocrflow.results import DocResult


@dataclass(slots=True)
class RunSummary:
    run_id: str
    flow_run_id: str
    counts: dict[str, int]
    seconds: float
    status: str
    failed: list[tuple[str, str]]
    quarantined: list[tuple[str, str]]
    pending: list[tuple[str, str]]
    latencies: dict[str, list[float]]
    data_docs: str = ""
    message: str = ""
    results: list[DocResult] = field(default_factory=list, repr=False)
    """Every processed document's result (pages, row, final state), for callers that score or show them."""


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


def summarize(run_id: str, flow_run_id: str, results: list[DocResult], plan_: Plan, started: float) -> RunSummary:
    counts = {
        "documents": len(plan_.todo) + len(plan_.skipped) + len(plan_.rejected),
        "pages": sum(len(r.pages) for r in results),
        "loaded": sum(r.state == DocState.LOADED for r in results),
        "quarantined": sum(r.state == DocState.QUARANTINED for r in results),
        "failed": sum(r.state == DocState.FAILED for r in results) + len(plan_.rejected),
        "pending": sum(r.state == DocState.PENDING for r in results),
        "skipped": len(plan_.skipped),
    }
    latencies: dict[str, list[float]] = {}
    for r in results:
        for p in r.pages:
            latencies.setdefault(p.engine if p.path == PagePath.OCR else p.path.value, []).append(
                p.latency_s + p.render_s)
    failed = [(r.doc.path, r.error or "") for r in results if r.state == DocState.FAILED]
    failed += [(r.path, r.reason) for r in plan_.rejected]
    status = "COMPLETED" if not counts["failed"] and not counts["pending"] else "FAILED"
    message = "" if status == "COMPLETED" else (
        f"{counts['failed']} failed, {counts['pending']} pending: "
        + "; ".join(f"{Path(p).name}: {e}" for p, e in failed[:5]))
    return RunSummary(
        run_id=run_id, flow_run_id=flow_run_id, counts=counts, seconds=time.perf_counter() - started,
        status=status, failed=failed,
        quarantined=[(r.doc.path, r.error or "") for r in results if r.state == DocState.QUARANTINED],
        pending=[(r.doc.path, r.error or "") for r in results if r.state == DocState.PENDING],
        latencies=latencies, message=message, results=results)


def effective_plan(plan_: Plan, mine: list[DocumentRef], elsewhere: list[DocumentRef]) -> Plan:
    """The plan as this worker ran it: documents another worker held count as skipped here."""
    return Plan(todo=mine, skipped=[*plan_.skipped, *elsewhere], rejected=plan_.rejected)
