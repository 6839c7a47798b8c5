"""The page region a value's evidence points at, cut from the page as the project's renderer draws it.

The evidence box is in the pixel grid of the page as it was read (``page_width`` x ``page_height``); the
page is rendered again with the same renderer, the box scaled to the new image, widened by a margin
and cut out, then made small enough to embed (JPEG, base64). Each page is rendered once per report.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocrflow.core.models import DocumentRef
from ocrflow.pipeline.render import RenderError, RenderOptions, make_renderer
from ocrflow.run.discover import describe

if TYPE_CHECKING:
    from PIL import Image

MIN_MARGIN_PX = 24
MAX_MARGIN_PX = 120
"""The margin around the box is 1.5 times its height (so that a line's neighbours show), within these bounds."""
MAX_CROP_WIDTH = 640
MAX_CROP_HEIGHT = 260


def crop_box(bbox: Sequence[float], page_size: tuple[int, int], image_size: tuple[int, int]) -> tuple[int, int,
                                                                                                       int, int]:
    """``bbox`` (in the recorded page grid) scaled to the image, with a margin, clipped to the image."""
    pw, ph = page_size
    iw, ih = image_size
    sx, sy = (iw / pw if pw else 1.0), (ih / ph if ph else 1.0)
    x0, y0, x1, y1 = (float(v) for v in bbox)
    margin = max(MIN_MARGIN_PX, min(MAX_MARGIN_PX, round((y1 - y0) * sy * 1.5)))
    left, top = max(0, round(x0 * sx) - margin), max(0, round(y0 * sy) - margin)
    right, bottom = min(iw, round(x1 * sx) + margin), min(ih, round(y1 * sy) + margin)
    return left, top, max(left + 1, right), max(top + 1, bottom)


def jpeg_base64(img: Image.Image) -> str:
    img = img.copy()
    img.thumbnail((MAX_CROP_WIDTH, MAX_CROP_HEIGHT))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=80, optimize=True)
    return base64.b64encode(buf.getvalue()).decode("ascii")


class PageCropper:
    """Crops of the pages of documents, each page rendered at most once."""

    def __init__(self, renderer: str = "pypdfium2", dpi: int = 150, max_long_side: int = 2048) -> None:
        self.renderer = make_renderer(renderer, RenderOptions(dpi=dpi, max_long_side=max_long_side))
        self._pages: dict[tuple[str, int], Image.Image | None] = {}
        self.problems: list[str] = []

    def _doc(self, path: Path) -> DocumentRef | None:
        found = describe(path)
        return found if isinstance(found, DocumentRef) else None

    def page(self, path: Path, page_no: int) -> Image.Image | None:
        key = (str(path), page_no)
        if key not in self._pages:
            self._pages[key] = self._render(path, page_no)
        return self._pages[key]

    def _render(self, path: Path, page_no: int) -> Image.Image | None:
        doc = self._doc(path)
        if doc is None or doc.mime == "application/xml":
            return None
        try:
            for page in self.renderer.pages(doc):
                if page.page_no == page_no:
                    return page.render()
        except RenderError as exc:
            self.problems.append(f"{path.name}: {exc}")
        return None

    def crop(self, path: Path, evidence: Mapping[str, Any]) -> str | None:
        """The base64 JPEG of the region ``evidence`` points at, None without a page, a box or an image."""
        page_no, bbox = evidence.get("page_no"), evidence.get("bbox")
        if page_no is None or not bbox:
            return None
        img = self.page(path, int(page_no))
        if img is None:
            return None
        size = (int(evidence.get("page_width") or img.width), int(evidence.get("page_height") or img.height))
        return jpeg_base64(img.crop(crop_box(bbox, size, img.size)))
