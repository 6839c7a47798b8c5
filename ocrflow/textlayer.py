"""Text layers of born-digital PDF pages, read with pdfium (no OCR).

pdfium reports text as "rects" (runs of characters on one baseline). We turn
them into lines with boxes in the pixel space of the page rendered at ``scale``
(``scale = dpi / 72``) so that text-layer pages and OCRed pages look the same
to the field extractor.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ocrflow.models import Line, reading_order

if TYPE_CHECKING:
    import pypdfium2 as pdfium

MIN_USABLE_CHARS = 16
"""A page with fewer visible characters than this is treated as having no text layer."""


def page_lines(page: pdfium.PdfPage, scale: float) -> list[Line]:
    """Lines of a PDF page's text layer, boxes in pixels at ``scale``, top-left origin."""
    textpage = page.get_textpage()
    try:
        height = page.get_height()
        runs: list[tuple[float, float, float, float, str]] = []
        for i in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(i)
            text = textpage.get_text_bounded(left - 0.5, bottom - 0.5, right + 0.5, top + 0.5)
            text = _clean(text)
            if text:
                runs.append((left * scale, (height - top) * scale, right * scale,
                             (height - bottom) * scale, text))
    finally:
        textpage.close()
    return _merge_runs(runs)


def _clean(text: str) -> str:
    text = text.replace("\r", " ").replace("\n", " ").replace("\x00", "").replace("\ufffe", "")
    return re.sub(r"\s+", " ", text).strip()


def _merge_runs(runs: list[tuple[float, float, float, float, str]]) -> list[Line]:
    """Join runs that sit on the same baseline and nearly touch into one line."""
    runs.sort(key=lambda r: (round((r[1] + r[3]) / 2), r[0]))
    lines: list[list[float | str]] = []
    for x0, y0, x1, y1, text in runs:
        h = max(y1 - y0, 1.0)
        if lines:
            last = lines[-1]
            lx0, ly0, lx1, ly1, ltext = last
            same_row = abs((float(ly0) + float(ly1)) / 2 - (y0 + y1) / 2) < h * 0.5
            gap = x0 - float(lx1)
            if same_row and -h < gap < h * 1.2:
                last[2] = max(float(lx1), x1)
                last[1] = min(float(ly0), y0)
                last[3] = max(float(ly1), y1)
                last[4] = f"{ltext} {text}" if gap > h * 0.15 else f"{ltext}{text}"
                continue
        lines.append([x0, y0, x1, y1, text])
    out = [Line(text=str(t), bbox=(float(a), float(b), float(c), float(d))) for a, b, c, d, t in lines]
    return reading_order(out)


def is_usable(lines: list[Line]) -> bool:
    chars = sum(len(re.sub(r"\s", "", ln.text)) for ln in lines)
    return chars >= MIN_USABLE_CHARS
