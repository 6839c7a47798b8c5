"""A stand-in for an OCR vision-language model that knows nothing of ocrflow.

It answers from what a real model would "see": a per-image truth it is given (the lines drawn on the
page with their boxes, and the field values a reader would extract), looked up by the image's content, and
written in HunyuanOCR's output formats:

* spotting: one item per line, coordinates on the 0-1000 grid of the page; a HunyuanOCR model (by the
  requested model's id, or ``spotting_form="tokens"``) in its token form ``<ref>text</ref><quad>(x1,y1),(x2,y2)
  </quad>`` (the markup is special tokens: the fake server drops them, with the coordinates, unless the
  request keeps special tokens, as vLLM does), any other (or ``spotting_form="plain"``) ``text(x1,y1),(x2,y2)``;
* parsing: markdown, rows of several cells on one baseline as an HTML ``<table>``; a truth with line items
  (``fields["line_items"]``, a list of objects) also gets its item table: a header row of printed labels
  (``PageTruth.table_header``, in its order, else the key written as words: ``unit_price`` -> "Unit price"), one row per
  item, then the totals the fields hold (subtotal / tax / total) as rows of the same table;
* extraction: a JSON object with exactly the requested keys (the prompt's list, plus every property of
  the structured-output schema, as a schema-constrained server answers), values from the truth's fields.

Keyed by content, not bytes: the pipeline renders, EXIF-rotates, resizes and JPEG-encodes a page before
sending it, so neither the file's bytes nor the pixels survive. The key is a fingerprint that does: the
aspect ratio and a 32x32 grayscale thumbnail with its mean removed (resizing and JPEG noise move a thumbnail
pixel by a few grey levels; different pages differ by tens). The nearest registered page wins if it is
within ``max_distance``; an image nothing matches gets an empty answer and is counted in ``unknown``.

Noise on demand (``model.noise = {"slip", ...}``, or ``noise=`` per truth): ``slip`` (an OCR slip: O->0,
l->1, S->5 in the first line that has one), ``wrong_digit`` (a digit of the first numeric field value is
changed), ``no_coords`` (spotting lines without coordinates), ``prose`` (prose around the JSON), ``fence``
(```json fences), ``loop`` (the last line repeated until the budget runs out), ``truncate`` (the answer cut
in half); for line items: ``no_line_items`` (the JSON's array is empty), ``line_digit`` (a digit of the first
item's last numeric value is changed in the JSON, not in the table), ``markdown_table`` (the item table as a
markdown pipe table), ``spans`` (a two-row HTML header: the last two columns under one ``colspan`` group
label, the others ``rowspan``-ed; a description wrapped with ``<br>``). A value that is on no page is a
truth whose ``fields`` say so (``PageTruth.with_fields``; items: ``PageTruth.with_items``).

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

NOISE_KINDS = frozenset({"slip", "wrong_digit", "no_coords", "prose", "fence", "loop", "truncate", "no_line_items",
                         "line_digit", "markdown_table", "spans"})
ITEMS = "line_items"
TOTAL_ROWS = (("subtotal_amount", "Subtotal"), ("tax_amount", "Tax"), ("total_amount", "Total"))
THUMB = 32
SLIPS = (("O", "0"), ("l", "1"), ("S", "5"), ("B", "8"))
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"}
SPOTTING_FORMS = frozenset({"auto", "tokens", "plain"})

Box = tuple[float, float, float, float]


class Call(Protocol):
    """What the HTTP layer hands the model: the model asked for, the prompt, the decoded image and the
    requested fields."""

    model: str
    prompt: str
    image: Image.Image
    fields: list[str]
    response_format: dict[str, Any] | None


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
    table_header: Mapping[str, str] = field(default_factory=dict)
    """Printed column labels of the item table by key (a key not here is written as words)."""

    def with_fields(self, **values: Any) -> PageTruth:
        return replace(self, fields={**self.fields, **values})

    def with_noise(self, *kinds: str) -> PageTruth:
        return replace(self, noise=_checked(kinds))

    def with_items(self, items: Iterable[Mapping[str, Any]], header: Mapping[str, str] | None = None) -> PageTruth:
        """The page's line items (what the JSON array and the item table say) and their printed labels."""
        return replace(self, fields={**self.fields, ITEMS: [dict(i) for i in items]},
                       table_header=dict(header or self.table_header))


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


def spotting_form_for(model: str, form: str = "auto") -> str:
    """``tokens`` for a HunyuanOCR model (its spotting markup is special tokens), ``plain`` for any other;
    an explicit ``form`` wins."""
    if form != "auto":
        return form
    return "tokens" if "hunyuanocr" in model.lower() else "plain"


def task_of(prompt: str) -> str:
    """HunyuanOCR's prompts: spotting asks for coordinates, extraction for JSON, the rest is parsing."""
    if "coordinates" in prompt or "坐标" in prompt:
        return "spot"
    if "JSON" in prompt.upper():
        return "extract"
    return "parse"


class TruthModel:
    """Answers chat calls from registered page truths. Thread-safe; counts what it was asked."""

    def __init__(self, *, noise: Iterable[str] = (), max_distance: float = 6.0,
                 spotting_form: str = "auto") -> None:
        if spotting_form not in SPOTTING_FORMS:
            raise ValueError(f"unknown spotting form {spotting_form!r}; known: {sorted(SPOTTING_FORMS)}")
        self.noise = _checked(noise)
        self.max_distance = max_distance
        self.spotting_form = spotting_form
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
        if task == "spot":
            body = spotting(truth, noise, form=spotting_form_for(call.model, self.spotting_form))
        elif task == "parse":
            body = parsing(truth, noise)
        else:
            body = extraction(truth, requested(call), noise, item_keys(call))
        return _shape(body, noise)


def _slipped(lines: tuple[DrawnLine, ...]) -> tuple[DrawnLine, ...]:
    for i, ln in enumerate(lines):
        for wrong, right in SLIPS:
            if wrong in ln.text:
                return (*lines[:i], replace(ln, text=ln.text.replace(wrong, right, 1)), *lines[i + 1:])
    return lines


def _grid(value: float, size: float) -> int:
    return max(0, min(1000, round(value * 1000 / size)))


def spotting(truth: PageTruth, noise: frozenset[str] = frozenset(), *, form: str = "tokens") -> str:
    """One item per line: ``<ref>text</ref><quad>(x1,y1),(x2,y2)</quad>`` (``tokens``) or
    ``text(x1,y1),(x2,y2)`` (``plain``); ``no_coords``: the text alone."""
    lines = _slipped(truth.lines) if "slip" in noise else truth.lines
    if "no_coords" in noise:
        return "\n".join(ln.text for ln in lines)
    w, h = truth.width, truth.height
    items = []
    for ln in lines:
        coords = f"({_grid(ln.box[0], w)},{_grid(ln.box[1], h)}),({_grid(ln.box[2], w)},{_grid(ln.box[3], h)})"
        items.append(f"<ref>{ln.text}</ref><quad>{coords}</quad>" if form == "tokens" else f"{ln.text}{coords}")
    return "\n".join(items)


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


def requested(call: Call) -> list[str]:
    """The prompt's field list, then the structured-output schema's other properties (e.g. the item array)."""
    schema = ((call.response_format or {}).get("json_schema") or {}).get("schema") or {}
    extra = [k for k in (schema.get("properties") or {}) if k not in call.fields]
    return [*call.fields, *extra]


def item_keys(call: Call) -> list[str]:
    """The properties the schema gives each item of the array (a constrained answer has every one)."""
    schema = ((call.response_format or {}).get("json_schema") or {}).get("schema") or {}
    items = ((schema.get("properties") or {}).get(ITEMS) or {}).get("items") or {}
    return list((items.get("properties") or {}).keys())


def parsing(truth: PageTruth, noise: frozenset[str] = frozenset()) -> str:
    """Markdown: single lines as paragraphs, runs of multi-cell rows as one HTML table, then the item table."""
    items = truth.fields.get(ITEMS) or []
    body = _drawn_markdown(truth, noise, tables=not items)
    if not items:
        return body
    return body + "\n\n" + item_table(items, truth.fields, truth.table_header, noise)


def _label(key: str, header: Mapping[str, str]) -> str:
    return header.get(key) or key.replace("_", " ").capitalize()


def _keys(items: list[Mapping[str, Any]], header: Mapping[str, str]) -> list[str]:
    """The table's columns: the header's keys in its order, then the items' other keys."""
    keys: list[str] = [k for k in header if any(k in item for item in items)]
    for item in items:
        keys.extend(k for k in item if k not in keys)
    return keys


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def item_table(items: list[Mapping[str, Any]], fields: Mapping[str, Any], header: Mapping[str, str],
               noise: frozenset[str] = frozenset()) -> str:
    """The item table as the parse prompt writes it (HTML; a pipe table with ``markdown_table``)."""
    keys = _keys(items, header)
    totals = [(label, fields[name]) for name, label in TOTAL_ROWS if fields.get(name) is not None]
    if "markdown_table" in noise:
        rows = [[_label(k, header) for k in keys], ["---"] * len(keys),
                *([_cell(item.get(k)) for k in keys] for item in items),
                *([label, *[""] * (len(keys) - 2), _cell(value)] for label, value in totals)]
        return "\n".join("| " + " | ".join(r) + " |" for r in rows)
    if "spans" in noise and len(keys) >= 3:
        first = "".join(f'<th rowspan="2">{_label(k, header)}</th>' for k in keys[:-2])
        head = (f'<tr>{first}<th colspan="2">Price</th></tr>'
                f"<tr>{''.join(f'<th>{_label(k, header)}</th>' for k in keys[-2:])}</tr>")
    else:
        head = "<tr>" + "".join(f"<th>{_label(k, header)}</th>" for k in keys) + "</tr>"
    body = []
    for item in items:
        cells = [_cell(item.get(k)) for k in keys]
        if "spans" in noise and " " in cells[0]:
            cells[0] = cells[0].replace(" ", "<br>", 1)
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    body.extend(f'<tr><td colspan="{len(keys) - 1}">{label}</td><td>{_cell(value)}</td></tr>'
                for label, value in totals)
    return "<table>" + head + "".join(body) + "</table>"


def _drawn_markdown(truth: PageTruth, noise: frozenset[str], *, tables: bool = True) -> str:
    """The drawn lines; multi-cell rows as HTML tables unless the item table stands for them."""
    lines = _slipped(truth.lines) if "slip" in noise else truth.lines
    blocks: list[str] = []
    table: list[str] = []
    for row in _rows(lines):
        if len(row) > 1 and not tables:
            blocks.append(" ".join(c.text for c in row))
            continue
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
        if m and not isinstance(value, (bool, list, dict)):
            digit = str((int(m.group()) + 1) % 10)
            return {**values, name: text[:m.start()] + digit + text[m.end():]}
    return values


def extraction(truth: PageTruth, fields: list[str], noise: frozenset[str] = frozenset(),
               keys: list[str] | None = None) -> str:
    values = {name: truth.fields.get(name) for name in fields}
    if "wrong_digit" in noise:
        values = _wrong_digit(values)
    if ITEMS in values:
        values[ITEMS] = [{**dict.fromkeys(keys or ()), **item} for item in _json_items(values[ITEMS] or [], noise)]
    body = json.dumps(values, ensure_ascii=False, indent=2)
    if "fence" in noise:
        body = f"```json\n{body}\n```"
    if "prose" in noise:
        body = f"Here is the information extracted from the document:\n{body}\nLet me know if you need more."
    return body


def _json_items(items: list[Mapping[str, Any]], noise: frozenset[str]) -> list[dict[str, Any]]:
    if "no_line_items" in noise:
        return []
    out = [dict(item) for item in items]
    if "line_digit" in noise and out:
        numeric = [k for k, v in out[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numeric:
            key = numeric[-1]
            text = str(out[0][key])
            m = re.search(r"\d", text)
            if m:
                changed = text[:m.start()] + str((int(m.group()) + 1) % 10) + text[m.end():]
                out[0][key] = float(changed) if "." in changed else int(changed)
    return out


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
