"""Parsing model output: spotting boxes, markdown lines, JSON fields, looping tails."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ocrflow.engines.base import TerminalEngineError
from ocrflow.models import Line, reading_order

GRID = 1000.0
NO_BOX = (0.0, 0.0, 0.0, 0.0)

_SPOT_RE = re.compile(r"(?P<text>.*?)\(\s*(?P<x1>\d+(?:\.\d+)?)\s*,\s*(?P<y1>\d+(?:\.\d+)?)\s*\)\s*,\s*"
                      r"\(\s*(?P<x2>\d+(?:\.\d+)?)\s*,\s*(?P<y2>\d+(?:\.\d+)?)\s*\)", re.DOTALL)
_FENCE_RE = re.compile(r"```(?:json|JSON)?\s*\n?(?P<body>.*?)```", re.DOTALL)


def _grid_to_px(value: str, size: int) -> float:
    return min(max(float(value), 0.0), GRID) * size / GRID


def parse_spotting(text: str, width: int, height: int) -> list[Line]:
    """``text(x1,y1),(x2,y2)`` items (0-1000 grid) -> lines with pixel boxes, in reading order."""
    lines: list[Line] = []
    for m in _SPOT_RE.finditer(text):
        label = m.group("text").strip()
        if not label:
            continue
        x1, x2 = sorted((_grid_to_px(m.group("x1"), width), _grid_to_px(m.group("x2"), width)))
        y1, y2 = sorted((_grid_to_px(m.group("y1"), height), _grid_to_px(m.group("y2"), height)))
        lines.append(Line(text=label, bbox=(x1, y1, x2, y2)))
    return reading_order(lines)


def markdown_lines(text: str) -> list[Line]:
    """Markdown -> one Line per non-empty line, without boxes."""
    return [Line(text=ln.strip(), bbox=NO_BOX) for ln in text.splitlines() if ln.strip()]


def _json_candidates(text: str) -> list[str]:
    out = [m.group("body").strip() for m in _FENCE_RE.finditer(text)]
    stripped = text.strip()
    out.append(stripped)
    start, end = stripped.find("{"), stripped.rfind("}")
    if 0 <= start < end:
        out.append(stripped[start:end + 1])
    return out


def parse_json_object(text: str) -> dict[str, Any]:
    """The JSON object in a reply: bare, inside ```json fences, or wrapped in prose."""
    for candidate in _json_candidates(text):
        try:
            value = json.loads(candidate)
        except (ValueError, RecursionError):  # not JSON, an integer over 4300 digits, nesting too deep
            continue
        if isinstance(value, dict):
            return value
    snippet = text.strip()[:200]
    raise TerminalEngineError(f"model output is not a JSON object: {snippet!r}")


def schema_violations(value: dict[str, Any], schema: dict[str, Any] | None) -> list[str]:
    """JSON Schema errors as ``path: message`` strings (empty when valid or no schema)."""
    if not schema:
        return []
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in errors]


@dataclass(frozen=True, slots=True)
class LoopInfo:
    unit: str
    repeats: float
    start: int

    def trimmed(self, text: str) -> str:
        """The text up to the loop plus one copy of the repeated unit."""
        return (text[:self.start] + self.unit).rstrip()


def detect_loop(text: str, *, max_unit: int = 200, min_repeats: int = 10,
                min_span: int = 120) -> LoopInfo | None:
    """A short unit repeated many times at the end of ``text`` (partial last copy allowed)."""
    body = text.rstrip()
    n = len(body)
    for unit in range(1, min(max_unit, n // 2) + 1):
        i = n - unit - 1
        while i >= 0 and body[i] == body[i + unit]:
            i -= 1
        span = n - (i + 1)
        repeats = span / unit
        if repeats >= min_repeats and span >= min_span:
            start = i + 1
            return LoopInfo(unit=body[start:start + unit], repeats=repeats, start=start)
    return None
