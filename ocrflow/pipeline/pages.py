"""Reading a document's pages: text-layer pages directly, the others through the engine, many in flight.

``PageReader`` holds what reading a page needs (the renderer, the engine, the page limit) and is handed
down to whoever needs pages read: the pages stage (``read``, the spotting prompt) and the vLLM line route
(``parse``, the parse prompt's markdown/HTML answer for the pages that went through the engine).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from PIL import Image

from ocrflow.core.errors import ErrorCode
from ocrflow.core.models import DocumentRef, PagePath, PageText
from ocrflow.core.settings import Settings
from ocrflow.engines.base import Engine, EngineError, EngineRequest, EngineResult, Task, TransientEngineError
from ocrflow.pipeline.render import Renderer, RenderError, RenderOptions, SourcePage, make_renderer, timed_render

log = logging.getLogger("ocrflow")


@dataclass(frozen=True, slots=True)
class ReadPages:
    """A document's pages in page order, and the first page that went through the engine as an image (the
    vLLM extraction reads it), None when every page had a text layer."""

    pages: list[PageText]
    first_image: Image.Image | None


class PageReader:
    """Renders a document's pages and sends the ones without a text layer to the engine."""

    def __init__(self, renderer: Renderer, engine: Engine, *, max_pages: int = 0) -> None:
        self.renderer = renderer
        self.engine = engine
        self.max_pages = max_pages

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine) -> PageReader:
        password = settings.pdf_password.get_secret_value() if settings.pdf_password else None
        renderer = make_renderer(settings.renderer, RenderOptions(
            dpi=settings.dpi, max_long_side=settings.max_long_side, use_text_layer=settings.use_text_layer,
            max_page_pixels=settings.max_page_pixels, pdf_password=password))
        return cls(renderer, engine, max_pages=settings.max_pages)

    def read(self, doc: DocumentRef) -> ReadPages:
        """Text-layer pages directly; the others through the engine (spotting prompt), many in flight.
        The first failed engine page raises its error (transient: the document stays pending)."""
        pages: dict[int, PageText] = {}
        sent: list[tuple[int, int, int, float]] = []
        first_image: list[Image.Image] = []

        def requests() -> Iterator[EngineRequest]:
            for sp in self.renderer.pages(doc, max_pages=self.max_pages):
                if sp.text_lines is not None:
                    pages[sp.page_no] = text_layer_page(sp)
                    continue
                image, render_s = timed_render(sp)
                if not first_image:
                    first_image.append(image)
                sent.append((sp.page_no, image.width, image.height, render_s))
                yield EngineRequest(image=image, task=Task.SPOT)

        outcomes = list(self.engine.run_many(requests()))
        for (page_no, w, h, render_s), outcome in zip(sent, outcomes, strict=True):
            if isinstance(outcome, EngineError):
                raise outcome
            pages[page_no] = ocr_page(page_no, w, h, render_s, outcome)
        if not pages:
            raise RenderError("document has no pages", ErrorCode.NO_PAGES)
        return ReadPages([pages[k] for k in sorted(pages)], first_image[0] if first_image else None)

    def parse(self, doc: DocumentRef, page_numbers: Collection[int], language: str) -> list[tuple[int, str]]:
        """The parse prompt's answer (markdown with HTML tables) for each of ``page_numbers`` that has no text
        layer, rendered again (pages are not kept in memory), in page order; a page whose request fails
        terminally is left out with a warning, a transient failure raises."""
        numbers: list[int] = []

        def requests() -> Iterator[EngineRequest]:
            for sp in self.renderer.pages(doc, max_pages=self.max_pages):
                if sp.page_no in page_numbers and sp.text_lines is None:
                    numbers.append(sp.page_no)
                    yield EngineRequest(image=timed_render(sp)[0], task=Task.PARSE, language=language)

        replies: list[tuple[int, str]] = []
        for page_no, outcome in zip(numbers, list(self.engine.run_many(requests())), strict=True):
            if isinstance(outcome, TransientEngineError):
                raise outcome
            if isinstance(outcome, EngineError):
                log.warning("%s page %d: parse request failed, its tables are not read: %s", doc.path, page_no,
                            outcome)
                continue
            replies.append((page_no, outcome.text))
        return replies


def document_language(text: str) -> str:
    """``zh`` when CJK characters make up a tenth of the text (more than 10), else ``en``: the prompt language."""
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    return "zh" if cjk > max(10, len(text) * 0.1) else "en"


def text_layer_page(sp: SourcePage) -> PageText:
    return PageText(page_no=sp.page_no, width=sp.width, height=sp.height, lines=tuple(sp.text_lines or ()),
                    path=PagePath.TEXT_LAYER, engine="pdfium", model="text-layer")


def ocr_page(page_no: int, w: int, h: int, render_s: float, r: EngineResult) -> PageText:
    return PageText(page_no=page_no, width=w, height=h, lines=r.lines, path=PagePath.OCR, engine=r.engine,
                    model=r.model, prompt_version=r.prompt_version, latency_s=r.latency_s, render_s=render_s,
                    prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens,
                    is_fallback=r.is_fallback, note=",".join(r.flags))
