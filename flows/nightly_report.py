"""The nightly run's summary: its child runs with their counts, and the counts added up.

Each ``process-documents`` run publishes a one-row table artifact (``flows.reporting.COUNTS_KEY``) with
its counts, whether it ran in this process or on another worker as a deployment run; the nightly run
reads those artifacts back through the API by flow run id, so the totals are the children's own numbers.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from flows.reporting import COUNTS_KEY, TOTAL_KEYS, review_markdown

NIGHTLY_KEY = "ocrflow-nightly-summary"


def child_counts(flow_run_ids: list[str]) -> dict[str, dict[str, Any]]:
    """flow run id -> the counts row its run published (runs that published none are absent)."""
    ids = [UUID(i) for i in flow_run_ids if i]
    if not ids:
        return {}
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=ids), key=ArtifactFilterKey(any_=[COUNTS_KEY])))
    out: dict[str, dict[str, Any]] = {}
    for a in arts:
        data = json.loads(a.data) if isinstance(a.data, str) else a.data
        if isinstance(data, list) and data and isinstance(data[0], dict):
            out[str(a.flow_run_id)] = data[0]
    return out


def with_counts(children: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The children, each with its counts (0 where its run published none), and the totals."""
    counts = child_counts([c.get("id", "") for c in children])
    totals = dict.fromkeys(TOTAL_KEYS, 0)
    rows = []
    for c in children:
        own = counts.get(c.get("id", ""), {})
        row = {**c, **{k: int(own.get(k, 0) or 0) for k in TOTAL_KEYS}, "counted": bool(own),
               "failed_documents": str(own.get("failed_documents") or "")}
        for k in TOTAL_KEYS:
            totals[k] += row[k]
        rows.append(row)
    return rows, totals


def nightly_markdown(root: str, children: list[dict[str, Any]], totals: dict[str, int], *, mode: str, new: int,
                     message: str = "", review_waiting: int | None = None) -> str:
    lines = [f"# nightly-ingest: {root}", "", f"{new} new file(s), {len(children)} child run(s) ({mode})", ""]
    if message:
        lines += [f"> {message}", ""]
    keys = ("loaded", "quarantined", "failed", "unmatched", "pending", "duplicates")
    lines += ["| total | " + " | ".join(keys) + " |", "|---|" + "---:|" * len(keys),
              "| all child runs | " + " | ".join(str(totals.get(k, 0)) for k in keys) + " |", ""]
    if children:
        lines += ["| run | state | " + " | ".join(keys) + " | message |", "|---|---|" + "---:|" * len(keys) + "---|"]
        for c in children:
            cells = " | ".join(str(c.get(k, 0)) if c.get("counted", True) else "?" for k in keys)
            lines.append(f"| {c['name']} | {c['state']} | {cells} | {str(c.get('message', ''))[:200]} |")
        lines.append("")
    failed = [c for c in children if c.get("failed_documents")]
    if failed:
        lines += ["## Failed documents", ""]
        lines += [f"- {c['name']}: {c['failed_documents']}" for c in failed]
        lines.append("")
    lines += review_markdown(review_waiting)
    return "\n".join(lines)


def publish_nightly(root: str, children: list[dict[str, Any]], totals: dict[str, int], *, mode: str, new: int,
                    message: str = "", review_waiting: int | None = None) -> None:
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(
        markdown=nightly_markdown(root, children, totals, mode=mode, new=new, message=message,
                                  review_waiting=review_waiting),
        key=NIGHTLY_KEY, description=f"{new} new file(s) in {len(children)} run(s): {totals.get('loaded', 0)} "
                                     f"loaded, {totals.get('quarantined', 0)} quarantined, "
                                     f"{totals.get('failed', 0)} failed")
