"""One document's trip as a list of stages (docling's build_pipe list): ``STAGES`` is the order.

Each stage reads and fills the document's ``Trip`` and either hands it on (returns None) or ends it with the
document's result (an XML file, no matching contract, the assembled row). The work lives in the modules the
stages name; a stage only moves what they need in and out of the trip:

====================  ===============================================  ========================================
stage                 does                                             module
====================  ===============================================  ========================================
``standalone_xml``    an e-invoice XML file: no pages, straight to     ``ocrflow.pipeline.xmldoc``
                      its row (ends the trip)
``embedded_einvoice`` the XML embedded in a PDF, if any                ``ocrflow.pipeline.xmldoc``
``read_pages``        text layer first, the engine for the others,     ``ocrflow.pipeline.pages``
                      many in flight
``choose_contract``   the contract asked for, the invoice contract     ``ocrflow.contracts.pick``
                      for an e-invoice, else the best match (none:
                      ``unmatched``, ends the trip)
``extract_fields``    XML > VLM > rules filling the gaps               ``ocrflow.pipeline.extraction``
``recall_issuer``     the issuer recognized from what the page prints; ``ocrflow.memory.use``
                      its memory fills what review taught (nothing
                      when no issuer is recognized)
``assemble``          coerce, allowance signs, lines, lineage,         ``ocrflow.pipeline.row``
                      evidence: the row (ends the trip)
====================  ===============================================  ========================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from PIL import Image

from ocrflow.contracts import Contract, pick_contract
from ocrflow.core.errors import ErrorCode
from ocrflow.core.models import DocState, DocumentRef, DocumentText, PagePath, PageText
from ocrflow.core.results import DocResult
from ocrflow.core.settings import Settings
from ocrflow.engines.base import Engine, EngineError
from ocrflow.memory.use import MemorySource, MemoryUse, use_memory
from ocrflow.pipeline.einvoice.model import EmbeddedInvoice
from ocrflow.pipeline.evidence.signals import add_second_reading
from ocrflow.pipeline.extraction import Extraction, extract, prompt_versions
from ocrflow.pipeline.pages import PageReader
from ocrflow.pipeline.row import assemble_row, row_lineage
from ocrflow.pipeline.xmldoc import (
    EINVOICE_CONTRACT,
    embedded_invoice,
    embedded_text,
    is_xml_document,
    xml_document_result,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StageContext:
    """What every stage may use: the settings, the engine, the loaded contracts, the page reader."""

    settings: Settings
    engine: Engine
    contracts: dict[str, Contract]
    pages: PageReader
    flow_run_id: str = ""
    memory: MemorySource | None = None
    """Issuer memory (the run's store: ``ocrflow.memory.use.StoreMemory``); None reads without it."""


@dataclass(slots=True)
class Trip:
    """One document on its way through the stages: what the stages have found so far."""

    doc: DocumentRef
    embedded: EmbeddedInvoice | None = None
    pages: list[PageText] = field(default_factory=list)
    first_image: Image.Image | None = None
    text: DocumentText | None = None
    contract: Contract | None = None
    extraction: Extraction | None = None
    memory: MemoryUse | None = None


Stage = Callable[[StageContext, Trip], DocResult | None]


def _needs(value: T | None, what: str) -> T:
    if value is None:
        raise RuntimeError(f"stage order: {what} is not known yet")
    return value


def standalone_xml(ctx: StageContext, trip: Trip) -> DocResult | None:
    if not is_xml_document(trip.doc):
        return None
    return xml_document_result(trip.doc, ctx.contracts, wanted=ctx.settings.contract,
                               day_first=ctx.settings.day_first, flow_run_id=ctx.flow_run_id)


def embedded_einvoice(ctx: StageContext, trip: Trip) -> None:
    trip.embedded = embedded_invoice(trip.doc, ctx.contracts, enabled=ctx.settings.use_embedded_xml)


def read_pages(ctx: StageContext, trip: Trip) -> None:
    read = ctx.pages.read(trip.doc)
    trip.pages, trip.first_image = read.pages, read.first_image
    trip.text = embedded_text(trip.doc, read.pages, trip.embedded)


def choose_contract(ctx: StageContext, trip: Trip) -> DocResult | None:
    wanted, contracts = ctx.settings.contract, ctx.contracts
    if wanted != "auto":
        if wanted not in contracts:
            raise EngineError(f"unknown contract {wanted!r}; known: {', '.join(sorted(contracts))}")
        trip.contract = contracts[wanted]
    elif trip.embedded is not None:
        trip.contract = contracts[EINVOICE_CONTRACT]
    else:
        trip.contract = pick_contract(_needs(trip.text, "the text").text, contracts)
    if trip.contract is not None:
        return None
    return DocResult(trip.doc, DocState.UNMATCHED, pages=trip.pages, error_code=ErrorCode.NO_CONTRACT.value,
                     error=f"no data contract matched the document text (known: {', '.join(sorted(contracts))}); "
                           "add a contract and run `ocrflow reprocess --unmatched`, or pass --contract NAME")


def extract_fields(ctx: StageContext, trip: Trip) -> None:
    trip.extraction = extract(_needs(trip.text, "the text"), _needs(trip.contract, "the contract"),
                              engine=ctx.engine, first_image=trip.first_image, pages=ctx.pages,
                              day_first=ctx.settings.day_first)


def recall_issuer(ctx: StageContext, trip: Trip) -> None:
    trip.memory = use_memory(ctx.memory, _needs(trip.text, "the text"), _needs(trip.contract, "the contract"),
                             _needs(trip.extraction, "the extraction"), day_first=ctx.settings.day_first)


def assemble(ctx: StageContext, trip: Trip) -> DocResult:
    text, contract = _needs(trip.text, "the text"), _needs(trip.contract, "the contract")
    ex = _needs(trip.extraction, "the extraction")
    lineage = row_lineage([p.page_no for p in text.pages], ex.engine, ex.model,
                          ex.prompt_version or prompt_versions(text.pages), ctx.flow_run_id)
    row = assemble_row(text.doc, contract, ex.raw, lines=ex.lines, lineage=lineage,
                       day_first=ctx.settings.day_first, evidence=ex.evidence(text))
    add_second_reading(row, text, trip.first_image, contract, day_first=ctx.settings.day_first,  # Tesseract
                       spelled=trip.memory.spelled if trip.memory is not None else ())
    if trip.memory is not None:
        trip.memory.annotate(row)  # which facts and corrections memory's values came from
    xml = trip.embedded if trip.embedded is not None and contract.name == EINVOICE_CONTRACT else None
    return DocResult(trip.doc, DocState.PENDING, pages=note_extraction(trip.pages, ex.flags), row=row,
                     contract=contract.name, einvoice_syntax=xml.syntax if xml else None,
                     einvoice_profile=(xml.profile or None) if xml else None,
                     issuer_id=trip.memory.issuer_id if trip.memory is not None else None)


STAGES: tuple[Stage, ...] = (standalone_xml, embedded_einvoice, read_pages, choose_contract, extract_fields,
                             recall_issuer, assemble)


def run_stages(stages: tuple[Stage, ...], ctx: StageContext, doc: DocumentRef) -> DocResult:
    """Take ``doc`` through ``stages`` until one ends its trip with a result."""
    trip = Trip(doc)
    for stage in stages:
        result = stage(ctx, trip)
        if result is not None:
            return result
    raise RuntimeError(f"no stage ended the trip of {doc.path} (the last one must return its result)")


def note_extraction(pages: list[PageText], flags: tuple[str, ...]) -> list[PageText]:
    """The extraction's flags (keys dropped, schema violations) in the note of the page it was sent (the first
    OCR page), each prefixed ``extract:``."""
    first = next((i for i, p in enumerate(pages) if p.path == PagePath.OCR), None)
    if not flags or first is None:
        return pages
    note = ",".join(f"extract:{f}" for f in flags)
    out = list(pages)
    out[first] = replace(out[first], note=f"{out[first].note},{note}" if out[first].note else note)
    return out
