"""How often a value from issuer memory is right: the prior of the methods ``memory:constant`` and
``memory:position`` in the confidence score (``ocrflow.pipeline.evidence.confidence.prior``).

``calibration.json`` beside this module holds, per method, the values memory gave on the FIT part of the samples
in ``ocrflow eval --simulate-review`` (``right`` of ``n``) and the prior fitted from them, shrunk toward the
hand-set ``P0`` as the project's other priors are: ``(right + SHRINK * p0) / (n + SHRINK)``.
``ocrflow memory calibrate --from EVAL.json`` rewrites it from a saved simulation (its fit part only).
The file is read once, on first use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
P0: dict[str, float] = {"memory:constant": 0.9, "memory:position": 0.85, "memory:segment": 0.85}
"""Hand-set priors, before any measurement: a confirmed constant, a value where memory says it sits, a reading
whose known rows memory respelled."""
SHRINK = 4.0


def shrunk(right: int, n: int, p0: float) -> float:
    return round((right + SHRINK * p0) / (n + SHRINK), 4)


def fitted(counts: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """The file's ``priors`` from counts per method (``{"memory:constant": {"right": r, "n": n}}``)."""
    out: dict[str, Any] = {}
    for method, p0 in P0.items():
        c = counts.get(method) or {}
        right, n = int(c.get("right", 0)), int(c.get("n", 0))
        out[method] = {"right": right, "n": n, "p0": p0, "value": shrunk(right, n, p0)}
    return out


@cache
def priors() -> dict[str, float]:
    """Method -> prior, from the shipped file (the hand-set ``P0`` where it has none)."""
    try:
        data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RuntimeError(f"the issuer memory calibration {CALIBRATION_FILE} cannot be read ({exc}); reinstall "
                           "ocrflow or run `ocrflow memory calibrate`") from exc
    out = dict(P0)
    for method, entry in dict(data.get("priors") or {}).items():
        out[str(method)] = float(entry["value"] if isinstance(entry, Mapping) else entry)
    return out


def memory_prior(method: str) -> float:
    """The prior of a memory method (``memory:constant`` / ``memory:position``)."""
    known = priors()
    return known.get(method, min(P0.values()))
