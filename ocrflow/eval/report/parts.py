"""The figures of the fit and the check part (``report["parts"]``), named once for the text and HTML views."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PART_ROWS: tuple[tuple[str, str, str], ...] = (
    ("documents", "document_count", "n"), ("field accuracy", "field_accuracy", "num"),
    ("soft field accuracy", "soft_field_accuracy", "num"), ("wrong values in clean tables", "wrong_in_clean", "pct"),
    ("loaded without review (non-copies)", "loaded_without_review", "pct"), ("values with page and box", "located",
                                                                              "pct"),
    ("expected calibration error", "ece", "num"), ("line-item F1", "line_f1", "num"),
)


def part_value(part: Mapping[str, Any], key: str) -> Any:
    """One figure of a part (``ocrflow.eval.runner.part_figures``) by its short name."""
    trust = part.get("trust") or {}
    if key == "ece":
        return (trust.get("reliability") or {}).get("ece")
    if key == "line_f1":
        lines = part.get("line_items") or {}
        return lines.get("f1") if lines.get("gold") else None
    if key in trust:
        return trust[key]
    return part.get(key)


def part_counts(part: Mapping[str, Any], key: str) -> str:
    """The counts behind one figure ('' where it has none)."""
    trust = part.get("trust") or {}
    if key in ("field_accuracy", "soft_field_accuracy"):
        right = part.get("correct") if key == "field_accuracy" else (
            sum(int(v.get("soft_correct", 0)) for v in (part.get("by_field") or {}).values()))
        return f"{right}/{part.get('labelled')}"
    if key == "wrong_in_clean" and trust:
        return f"{trust.get('wrong_in_clean_n')}/{trust.get('labelled_in_clean')}"
    if key == "loaded_without_review" and trust:
        return f"{trust.get('loaded')}/{int(trust.get('documents', 0)) - int(trust.get('duplicates', 0))}"
    if key == "located" and trust:
        return f"{trust.get('located_n')}/{trust.get('values')}"
    if key == "ece" and trust:
        return f"{(trust.get('reliability') or {}).get('n', 0)} values"
    return ""


def part_cell(part: Mapping[str, Any], key: str, form: str) -> str:
    """One figure as shown: the value (a count, a share in percent, or a number) and its counts."""
    value = part_value(part, key)
    if value is None:
        return "-"
    shown = str(value) if form == "n" else (f"{float(value) * 100:.1f}%" if form == "pct" else f"{float(value):.3f}")
    counts = part_counts(part, key)
    return f"{shown} ({counts})" if counts else shown


def part_table(parts: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    """(figure, one cell per part) for every row of PART_ROWS."""
    return [(label, [part_cell(parts[name], key, form) for name in parts]) for label, key, form in PART_ROWS]
