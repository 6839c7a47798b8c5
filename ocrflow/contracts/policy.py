"""The confidence policy a contract carries (customProperties), per field or per contract.

- ``ocrflowMinConfidence``: a minimum set by hand; it holds every value whatever read it.
- ``ocrflowMinConfidenceFitted`` (per field): the minimum the gate chose on the fit part of the samples
  (``ocrflow calibrate --write-contracts``), by the engine whose values it was chosen on, e.g.
  ``{embedded: 0.98, pdfium: 0.98}``. It holds only values of those engines: a threshold chosen on RapidOCR's
  values says nothing about a VLM's, whose confidence is another model's (docs/confidence.md).

For a value of an engine the fitted minimums name, the fitted one is the minimum; for any other value, the
field's ``ocrflowMinConfidence``, else the contract's. A value under its minimum sends the row to the quarantine
with check ``min_confidence`` (``ocrflow.pipeline.evidence.confidence.policy_failures``).
"""

from __future__ import annotations

import re
from typing import Any

MIN_CONFIDENCE_KEY = "ocrflowMinConfidence"
FITTED_KEY = "ocrflowMinConfidenceFitted"


def min_confidence_problem(custom: dict[str, Any], at: str) -> str | None:
    """A message when the policy is there but not a number between 0 and 1."""
    value = custom.get(MIN_CONFIDENCE_KEY)
    if value is None:
        return None
    if not _is_share(value):
        return f"{at}: {MIN_CONFIDENCE_KEY} must be a number between 0 and 1, not {value!r}"
    return None


def min_confidence(custom: dict[str, Any]) -> float | None:
    """The policy's minimum (None: no policy at this level); call after :func:`min_confidence_problem`."""
    value = custom.get(MIN_CONFIDENCE_KEY)
    return None if value is None else float(value)


def _is_share(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and 0 <= float(value) <= 1


def fitted_problem(custom: dict[str, Any], at: str) -> str | None:
    """A message when the fitted minimums are there but not a mapping of engine name to a number in [0, 1]."""
    value = custom.get(FITTED_KEY)
    if value is None:
        return None
    if not isinstance(value, dict) or not value or not all(
            isinstance(k, str) and k and _is_share(v) for k, v in value.items()):
        return (f"{at}: {FITTED_KEY} must map an engine name to a number between 0 and 1 "
                f"(e.g. {{embedded: 0.9}}), not {value!r}")
    return None


def fitted_min_confidence(custom: dict[str, Any]) -> dict[str, float]:
    """The fitted minimums by engine (empty: none); call after :func:`fitted_problem`."""
    return {str(k): float(v) for k, v in dict(custom.get(FITTED_KEY) or {}).items()}


_FIELD = re.compile(r"^(?P<indent>\s*)- name:\s*(?P<name>[\w-]+)\s*$")


def _field_block(lines: list[str], name: str) -> tuple[int, int, str] | None:
    """(first line, end line, indent) of the header property ``name`` (the first ``- name: name`` that is a
    property, i.e. has a ``logicalType``), else None."""
    for i, line in enumerate(lines):
        m = _FIELD.match(line)
        if not m or m["name"] != name:
            continue
        indent = m["indent"]
        end = i + 1
        while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > len(indent)):
            end += 1
        if any(ln.strip().startswith("logicalType:") for ln in lines[i:end]):
            return i, end, indent
    return None


def _number(value: float) -> str:
    shown = f"{value:.4f}".rstrip("0")
    return shown + "0" if shown.endswith(".") else shown


def set_min_confidence(text: str, values: dict[str, float]) -> str:
    """The contract YAML ``text`` with each field's ``ocrflowMinConfidence`` set to ``values[field]`` (the line
    replaced where it exists, added to the field's customProperties otherwise); the rest of the file, its
    comments and order, stay as they are. A field that the file does not have raises KeyError."""
    return _set_property(text, MIN_CONFIDENCE_KEY, {name: _number(v) for name, v in values.items()})


def set_fitted_min_confidence(text: str, values: dict[str, float], engines: list[str]) -> str:
    """The contract YAML ``text`` with each field's ``ocrflowMinConfidenceFitted`` set to ``values[field]`` for
    each of ``engines`` (the engines whose values the gate was chosen on), one line, the rest as it is."""
    if not engines:
        raise ValueError("the fitted minimums name no engine: the calibration recorded none")
    shown = {name: "{" + ", ".join(f"{e}: {_number(v)}" for e in sorted(engines)) + "}"
             for name, v in values.items()}
    return _set_property(text, FITTED_KEY, shown)


def _set_property(text: str, key: str, values: dict[str, str]) -> str:
    lines = text.split("\n")
    for name, shown in values.items():
        block = _field_block(lines, name)
        if block is None:
            raise KeyError(f"no field {name!r} in the contract")
        start, end, indent = block
        inner = indent + "  "
        prop = next((j for j in range(start, end) if lines[j].strip() == f"- property: {key}"), None)
        if prop is not None:
            k = prop + 1
            lines[k] = lines[k][:len(lines[k]) - len(lines[k].lstrip())] + f"value: {shown}"
            continue
        custom = next((j for j in range(start, end) if lines[j] == f"{inner}customProperties:"), None)
        entry = [f"{inner}  - property: {key}", f"{inner}    value: {shown}"]
        if custom is None:
            lines[end:end] = [f"{inner}customProperties:", *entry]
            continue
        last = custom + 1
        while last < end and (len(lines[last]) - len(lines[last].lstrip()) > len(inner)):
            last += 1
        lines[last:last] = entry
    return "\n".join(lines)
