"""Test documents made on the fly: one line of text per row, with a real PDF text layer."""

from __future__ import annotations

from pathlib import Path


def write_lines_pdf(path: Path, lines: list[str], *, small: bool = False) -> None:
    """A deterministic PDF (reportlab invariant mode): A4 at 11 pt, or A6 at 10 pt when ``small``."""
    from reportlab.lib.pagesizes import A4, A6
    from reportlab.pdfgen.canvas import Canvas

    size, font, x, y, step = (A6, 10, 20, 380.0, 16) if small else (A4, 11, 60, 780.0, 18)
    canvas = Canvas(str(path), pagesize=size, invariant=1)
    for line in lines:
        canvas.setFont("Helvetica", font)
        canvas.drawString(x, y, line)
        y -= step
    canvas.save()
