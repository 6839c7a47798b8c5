"""``ocrflow calibrate``: fit everything the confidence depends on, on the fit part of a gold file only.

From one ``ocrflow eval`` report (its documents, their evidence and signals): the method priors, the logistic
weights (``ocrflow.eval.fit``) and the gate's thresholds per contract field (``ocrflow.eval.gate``); the
result is the calibration the package ships (``ocrflow/pipeline/evidence/calibration.json``), with the
sample counts behind every number. ``figures`` replays a calibration on a report's documents without
running anything again (what the gate would load, the wrong values among them, the reliability): how the
signals' lift is measured on the check part (docs/confidence.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ocrflow.eval.fit import SHAPE_SIGNAL, SHRINK, ValueRecord, confidence_of, fit_priors, fit_weights
from ocrflow.eval.gate import (
    LEVEL,
    LEVELS,
    MAX_WRONG,
    MIN_FIELD_EXAMPLES,
    REVIEW,
    GateChoice,
    GateDoc,
    GateValue,
    choose,
    examples_needed,
    holds,
)
from ocrflow.eval.trust import reliability

DROPPED: tuple[str, ...] = ("label_distance", "odd_shape")
"""Model features left out of the shipped calibration: with them the check part's figures are no better
(``ocrflow calibrate --lift``; docs/confidence.md has the table). Arithmetic was left out of an earlier fit
and is back: since the NDA term reads the agreement's own term, it lifts the fit part and the check part."""
CONFIDENCE_ONE = ("einvoice_xml", "human")
"""Sources whose values have confidence 1: the gate cannot hold them, the model does not score them."""


def _gated(ev: Mapping[str, Any]) -> bool:
    signals = ev.get("signals") or {}
    return ev.get("source") not in CONFIDENCE_ONE and not signals.get("xml")


def value_records(documents: Iterable[Mapping[str, Any]]) -> list[ValueRecord]:
    """Every non-null page-read value of the scored documents (labelled or not), with its signals."""
    out = []
    for d in documents:
        for name, ev in (d.get("evidence") or {}).items():
            if ev.get("value") is None or not ev.get("signals") or not _gated(ev):
                continue
            f = (d.get("fields") or {}).get(name)
            out.append(ValueRecord(str(d.get("path")), str(d.get("doc_type")), name, str(ev.get("method") or ""),
                                   dict(ev["signals"]), f is not None, bool(f and f.get("soft")),
                                   str(d.get("part") or "fit")))
    return out


def held_otherwise(doc: Mapping[str, Any]) -> bool:
    """A check other than the confidence policy holds the document (or it has no row)."""
    if doc.get("state") == "loaded":
        return False
    if doc.get("state") != "quarantined":
        return True
    return any(c != "min_confidence" for c in doc.get("checks") or [])


def is_copy(doc: Mapping[str, Any]) -> bool:
    return doc.get("state") != "loaded" and list(doc.get("checks") or []) == ["duplicate"]


def _from_xml(doc: Mapping[str, Any]) -> bool:
    return any((ev.get("signals") or {}).get("xml") for ev in (doc.get("evidence") or {}).values())


def null_priors(documents: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per ``null|contract.field``: empty fields of page-read rows (n), how many of them the gold also has no
    value for (right), and the share, shrunk toward one half. The gold leaves a field out when the document
    has none (docs/evaluation.md: an unlabelled field is not scored), so this assumes labels are complete."""
    counts: dict[str, list[int]] = {}
    for d in documents:
        if _from_xml(d) or d.get("state") not in ("loaded", "quarantined"):
            continue
        for name, ev in (d.get("evidence") or {}).items():
            if ev.get("value") is None:
                c = counts.setdefault(f"null|{d.get('doc_type')}.{name}", [0, 0])
                c[0] += 1
                c[1] += int(name not in (d.get("fields") or {}))
    return {k: {"n": n, "right": right, "p0": 0.5, "value": round((right + SHRINK * 0.5) / (n + SHRINK), 4)}
            for k, (n, right) in sorted(counts.items())}


class Scorer:
    """The confidence of each value of a report under one calibration (priors + weights)."""

    def __init__(self, priors: Mapping[str, Any], weights: Mapping[str, float], *, field_shape: bool = True) -> None:
        self.priors, self.weights, self.field_shape = priors, weights, field_shape

    def of(self, doc: Mapping[str, Any], name: str) -> float | None:
        ev = (doc.get("evidence") or {}).get(name) or {}
        if ev.get("value") is None:
            found = self.priors.get(f"null|{doc.get('doc_type')}.{name}")
            return None if found is None or _from_xml(doc) else float(found["value"])
        if ev.get("confidence") is None:
            return None
        if not _gated(ev) or not ev.get("signals"):
            return float(ev["confidence"])
        f = (doc.get("fields") or {}).get(name)
        record = ValueRecord("", str(doc.get("doc_type")), name, str(ev.get("method") or ""), dict(ev["signals"]),
                             f is not None, bool(f and f.get("soft")))
        return confidence_of(record, self.priors, self.weights, field_shape=self.field_shape)


def gate_docs(documents: Iterable[Mapping[str, Any]], scorer: Scorer) -> list[GateDoc]:
    """The documents as the gate sees them; fields named ``contract.field``."""
    out: list[GateDoc] = []
    for d in documents:
        contract = str(d.get("doc_type"))
        values = []
        for name, ev in (d.get("evidence") or {}).items():
            conf = scorer.of(d, name)
            if conf is None:
                continue
            f = (d.get("fields") or {}).get(name)
            empty = ev.get("value") is None
            values.append(GateValue(f"{contract}.{name}", conf, f is not None,
                                    bool(f is not None and not f.get("soft")), empty or _gated(ev), empty))
        out.append(GateDoc(str(d.get("path")), contract, tuple(values), held_otherwise(d)))
    return out


def engines_of(documents: Iterable[Mapping[str, Any]], contract: str) -> list[str]:
    """The engines whose values of ``contract`` the gate was chosen on (``embedded`` for OCR'd pages, ``pdfium``
    for a text layer): the fitted minimums hold those engines' values only (ocrflow.contracts.policy)."""
    return sorted({str(ev["engine"]) for d in documents if str(d.get("doc_type")) == contract
                   for ev in (d.get("evidence") or {}).values() if ev.get("engine") and _gated(ev)})


def contract_fields(documents: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, set[str]] = {}
    for d in documents:
        out.setdefault(str(d.get("doc_type")), set()).update((d.get("evidence") or {}).keys())
    return {k: sorted(v) for k, v in out.items()}


def _per_contract(choices: Mapping[str, GateChoice]) -> dict[str, Any]:
    """The thresholds by contract, each with the pool (all contracts, or its own) they were chosen in."""
    out: dict[str, Any] = {}
    for pool_name, choice in choices.items():
        for qualified, value in sorted(choice.thresholds.items()):
            contract, name = qualified.split(".", 1)
            entry = out.setdefault(contract, {"thresholds": {}, "reviewed": [], "per_field": {}, "pool": pool_name,
                                              "bound": round(choice.bound, 4), "wrong": choice.wrong,
                                              "labelled": choice.labelled, "documents": choice.documents,
                                              "loaded": choice.loaded, "pool_values": choice.pool})
            entry["thresholds"][name] = value
            entry["per_field"][name] = choice.per_field.get(qualified, {})
            if qualified in choice.reviewed:
                entry["reviewed"].append(name)
    return out


POOLS = {
    "all": "one pool over every contract: the labelled values of every document that would load (the wrong "
           "values in clean tables), e-invoice XML included",
    "gated": "one pool over every contract: the page-read labelled values of the documents that would load "
             "(not XML)",
    "contract": "one pool per contract: the labelled values of its documents that would load",
}


def fit_calibration(report: Mapping[str, Any], *, drop: Sequence[str] = DROPPED, max_wrong: float = MAX_WRONG,
                    level: float = LEVEL, pool: str = "all",
                    pages: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The calibration fitted on the documents of ``report`` (run it on the fit part only). ``pages``: the
    same part read without e-invoice XML; the page readings of the e-invoices give the invoice fields their
    priors and take part in the gate (``with_page_readings``), but not in the method priors or the weights,
    which are the deployed reading's."""
    documents = list(report.get("documents") or [])
    learn = with_page_readings(documents, pages)
    values = value_records(documents)
    priors = {**fit_priors(values, value_records(learn[len(documents):])), **null_priors(learn)}
    model = fit_weights(values, priors, drop=drop)
    scorer = Scorer(priors, model["weights"], field_shape=SHAPE_SIGNAL not in drop)
    fields = [f"{c}.{n}" for c, names in sorted(contract_fields(learn).items()) for n in names]
    docs = gate_docs(learn, scorer)
    if pool not in POOLS:
        raise ValueError(f"unknown pool {pool!r}; use one of {', '.join(POOLS)}")
    if pool == "contract":
        choices = {c: choose([d for d in docs if d.contract == c], [f for f in fields if f.startswith(c + ".")],
                             max_wrong=max_wrong, level=level) for c in sorted({d.contract for d in docs})}
    else:
        choices = {pool: choose(docs, fields, max_wrong=max_wrong, level=level, pooled=pool)}
    gate = _per_contract(choices)
    for contract, entry in gate.items():
        entry["engines"] = engines_of(learn, contract)
    run = report.get("run") or {}
    return {
        "fitted_on": {"gold": run.get("gold", ""), "split": report.get("split", "all"),
                      "documents": len(documents), "page_readings_of_e_invoices": len(learn) - len(documents),
                      "values": len(values),
                      "labelled_values": sum(v.labelled for v in values), "engine": run.get("engine", ""),
                      "model": run.get("model", ""), "contract_mode": run.get("contract_mode", ""),
                      "dropped_signals": list(drop)},
        "gate_rule": {"max_wrong": max_wrong, "level": level, "bound": "one-sided Clopper-Pearson",
                      "pooled": POOLS[pool], "levels": list(LEVELS),
                      "min_field_examples": MIN_FIELD_EXAMPLES,
                      "examples_needed_with_no_error": examples_needed(max_wrong, level)},
        "priors": priors,
        "model": model,
        "gate": gate,
    }


def with_page_readings(documents: Sequence[Mapping[str, Any]],
                       page_documents: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``documents`` plus, from an eval without e-invoice XML (``--no-einvoice``), the page readings of the
    documents that ``documents`` read from XML: what the fields of an invoice without XML look like when read
    from its pages (their paths get ``#pages``)."""
    from_xml = {str(d.get("path")) for d in documents if _from_xml(d)}
    extra = [{**d, "path": f"{d.get('path')}#pages"} for d in page_documents
             if str(d.get("path")) in from_xml and not _from_xml(d)]
    return [*documents, *extra]


def thresholds_of(calibration: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    return {c: dict(g.get("thresholds") or {}) for c, g in (calibration.get("gate") or {}).items()}


def figures(documents: Sequence[Mapping[str, Any]], calibration: Mapping[str, Any],
            thresholds: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, Any]:
    """What a calibration does on scored documents, replayed: loaded share (non-copies), wrong values in the
    clean tables, field accuracy, the reliability table and its ECE."""
    dropped = (calibration.get("fitted_on") or {}).get("dropped_signals") or ()
    scorer = Scorer(calibration.get("priors") or {}, (calibration.get("model") or {}).get("weights") or {},
                    field_shape=SHAPE_SIGNAL not in dropped)
    limits = thresholds if thresholds is not None else thresholds_of(calibration)
    loaded = wrong = labelled_loaded = copies = right = labelled = 0
    pairs: list[tuple[float, bool]] = []
    for d in documents:
        fields = d.get("fields") or {}
        confs = {name: scorer.of(d, name) for name in (d.get("evidence") or {})}
        doc_limits = limits.get(str(d.get("doc_type")), {})
        evidence = d.get("evidence") or {}
        ok = not held_otherwise(d) and not any(
            c is not None and holds(GateValue(n, c, gated=_gated(evidence.get(n) or {}),
                                              empty=(evidence.get(n) or {}).get("value") is None),
                                    doc_limits.get(n, REVIEW)) for n, c in confs.items())
        copies += int(is_copy(d))
        loaded += int(ok)
        for name, f in fields.items():
            labelled += 1
            right += int(bool(f.get("correct")))
            if ok:
                labelled_loaded += 1
                wrong += int(not f.get("soft"))
            if confs.get(name) is not None:
                pairs.append((float(confs[name] or 0.0), bool(f.get("soft"))))
    rel = reliability(pairs)
    return {"documents": len(documents), "copies": copies, "loaded": loaded,
            "loaded_without_review": loaded / max(1, len(documents) - copies),
            "wrong_in_clean_n": wrong, "labelled_in_clean": labelled_loaded,
            "wrong_in_clean": wrong / labelled_loaded if labelled_loaded else 0.0,
            "field_accuracy": right / labelled if labelled else 0.0, "ece": rel["ece"], "reliability": rel}
