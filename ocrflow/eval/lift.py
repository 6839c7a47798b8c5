"""The lift of each signal on the check part: fit the calibration on the fit part with and without the
signal, replay both on the check part (``ocrflow.eval.calibrate.figures``), and compare.

A signal is kept when leaving it out makes the check part's figures worse (more wrong values in the clean
tables at the same load, fewer documents loaded at the same error, a larger calibration error); a signal
that only lifts the fit part is dropped (docs/confidence.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ocrflow.eval.calibrate import DROPPED, figures, fit_calibration
from ocrflow.eval.split import part_of

SIGNALS: dict[str, tuple[str, ...]] = {
    "recognition (OCR score)": ("unsure_ocr",),
    "grounding (found again on the page)": ("absent", "fuzzy"),
    "positional shape (top lines / address block)": ("odd_shape",),
    "shape per field": ("bad_field_shape",),
    "arithmetic (sums close)": ("sums_close", "sums_break"),
    "second reading (Tesseract)": ("second_agrees", "second_differs"),
    "distance from the label": ("label_distance",),
    "cross-field rule failed": ("rule_broken",),
}
"""Each signal and the model features it feeds (``ocrflow.pipeline.evidence.calibration.features``)."""
KEYS = ("field_accuracy", "wrong_in_clean", "wrong_in_clean_n", "labelled_in_clean", "loaded", "loaded_without_review",
        "ece")


def parts(report: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    docs = list(report.get("documents") or [])
    return ([d for d in docs if part_of(str(d.get("path"))) == "fit"],
            [d for d in docs if part_of(str(d.get("path"))) == "check"])


def _brief(f: Mapping[str, Any]) -> dict[str, Any]:
    return {k: f[k] for k in KEYS}


def lift(report: Mapping[str, Any], signals: Mapping[str, Sequence[str]] | None = None,
         dropped: Sequence[str] = DROPPED, pages: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Figures of the shipped choice of signals (``dropped`` left out) and, for each signal, of the choice
    with it toggled (left out when kept, added when dropped), on the fit and the check part."""
    fit, check = parts(report)
    fit_pages = [d for d in pages or [] if part_of(str(d.get("path"))) == "fit"]
    base = set(dropped)

    def run(drop: set[str]) -> dict[str, Any]:
        cal = fit_calibration({**report, "documents": fit, "split": "fit"}, drop=sorted(drop), pages=fit_pages)
        return {"fit": _brief(figures(fit, cal)), "check": _brief(figures(check, cal))}

    out: dict[str, Any] = {"shipped signals": run(base)}
    for name, feats in (signals or SIGNALS).items():
        kept = not set(feats) <= base
        out[f"{'without' if kept else 'with'} {name}"] = run(base | set(feats) if kept else base - set(feats))
    return out
