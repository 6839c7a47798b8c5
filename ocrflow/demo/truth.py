"""The truth of what the demo generator drew: per page, every text line it drew and its box.

One JSON sidecar per document, ``<docs dir>/../truth/<file name>.json`` (outside the inbox)::

    {"file": "invoice_digital.pdf", "unit": "pt",
     "pages": [{"width": 595.27, "height": 841.89,
                "lines": [{"text": "INVOICE", "box": [449.0, 48.1, 545.3, 63.9]}, ...]}]}

``unit`` is ``"pt"`` (PDF points) for born-digital PDFs and ``"px"`` for raster receipts. Boxes are
``[x0, y0, x1, y1]`` with the origin at the top-left corner of the page and y growing downwards, like image
pixels, so a page rendered at ``dpi`` maps a PDF box by ``dpi / 72``. PDF boxes span the font's ascent to
descent; receipt boxes are the axis-aligned envelope of each line after the scan's slight rotation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TRUTH_DIR = "truth"

Box = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class TextLine:
    """One drawn string and its box (top-left origin, in the document's unit)."""

    text: str
    box: Box


@dataclass(frozen=True, slots=True)
class PageTruth:
    width: float
    height: float
    lines: tuple[TextLine, ...]


@dataclass(frozen=True, slots=True)
class DocTruth:
    """Everything drawn on one document: its file name, unit (``pt`` or ``px``) and pages."""

    file: str
    unit: str
    pages: tuple[PageTruth, ...]

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "unit": self.unit,
                "pages": [{"width": _round(p.width), "height": _round(p.height),
                           "lines": [{"text": ln.text, "box": [_round(v) for v in ln.box]} for ln in p.lines]}
                          for p in self.pages]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DocTruth:
        pages = tuple(PageTruth(float(p["width"]), float(p["height"]),
                                tuple(TextLine(ln["text"], _box(ln["box"])) for ln in p["lines"]))
                      for p in data["pages"])
        return cls(file=data["file"], unit=data["unit"], pages=pages)


def text_line(text: str, box: Box) -> TextLine:
    """A line with its box rounded to hundredths, as it is written, so a read-back sidecar compares equal."""
    x0, y0, x1, y1 = (_round(v) for v in box)
    return TextLine(text, (x0, y0, x1, y1))


def _round(value: float) -> float:
    return round(float(value), 2)


def _box(values: list[float]) -> Box:
    x0, y0, x1, y1 = (float(v) for v in values)
    return (x0, y0, x1, y1)


def truth_path(truth_dir: Path, file_name: str) -> Path:
    return truth_dir / f"{file_name}.json"


def write_truth(truth_dir: Path, truth: DocTruth) -> Path:
    """Write one sidecar; returns its path."""
    truth_dir.mkdir(parents=True, exist_ok=True)
    path = truth_path(truth_dir, truth.file)
    path.write_text(json.dumps(truth.to_json(), ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def load_truth(path: Path) -> DocTruth:
    return DocTruth.from_json(json.loads(path.read_text(encoding="utf-8")))
