"""The line-item part of ``ocrflow eval``: each document's predicted lines, and their score.

Without XML (``--no-einvoice``) the PDF pages must be read; a standalone XML document has no pages,
so it is scored only in the figure with XML (docs/evaluation.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ocrflow.core.results import DocResult
from ocrflow.eval.lines import score_line_items


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass(frozen=True, slots=True)
class PredictedLines:
    lines: list[dict[str, Any]] = field(default_factory=list)
    has_pages: bool = True


def predicted_lines(results: Iterable[DocResult]) -> dict[str, PredictedLines]:
    out: dict[str, PredictedLines] = {}
    for r in results:
        rows = r.row.lines if r.row is not None else []
        out[r.doc.path] = PredictedLines(
            lines=[{k: plain(v) for k, v in ln.items() if k != "raw"} for ln in rows],
            has_pages=bool(r.pages) or r.doc.mime != "application/xml")
    return out


def line_items_report(records: list[dict[str, Any]], paths: list[str], lines: dict[str, PredictedLines], *,
                      use_embedded_xml: bool) -> dict[str, Any]:
    items = []
    for rec, path in zip(records, paths, strict=True):
        found = lines.get(path, PredictedLines())
        if not use_embedded_xml and not found.has_pages:
            continue
        items.append((rec, found.lines))
    report = score_line_items(items)
    report["with_xml"] = use_embedded_xml
    return report
