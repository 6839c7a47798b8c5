"""Read the CII e-invoice embedded in a PDF and map it to the invoice contract's raw fields.

When the XML is there it is the exact answer: the pipeline skips OCR and field extraction for that
document. Parsing is offline and entity-free (no DTD loading, no entity expansion, no network), so a
hostile attachment cannot read local files or reach the network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lxml import etree

from ocrflow.pipeline.einvoice.cii_lines import cii_lines
from ocrflow.pipeline.einvoice.model import CII_ROOTS, SYNTAX_CII, EInvoiceError, EmbeddedInvoice
from ocrflow.pipeline.einvoice.safe import parse_xml
from ocrflow.pipeline.einvoice.tree import children as _children
from ocrflow.pipeline.einvoice.tree import find as _find
from ocrflow.pipeline.einvoice.tree import find_any as _find_any
from ocrflow.pipeline.einvoice.tree import text as _text
from ocrflow.pipeline.pdfium_lock import PDFIUM_LOCK

KNOWN_ATTACHMENT_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml", "zugferd_invoice.xml")
"""Attachment names used by ZUGFeRD 1/2, Factur-X and XRechnung (compared case-insensitively)."""

PROFILES = (
    ("xrechnung", "XRECHNUNG"),
    ("extended", "EXTENDED"),
    ("basicwl", "BASIC WL"),
    ("basic", "BASIC"),
    ("minimum", "MINIMUM"),
    ("en16931", "EN16931"),
    ("comfort", "COMFORT"),
)
"""Guideline-URN substrings and the short profile names they mean, checked in this order."""


def read_embedded_invoice(pdf_path: str | Path) -> EmbeddedInvoice | None:
    """The e-invoice embedded in ``pdf_path``, or None when the PDF carries none.

    Raises EInvoiceError when a known e-invoice attachment is present but is not
    parseable CII XML. Errors opening the PDF itself (pypdfium2's PdfiumError)
    are not caught here.
    """
    found = find_invoice_attachment(pdf_path)
    if found is None:
        return None
    name, data = found
    return parse_cii(data, attachment_name=name)


def find_invoice_attachment(pdf_path: str | Path) -> tuple[str, bytes] | None:
    """(name, bytes) of the e-invoice attachment of a PDF, or None.

    Attachments with a known e-invoice name win; otherwise any ``*.xml``
    attachment whose root element is a CII invoice is taken.
    """
    attachments = list(_pdf_attachments(pdf_path))
    for name, data in attachments:
        if name.lower() in KNOWN_ATTACHMENT_NAMES:
            return name, data
    for name, data in attachments:
        if name.lower().endswith(".xml") and _looks_like_cii(data):
            return name, data
    return None


def _pdf_attachments(pdf_path: str | Path) -> Iterable[tuple[str, bytes]]:
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(str(pdf_path))
        try:
            out: list[tuple[str, bytes]] = []
            for i in range(pdf.count_attachments()):
                attachment = pdf.get_attachment(i)
                out.append((attachment.get_name() or "", bytes(attachment.get_data())))
            return out
        finally:
            pdf.close()


def _looks_like_cii(data: bytes) -> bool:
    try:
        root = _parse_xml(data)
    except EInvoiceError:
        return False
    return etree.QName(root).localname in CII_ROOTS


def _parse_xml(data: bytes) -> etree._Element:
    return parse_xml(data, what="e-invoice attachment")


def parse_cii(data: bytes, *, attachment_name: str = "invoice.xml") -> EmbeddedInvoice:
    """Map CII XML bytes (D16B or ZUGFeRD 1.0) to the invoice contract's raw fields."""
    root = _parse_xml(data)
    if etree.QName(root).localname not in CII_ROOTS:
        raise EInvoiceError(f"{attachment_name}: root element {etree.QName(root).localname!r} "
                            f"is not a Cross Industry Invoice ({', '.join(CII_ROOTS)})")
    guideline = _text(_find(root, "ExchangedDocumentContext", "GuidelineSpecifiedDocumentContextParameter",
                            "ID"))
    profile = profile_name(guideline)
    fields = _header_fields(root)
    if not fields.get("invoice_number"):
        raise EInvoiceError(f"{attachment_name}: CII document without an invoice number "
                            "(ExchangedDocument/ID)")
    source = f"{attachment_name} [{profile}]" if profile else attachment_name
    return EmbeddedInvoice(fields=fields, source=source, profile=profile, lines=tuple(cii_lines(root)),
                           syntax=SYNTAX_CII)


def profile_name(guideline_id: str | None) -> str:
    """Short profile name (EN16931, XRECHNUNG, BASIC, ...) from a guideline URN."""
    if not guideline_id:
        return ""
    low = guideline_id.lower()
    for needle, name in PROFILES:
        if needle in low:
            return name
    return guideline_id


def _header_fields(root: etree._Element) -> dict[str, Any]:
    doc = _find_any(root, "ExchangedDocument", "HeaderExchangedDocument")
    tx = _find_any(root, "SupplyChainTradeTransaction", "SpecifiedSupplyChainTradeTransaction")
    agreement = _find_any(tx, "ApplicableHeaderTradeAgreement", "ApplicableSupplyChainTradeAgreement")
    settlement = _find_any(tx, "ApplicableHeaderTradeSettlement", "ApplicableSupplyChainTradeSettlement")
    currency = _text(_find(settlement, "InvoiceCurrencyCode"))
    seller = _find(agreement, "SellerTradeParty")
    buyer = _find(agreement, "BuyerTradeParty")
    summation = _find_any(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation",
                          "SpecifiedTradeSettlementMonetarySummation")
    fields: dict[str, Any] = {
        "invoice_number": _text(_find(doc, "ID")),
        "invoice_date": _date(_find(doc, "IssueDateTime", "DateTimeString")),
        "due_date": _due_date(settlement),
        "seller_name": _text(_find(seller, "Name")),
        "seller_tax_id": _tax_id(seller),
        "buyer_name": _text(_find(buyer, "Name")),
        "buyer_tax_id": _tax_id(buyer),
        "currency": currency,
        "subtotal_amount": _amount(summation, "TaxBasisTotalAmount", currency),
        "tax_amount": _amount(summation, "TaxTotalAmount", currency),
        "total_amount": _amount(summation, "GrandTotalAmount", currency),
        "invoice_type_code": _text(_find(doc, "TypeCode")),
        "allowance_total_amount": _amount(summation, "AllowanceTotalAmount", currency),
        "charge_total_amount": _amount(summation, "ChargeTotalAmount", currency),
    }
    return {k: v for k, v in fields.items() if v not in (None, "")}


def _due_date(settlement: etree._Element | None) -> str | None:
    for terms in _children(settlement, "SpecifiedTradePaymentTerms"):
        due = _date(_find(terms, "DueDateDateTime", "DateTimeString"))
        if due:
            return due
    return None


def _tax_id(party: etree._Element | None) -> str | None:
    """VAT id (schemeID VA) of a party; its tax number (FC) when it has no VAT id."""
    by_scheme: dict[str, str] = {}
    for reg in _children(party, "SpecifiedTaxRegistration"):
        for id_el in _children(reg, "ID"):
            value = _text(id_el)
            if value:
                by_scheme.setdefault((id_el.get("schemeID") or "").upper(), value)
    return by_scheme.get("VA") or by_scheme.get("FC")


def _amount(summation: etree._Element | None, name: str, currency: str | None) -> str | None:
    """An amount of the header summation; for repeated elements the one in the invoice currency."""
    candidates = _children(summation, name)
    if len(candidates) > 1 and currency:
        in_currency = [el for el in candidates if el.get("currencyID") in (None, currency)]
        candidates = in_currency or candidates
    return _text(candidates[0]) if candidates else None


def _date(el: etree._Element | None) -> str | None:
    """ISO date from a CII DateTimeString (format 102 = YYYYMMDD); other formats pass through."""
    value = _text(el)
    if value is None or el is None:
        return None
    fmt = el.get("format") or "102"
    if fmt == "102" and re.fullmatch(r"\d{8}", value):
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value
