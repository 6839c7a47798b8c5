"""Raw line items (from XML, the VLM or a table on the page) -> coerced lines of a contract.

Every line keeps ``line_no`` (its position, 1..n), the contract's line columns coerced by kind, and
where it was read: ``page_no`` and ``box`` (x0, y0, x1, y1 on that page) when it came from a page,
``method`` (how it was read), ``raw`` (the values as read, for ``raw_values``). Lines with neither a
description nor an amount are dropped (blank table rows).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import InvalidOperation
from typing import Any

from ocrflow.contracts import Contract, FieldSpec
from ocrflow.core.models import Failure
from ocrflow.pipeline.coerce import CoercionError, coerce_value

KEEP_KEYS = ("page_no", "box", "method")
"""Where a line was read (kept on the line, not in ``raw``): its page, its row box, and the method
(``xml:line_items``, ``vlm:line_items``, ``vlm:html_table``, ``table``) the line evidence records."""


def coerce_lines(contract: Contract, raw_lines: Any, *, day_first: bool) -> tuple[list[dict[str, Any]],
                                                                                 list[Failure]]:
    """The contract's coerced lines and a Failure per value that cannot be read (field ``line_items[n].x``)."""
    if not contract.lines or not isinstance(raw_lines, list):
        return [], []
    lines: list[dict[str, Any]] = []
    failures: list[Failure] = []
    for raw in raw_lines:
        if not isinstance(raw, Mapping) or not _has_content(raw):
            continue
        line_no = len(lines) + 1
        line: dict[str, Any] = {"line_no": line_no}
        for spec in contract.lines[1:]:
            line[spec.name] = _coerce(spec, raw.get(spec.name), line_no, failures, day_first=day_first)
        line.update({k: raw[k] for k in KEEP_KEYS if raw.get(k) is not None})
        line["raw"] = {k: v for k, v in raw.items() if k not in KEEP_KEYS}
        lines.append(line)
    return lines, failures


DOCUMENT_ADJUSTMENTS = ("allowance_total_amount", "charge_total_amount")
"""EN 16931 BT-107 / BT-108: sums of document-level allowances and charges, positive by definition."""


def unsigned_adjustments(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the document's allowance / charge totals as positive sums: a page that prints its
    allowances as ``-14,73`` (deducted) means the BT-107 amount 14.73 (the line checks subtract it)."""
    for name in DOCUMENT_ADJUSTMENTS:
        value = values.get(name)
        if value is not None and not isinstance(value, bool) and value < 0:
            values[name] = -value
    return values


def _has_content(raw: Mapping[str, Any]) -> bool:
    return any(raw.get(k) not in (None, "") for k in ("description", "line_net_amount", "amount"))


def _coerce(spec: FieldSpec, value: Any, line_no: int, failures: list[Failure], *, day_first: bool) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if spec.kind == "text":
        return str(value).strip()
    try:
        return coerce_value(spec, value, day_first=day_first)
    except (CoercionError, InvalidOperation, TypeError, ValueError) as exc:
        failures.append(Failure(field=f"line_items[{line_no}].{spec.name}", check="coerce", value=value,
                                message=f"line {line_no}: cannot read {spec.name} as {spec.kind}: {exc}"))
        return None
