"""Positioned text lines for the line-table tests (tests/unit/test_lines_table*.py)."""

from __future__ import annotations

from ocrflow.core.models import DocumentRef, Line

DOC = DocumentRef(path="t.pdf", sha256="0" * 64, mime="application/pdf", size_bytes=1)


def ln(text: str, x0: float, y: float, x1: float | None = None) -> Line:
    """A line of ``text`` at (x0, y), 12 high, 8 wide a character unless ``x1`` says where it ends."""
    return Line(text=text, bbox=(x0, y, x1 if x1 is not None else x0 + 8 * len(text), y + 12))
