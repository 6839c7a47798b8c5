"""Fitting the confidence on labelled values: method priors (shrunk counts) and the logistic weights.

Input: the labelled values of an evaluation (``ValueRecord``, from ``ocrflow eval``'s documents and their
evidence). Output: the ``priors`` and ``model`` parts of the shipped calibration
(``ocrflow.pipeline.evidence.calibration``), each number with the counts behind it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from ocrflow.pipeline.evidence.calibration import DEFAULT_P0, P0, features, field_key, method_key, predict, prior_of
from ocrflow.pipeline.evidence.confidence import guards

SHRINK = 4.0
"""Pseudo-counts of the coarser prior in every shrunk estimate."""
CAP = 0.95
"""No way of reading a page is more likely right than this before its value is looked at."""


@dataclass(frozen=True, slots=True)
class ValueRecord:
    """One non-null value read from a page (not XML, not a person), with its signals and, if labelled,
    whether it is right (the soft rule of docs/evaluation.md)."""

    path: str
    contract: str
    field: str
    method: str
    signals: Mapping[str, float]
    labelled: bool
    right: bool
    part: str = "fit"


def _shrunk(right: int, n: int, p0: float, cap: float = CAP) -> float:
    return round(min(cap, (right + SHRINK * p0) / (n + SHRINK)), 4)


def fit_priors(values: Iterable[ValueRecord], extra: Iterable[ValueRecord] = ()) -> dict[str, dict[str, Any]]:
    """Per method key and per ``contract.field|method key``: n, right, the prior it was shrunk toward, and the
    prior. A field's prior is shrunk toward its method's. ``extra`` values (e-invoices read from their pages)
    count for their fields only, not for the methods' priors."""
    counts: dict[str, list[int]] = {}
    for v, fine_only in [*((v, False) for v in values), *((v, True) for v in extra)]:
        if not v.labelled:
            continue
        keys = (field_key(v.contract, v.field, v.method),) if fine_only else (
            method_key(v.method), field_key(v.contract, v.field, v.method))
        for key in keys:
            c = counts.setdefault(key, [0, 0])
            c[0] += 1
            c[1] += int(v.right)
    out: dict[str, dict[str, Any]] = {}
    for key in sorted(k for k in counts if "|" not in k):
        n, right = counts[key]
        p0 = P0.get(key, DEFAULT_P0)
        out[key] = {"n": n, "right": right, "p0": p0, "value": _shrunk(right, n, p0)}
    for key in sorted(k for k in counts if "|" in k):
        n, right = counts[key]
        coarse = key.split("|", 1)[1]
        p0 = out[coarse]["value"] if coarse in out else P0.get(coarse, DEFAULT_P0)
        out[key] = {"n": n, "right": right, "p0": p0, "value": _shrunk(right, n, p0)}
    return out


def with_prior(v: ValueRecord, priors: Mapping[str, Any]) -> dict[str, float]:
    return {**v.signals, "prior": prior_of(priors, v.contract, v.field, v.method)}


L2_CHOICES = (0.03, 0.1, 0.3, 1.0, 3.0)
START: dict[str, float] = {"prior": 1.0, "odd_shape": -0.7, "rule_broken": -0.7}
"""Where the ridge pulls each weight: the prior alone, and for the signals of doubt the first version's
factors (odd shape 0.5, a failed cross-field rule 0.5, as log-odds shifts): a signal the fit part barely has
keeps the first version's weight. (Grounding absent and an invalid value keep their factor outside the model:
``ocrflow.pipeline.evidence.confidence.guards``.)"""
DOUBT = frozenset({"unsure_ocr", "fuzzy", "odd_shape", "rule_broken",
                   "sums_break", "second_differs", "label_distance"})
SUPPORT = frozenset({"sums_close", "second_agrees"})
"""Signs the weights must have: a signal of doubt never raises a confidence, a confirmation never lowers it."""
FOLDS = 5


def _solve(x: np.ndarray, y: np.ndarray, start: np.ndarray, l2: float,
           bounds: list[tuple[float | None, float | None]] | None = None) -> np.ndarray:
    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        p = 1 / (1 + np.exp(-(x @ w)))
        eps = 1e-9
        nll = -np.sum(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))
        d = w - start
        return float(nll + l2 * d @ d), x.T @ (p - y) + 2 * l2 * d

    found: np.ndarray = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds).x
    return found


def _cv_loss(x: np.ndarray, y: np.ndarray, start: np.ndarray, folds: np.ndarray, l2: float,
             bounds: list[tuple[float | None, float | None]]) -> float:
    total = 0.0
    for k in range(FOLDS):
        test = folds == k
        w = _solve(x[~test], y[~test], start, l2, bounds)
        p = np.clip(1 / (1 + np.exp(-(x[test] @ w))), 1e-6, 1 - 1e-6)
        total -= float(np.sum(y[test] * np.log(p) + (1 - y[test]) * np.log(1 - p)))
    return total


def fit_weights(values: Sequence[ValueRecord], priors: Mapping[str, Any], *, drop: Iterable[str] = (),
                l2: float | None = None) -> dict[str, Any]:
    """Logistic weights over ``features`` of the labelled values (a feature in ``drop`` is left out), with a
    ridge penalty toward ``START``, its strength chosen by 5-fold cross-validation over documents (``l2=None``)
    among ``L2_CHOICES``, and the signs of ``DOUBT`` and ``SUPPORT``; the counts behind them."""
    data = [v for v in values if v.labelled]
    rows = [features(with_prior(v, priors)) for v in data]
    skip = set(drop)
    names = sorted({k for r in rows for k in r} - skip)
    if not data:
        return {"weights": {"bias": 0.0, "prior": 1.0}, "n": 0, "right": 0, "features": {}}
    x = np.array([[r.get(k, 0.0) for k in names] for r in rows])
    y = np.array([1.0 if v.right else 0.0 for v in data])
    start = np.array([START.get(k, 0.0) for k in names])
    bounds: list[tuple[float | None, float | None]] = [
        (None, 0.0) if k in DOUBT else (0.0, None) if k in SUPPORT else (None, None) for k in names]
    folds = np.array([int(hashlib.sha256(v.path.encode()).hexdigest()[:6], 16) % FOLDS for v in data])
    chosen = l2 if l2 is not None else min(L2_CHOICES, key=lambda c: _cv_loss(x, y, start, folds, c, bounds))
    found = _solve(x, y, start, chosen, bounds)
    weights = {k: round(float(w), 4) for k, w in zip(names, found, strict=True)}
    seen = {k: {"n": int(sum(1 for r in rows if r.get(k, 0.0))),
                "right": int(sum(1 for r, v in zip(rows, data, strict=True) if r.get(k, 0.0) and v.right))}
            for k in names if k not in ("bias", "prior")}
    return {"weights": weights, "n": len(data), "right": int(y.sum()), "features": seen, "l2": chosen}


SHAPE_SIGNAL = "bad_field_shape"
"""The name under which ``drop`` (and ``ocrflow calibrate --lift``) leaves out the shape guard
(``confidence.guards``): no model feature, a guard."""


def confidence_of(v: ValueRecord, priors: Mapping[str, Any], weights: Mapping[str, float], *,
                  field_shape: bool = True) -> float:
    """The confidence the shipped formula gives ``v`` under these priors and weights (``field_shape``: with
    the shape guard)."""
    signals = with_prior(v, priors)
    return round(min(1.0, max(0.0, predict(signals, weights) * guards(signals, field_shape=field_shape))), 4)
