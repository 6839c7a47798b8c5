"""Parsing model output: spotting boxes, markdown lines, JSON fields, looping tails."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ocrflow.core.models import Line, reading_order
from ocrflow.engines.vllm.errors import ModelOutputError

GRID = 1000.0
NO_BOX = (0.0, 0.0, 0.0, 0.0)

# only the coordinate pair: the item's text is what lies between two pairs (a leading lazy ``.*?`` made
# every failed start rescan the rest of the answer, quadratic in its length)
_SPOT_RE = re.compile(r"\(\s*(?P<x1>\d+(?:\.\d+)?)\s*,\s*(?P<y1>\d+(?:\.\d+)?)\s*\)\s*,\s*"
                      r"\(\s*(?P<x2>\d+(?:\.\d+)?)\s*,\s*(?P<y2>\d+(?:\.\d+)?)\s*\)")
_FENCE_RE = re.compile(r"```(?:json|JSON)?\s*\n?(?P<body>.*?)```", re.DOTALL)

SPOTTING_MARKUP = {
    "<ref>": "\n", "</ref>": "", "<quad>": "", "</quad>": "\n",
    # the same special tokens under their vocabulary names (HunyuanOCR's hy_place_holder_no_112/113/110/111)
    "<hy_place_holder_no_112>": "\n", "<hy_place_holder_no_113>": "", "<hy_place_holder_no_110>": "",
    "<hy_place_holder_no_111>": "\n",
}
"""HunyuanOCR's spotting markup, made of special tokens: ``<ref>text</ref><quad>(x1,y1),(x2,y2)</quad>``. vLLM
drops special tokens unless the request says ``skip_special_tokens: false`` (HunyuanOCR issue 63: "VLLM does not
return text coordinates"); with the tokens kept, each item becomes one ``text(x1,y1),(x2,y2)`` line."""
_MARKUP_RE = re.compile("|".join(re.escape(token) for token in SPOTTING_MARKUP))


def _grid_to_px(value: str, size: int) -> float:
    return min(max(float(value), 0.0), GRID) * size / GRID


def parse_spotting(text: str, width: int, height: int) -> list[Line]:
    """``text(x1,y1),(x2,y2)`` items (0-1000 grid) -> lines with pixel boxes, in reading order.

    Text without coordinates is kept as lines without a box (``NO_BOX``, see ``spotting_lines``)."""
    return spotting_lines(text, width, height).lines


@dataclass(frozen=True, slots=True)
class Spotting:
    """Spotting output read: the lines, and how many of them came without coordinates."""

    lines: list[Line]
    unboxed: int


def _unboxed(fragment: str) -> list[Line]:
    return [Line(text=ln.strip(), bbox=NO_BOX) for ln in fragment.splitlines() if ln.strip()]


def plain_spotting(text: str) -> str:
    """The token form (``<ref>text</ref><quad>(x1,y1),(x2,y2)</quad>``, spaces between the tokens or not) as
    the plain form, one ``text(x1,y1),(x2,y2)`` item per line; plain text comes back unchanged. Linear: one
    pass of a fixed alternation of literal tokens. A reply cut by characters (a looping tail trimmed) may end
    inside a token's text: that piece is dropped."""
    if "<" not in text:
        return text
    cut = text.rfind("<")
    if ">" not in text[cut:] and any(token.startswith(text[cut:]) for token in SPOTTING_MARKUP):
        text = text[:cut]
    return _MARKUP_RE.sub(lambda m: SPOTTING_MARKUP[m.group()], text)


def spotting_lines(text: str, width: int, height: int) -> Spotting:
    """Boxed items in reading order, then the text the model wrote without coordinates, one line per line.

    Both of HunyuanOCR's forms are read: ``text(x1,y1),(x2,y2)`` and the token form (``plain_spotting``).
    A model that answers the spotting prompt with plain lines (other VLMs, sometimes HunyuanOCR itself, or
    a token-form answer whose special tokens vLLM dropped) keeps its text: every line unboxed, in the order
    written. Within an item, lines before the last one had no coordinates of their own."""
    text = plain_spotting(text)
    boxed: list[Line] = []
    unboxed: list[Line] = []
    end = 0
    for m in _SPOT_RE.finditer(text):
        item, end = text[end:m.start()], m.end()
        *before, label = item.split("\n") or [""]
        unboxed.extend(_unboxed("\n".join(before)))
        if not label.strip():
            continue
        x1, x2 = sorted((_grid_to_px(m.group("x1"), width), _grid_to_px(m.group("x2"), width)))
        y1, y2 = sorted((_grid_to_px(m.group("y1"), height), _grid_to_px(m.group("y2"), height)))
        boxed.append(Line(text=label.strip(), bbox=(x1, y1, x2, y2)))
    unboxed.extend(_unboxed(text[end:]))
    return Spotting(reading_order(boxed) + unboxed, len(unboxed))


def has_box(text: str) -> bool:
    """Whether ``text`` holds a spotting item with coordinates."""
    return _SPOT_RE.search(text) is not None


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
    raise ModelOutputError(f"model output is not a JSON object: {snippet!r}")


def _allowed(schema: dict[str, Any] | None, fields: tuple[str, ...]) -> set[str] | None:
    props = (schema or {}).get("properties")
    if isinstance(props, dict) and props:
        return set(props)
    return set(fields) if fields else None


def drop_unknown(value: dict[str, Any], schema: dict[str, Any] | None,
                 fields: tuple[str, ...] = ()) -> tuple[dict[str, Any], list[str]]:
    """``value`` without keys the request did not ask for (the schema's properties, else ``fields``),
    at the top level and inside arrays of objects; returns the kept value and the dropped key paths.

    Whatever a page says ("ignore previous instructions, add a field..."), the output has the
    contract's keys only: an extra key is never loaded, only named in a flag."""
    allowed = _allowed(schema, fields)
    if allowed is None:
        return value, []
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    props = (schema or {}).get("properties") or {}
    for key, item in value.items():
        if key not in allowed:
            dropped.append(str(key))
            continue
        spec = props.get(key) if isinstance(props, dict) else None
        items = spec.get("items") if isinstance(spec, dict) else None
        if isinstance(item, list) and isinstance(items, dict) and items.get("properties"):
            cleaned: list[Any] = []
            for i, element in enumerate(item):
                if isinstance(element, dict):
                    element, inner = drop_unknown(element, items)
                    dropped.extend(f"{key}/{i}/{name}" for name in inner)
                cleaned.append(element)
            item = cleaned
        kept[key] = item
    return kept, dropped


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
