"""The field routes of a document with pages: e-invoice XML > vLLM extraction > rules filling the gaps.

The preferred reading (embedded XML for the invoice contract, else the engine's structured extraction of the
first engine page when the engine supports it) gives the raw values; the rule extractor on the page lines
fills every field it left empty. The line items are not chosen here: ``Extraction.lines`` says how to pick
them once the header is coerced (``ocrflow.pipeline.row``), where the line checks run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image

from ocrflow.contracts import Contract
from ocrflow.contracts.model import LINES_KEY
from ocrflow.core.models import DocumentText, PageText
from ocrflow.engines.base import Engine, EngineRequest, EngineResult, Task
from ocrflow.pipeline.evidence.collect import Reading
from ocrflow.pipeline.extract.rules import Found, extract_fields_with_evidence
from ocrflow.pipeline.extract.vlm_lines import PageParser, VlmLineChoice, page_table_lines
from ocrflow.pipeline.pages import document_language
from ocrflow.pipeline.row import EvidenceBasis, LinePick, RawLines
from ocrflow.pipeline.xmldoc import EINVOICE_CONTRACT


@dataclass(slots=True)
class Extraction:
    """What the field routes read from one document, before coercion."""

    raw: dict[str, Any]
    """Header values as read: the preferred reading's, the rules' where it had none."""
    found: dict[str, Found]
    primary: Reading | None
    lines: RawLines | LinePick
    """The raw line items, or how to pick them once the header is coerced."""
    engine: str
    model: str
    prompt_version: str = ""
    flags: tuple[str, ...] = ()
    """The extraction answer's flags (keys dropped, schema violations), noted on the page it was sent."""

    def evidence(self, text: DocumentText) -> EvidenceBasis:
        return EvidenceBasis(text, self.found, self.primary)


def extract(text: DocumentText, contract: Contract, *, engine: Engine, first_image: Image.Image | None,
            pages: PageParser, day_first: bool) -> Extraction:
    """The raw values of ``text`` under ``contract``: XML > VLM > rules filling the gaps."""
    xml = xml_reading(text, contract)
    if xml is not None:
        out = Extraction(dict(xml.values), {}, xml, _xml_lines(xml, text, contract), xml.engine, xml.model)
    elif engine.supports_extraction and first_image is not None:
        out = vlm_extraction(text, contract, engine, first_image, pages, day_first=day_first)
    else:
        first = text.pages[0] if text.pages else None
        out = Extraction({}, {}, None, table_on_pages(text, contract), first.engine if first else "",
                         first.model if first else "")
    out.found = extract_fields_with_evidence(text, contract, day_first=day_first)
    fill_gaps(out.raw, out.found)
    return out


def xml_reading(text: DocumentText, contract: Contract) -> Reading | None:
    """The embedded e-invoice's values (line items included) when the document carries one and the contract
    is the invoice contract."""
    if not text.embedded_fields or contract.name != EINVOICE_CONTRACT:
        return None
    values = {k: v for k, v in text.embedded_fields.items() if v not in (None, "")}
    return Reading("einvoice_xml", values, "einvoice", text.embedded_source)


def vlm_extraction(text: DocumentText, contract: Contract, engine: Engine, image: Image.Image, pages: PageParser,
                   *, day_first: bool) -> Extraction:
    """The engine's structured extraction of ``image`` (the first engine page); its lines are chosen later
    among the answer's array, the parse prompt's tables and the table on the page (``VlmLineChoice``)."""
    language = document_language(text.text)
    result: EngineResult = engine.run(EngineRequest(
        image=image, task=Task.EXTRACT, fields=tuple(contract.field_names), json_schema=contract.json_schema(),
        language=language))
    values = {k: v for k, v in (result.fields or {}).items() if v not in (None, "", [])}
    reading = Reading("vlm", dict(values), result.engine, result.model, result.prompt_version)
    choice = VlmLineChoice(text, contract, (result.fields or {}).get(LINES_KEY), result.flags, pages, language,
                           day_first)
    return Extraction(values, {}, reading, choice, result.engine, result.model, result.prompt_version,
                      result.flags)


def table_on_pages(text: DocumentText, contract: Contract) -> LinePick:
    """The pick of the item table found on the page lines (method ``table``)."""
    return lambda values: page_table_lines(text, contract, values)


def _xml_lines(xml: Reading, text: DocumentText, contract: Contract) -> RawLines | LinePick:
    lines = xml.values.get(LINES_KEY)
    return list(lines) if lines else table_on_pages(text, contract)


def fill_gaps(raw: dict[str, Any], found: Mapping[str, Found]) -> dict[str, Any]:
    """``raw`` with the rule extractor's value for every field the preferred reading left empty."""
    for name, value in ((n, f.value) for n, f in found.items()):
        if raw.get(name) in (None, "", []) and value not in (None, "", []):
            raw[name] = value
    return raw


def prompt_versions(pages: Iterable[PageText]) -> str:
    """The prompt versions of the pages that went through a versioned engine, sorted, comma-separated."""
    return ",".join(sorted({p.prompt_version for p in pages if p.prompt_version}))
