"""Page images for the review page, rendered on demand from the registered source file.

Only a document registered in ``documents`` has an image, found by its hash: the URL never carries a
path. The file is read where the run found it; when it has changed since (another hash) or is gone,
there is no image and the page shows the stored text and boxes alone.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from ocrflow.core.models import DocumentRef
from ocrflow.core.settings import Settings
from ocrflow.pipeline.render import RenderError, RenderOptions, make_renderer


class NoImage(LookupError):
    """The page cannot be shown as an image (file gone or changed, page out of range, unreadable)."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def render_page(doc: DocumentRef, page_no: int, settings: Settings) -> bytes:
    """Page ``page_no`` (1-based) of a registered document as PNG bytes."""
    path = Path(doc.open_path)
    if not path.is_file():
        raise NoImage(f"the source file is no longer at {doc.path}")
    if _sha256(path) != doc.sha256:
        raise NoImage(f"the file at {doc.path} changed since it was read")
    renderer = make_renderer(settings.renderer, RenderOptions(dpi=settings.dpi,
                                                              max_long_side=settings.max_long_side))
    try:
        for page in renderer.pages(doc):
            if page.page_no == page_no:
                buf = io.BytesIO()
                page.render().save(buf, format="PNG", optimize=True)
                return buf.getvalue()
    except RenderError as exc:
        raise NoImage(f"cannot render {doc.path}: {exc}") from exc
    raise NoImage(f"{doc.path} has no page {page_no}")
