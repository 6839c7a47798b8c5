"""E-invoice XML: standalone XML documents (no pages, no OCR, straight to a row and its lines) and the
XML embedded in a PDF (Factur-X / ZUGFeRD / XRechnung attachments), read before the pages.

Discovery gives an XML file the MIME type ``application/xml``; the processor hands it here. A UBL 2.1
Invoice/CreditNote or a CII CrossIndustryInvoice becomes an invoice row (engine ``einvoice``, model the
syntax and profile) through the one row assembly (``ocrflow.pipeline.row``); any other XML, a malformed
one, or one that declares a DTD (entity expansion, external entities) fails with the reason and its error
code. An embedded XML that cannot be read is ignored with a warning: the pages are read as usual.
"""

from __future__ import annotations

import logging
from typing import Any

from ocrflow.contracts import Contract
from ocrflow.contracts.model import LINES_KEY
from ocrflow.core.models import DocState, DocumentRef, DocumentText, PageText, RowOutcome
from ocrflow.core.results import DocResult
from ocrflow.pipeline.einvoice.model import EInvoiceError, EmbeddedInvoice, XmlUnsafeError
from ocrflow.pipeline.einvoice.standalone import MIME_EINVOICE_XML, read_xml_invoice
from ocrflow.pipeline.evidence.collect import Reading
from ocrflow.pipeline.row import EvidenceBasis, assemble_row, row_lineage

EINVOICE_CONTRACT = "invoice"
log = logging.getLogger("ocrflow")


def is_xml_document(doc: DocumentRef) -> bool:
    return doc.mime == MIME_EINVOICE_XML


def xml_document_result(doc: DocumentRef, contracts: dict[str, Contract], *, wanted: str = "auto",
                        day_first: bool = True, flow_run_id: str = "") -> DocResult:
    """The DocResult of one standalone XML file (state PENDING with a row, or FAILED with the reason)."""
    name = wanted if wanted != "auto" else EINVOICE_CONTRACT
    contract = contracts.get(name)
    if contract is None:
        return DocResult(doc, DocState.FAILED, error=f"e-invoice XML needs the {name!r} contract, which is not "
                         f"loaded (known: {', '.join(sorted(contracts))})", error_code="no_contract", pages_read=0)
    try:
        with open(doc.open_path, "rb") as fh:
            found = read_xml_invoice(fh.read(), name=doc.path.rsplit("/", 1)[-1])
    except XmlUnsafeError as exc:
        return DocResult(doc, DocState.FAILED, error=f"xml: {exc}", error_code="xml_unsafe", pages_read=0)
    except EInvoiceError as exc:
        return DocResult(doc, DocState.FAILED, error=f"xml: {exc}", error_code="einvoice_invalid", pages_read=0)
    row = einvoice_row(doc, contract, found, day_first=day_first, flow_run_id=flow_run_id)
    return DocResult(doc, DocState.PENDING, row=row, contract=contract.name, pages_read=0,
                     einvoice_syntax=found.syntax, einvoice_profile=found.profile or None)


def einvoice_row(doc: DocumentRef, contract: Contract, found: EmbeddedInvoice, *, day_first: bool,
                 flow_run_id: str = "") -> RowOutcome:
    """The coerced row and lines of an e-invoice (standalone or embedded), read exactly."""
    raw: dict[str, Any] = {**found.fields, LINES_KEY: [dict(line) for line in found.lines]}
    reading = Reading("einvoice_xml", raw, "einvoice", found.source)
    return assemble_row(doc, contract, raw, lines=raw[LINES_KEY], day_first=day_first,
                        lineage=row_lineage([], "einvoice", found.source, "", flow_run_id),
                        evidence=EvidenceBasis(DocumentText(doc=doc, pages=()), {}, reading))


def embedded_invoice(doc: DocumentRef, contracts: dict[str, Contract], *, enabled: bool) -> EmbeddedInvoice | None:
    """The e-invoice XML embedded in a PDF, when reading it is ``enabled`` and the invoice contract is loaded;
    None when there is none or it cannot be read (logged: the pages are read as usual)."""
    if doc.mime != "application/pdf" or not enabled or EINVOICE_CONTRACT not in contracts:
        return None
    import pypdfium2 as pdfium

    from ocrflow.pipeline.einvoice import read_embedded_invoice

    try:
        return read_embedded_invoice(doc.open_path)
    except EInvoiceError as exc:
        log.warning("%s: embedded e-invoice XML ignored: %s", doc.path, exc)
        return None
    except pdfium.PdfiumError:
        return None  # the renderer reports why the PDF cannot be opened


def embedded_text(doc: DocumentRef, pages: list[PageText], embedded: EmbeddedInvoice | None) -> DocumentText:
    """The document's text: its pages, and the embedded invoice's fields with its lines under ``line_items``."""
    if embedded is None:
        return DocumentText(doc=doc, pages=tuple(pages))
    return DocumentText(doc=doc, pages=tuple(pages), embedded_fields={**embedded.fields, LINES_KEY:
                                                                      list(embedded.lines)},
                        embedded_source=embedded.source)
