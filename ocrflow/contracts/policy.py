"""The confidence policy a contract carries: ``ocrflowMinConfidence`` (customProperties), per field or per contract.

A value whose confidence is under its field's minimum (else the contract's) sends the row to the
quarantine with check ``min_confidence`` (``ocrflow.pipeline.evidence.confidence.policy_failures``).
"""

from __future__ import annotations

from typing import Any

MIN_CONFIDENCE_KEY = "ocrflowMinConfidence"


def min_confidence_problem(custom: dict[str, Any], at: str) -> str | None:
    """A message when the policy is there but not a number between 0 and 1."""
    value = custom.get(MIN_CONFIDENCE_KEY)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= float(value) <= 1:
        return f"{at}: {MIN_CONFIDENCE_KEY} must be a number between 0 and 1, not {value!r}"
    return None


def min_confidence(custom: dict[str, Any]) -> float | None:
    """The policy's minimum (None: no policy at this level); call after :func:`min_confidence_problem`."""
    value = custom.get(MIN_CONFIDENCE_KEY)
    return None if value is None else float(value)
