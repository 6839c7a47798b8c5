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

from ocrflow.core.errors import ErrorCode, InputError
from ocrflow.core.models import SOURCE_JPEG, DocumentRef, Line
from ocrflow.pipeline.pdfium_lock import PDFIUM_LOCK
from ocrflow.run.filetypes import MIME_HEIF, MULTI_PAGE_FORMATS

if TYPE_CHECKING:
    import pypdfium2 as pdfium
from ocrflow.pipeline.textlayer import is_usable, page_lines

EXIF_ORIENTATION = 0x0112
MAX_IMAGE_PIXELS = 200_000_000
"""Default decompression-bomb guard for input images (``max_page_pixels``): allows 600-dpi A3 scans,
refuses far larger ones."""
MIN_SIDE = 16
"""A page image whose short side is below this (pixels) cannot hold readable text."""
MAX_ASPECT = 50.0
"""A page image longer than this many times its width (or the reverse) cannot be read as a page."""


class RenderError(InputError):
    """A document cannot be opened or a page cannot be rendered; the message says why, the code what."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.UNREADABLE) -> None:
        super().__init__(message, code)


class TooManyPagesError(RenderError):
    """The document has more pages than the hard limit the user set (``max_pages``); nothing was read."""

    def __init__(self, page_count: int, limit: int) -> None:
        super().__init__(f"document has {page_count} pages, more than the limit of {limit} (OCRFLOW_MAX_PAGES); "
                         "not read. Raise the limit (0 = no limit) to process it whole", ErrorCode.TOO_MANY_PAGES)
        self.page_count, self.limit = page_count, limit


def check_shape(width: int, height: int) -> None:
    """Refuse a page image too elongated or too small to hold readable text (before any engine sees it)."""
    short, long_ = min(width, height), max(width, height)
    if short and long_ / short > MAX_ASPECT:
        raise RenderError(f"image is {width} x {height} pixels: too elongated to read as a page (more than "
                          f"{MAX_ASPECT:.0f}:1)", ErrorCode.IMAGE_TOO_ELONGATED)
    if short < MIN_SIDE:
        raise RenderError(f"image is {width} x {height} pixels: too small to read (the short side must be at "
                          f"least {MIN_SIDE} pixels)", ErrorCode.IMAGE_TOO_SMALL)


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
    max_page_pixels: int = MAX_IMAGE_PIXELS
    pdf_password: str | None = None


def normalize(img: Image.Image, max_long_side: int) -> Image.Image:
    """EXIF orientation, RGB, and the long side capped at ``max_long_side`` pixels."""
    ImageOps.exif_transpose(img, in_place=True)  # callers hand over a private image: turned in place, no copy
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
            pdf = open_pdf(doc.open_path, self.options.pdf_password)
            count = len(pdf)
        try:
            if count == 0:
                raise RenderError("PDF has no pages", ErrorCode.NO_PAGES)
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
        scale = pdf_scale(page.get_width(), page.get_height(), self.options)
        width, height = round(page.get_width() * scale), round(page.get_height() * scale)
        lines = page_lines(page, scale) if self.options.use_text_layer else None
        text_lines = lines if lines is not None and is_usable(lines) else None
        max_side = self.options.max_long_side

        def render() -> Image.Image:
            check_shape(width, height)
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
        img = open_image(doc, self.options.max_page_pixels)
        with img:
            frames = getattr(img, "n_frames", 1) if img.format in MULTI_PAGE_FORMATS else 1
            check_page_count(frames, max_pages)
            for index in range(frames):
                try:
                    img.seek(index)
                except (OSError, EOFError, ValueError) as exc:
                    raise _decode_error(exc, index) from exc
                check_pixels(img.width, img.height, self.options.max_page_pixels)
                check_shape(img.width, img.height)
                try:
                    img.load()
                    frame = normalize(img.copy(), self.options.max_long_side)
                except (OSError, EOFError, ValueError, SyntaxError) as exc:
                    raise _decode_error(exc, index) from exc
                if frames == 1:
                    keep_source_jpeg(img, frame, doc)
                yield SourcePage(index + 1, frame.width, frame.height, None, _const(frame))


def keep_source_jpeg(source: Image.Image, frame: Image.Image, doc: DocumentRef) -> None:
    """A JPEG file that ``normalize`` left as it was (RGB, no EXIF turn, not resized) keeps its own bytes in
    ``frame.info[SOURCE_JPEG]``, for engines that send JPEG (``ocrflow.engines.vllm.image``): re-encoding it
    costs ~3 ms of CPU per 782 x 1096 receipt scan and loses detail a second time (issue 21)."""
    if source.format != "JPEG" or source.mode != "RGB" or frame.size != source.size:
        return
    if source.getexif().get(EXIF_ORIENTATION, 1) != 1:
        return
    try:
        with open(doc.open_path, "rb") as fh:
            frame.info[SOURCE_JPEG] = fh.read()
    except OSError:  # gone since it was decoded: the engine encodes the pixels it has
        return


def _const(frame: Image.Image) -> Callable[[], Image.Image]:
    return lambda: frame


def open_pdf(path: str, password: str | None = None) -> pdfium.PdfDocument:
    """Open a PDF (an empty user password opens without one); a failure says why, with its code."""
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(path, password=password or None)
    except pdfium.PdfiumError as exc:
        raise pdf_open_error(path, str(exc), password is not None) from exc
    except OSError as exc:
        raise RenderError(f"cannot read PDF: {exc.strerror or type(exc).__name__}") from exc


def pdf_open_error(path: str, message: str, had_password: bool) -> RenderError:
    """Why pdfium refused a PDF: encrypted, truncated, without pages, or damaged."""
    encrypted, has_eof = _pdf_markers(path)
    if "password" in message.lower() and encrypted:
        if had_password:
            return RenderError("PDF is encrypted and the configured password (OCRFLOW_PDF_PASSWORD) does not "
                               "open it", ErrorCode.ENCRYPTED)
        return RenderError("PDF is encrypted with a user password; set OCRFLOW_PDF_PASSWORD or supply an "
                           "unencrypted copy", ErrorCode.ENCRYPTED)
    if not has_eof:
        return RenderError("PDF is truncated (no end-of-file marker: the file was cut off, e.g. by an "
                           "interrupted copy or download)", ErrorCode.TRUNCATED)
    if "password" in message.lower():  # pdfium says "password" for a PDF without a page tree too
        return RenderError("PDF has no pages (no readable page tree)", ErrorCode.NO_PAGES)
    return RenderError(f"PDF is damaged and cannot be opened ({message.removeprefix('Failed to load document ')})",
                       ErrorCode.UNREADABLE)


def _pdf_markers(path: str) -> tuple[bool, bool]:
    """(has an /Encrypt entry, ends with %%EOF), read in chunks (the file size is capped by discovery)."""
    encrypted, tail = False, b""
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            encrypted = encrypted or b"/Encrypt" in tail[-16:] + chunk
            tail = (tail + chunk)[-2048:]
    return encrypted, b"%%EOF" in tail


def pdf_scale(width_pt: float, height_pt: float, options: RenderOptions) -> float:
    """The render scale: the configured dpi, lowered for a page so large that it would exceed
    ``max_page_pixels`` (a huge MediaBox is rendered smaller, never refused)."""
    scale = options.dpi / 72
    pixels = width_pt * height_pt * scale * scale
    if pixels > options.max_page_pixels:
        scale *= (options.max_page_pixels / pixels) ** 0.5
    return scale


def check_pixels(width: int, height: int, limit: int) -> None:
    if width * height > limit:
        raise RenderError(f"image is {width} x {height} = {width * height:,} pixels, more than the limit of "
                          f"{limit:,} (OCRFLOW_MAX_PAGE_PIXELS): refused as a possible decompression bomb",
                          ErrorCode.DECOMPRESSION_BOMB)


def open_image(doc: DocumentRef, max_pixels: int) -> Image.Image:
    """Open an image lazily (header only); HEIC/HEIF through pillow-heif."""
    if doc.mime == MIME_HEIF:
        from pillow_heif import register_heif_opener

        register_heif_opener()
    Image.MAX_IMAGE_PIXELS = None  # check_pixels applies the configured cap, with a message that says so
    try:
        img = Image.open(doc.open_path)
    except Image.UnidentifiedImageError as exc:
        raise RenderError("image data is corrupt: its header is not a readable image",
                          ErrorCode.CORRUPT_IMAGE) from exc
    except OSError as exc:
        raise RenderError(f"cannot read image: {exc.strerror or exc}") from exc
    try:
        check_pixels(img.width, img.height, max_pixels)
    except RenderError:
        img.close()
        raise
    return img


def _decode_error(exc: BaseException, index: int) -> RenderError:
    text = str(exc)
    if "truncated" in text.lower():
        return RenderError(f"image is truncated (frame {index + 1} ends early: the file was cut off)",
                           ErrorCode.TRUNCATED)
    return RenderError(f"image data is corrupt (frame {index + 1}: {text or type(exc).__name__})",
                       ErrorCode.CORRUPT_IMAGE)


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
