"""How the calibration procedure fares, inside the fit part, on documents it was not fitted on.

The gate's bound (``ocrflow.eval.gate.choose``) is computed on the values its thresholds were chosen on, so it
is optimistic for the combination it picked: the shipped gate's in-sample bound was 1.78 % and the check part
came out at 2.2 %. Cross-fitting gives the procedure an honest figure without touching the check part: the fit
part is cut into ``folds`` by a hash of the path; for each fold, everything (priors, weights, the gate's
thresholds) is fitted on the other folds with ``fit_calibration`` and replayed on this one with ``figures``;
the held-out counts are pooled, and their one-sided bound is the one to expect on documents nobody tuned on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from ocrflow.eval.calibrate import figures, fit_calibration
from ocrflow.eval.gate import LEVEL, upper_bound

FOLDS = 2


def fold_of(path: str, folds: int = FOLDS) -> int:
    """The fold of a document: a hash of its path (not the one of the fit/check split, so the two cut
    independently)."""
    return int(hashlib.sha256(f"fold:{path}".encode()).hexdigest(), 16) % folds


def cross_fitted(report: Mapping[str, Any], *, folds: int = FOLDS, level: float = LEVEL,
                 pages: Sequence[Mapping[str, Any]] = (), **fit_options: Any) -> dict[str, Any]:
    """Pooled held-out figures of ``fit_calibration`` over ``folds`` folds of ``report``'s documents (run it on
    the fit part only): documents, copies, loaded, wrong values in the clean tables and labelled values among
    the loaded ones, their share and its one-sided bound at ``level``, and each fold's own counts."""
    if folds < 2:
        raise ValueError(f"cross-fitting needs at least 2 folds, not {folds}")
    documents = [(fold_of(str(d.get("path")), folds), d) for d in report.get("documents") or []]
    pages_by_fold = [(fold_of(str(p.get("path")), folds), p) for p in pages]
    totals = {"documents": 0, "copies": 0, "loaded": 0, "wrong": 0, "labelled": 0}
    per_fold = []
    for k in range(folds):
        held = [d for fold, d in documents if fold == k]
        train = [d for fold, d in documents if fold != k]
        if not held or not train:
            continue
        calibration = fit_calibration({**report, "documents": train}, level=level,
                                      pages=[p for fold, p in pages_by_fold if fold != k], **fit_options)
        fig = figures(held, calibration)
        counts = {"documents": fig["documents"], "copies": fig["copies"], "loaded": fig["loaded"],
                  "wrong": fig["wrong_in_clean_n"], "labelled": fig["labelled_in_clean"]}
        per_fold.append({"fold": k, "fitted_on": len(train), **counts})
        for key, value in counts.items():
            totals[key] += value
    labelled = totals["labelled"]
    return {"folds": folds, **totals,
            "loaded_without_review": round(totals["loaded"] / max(1, totals["documents"] - totals["copies"]), 4),
            "wrong_in_clean": round(totals["wrong"] / labelled, 4) if labelled else 0.0,
            "bound": round(upper_bound(totals["wrong"], labelled, level), 4), "level": level,
            "per_fold": per_fold}
