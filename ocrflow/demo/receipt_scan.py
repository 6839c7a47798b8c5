"""Print receipt lines on paper and make the page look like a flatbed scan (blur, noise, slight rotation)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ocrflow.demo.truth import Box, DocTruth, PageTruth, TextLine, text_line

if TYPE_CHECKING:
    from PIL import Image, ImageFont

RECEIPT_FONT_CANDIDATES = (Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),)
_RECEIPT_W = 760
_FONT_PX = 32
_LINE_PX = 48
_LEFT_PX = 50
_TOP_PX = 60


def receipt_font_path() -> Path:
    """DejaVu Sans Mono when installed, else reportlab's bundled Vera; a clear error if neither."""
    candidates = list(RECEIPT_FONT_CANDIDATES)
    try:
        import reportlab

        candidates.append(Path(reportlab.__file__).resolve().parent / "fonts" / "Vera.ttf")
    except ImportError:
        pass
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("no TrueType font for the demo receipts: looked for "
                            + ", ".join(str(c) for c in candidates)
                            + " (install fonts-dejavu-core or reportlab)")


def render_receipt_page(lines: Sequence[str], font: ImageFont.FreeTypeFont,
                        seed: int) -> tuple[Image.Image, PageTruth]:
    """Draw receipt lines on paper, add noise and a slight rotation; returns the scan and what it shows."""
    from PIL import Image

    paper, drawn = _print_lines(lines, font)
    noisy, angle = _scan_noise(paper, seed)
    scan = noisy.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=240).convert("RGB")
    rotated = tuple(text_line(ln.text, _rotate_box(ln.box, paper.size, scan.size, angle)) for ln in drawn)
    return scan, PageTruth(float(scan.width), float(scan.height), rotated)


def _print_lines(lines: Sequence[str], font: ImageFont.FreeTypeFont) -> tuple[Image.Image, list[TextLine]]:
    """The clean page, and each non-blank line's text (trimmed) with its ink box before the scan."""
    from PIL import Image, ImageDraw

    height = max(1000, 120 + _LINE_PX * len(lines))
    page = Image.new("L", (_RECEIPT_W, height), 246)
    draw = ImageDraw.Draw(page)
    drawn = []
    for i, text in enumerate(lines):
        y = _TOP_PX + i * _LINE_PX
        draw.text((_LEFT_PX, y), text, fill=25, font=font)
        if text.strip():
            left = _LEFT_PX + font.getlength(text[:len(text) - len(text.lstrip())])
            x0, y0, x1, y1 = draw.textbbox((left, y), text.strip(), font=font)
            drawn.append(TextLine(text.strip(), (float(x0), float(y0), float(x1), float(y1))))
    return page, drawn


def _scan_noise(page: Image.Image, seed: int) -> tuple[Image.Image, float]:
    """Blur, Gaussian noise and speckles; returns the noisy page and the rotation angle to apply."""
    import numpy as np
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(seed)
    arr = np.asarray(page.filter(ImageFilter.GaussianBlur(0.5)), dtype=np.float32)
    arr += rng.normal(0.0, 9.0, arr.shape).astype(np.float32)
    speckles = rng.random(arr.shape) < 0.0015
    arr[speckles] = 90.0
    noisy = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="L")
    return noisy, float(rng.uniform(-1.5, 1.5))


def _rotate_box(box: Box, size: tuple[int, int], new_size: tuple[int, int], angle: float) -> Box:
    """Where ``box`` lands after PIL's ``rotate(angle, expand=True)``: the envelope of its turned corners."""
    t = math.radians(angle)
    cos, sin = math.cos(t), math.sin(t)
    cx, cy, ncx, ncy = size[0] / 2, size[1] / 2, new_size[0] / 2, new_size[1] / 2
    x0, y0, x1, y1 = box
    xs, ys = [], []
    for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)):
        dx, dy = x - cx, y - cy
        xs.append(ncx + dx * cos + dy * sin)
        ys.append(ncy - dx * sin + dy * cos)
    return (max(0.0, min(xs)), max(0.0, min(ys)), min(float(new_size[0]), max(xs)),
            min(float(new_size[1]), max(ys)))


def save_receipt_pages(pages: Sequence[Sequence[str]], path: Path, seed: int) -> DocTruth:
    """Render and save the pages' lines; the suffix picks the format (.jpg, .png, .tif for multi-page)."""
    from PIL import ImageFont

    font = ImageFont.truetype(str(receipt_font_path()), _FONT_PX)
    rendered = [render_receipt_page(lines, font, seed + i) for i, lines in enumerate(pages)]
    _save_images([image for image, _ in rendered], path)
    return DocTruth(file=path.name, unit="px", pages=tuple(page for _, page in rendered))


def _save_images(images: Sequence[Image.Image], path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix in (".tif", ".tiff"):
        images[0].save(path, format="TIFF", save_all=True, append_images=list(images[1:]),
                       compression="tiff_lzw", dpi=(200, 200))
    elif len(images) > 1:
        raise ValueError(f"{path.name}: only TIFF holds a {len(images)}-page receipt")
    elif suffix == ".png":
        images[0].save(path, format="PNG", optimize=False, dpi=(200, 200))
    else:
        images[0].save(path, format="JPEG", quality=88, dpi=(200, 200))
