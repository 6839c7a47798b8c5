"""The shipped calibration of the confidence score (``calibration.json`` beside this module).

``ocrflow calibrate --gold FILE --split fit`` writes it (``ocrflow.eval.calibrate``), fitted on the fit part
of the samples only (docs/evaluation.md); every number in it carries the sample counts behind it. It holds

- ``priors``: how often each way of reading a value is right, per method (``label:same_line``,
  ``heuristic:top_lines``, ...) and per contract field and method (``receipt.total_amount|label:same_line``),
  each shrunk toward the coarser one so that a method seen a few times does not jump to 0 or 1;
- ``weights``: a logistic model over the signals of one value (docs/confidence.md lists them); the
  confidence is ``sigmoid(sum of weight x feature)``;
- ``gate``: the thresholds the gate chose per contract field, with the bound and the counts they were
  chosen with (the policy itself reads the contracts' ``ocrflowMinConfidence``, which must match).

The file is read once, on first use (no import-time work). A missing file is an installation fault.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
FLOOR = 1e-3
P0: dict[str, float] = {
    "vlm": 0.85, "label:same_line": 0.93, "label:right": 0.90, "label:section": 0.85, "label:below": 0.82,
    "dominant_currency": 0.80, "heuristic:top_lines": 0.55, "heuristic:address_block": 0.60,
    "heuristic:largest_amount": 0.70, "heuristic:first_date": 0.70, "heuristic:effective_date": 0.80,
    "heuristic:governing_law": 0.80, "heuristic:parties": 0.70, "heuristic:term": 0.75,
    "heuristic:title_number": 0.85, "heuristic:title_date": 0.85,
}
"""The hand-set priors of the first version: what a fitted prior is shrunk toward, and the prior of a
method the calibration has never seen."""
DEFAULT_P0 = 0.62


@dataclass(frozen=True, slots=True)
class Calibration:
    priors: dict[str, float] = field(default_factory=dict)
    """method key or ``contract.field|method key`` -> prior"""
    weights: dict[str, float] = field(default_factory=dict)
    """feature -> weight (``bias`` included)"""
    gate: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def parse(data: Mapping[str, Any]) -> Calibration:
    priors = {str(k): float(v["value"] if isinstance(v, Mapping) else v) for k, v in
              dict(data.get("priors") or {}).items()}
    weights = {str(k): float(v) for k, v in dict((data.get("model") or {}).get("weights") or {}).items()}
    return Calibration(priors, weights, dict(data.get("gate") or {}), dict(data.get("fitted_on") or {}))


@cache
def shipped() -> Calibration:
    """The calibration the package ships (read once)."""
    try:
        data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RuntimeError(f"the shipped confidence calibration {CALIBRATION_FILE} cannot be read ({exc}); "
                           "reinstall ocrflow or run `ocrflow calibrate`") from exc
    return parse(data)


def method_key(method: str) -> str:
    """The coarse key of a reading method: ``label:<label>:<where>`` -> ``label:<where>``."""
    if method.startswith("label:"):
        return "label:" + method.rsplit(":", 1)[1]
    if method.startswith(("xml", "vlm")):
        return method.split(":", 1)[0]
    return method


def field_key(contract: str, field_name: str, method: str) -> str:
    return f"{contract}.{field_name}|{method_key(method)}"


def prior_of(priors: Mapping[str, Any], contract: str, field_name: str, method: str) -> float:
    """The prior of a value: its field's under this method, else the method's, else the first version's."""
    for key in (field_key(contract, field_name, method), method_key(method)):
        if key in priors:
            found = priors[key]
            return float(found["value"] if isinstance(found, Mapping) else found)
    return P0.get(method_key(method), DEFAULT_P0)


def logit(p: float) -> float:
    p = min(1 - FLOOR, max(FLOOR, p))
    return math.log(p / (1 - p))


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1 / (1 + math.exp(-x))
    z = math.exp(x)
    return z / (1 + z)


def features(signals: Mapping[str, float]) -> dict[str, float]:
    """The model's inputs from one value's signals (absent signals count as neutral, 0).

    ``prior`` enters as its log-odds; every other signal as a deviation from "nothing to doubt"."""
    out = {"bias": 1.0, "prior": logit(float(signals.get("prior", 0.5)))}
    out["unsure_ocr"] = 1.0 - float(signals.get("recognition", 1.0))
    g = float(signals.get("grounding", 1.0))
    out["fuzzy"] = 1.0 if 0.3 + 1e-9 < g < 1.0 else 0.0  # absent, invalid, wrong field shape: confidence.guards
    out["odd_shape"] = 1.0 if float(signals.get("shape", 1.0)) < 1.0 else 0.0
    out["rule_broken"] = 1.0 if float(signals.get("cross_field", 1.0)) < 1.0 else 0.0
    if "agreement" in signals:
        agree = float(signals["agreement"]) >= 1.0
        out["agree"], out["disagree"] = (1.0, 0.0) if agree else (0.0, 1.0)
    if "arithmetic" in signals:
        closes = float(signals["arithmetic"]) >= 1.0
        out["sums_close"], out["sums_break"] = (1.0, 0.0) if closes else (0.0, 1.0)
    if "second_reading" in signals:
        sim = float(signals["second_reading"])
        out["second_agrees"] = 1.0 if sim >= 0.999 else 0.0
        out["second_differs"] = 1.0 - sim if sim < 0.999 else 0.0
    if "label_distance" in signals:
        out["label_distance"] = float(signals["label_distance"])
    return out


def predict(signals: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """``sigmoid(w . features)``; without weights, the prior alone."""
    if not weights:
        return float(signals.get("prior", 0.5))
    x = features(signals)
    return sigmoid(sum(weights.get(k, 0.0) * v for k, v in x.items()))
