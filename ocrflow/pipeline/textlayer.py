"""Text layers of born-digital PDF pages, read with pdfium (no OCR).

pdfium reports text as "rects" (runs of characters on one baseline). We turn
them into lines with boxes in the pixel space of the page rendered at ``scale``
(``scale = dpi / 72``) so that text-layer pages and OCRed pages look the same
to the field extractor.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ocrflow.core.models import Line, reading_order

if TYPE_CHECKING:
    import pypdfium2 as pdfium

MIN_USABLE_CHARS = 16
"""A page with fewer visible characters than this is treated as having no text layer."""


def page_lines(page: pdfium.PdfPage, scale: float) -> list[Line]:
    """Lines of a PDF page's text layer, boxes in pixels at ``scale``, top-left origin.

    Built from pdfium's per-character text and boxes: pdfium's own line breaks end a
    line, and a wide horizontal gap splits it (table columns, label and value).
    Reading rects with ``get_text_bounded`` instead garbles PDFs that draw text twice
    (fake bold), so we never do that.
    """
    textpage = page.get_textpage()
    try:
        height = page.get_height()
        n = textpage.count_chars()
        text = textpage.get_text_range(0, n) if n else ""
        if len(text) != n:  # pdfium may drop or add characters in the range; go char by char
            text = "".join(textpage.get_text_range(i, 1)[:1] or " " for i in range(n))
        boxes = [textpage.get_charbox(i) for i in range(n)]
    finally:
        textpage.close()
    return reading_order(_segments(text, boxes, height, scale))


def _segments(text: str, boxes: list[tuple[float, float, float, float]], height: float,
              scale: float) -> list[Line]:
    lines: list[Line] = []
    chars: list[str] = []
    box: list[float] = []  # x0, y0 (bottom), x1, y1 (top) in PDF points

    def flush() -> None:
        t = _clean("".join(chars))
        if t and box:
            lines.append(Line(text=t, bbox=(box[0] * scale, (height - box[3]) * scale,
                                            box[2] * scale, (height - box[1]) * scale)))
        chars.clear()
        box.clear()

    for ch, (left, bottom, right, top) in zip(text, boxes, strict=False):
        if ch in "\r\n":
            flush()
            continue
        if ch.isspace() or right <= left:
            chars.append(ch)
            continue
        if box:
            line_h = max(box[3] - box[1], top - bottom, 1.0)
            off_line = top < box[1] or bottom > box[3]
            if off_line or left - box[2] > max(2.0 * line_h, 12.0):
                flush()
        chars.append(ch)
        if box:
            box[:] = [min(box[0], left), min(box[1], bottom), max(box[2], right), max(box[3], top)]
        else:
            box[:] = [left, bottom, right, top]
    flush()
    return lines


def _clean(text: str) -> str:
    text = text.replace("\x00", "").replace("\ufffe", "").replace("\x02", "")
    return re.sub(r"\s+", " ", text).strip()


def is_usable(lines: list[Line]) -> bool:
    chars = sum(len(re.sub(r"\s", "", ln.text)) for ln in lines)
    return chars >= MIN_USABLE_CHARS
