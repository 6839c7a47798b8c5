"""One document -> its pages and a coerced row (nothing is written here).

Stage order per document: embedded e-invoice XML, then pages (text layer first, the engine for the
others, many in flight), then the contract, then extraction (XML > VLM > rules filling the gaps) and
coercion. Validation and loading happen per batch (ocrflow.run.batch_write).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from PIL import Image

from ocrflow.contracts import Contract, load_contracts, pick_contract
from ocrflow.contracts.model import LINES_KEY
from ocrflow.core.errors import AuthEngineError, ErrorCode
from ocrflow.core.models import DocState, DocumentRef, DocumentText, PagePath, PageText, RowOutcome
from ocrflow.core.results import DocResult, pending_result
from ocrflow.core.settings import Settings
from ocrflow.engines.base import Engine, EngineError, EngineRequest, EngineResult, Task, TransientEngineError
from ocrflow.pipeline.coerce import coerce_row
from ocrflow.pipeline.einvoice.model import EmbeddedInvoice
from ocrflow.pipeline.evidence.collect import Reading, attach_evidence
from ocrflow.pipeline.extract.lines import coerce_lines, unsigned_adjustments
from ocrflow.pipeline.extract.rules import extract_fields_with_evidence
from ocrflow.pipeline.extract.vlm_lines import page_table_lines, vlm_route_lines
from ocrflow.pipeline.failures import auth_pending, check_unchanged, failure_result
from ocrflow.pipeline.render import RenderError, RenderOptions, SourcePage, make_renderer, timed_render
from ocrflow.pipeline.xmldoc import is_xml_document, xml_document_result

log = logging.getLogger("ocrflow")


class Processor:
    """Turns one document into pages and a coerced row. Thread-safe if the engine is."""

    def __init__(self, settings: Settings, engine: Engine, contracts: dict[str, Contract] | None = None,
                 *, flow_run_id: str = "") -> None:
        self.settings = settings
        self.engine = engine
        self.contracts = contracts if contracts is not None else load_contracts(settings.contracts_dir)
        self.flow_run_id = flow_run_id
        self.renderer = make_renderer(settings.renderer, RenderOptions(
            dpi=settings.dpi, max_long_side=settings.max_long_side, use_text_layer=settings.use_text_layer,
            max_page_pixels=settings.max_page_pixels,
            pdf_password=settings.pdf_password.get_secret_value() if settings.pdf_password else None))
        self.auth_error: AuthEngineError | None = None

    def process(self, doc: DocumentRef, *, raise_transient: bool = False) -> DocResult:
        """Process one document; errors become a state. ``raise_transient`` lets a caller retry."""
        t0 = time.perf_counter()
        if self.auth_error is not None:  # the deployment refused the key: stop sending, leave it pending
            result = auth_pending(doc, self.auth_error)
        else:
            try:
                check_unchanged(doc)
                result = self._process(doc)
                check_unchanged(doc)
            except AuthEngineError as exc:
                self.auth_error = exc
                result = auth_pending(doc, exc)
            except TransientEngineError as exc:
                if raise_transient:
                    raise
                result = pending_result(doc, exc)
            except Exception as exc:  # noqa: BLE001 - input, terminal engine, bug: one document; logged
                result = failure_result(doc, exc)
        result.seconds = time.perf_counter() - t0
        return result

    def _process(self, doc: DocumentRef) -> DocResult:
        if is_xml_document(doc):  # a standalone e-invoice: no pages, straight to a row
            return xml_document_result(doc, self.contracts, wanted=self.settings.contract,
                                       day_first=self.settings.day_first, flow_run_id=self.flow_run_id)
        embedded = self._embedded_invoice(doc)
        pages, first_image = self._read_pages(doc)
        text = DocumentText(doc=doc, pages=tuple(pages),
                            embedded_fields={**embedded.fields, LINES_KEY: list(embedded.lines)} if embedded else None,
                            embedded_source=embedded.source if embedded else "")
        contract = self._choose_contract(text, embedded is not None)
        if contract is None:
            names = ", ".join(sorted(self.contracts))
            return DocResult(doc, DocState.UNMATCHED, pages=pages, error_code=ErrorCode.NO_CONTRACT.value,
                             error=f"no data contract matched the document text (known: {names}); add a "
                                   "contract and run `ocrflow reprocess --unmatched`, or pass --contract NAME")
        row = self._extract(text, contract, first_image)
        pages = _note_extraction(pages, row.lineage.pop("extraction_flags", ()))
        xml = embedded if embedded is not None and contract.name == "invoice" else None
        return DocResult(doc, DocState.PENDING, pages=pages, row=row, contract=contract.name,
                         einvoice_syntax=xml.syntax if xml else None,
                         einvoice_profile=(xml.profile or None) if xml else None)

    def _embedded_invoice(self, doc: DocumentRef) -> EmbeddedInvoice | None:
        if doc.mime != "application/pdf" or not self.settings.use_embedded_xml:
            return None
        if "invoice" not in self.contracts:
            return None
        import pypdfium2 as pdfium

        from ocrflow.pipeline.einvoice import EInvoiceError, read_embedded_invoice

        try:
            found = read_embedded_invoice(doc.open_path)
        except EInvoiceError as exc:
            log.warning("%s: embedded e-invoice XML ignored: %s", doc.path, exc)
            return None
        except pdfium.PdfiumError:
            return None  # the renderer reports why the PDF cannot be opened
        return found

    def _read_pages(self, doc: DocumentRef) -> tuple[list[PageText], Image.Image | None]:
        """Text-layer pages directly; the others through the engine, many in flight."""
        pages: dict[int, PageText] = {}
        ocr_meta: list[tuple[int, int, int, float]] = []
        first_image: list[Image.Image] = []

        def requests() -> Iterator[EngineRequest]:
            for sp in self.renderer.pages(doc, max_pages=self.settings.max_pages):
                if sp.text_lines is not None:
                    pages[sp.page_no] = _text_layer_page(sp)
                    continue
                image, render_s = timed_render(sp)
                if not first_image:
                    first_image.append(image)
                ocr_meta.append((sp.page_no, image.width, image.height, render_s))
                yield EngineRequest(image=image, task=Task.SPOT)

        outcomes = list(self.engine.run_many(requests()))
        for (page_no, w, h, render_s), outcome in zip(ocr_meta, outcomes, strict=True):
            if isinstance(outcome, EngineError):
                raise outcome
            pages[page_no] = _ocr_page(page_no, w, h, render_s, outcome)
        if not pages:
            raise RenderError("document has no pages", ErrorCode.NO_PAGES)
        return [pages[k] for k in sorted(pages)], (first_image[0] if first_image else None)

    def _choose_contract(self, text: DocumentText, has_einvoice: bool) -> Contract | None:
        wanted = self.settings.contract
        if wanted != "auto":
            if wanted not in self.contracts:
                raise EngineError(f"unknown contract {wanted!r}; known: {', '.join(sorted(self.contracts))}")
            return self.contracts[wanted]
        if has_einvoice:
            return self.contracts["invoice"]
        return pick_contract(text.text, self.contracts)

    def _extract(self, text: DocumentText, contract: Contract, first_image: Image.Image | None) -> RowOutcome:
        raw: dict[str, Any] = {}
        model = text.pages[0].model if text.pages else ""
        engine = text.pages[0].engine if text.pages else ""
        prompt_version = ""
        primary: Reading | None = None
        flags: tuple[str, ...] = ()
        vlm: EngineResult | None = None
        if text.embedded_fields and contract.name == "invoice":
            raw.update({k: v for k, v in text.embedded_fields.items() if v not in (None, "")})
            engine, model = "einvoice", text.embedded_source
            primary = Reading("einvoice_xml", dict(raw), engine, model)
        elif self.engine.supports_extraction and first_image is not None:
            result = self.engine.run(EngineRequest(
                image=first_image, task=Task.EXTRACT, fields=tuple(contract.field_names),
                json_schema=contract.json_schema(), language=_language(text.text)))
            raw.update({k: v for k, v in (result.fields or {}).items() if v not in (None, "", [])})
            engine, model, prompt_version = result.engine, result.model, result.prompt_version
            primary = Reading("vlm", dict(raw), engine, model, prompt_version)
            flags = result.flags
            vlm = result
        found = extract_fields_with_evidence(text, contract, day_first=self.settings.day_first)
        for name, value in ((n, f.value) for n, f in found.items()):
            if raw.get(name) in (None, "", []) and value not in (None, "", []):
                raw[name] = value
        values, failures = coerce_row(contract, raw, day_first=self.settings.day_first)
        values = unsigned_adjustments(values)
        if contract.lines and vlm is not None:  # JSON array, parse-prompt tables or spotted lines
            raw[LINES_KEY] = vlm_route_lines(text, contract, values, (vlm.fields or {}).get(LINES_KEY), vlm.flags,
                                             lambda: self._parse_replies(text), day_first=self.settings.day_first)
        elif contract.lines and not raw.get(LINES_KEY):  # no XML lines: the table on the pages
            raw[LINES_KEY] = page_table_lines(text, contract)
        lines, line_failures = coerce_lines(contract, raw.get(LINES_KEY), day_first=self.settings.day_first)
        lineage = {
            "page_numbers": [p.page_no for p in text.pages], "engine": engine, "model": model,
            "prompt_version": prompt_version or _prompt_versions(text.pages), "flow_run_id": self.flow_run_id,
            "extracted_at": datetime.now(UTC).replace(tzinfo=None), "extraction_flags": flags,
        }
        row = RowOutcome(doc=text.doc, contract=contract.name, contract_version=contract.version,
                         values=values, raw=raw, lineage=lineage, failures=[*failures, *line_failures],
                         lines=lines)
        return attach_evidence(row, text, contract, found, primary, day_first=self.settings.day_first)

    def _parse_replies(self, text: DocumentText) -> list[tuple[int, str]]:
        """The parse prompt's answer (markdown with HTML tables) for each page that went through the engine,
        rendered again (pages are not kept in memory); a page whose request fails terminally is left out."""
        engine_pages = {p.page_no for p in text.pages if p.path == PagePath.OCR}
        numbers: list[int] = []
        language = _language(text.text)

        def requests() -> Iterator[EngineRequest]:
            for sp in self.renderer.pages(text.doc, max_pages=self.settings.max_pages):
                if sp.page_no in engine_pages and sp.text_lines is None:
                    numbers.append(sp.page_no)
                    yield EngineRequest(image=timed_render(sp)[0], task=Task.PARSE, language=language)

        replies: list[tuple[int, str]] = []
        for page_no, outcome in zip(numbers, list(self.engine.run_many(requests())), strict=True):
            if isinstance(outcome, TransientEngineError):
                raise outcome
            if isinstance(outcome, EngineError):
                log.warning("%s page %d: parse request failed, its tables are not read: %s", text.doc.path,
                            page_no, outcome)
                continue
            replies.append((page_no, outcome.text))
        return replies


def _language(text: str) -> str:
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    return "zh" if cjk > max(10, len(text) * 0.1) else "en"


def _prompt_versions(pages: Iterable[PageText]) -> str:
    return ",".join(sorted({p.prompt_version for p in pages if p.prompt_version}))


def _text_layer_page(sp: SourcePage) -> PageText:
    return PageText(page_no=sp.page_no, width=sp.width, height=sp.height, lines=tuple(sp.text_lines or ()),
                    path=PagePath.TEXT_LAYER, engine="pdfium", model="text-layer")


def _ocr_page(page_no: int, w: int, h: int, render_s: float, r: EngineResult) -> PageText:
    return PageText(page_no=page_no, width=w, height=h, lines=r.lines, path=PagePath.OCR, engine=r.engine,
                    model=r.model, prompt_version=r.prompt_version, latency_s=r.latency_s, render_s=render_s,
                    prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens,
                    is_fallback=r.is_fallback, note=",".join(r.flags))


def _note_extraction(pages: list[PageText], flags: tuple[str, ...]) -> list[PageText]:
    """The extraction's flags (keys dropped, schema violations) in the note of the page it was sent (the first
    OCR page), each prefixed ``extract:``."""
    first = next((i for i, p in enumerate(pages) if p.path == PagePath.OCR), None)
    if not flags or first is None:
        return pages
    note = ",".join(f"extract:{f}" for f in flags)
    out = list(pages)
    out[first] = replace(out[first], note=f"{out[first].note},{note}" if out[first].note else note)
    return out
