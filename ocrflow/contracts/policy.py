"""The confidence policy a contract carries: ``ocrflowMinConfidence`` (customProperties), per field or per contract.

A value whose confidence is under its field's minimum (else the contract's) sends the row to the
quarantine with check ``min_confidence`` (``ocrflow.pipeline.evidence.confidence.policy_failures``).
"""

from __future__ import annotations

import re
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


def set_min_confidence(text: str, values: dict[str, float]) -> str:
    """The contract YAML ``text`` with each field's ``ocrflowMinConfidence`` set to ``values[field]`` (the line
    replaced where it exists, added to the field's customProperties otherwise); the rest of the file, its
    comments and order, stay as they are. A field that the file does not have raises KeyError."""
    lines = text.split("\n")
    for name, value in values.items():
        block = _field_block(lines, name)
        if block is None:
            raise KeyError(f"no field {name!r} in the contract")
        start, end, indent = block
        shown = f"{value:.4f}".rstrip("0")
        shown = shown + "0" if shown.endswith(".") else shown
        inner = indent + "  "
        prop = next((j for j in range(start, end) if lines[j].strip() == f"- property: {MIN_CONFIDENCE_KEY}"), None)
        if prop is not None:
            k = prop + 1
            lines[k] = lines[k][:len(lines[k]) - len(lines[k].lstrip())] + f"value: {shown}"
            continue
        custom = next((j for j in range(start, end) if lines[j] == f"{inner}customProperties:"), None)
        entry = [f"{inner}  - property: {MIN_CONFIDENCE_KEY}", f"{inner}    value: {shown}"]
        if custom is None:
            lines[end:end] = [f"{inner}customProperties:", *entry]
            continue
        last = custom + 1
        while last < end and (len(lines[last]) - len(lines[last].lstrip()) > len(inner)):
            last += 1
        lines[last:last] = entry
    return "\n".join(lines)
