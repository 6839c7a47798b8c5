"""PDF drawing for the demo: an A4 reportlab canvas that records the truth of every string it draws."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ocrflow.demo.truth import DocTruth, PageTruth, TextLine, text_line

if TYPE_CHECKING:
    from reportlab.pdfgen.canvas import Canvas

PAGE_W, PAGE_H = 595.27, 841.89  # A4 in points
MARGIN = 50.0
ROW_H = 15.0


class Pen:
    """Draws on a reportlab canvas and keeps, per page, each string's text and box (top-left origin)."""

    def __init__(self, canvas: Canvas, file_name: str) -> None:
        self.canvas = canvas
        self.file_name = file_name
        self._font = ("Helvetica", 12.0)  # reportlab's initial font
        self._lines: list[TextLine] = []
        self._pages: list[PageTruth] = []

    def set_font(self, name: str, size: float) -> None:
        self.canvas.setFont(name, size)
        self._font = (name, float(size))

    def text(self, x: float, y: float, text: str) -> None:
        self.canvas.drawString(x, y, text)
        self._record(x, y, text)

    def text_right(self, x: float, y: float, text: str) -> None:
        self.canvas.drawRightString(x, y, text)
        self._record(x - self._width(text), y, text)

    def text_centred(self, x: float, y: float, text: str) -> None:
        self.canvas.drawCentredString(x, y, text)
        self._record(x - self._width(text) / 2, y, text)

    def line(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.canvas.line(x0, y0, x1, y1)

    def fill_rgb(self, red: float, green: float, blue: float) -> None:
        self.canvas.setFillColorRGB(red, green, blue)

    def show_page(self) -> None:
        self.canvas.showPage()
        self._end_page()

    def save(self) -> DocTruth:
        """Write the PDF; returns what was drawn on each page."""
        self.canvas.save()
        self._end_page()
        return DocTruth(file=self.file_name, unit="pt", pages=tuple(self._pages))

    def _end_page(self) -> None:
        self._pages.append(PageTruth(PAGE_W, PAGE_H, tuple(self._lines)))
        self._lines = []

    def _width(self, text: str) -> float:
        from reportlab.pdfbase import pdfmetrics

        return float(pdfmetrics.stringWidth(text, *self._font))

    def _record(self, left: float, baseline: float, text: str) -> None:
        from reportlab.pdfbase import pdfmetrics

        ascent, descent = pdfmetrics.getAscentDescent(*self._font)
        box = (left, PAGE_H - (baseline + ascent), left + self._width(text), PAGE_H - (baseline + descent))
        self._lines.append(text_line(text, box))


def new_pen(path: Path, title: str, author: str) -> Pen:
    """An A4 canvas in reportlab's invariant mode (no dates or random ids), so output is reproducible."""
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path), pagesize=(PAGE_W, PAGE_H), invariant=1)
    canvas.setTitle(title)
    canvas.setAuthor(author)
    canvas.setCreator("ocrflow.demo")
    return Pen(canvas, path.name)
