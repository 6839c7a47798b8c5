"""Cross-fitting the calibration inside the fit part (ocrflow.eval.crossfit): every document is counted once,
on a fold whose calibration was fitted without it; the pooled counts and their bound are the folds' sums."""

from __future__ import annotations

from typing import Any

import pytest

from ocrflow.eval import crossfit
from ocrflow.eval.crossfit import cross_fitted, fold_of
from ocrflow.eval.gate import upper_bound
from ocrflow.eval.split import part_of


def _docs(n: int) -> list[dict[str, Any]]:
    docs = []
    for i in range(n):
        right = i % 7 != 0
        docs.append({"path": f"/s/r{i}.jpg", "doc_type": "receipt", "state": "loaded", "checks": [],
                     "fields": {"merchant_name": {"correct": right, "soft": right}},
                     "evidence": {"merchant_name": {"value": "X", "confidence": 0.9, "source": "ocr",
                                                    "method": "heuristic:top_lines",
                                                    "signals": {"prior": 0.5, "recognition": 0.9 if right else 0.6,
                                                                "field_shape": 1.0}}}})
    return docs


def test_each_document_is_counted_once_on_a_fold_fitted_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = _docs(60)
    fitted: list[set[str]] = []
    counted: list[set[str]] = []
    real_fit, real_figures = crossfit.fit_calibration, crossfit.figures

    def fit(report: dict[str, Any], **kw: Any) -> dict[str, Any]:
        fitted.append({d["path"] for d in report["documents"]})
        return real_fit(report, **kw)

    def replay(held: list[dict[str, Any]], calibration: dict[str, Any]) -> dict[str, Any]:
        counted.append({d["path"] for d in held})
        return real_figures(held, calibration)

    monkeypatch.setattr(crossfit, "fit_calibration", fit)
    monkeypatch.setattr(crossfit, "figures", replay)
    out = cross_fitted({"documents": docs}, folds=3)
    everything = {d["path"] for d in docs}
    assert len(counted) == 3 and set().union(*counted) == everything and sum(map(len, counted)) == len(docs)
    for train, held in zip(fitted, counted, strict=True):
        assert not train & held and train | held == everything  # fitted on the others, counted on this one
    assert out["documents"] == len(docs) == sum(f["documents"] for f in out["per_fold"])
    assert out["wrong"] == sum(f["wrong"] for f in out["per_fold"]) and out["wrong"] <= out["labelled"]
    assert out["bound"] == round(upper_bound(out["wrong"], out["labelled"]), 4)


def test_folds_cut_independently_of_the_fit_check_split() -> None:
    paths = [f"/samples/doc{i}.jpg" for i in range(400)]
    fit = [p for p in paths if part_of(p) == "fit"]
    share = sum(fold_of(p) == 0 for p in fit) / len(fit)
    assert 0.4 < share < 0.6  # about half of the fit part on each fold
    with pytest.raises(ValueError):
        cross_fitted({"documents": _docs(4)}, folds=1)
