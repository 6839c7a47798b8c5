"""A stand-in for an OCR vision-language model that knows nothing of ocrflow.

It answers from what a real model would "see": a per-image truth it is given (the lines drawn on the
page with their boxes, and the field values a reader would extract), looked up by the image's content, and
written in HunyuanOCR's output formats:

* spotting: one ``text(x1,y1),(x2,y2)`` per line, coordinates on the 0-1000 grid of the page;
* parsing: markdown, rows of several cells on one baseline as an HTML ``<table>``;
* extraction: a JSON object with exactly the requested keys, values from the truth's fields.

Keyed by content, not bytes: the pipeline renders, EXIF-rotates, resizes and JPEG-encodes a page before
sending it, so neither the file's bytes nor the pixels survive. The key is a fingerprint that does: the
aspect ratio and a 32x32 grayscale thumbnail with its mean removed (resizing and JPEG noise move a thumbnail
pixel by a few grey levels; different pages differ by tens). The nearest registered page wins if it is
within ``max_distance``; an image nothing matches gets an empty answer and is counted in ``unknown``.

Noise on demand (``model.noise = {"slip", ...}``, or ``noise=`` per truth): ``slip`` (an OCR slip: O->0,
l->1, S->5 in the first line that has one), ``wrong_digit`` (a digit of the first numeric field value is
changed), ``no_coords`` (spotting lines without coordinates), ``prose`` (prose around the JSON), ``fence``
(```json fences), ``loop`` (the last line repeated until the budget runs out), ``truncate`` (the answer cut
in half). A value that is on no page is a truth whose ``fields`` say so (``PageTruth.with_fields``).

Imports nothing from ocrflow (the demo's truth/ and gold.jsonl are read as plain JSON).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from PIL import Image, ImageOps

NOISE_KINDS = frozenset({"slip", "wrong_digit", "no_coords", "prose", "fence", "loop", "truncate"})
THUMB = 32
SLIPS = (("O", "0"), ("l", "1"), ("S", "5"), ("B", "8"))
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"}

Box = tuple[float, float, float, float]


class Call(Protocol):
    """What the HTTP layer hands the model: the prompt, the decoded image and the requested fields."""

    prompt: str
    image: Image.Image
    fields: list[str]


@dataclass(frozen=True)
class DrawnLine:
    text: str
    box: Box  # x0, y0, x1, y1 in the page's own unit, top-left origin


@dataclass(frozen=True)
class PageTruth:
    """What is on one page (``width`` x ``height`` in the unit of the boxes) and what a reader extracts."""

    width: float
    height: float
    lines: tuple[DrawnLine, ...]
    fields: Mapping[str, Any] = field(default_factory=dict)
    noise: frozenset[str] = frozenset()

    def with_fields(self, **values: Any) -> PageTruth:
        return replace(self, fields={**self.fields, **values})

    def with_noise(self, *kinds: str) -> PageTruth:
        return replace(self, noise=_checked(kinds))


def _checked(kinds: Iterable[str]) -> frozenset[str]:
    found = frozenset(kinds)
    unknown = found - NOISE_KINDS
    if unknown:
        raise ValueError(f"unknown noise {sorted(unknown)}; known: {sorted(NOISE_KINDS)}")
    return found


def fingerprint(image: Image.Image) -> tuple[float, tuple[int, ...]]:
    """Aspect ratio and a mean-free 32x32 grayscale thumbnail: survives resizing and JPEG re-encoding."""
    gray = ImageOps.exif_transpose(image).convert("L")
    thumb = gray.resize((THUMB, THUMB), Image.Resampling.BOX)
    pixels = list(thumb.getdata())
    mean = sum(pixels) / len(pixels)
    return gray.width / gray.height, tuple(round(p - mean) for p in pixels)


def distance(a: tuple[float, tuple[int, ...]], b: tuple[float, tuple[int, ...]]) -> float:
    """Mean absolute grey-level difference; infinite when the aspect ratios differ by over 3 %."""
    if abs(a[0] - b[0]) > 0.03 * max(a[0], b[0]):
        return float("inf")
    return sum(abs(x - y) for x, y in zip(a[1], b[1], strict=True)) / len(a[1])


def task_of(prompt: str) -> str:
    """HunyuanOCR's prompts: spotting asks for coordinates, extraction for JSON, the rest is parsing."""
    if "coordinates" in prompt or "坐标" in prompt:
        return "spot"
    if "JSON" in prompt.upper():
        return "extract"
    return "parse"


class TruthModel:
    """Answers chat calls from registered page truths. Thread-safe; counts what it was asked."""

    def __init__(self, *, noise: Iterable[str] = (), max_distance: float = 6.0) -> None:
        self.noise = _checked(noise)
        self.max_distance = max_distance
        self.unknown = 0
        self.asked: dict[str, int] = {"spot": 0, "parse": 0, "extract": 0}
        self._pages: list[tuple[tuple[float, tuple[int, ...]], PageTruth]] = []
        self._lock = threading.Lock()

    def add(self, image: Image.Image, truth: PageTruth) -> None:
        with self._lock:
            self._pages.append((fingerprint(image), truth))

    def replace_truth(self, image: Image.Image, truth: PageTruth) -> None:
        """Change what a registered page says (e.g. a field that is on no page)."""
        key = fingerprint(image)
        with self._lock:
            self._pages = [(k, truth if distance(k, key) <= self.max_distance else t) for k, t in self._pages]

    def add_demo(self, out_dir: Path) -> int:
        """Register every raster document of a demo folder (docs/, truth/, gold.jsonl); returns how many."""
        return add_demo_truth(self, out_dir)

    def match(self, image: Image.Image) -> PageTruth | None:
        key = fingerprint(image)
        with self._lock:
            scored = sorted(((distance(key, k), i) for i, (k, _) in enumerate(self._pages)), key=lambda s: s[0])
            if not scored or scored[0][0] > self.max_distance:
                return None
            return self._pages[scored[0][1]][1]

    def answer(self, call: Call) -> str:
        task = task_of(call.prompt)
        truth = self.match(call.image)
        with self._lock:
            self.asked[task] += 1
            if truth is None:
                self.unknown += 1
        if truth is None:
            return "" if task != "extract" else json.dumps(dict.fromkeys(call.fields))
        noise = self.noise | truth.noise
        text = {"spot": spotting, "parse": parsing}.get(task)
        body = text(truth, noise) if text else extraction(truth, call.fields, noise)
        return _shape(body, noise)


def _slipped(lines: tuple[DrawnLine, ...]) -> tuple[DrawnLine, ...]:
    for i, ln in enumerate(lines):
        for wrong, right in SLIPS:
            if wrong in ln.text:
                return (*lines[:i], replace(ln, text=ln.text.replace(wrong, right, 1)), *lines[i + 1:])
    return lines


def _grid(value: float, size: float) -> int:
    return max(0, min(1000, round(value * 1000 / size)))


def spotting(truth: PageTruth, noise: frozenset[str] = frozenset()) -> str:
    lines = _slipped(truth.lines) if "slip" in noise else truth.lines
    if "no_coords" in noise:
        return "\n".join(ln.text for ln in lines)
    w, h = truth.width, truth.height
    return "\n".join(f"{ln.text}({_grid(ln.box[0], w)},{_grid(ln.box[1], h)}),"
                     f"({_grid(ln.box[2], w)},{_grid(ln.box[3], h)})" for ln in lines)


def _rows(lines: tuple[DrawnLine, ...]) -> list[list[DrawnLine]]:
    """Lines grouped by baseline (vertical centres within half a line height), left to right."""
    rows: list[list[DrawnLine]] = []
    for ln in sorted(lines, key=lambda x: ((x.box[1] + x.box[3]) / 2, x.box[0])):
        centre, height = (ln.box[1] + ln.box[3]) / 2, ln.box[3] - ln.box[1]
        if rows:
            last = rows[-1][0]
            if abs((last.box[1] + last.box[3]) / 2 - centre) <= max(height, last.box[3] - last.box[1]) / 2:
                rows[-1].append(ln)
                continue
        rows.append([ln])
    return [sorted(r, key=lambda x: x.box[0]) for r in rows]


def parsing(truth: PageTruth, noise: frozenset[str] = frozenset()) -> str:
    """Markdown: single lines as paragraphs, runs of multi-cell rows as one HTML table."""
    lines = _slipped(truth.lines) if "slip" in noise else truth.lines
    blocks: list[str] = []
    table: list[str] = []
    for row in _rows(lines):
        if len(row) > 1:
            table.append("<tr>" + "".join(f"<td>{c.text}</td>" for c in row) + "</tr>")
            continue
        if table:
            blocks.append("<table>" + "".join(table) + "</table>")
            table = []
        blocks.append(row[0].text)
    if table:
        blocks.append("<table>" + "".join(table) + "</table>")
    return "\n\n".join(blocks)


def _wrong_digit(values: dict[str, Any]) -> dict[str, Any]:
    for name, value in values.items():
        text = str(value) if value is not None else ""
        m = re.search(r"\d", text)
        if m and not isinstance(value, bool):
            digit = str((int(m.group()) + 1) % 10)
            return {**values, name: text[:m.start()] + digit + text[m.end():]}
    return values


def extraction(truth: PageTruth, fields: list[str], noise: frozenset[str] = frozenset()) -> str:
    values = {name: truth.fields.get(name) for name in fields}
    if "wrong_digit" in noise:
        values = _wrong_digit(values)
    body = json.dumps(values, ensure_ascii=False, indent=2)
    if "fence" in noise:
        body = f"```json\n{body}\n```"
    if "prose" in noise:
        body = f"Here is the information extracted from the document:\n{body}\nLet me know if you need more."
    return body


def _shape(body: str, noise: frozenset[str]) -> str:
    if "loop" in noise:
        last = body.splitlines()[-1] if body else "0"
        body = body + ("\n" + last) * 4000
    if "truncate" in noise:
        body = body[: max(1, len(body) // 2)]
    return body


# ----------------------------------------------------------------------------- demo truth as plain JSON
def page_truths(sidecar: Mapping[str, Any], fields: Mapping[str, Any] | None = None) -> list[PageTruth]:
    """The demo's ``truth/<file>.json`` sidecar as page truths; ``fields`` (from gold) go on the first page."""
    pages = []
    for i, page in enumerate(sidecar["pages"]):
        lines = tuple(DrawnLine(str(ln["text"]), tuple(float(v) for v in ln["box"]))  # type: ignore[misc]
                      for ln in page["lines"])
        pages.append(PageTruth(float(page["width"]), float(page["height"]), lines,
                               dict(fields or {}) if i == 0 else {}))
    return pages


def add_demo_truth(model: TruthModel, out_dir: Path) -> int:
    """Register the raster documents of a demo folder: image from docs/, lines from truth/, fields from gold."""
    gold: dict[str, dict[str, Any]] = {}
    gold_file = out_dir / "gold.jsonl"
    if gold_file.exists():
        for line in gold_file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                gold[Path(record["path"]).name] = dict(record.get("fields") or {})
    added = 0
    for sidecar_path in sorted((out_dir / "truth").glob("*.json")):
        sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
        image_path = out_dir / "docs" / sidecar["file"]
        if image_path.suffix.lower() not in IMAGE_SUFFIXES or not image_path.exists():
            continue
        with Image.open(image_path) as image:
            image.load()
            model.add(image, page_truths(sidecar, gold.get(sidecar["file"]))[0])
        added += 1
    return added
