"""Trust figures of an evaluation: how often a wrong value reaches a clean table, how many documents
load without review, how many values carry a page and a box, and how well confidence is calibrated.

- wrong in clean: labelled values of loaded rows whose similarity to gold is under 0.9 (the soft
  match of ``ocrflow.eval.scoring``), over the labelled values of loaded rows;
- loaded without review: documents loaded (not quarantined, not failed), over the documents that are not
  copies of another (held only by the ``duplicate`` business-key check: the same invoice a second time, e.g.
  in UBL and in CII, is quarantined by design, not for doubt); ``loaded_of_all`` counts them too;
- located: non-null values whose evidence has a page and a box, over non-null values of rows from
  documents that have pages (a standalone XML invoice has none to point at);
- reliability: labelled values with a confidence, by confidence bucket: mean confidence against the
  share of soft matches; ECE = sum over buckets of (n_b / n) * |accuracy_b - confidence_b|.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ocrflow.core.evidence import EvidenceRow
from ocrflow.core.results import DocResult

BUCKETS = 10
AIMS = {"wrong_in_clean": 0.02, "loaded_without_review": 0.70, "located": 0.95}
"""The aims of the trust figures (docs/evaluation.md): at most, at least, at least."""
Evidence = dict[str, dict[str, dict[str, Any]]]
"""path -> field -> evidence as a plain dict"""


def evidence_dict(ev: EvidenceRow) -> dict[str, Any]:
    return {"value": ev.value, "raw": ev.raw, "source": ev.source, "method": ev.method,
            "confidence": ev.confidence, "grounding": ev.grounding, "page_no": ev.page_no,
            "bbox": list(ev.bbox) if ev.bbox else None, "page_width": ev.page_width,
            "page_height": ev.page_height, "signals": ev.signals, "engine": ev.engine, "model": ev.model,
            "prompt_version": ev.prompt_version}


def predicted_evidence(results: Iterable[DocResult]) -> Evidence:
    """Per document path, its row's evidence by field (documents without a row have none)."""
    return {r.doc.path: {ev.field: evidence_dict(ev) for ev in r.row.evidence if not ev.line_no}
            for r in results if r.row is not None}


def _share(num: int, den: int) -> float:
    return num / den if den else 0.0


def reliability(pairs: list[tuple[float, bool]], buckets: int = BUCKETS) -> dict[str, Any]:
    """Accuracy by confidence bucket and the expected calibration error of (confidence, correct) pairs."""
    rows = []
    ece = 0.0
    for b in range(buckets):
        lo, hi = b / buckets, (b + 1) / buckets
        inside = [(c, ok) for c, ok in pairs if lo <= c < hi or (b == buckets - 1 and c == 1.0)]
        if not inside:
            continue
        conf = sum(c for c, _ in inside) / len(inside)
        acc = sum(ok for _, ok in inside) / len(inside)
        ece += len(inside) / len(pairs) * abs(acc - conf)
        rows.append({"low": lo, "high": hi, "n": len(inside), "confidence": conf, "accuracy": acc})
    return {"buckets": rows, "ece": ece, "n": len(pairs)}


def _has_pages(doc: Mapping[str, Any]) -> bool:
    return any(ev.get("source") != "einvoice_xml" or ev.get("page_no") is not None
               for ev in doc.get("evidence", {}).values()) or not str(doc.get("path", "")).endswith(".xml")


def trust_report(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """The trust figures over scored documents that carry ``state`` and ``evidence`` (see the module doc)."""
    loaded = [d for d in documents if d.get("state") == "loaded"]
    copies = [d for d in documents if d.get("state") != "loaded" and list(d.get("checks") or []) == ["duplicate"]]
    labelled = [f for d in loaded for f in d["fields"].values()]
    wrong = sum(not f["soft"] for f in labelled)
    values = [ev for d in documents if _has_pages(d) for ev in d.get("evidence", {}).values()
              if ev.get("value") is not None]
    located = sum(ev.get("page_no") is not None and ev.get("bbox") is not None for ev in values)
    pairs = [(float(ev["confidence"]), bool(f["soft"])) for d in documents for name, f in d["fields"].items()
             for ev in [d.get("evidence", {}).get(name) or {}] if ev.get("confidence") is not None]
    return {
        "wrong_in_clean": _share(wrong, len(labelled)), "wrong_in_clean_n": wrong,
        "labelled_in_clean": len(labelled),
        "loaded_without_review": _share(len(loaded), len(documents) - len(copies)), "loaded": len(loaded),
        "documents": len(documents), "duplicates": len(copies),
        "loaded_of_all": _share(len(loaded), len(documents)),
        "located": _share(located, len(values)), "located_n": located, "values": len(values),
        "reliability": reliability(pairs),
        "by_source": _by_source(documents),
        "states": _states(documents),
        "held_by_check": held_by_check(documents),
    }


def held_by_check(documents: list[dict[str, Any]]) -> dict[str, int]:
    """Documents that did not load, by each check their row failed (one document may count under several);
    a document without a row counts under its state (``failed``)."""
    out: dict[str, int] = {}
    for d in documents:
        if d.get("state") == "loaded":
            continue
        for check in d.get("checks") or [str(d.get("state") or "unknown")]:
            out[check] = out.get(check, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _states(documents: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in documents:
        out[str(d.get("state") or "unknown")] = out.get(str(d.get("state") or "unknown"), 0) + 1
    return dict(sorted(out.items()))


def _by_source(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Accuracy per evidence source (einvoice_xml, text_layer, ocr, vlm) of labelled values."""
    out: dict[str, dict[str, Any]] = {}
    for d in documents:
        for name, f in d["fields"].items():
            ev = d.get("evidence", {}).get(name) or {}
            bucket = out.setdefault(str(ev.get("source") or "none"), {"labelled": 0, "correct": 0,
                                                                       "soft_correct": 0})
            bucket["labelled"] += 1
            bucket["correct"] += int(f["correct"])
            bucket["soft_correct"] += int(f["soft"])
    for bucket in out.values():
        bucket["field_accuracy"] = _share(bucket["correct"], bucket["labelled"])
        bucket["soft_field_accuracy"] = _share(bucket["soft_correct"], bucket["labelled"])
    return dict(sorted(out.items()))


def annotate(documents: list[dict[str, Any]], states: Mapping[int, tuple[str, str]],
             evidence: Mapping[int, Mapping[str, Any]]) -> None:
    """Give every scored document its state, error and evidence (by its index in the gold file)."""
    for i, doc in enumerate(documents):
        doc["state"], doc["error"] = states.get(i, ("failed", ""))
        doc["evidence"] = dict(evidence.get(i, {}))
        for name, f in doc["fields"].items():
            f["confidence"] = (doc["evidence"].get(name) or {}).get("confidence")
