"""``ocrflow eval --compare A.json B.json``: two saved ``eval --json`` outputs side by side.

What ran (engine, model, prompt and contract versions), the overall scores, every field's accuracy in
both with the change, the fields that got better or worse, the values that flipped (right in one run,
wrong in the other, matched by document path and field), the trust figures and the line-item scores.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

META_KEYS = ("engine", "model", "prompt_version", "contract_mode", "gold", "started_at")
TRUST_FIGURES: tuple[tuple[str, bool], ...] = (
    ("wrong_in_clean", False), ("loaded_without_review", True), ("located", True),
)
"""(figure, higher is better)"""
EPSILON = 1e-9


class NotAnEvalReport(ValueError):
    """The file is not the JSON that ``ocrflow eval --json`` writes."""


def load_report(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise NotAnEvalReport(f"{path}: cannot read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise NotAnEvalReport(f"{path}: not JSON ({exc}); save `ocrflow eval --json` output") from exc
    if not isinstance(data, dict) or not isinstance(data.get("by_field"), dict) or "field_accuracy" not in data:
        raise NotAnEvalReport(f"{path}: not an `ocrflow eval --json` output (no field_accuracy / by_field)")
    return data


def meta(report: Mapping[str, Any]) -> dict[str, Any]:
    run = report.get("run") or {}
    out: dict[str, Any] = {k: run.get(k, "") for k in META_KEYS}
    out["contracts"] = dict(run.get("contracts") or {})
    out["use_embedded_xml"] = report.get("use_embedded_xml")
    out["as_scans"] = bool(report.get("as_scans"))
    return out


def _pair(a: Any, b: Any) -> dict[str, Any]:
    delta = b - a if isinstance(a, (int, float)) and isinstance(b, (int, float)) else None
    return {"a": a, "b": b, "delta": delta}


def _fields(a: Mapping[str, Any], b: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    out = []
    for name in sorted(set(a.get(key) or {}) | set(b.get(key) or {})):
        fa, fb = (a.get(key) or {}).get(name) or {}, (b.get(key) or {}).get(name) or {}
        row = {"name": name, **_pair(fa.get("field_accuracy"), fb.get("field_accuracy")),
               "soft": _pair(fa.get("soft_field_accuracy"), fb.get("soft_field_accuracy")),
               "labelled": _pair(fa.get("labelled"), fb.get("labelled"))}
        out.append(row)
    return out


def _values(report: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(str(d.get("path", "")), name): f for d in report.get("documents") or []
            for name, f in (d.get("fields") or {}).items()}


def flipped(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Values scored in both runs that are right in one only: ``fixed`` (wrong in A) and ``broken``."""
    va, vb = _values(a), _values(b)
    out: dict[str, list[dict[str, Any]]] = {"fixed": [], "broken": []}
    for key in sorted(set(va) & set(vb)):
        was, now = bool(va[key].get("correct")), bool(vb[key].get("correct"))
        if was != now:
            out["fixed" if now else "broken"].append(
                {"path": key[0], "field": key[1], "gold": vb[key].get("gold"), "a": va[key].get("predicted"),
                 "b": vb[key].get("predicted")})
    return out


def _trust(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[dict[str, Any]]:
    ta, tb = a.get("trust") or {}, b.get("trust") or {}
    rows = []
    for name, higher in TRUST_FIGURES:
        row = {"name": name, **_pair(ta.get(name), tb.get(name)), "higher_is_better": higher}
        rows.append(row)
    ece_a, ece_b = (ta.get("reliability") or {}).get("ece"), (tb.get("reliability") or {}).get("ece")
    rows.append({"name": "ece", **_pair(ece_a, ece_b), "higher_is_better": False})
    return rows


def compare_reports(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """The comparison of run A with run B (deltas are B - A)."""
    fields = _fields(a, b, "by_field")
    la, lb = a.get("line_items") or {}, b.get("line_items") or {}
    return {
        "a": meta(a), "b": meta(b),
        "overall": {k: _pair(a.get(k), b.get(k)) for k in ("field_accuracy", "soft_field_accuracy", "labelled",
                                                           "correct")},
        "fields": fields,
        "better": [f["name"] for f in fields if f["delta"] is not None and f["delta"] > EPSILON],
        "worse": [f["name"] for f in fields if f["delta"] is not None and f["delta"] < -EPSILON],
        "sources": _fields(a, b, "by_source"),
        "trust": _trust(a, b),
        "line_items": {k: _pair(la.get(k), lb.get(k)) for k in ("precision", "recall", "f1")},
        "flipped": flipped(a, b),
    }


def compare_files(a: Path, b: Path) -> dict[str, Any]:
    return compare_reports(load_report(a), load_report(b))
