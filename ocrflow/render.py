"""The Renderer seam: a document -> its pages, one at a time.

Never the whole document in memory: PDF pages are rendered on demand (only the
pages that need OCR are rasterized at all) and multi-page TIFFs are read frame by
frame. Every page image is normalized the same way: EXIF orientation applied,
RGB, long side capped, and its JPEG encoding kept under the request-size cap.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from PIL import Image, ImageOps

from ocrflow.models import DocumentRef, Line
from ocrflow.pdfium_lock import PDFIUM_LOCK

if TYPE_CHECKING:
    import pypdfium2 as pdfium
from ocrflow.textlayer import is_usable, page_lines

MAX_IMAGE_PIXELS = 200_000_000
"""Decompression-bomb guard for input images: allows 600-dpi A3 scans, refuses far larger ones."""


class RenderError(ValueError):
    """A document cannot be opened or a page cannot be rendered; the message says why."""


class TooManyPagesError(RenderError):
    """The document has more pages than the hard limit the user set (``max_pages``); nothing was read."""

    def __init__(self, page_count: int, limit: int) -> None:
        super().__init__(f"document has {page_count} pages, more than the limit of {limit} (OCRFLOW_MAX_PAGES); "
                         "not read. Raise the limit (0 = no limit) to process it whole")
        self.page_count, self.limit = page_count, limit


def check_page_count(count: int, max_pages: int) -> None:
    """Refuse a document longer than ``max_pages`` (0 = no limit) before any page is read."""
    if max_pages and count > max_pages:
        raise TooManyPagesError(count, max_pages)


@dataclass(slots=True)
class SourcePage:
    """One page: its text layer (if usable) and a function that rasterizes it on demand."""

    page_no: int
    width: int
    height: int
    text_lines: list[Line] | None
    render: Callable[[], Image.Image]


class Renderer(Protocol):
    name: str

    def pages(self, doc: DocumentRef, *, max_pages: int = 0) -> Iterator[SourcePage]:
        """Every page of ``doc`` in order; TooManyPagesError first when it has more than ``max_pages`` (0: no limit)."""
        ...


@dataclass(frozen=True, slots=True)
class RenderOptions:
    dpi: int = 150
    max_long_side: int = 2048
    use_text_layer: bool = True


def normalize(img: Image.Image, max_long_side: int) -> Image.Image:
    """EXIF orientation, RGB, and the long side capped at ``max_long_side`` pixels."""
    img = ImageOps.exif_transpose(img) or img
    if img.mode != "RGB":
        if img.mode in ("RGBA", "LA", "P"):
            rgba = img.convert("RGBA")
            bg = Image.new("RGB", rgba.size, (255, 255, 255))
            bg.paste(rgba, mask=rgba.getchannel("A"))
            img = bg
        else:
            img = img.convert("RGB")
    long_side = max(img.size)
    if long_side > max_long_side:
        ratio = max_long_side / long_side
        img = img.resize((max(1, round(img.width * ratio)), max(1, round(img.height * ratio))),
                         Image.Resampling.LANCZOS)
    return img


def encode_jpeg(img: Image.Image, *, max_bytes: int = 4 * 1024 * 1024, quality: int = 90) -> bytes:
    """JPEG bytes under ``max_bytes``: lower the quality first, then the size."""
    q = quality
    current = img
    while True:
        buf = io.BytesIO()
        current.save(buf, format="JPEG", quality=q, optimize=True)
        data = buf.getvalue()
        if len(data) <= max_bytes:
            return data
        if q > 60:
            q -= 10
        else:
            current = current.resize((max(1, int(current.width * 0.8)), max(1, int(current.height * 0.8))),
                                     Image.Resampling.LANCZOS)


class PdfiumRenderer:
    """PDF pages with pypdfium2 (default): text layer and raster from the same library."""

    name = "pypdfium2"

    def __init__(self, options: RenderOptions) -> None:
        self.options = options

    def pages(self, doc: DocumentRef, *, max_pages: int = 0) -> Iterator[SourcePage]:
        if doc.mime != "application/pdf":
            yield from ImageRenderer(self.options).pages(doc, max_pages=max_pages)
            return
        with PDFIUM_LOCK:
            pdf = open_pdf(doc.open_path)
            count = len(pdf)
        try:
            check_page_count(count, max_pages)
            for index in range(count):
                with PDFIUM_LOCK:
                    page = self._page(pdf, index)
                yield page
        finally:
            with PDFIUM_LOCK:
                pdf.close()

    def _page(self, pdf: pdfium.PdfDocument, index: int) -> SourcePage:
        page = pdf[index]
        scale = self.options.dpi / 72
        width, height = round(page.get_width() * scale), round(page.get_height() * scale)
        lines = page_lines(page, scale) if self.options.use_text_layer else None
        text_lines = lines if lines is not None and is_usable(lines) else None
        max_side = self.options.max_long_side

        def render() -> Image.Image:
            with PDFIUM_LOCK:
                bitmap = page.render(scale=scale, rotation=0)
                try:
                    image = bitmap.to_pil().copy()  # own the pixels before the bitmap is freed
                finally:
                    bitmap.close()
            return normalize(image, max_side)

        return SourcePage(index + 1, width, height, text_lines, render)


class Pdf2ImageRenderer(PdfiumRenderer):
    """PDF pages rasterized by poppler (pdf2image), one page per call; text layer still from pdfium."""

    name = "pdf2image"

    def _page(self, pdf: pdfium.PdfDocument, index: int) -> SourcePage:
        base = super()._page(pdf, index)
        path = getattr(self, "_path", "")
        dpi, max_side = self.options.dpi, self.options.max_long_side

        def render() -> Image.Image:
            from pdf2image import convert_from_path
            from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError

            try:
                images = convert_from_path(path, dpi=dpi, first_page=index + 1, last_page=index + 1)
            except PDFInfoNotInstalledError as exc:
                raise RenderError("--renderer pdf2image needs poppler-utils (pdftoppm) installed") from exc
            except PDFPageCountError as exc:
                raise RenderError(f"poppler could not read page {index + 1}: {exc}") from exc
            if not images:
                raise RenderError(f"poppler rendered no image for page {index + 1}")
            return normalize(images[0], max_side)

        base.render = render
        return base

    def pages(self, doc: DocumentRef, *, max_pages: int = 0) -> Iterator[SourcePage]:
        self._path = doc.open_path
        yield from super().pages(doc, max_pages=max_pages)


class ImageRenderer:
    """Raster images (PNG, JPEG, TIFF incl. multi-page, WebP, BMP), frame by frame."""

    name = "pillow"

    def __init__(self, options: RenderOptions) -> None:
        self.options = options

    def pages(self, doc: DocumentRef, *, max_pages: int = 0) -> Iterator[SourcePage]:
        Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
        try:
            img = Image.open(doc.open_path)
        except (OSError, Image.DecompressionBombError) as exc:
            raise RenderError(f"cannot open image: {exc}") from exc
        with img:
            frames = getattr(img, "n_frames", 1)
            check_page_count(frames, max_pages)
            for index in range(frames):
                try:
                    img.seek(index)
                    img.load()
                    frame = normalize(img.copy(), self.options.max_long_side)
                except (OSError, EOFError, ValueError) as exc:
                    raise RenderError(f"cannot decode image frame {index + 1}: {exc}") from exc
                yield SourcePage(index + 1, frame.width, frame.height, None, _const(frame))


def _const(frame: Image.Image) -> Callable[[], Image.Image]:
    return lambda: frame


def open_pdf(path: str) -> pdfium.PdfDocument:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        msg = str(exc)
        if "password" in msg.lower():
            raise RenderError("PDF is password-protected; supply an unencrypted copy") from exc
        raise RenderError(f"cannot open PDF: {msg}") from exc


def make_renderer(name: str, options: RenderOptions) -> Renderer:
    if name == "pypdfium2":
        return PdfiumRenderer(options)
    if name == "pdf2image":
        return Pdf2ImageRenderer(options)
    raise ValueError(f"unknown renderer {name!r} (choose pypdfium2 or pdf2image)")


def timed_render(page: SourcePage) -> tuple[Image.Image, float]:
    t0 = time.perf_counter()
    img = page.render()
    return img, time.perf_counter() - t0
