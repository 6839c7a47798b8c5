"""``ocrflow eval --report DIR``: one self-contained HTML file (charts and page crops embedded as base64).

The template is Jinja2 with autoescape on: every string that comes from a document (paths, values, page
text, error messages) is escaped. Nothing is fetched when the file is opened: no scripts, fonts or images
from elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ocrflow.eval.report.charts import accuracy_bars, reliability_diagram
from ocrflow.eval.report.crops import PageCropper
from ocrflow.eval.report.learning import learning_context
from ocrflow.eval.report.parts import part_table
from ocrflow.eval.trust import AIMS

HERE = Path(__file__).parent
REPORT_FILE = "index.html"
RUN_KEYS = ("gold", "engine", "model", "prompt_version", "contract_mode", "started_at")


def misses(report: Mapping[str, Any], base: Path | None, cropper: PageCropper | None) -> list[dict[str, Any]]:
    """Every labelled value that is not an exact match, wrong values of loaded rows first."""
    out = []
    for doc in report.get("documents", []):
        path = (base / str(doc.get("path", ""))) if base is not None else None
        for name, f in doc.get("fields", {}).items():
            if f.get("correct"):
                continue
            ev = (doc.get("evidence") or {}).get(name) or {}
            crop = cropper.crop(path, ev) if cropper is not None and path is not None and path.is_file() else None
            out.append({"path": doc.get("path", ""), "doc_type": doc.get("doc_type", ""),
                        "gold_source": doc.get("source", ""), "state": doc.get("state", ""),
                        "error": doc.get("error", ""), "field": name, "kind": f.get("kind", ""),
                        "gold": f.get("gold"), "predicted": f.get("predicted"), "soft": bool(f.get("soft")),
                        "confidence": f.get("confidence"), "source": ev.get("source") or "",
                        "method": ev.get("method") or "", "grounding": ev.get("grounding") or "",
                        "page_no": ev.get("page_no"), "crop": crop})
    out.sort(key=lambda m: (m["state"] != "loaded", m["soft"], m["path"], m["field"]))
    return out


def charts(report: Mapping[str, Any]) -> dict[str, str]:
    trust = report.get("trust") or {}
    out = {"by_field": accuracy_bars("Accuracy per field", report.get("by_field") or {}),
           "by_source": accuracy_bars("Accuracy per document source", report.get("by_source") or {})}
    if trust.get("by_source"):
        out["by_evidence"] = accuracy_bars("Accuracy per evidence source (how the value was read)",
                                           trust["by_source"])
    rel = trust.get("reliability") or {}
    out["reliability"] = reliability_diagram(rel.get("buckets") or [], float(rel.get("ece") or 0.0))
    return out


def context(report: Mapping[str, Any], base: Path | None, cropper: PageCropper | None) -> dict[str, Any]:
    listed = misses(report, base, cropper)
    parts = report.get("parts") or {}
    run = {**dict.fromkeys(RUN_KEYS, ""), "contracts": {}, **(report.get("run") or {})}
    return {"report": report, "run": run, "trust": report.get("trust") or {},
            "lines": report.get("line_items") or {}, "charts": charts(report), "misses": listed,
            "wrong_loaded": sum(1 for m in listed if m["state"] == "loaded" and not m["soft"]),
            "aims": AIMS, "problems": list(cropper.problems) if cropper is not None else [],
            "split": report.get("split", "all"), "part_names": list(parts), "part_rows": part_table(parts),
            "part_reliability": {name: ((p.get("trust") or {}).get("reliability") or {}) for name, p in parts.items()},
            "learning": learning_context(report)}  # eval --simulate-review (ocrflow.eval.report.learning)


def render_html(report: Mapping[str, Any], base: Path | None = None, cropper: PageCropper | None = None) -> str:
    """The report as one HTML string; ``base`` is the folder the gold paths are relative to (for crops)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = lambda v: "-" if v is None else f"{float(v) * 100:.1f}%"
    env.filters["num"] = lambda v, d=3: "-" if v is None else f"{float(v):.{d}f}"
    env.filters["value"] = _shown
    return env.get_template("report.html").render(**context(report, base, cropper))


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def write_report(report: Mapping[str, Any], out_dir: Path, base: Path | None = None,
                 renderer: str = "pypdfium2", dpi: int = 150) -> Path:
    """Write ``out_dir/index.html`` (the folder is created) and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cropper = PageCropper(renderer, dpi=dpi) if base is not None else None
    target = out_dir / REPORT_FILE
    target.write_text(render_html(report, base, cropper), encoding="utf-8")
    return target
