"""Standalone e-invoice XML documents: no pages, no OCR, straight to a row and its lines.

Discovery gives an XML file the MIME type ``application/xml``; the processor hands it here. A UBL 2.1
Invoice/CreditNote or a CII CrossIndustryInvoice becomes an invoice row (engine ``einvoice``, model the
syntax and profile); any other XML, a malformed one, or one that declares a DTD (entity expansion,
external entities) fails with the reason and its error code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ocrflow.contracts import Contract
from ocrflow.contracts.model import LINES_KEY
from ocrflow.core.models import DocState, DocumentRef, DocumentText, RowOutcome
from ocrflow.core.results import DocResult
from ocrflow.pipeline.coerce import coerce_row
from ocrflow.pipeline.einvoice.model import EInvoiceError, EmbeddedInvoice, XmlUnsafeError
from ocrflow.pipeline.einvoice.standalone import MIME_EINVOICE_XML, read_xml_invoice
from ocrflow.pipeline.evidence.collect import Reading, attach_evidence
from ocrflow.pipeline.extract.lines import coerce_lines

EINVOICE_CONTRACT = "invoice"


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
    raw: dict[str, Any] = dict(found.fields)
    raw[LINES_KEY] = [dict(line) for line in found.lines]
    values, failures = coerce_row(contract, raw, day_first=day_first)
    lines, line_failures = coerce_lines(contract, raw[LINES_KEY], day_first=day_first)
    lineage = {"page_numbers": [], "engine": "einvoice", "model": found.source, "prompt_version": "",
               "flow_run_id": flow_run_id, "extracted_at": datetime.now(UTC).replace(tzinfo=None)}
    row = RowOutcome(doc=doc, contract=contract.name, contract_version=contract.version, values=values, raw=raw,
                     lineage=lineage, failures=[*failures, *line_failures], lines=lines)
    reading = Reading("einvoice_xml", raw, "einvoice", found.source)
    return attach_evidence(row, DocumentText(doc=doc, pages=()), contract, {}, reading, day_first=day_first)
