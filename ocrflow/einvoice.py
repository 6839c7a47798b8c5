"""Structured e-invoices embedded in PDFs: ZUGFeRD / Factur-X / XRechnung (CII).

A hybrid e-invoice is a PDF/A-3 whose visible pages are for people and whose
attachment (``factur-x.xml``, ``zugferd-invoice.xml``, ``xrechnung.xml``) is a
UN/CEFACT Cross Industry Invoice for machines. When it is there, the XML is the
exact answer: we map it to the invoice contract's canonical raw fields and skip
OCR and field extraction for that document.

Parsing is offline and entity-free (no DTD loading, no entity expansion, no
network), so a hostile attachment cannot read local files or reach the network.

Besides reading, :func:`build_cii_xml` writes a minimal, schema-shaped CII
document (EN16931 profile) from the same canonical fields; the demo generator
and the tests use it to make Factur-X PDFs with known content.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from lxml import etree

from ocrflow.pdfium_lock import PDFIUM_LOCK

KNOWN_ATTACHMENT_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml", "zugferd_invoice.xml")
"""Attachment names used by ZUGFeRD 1/2, Factur-X and XRechnung (compared case-insensitively)."""

MAX_XML_BYTES = 20 * 1024 * 1024
"""Attachments larger than this are refused rather than parsed."""

CII_ROOTS = ("CrossIndustryInvoice", "CrossIndustryDocument")
"""Root element local names: CII D16B (ZUGFeRD 2.x, Factur-X, XRechnung CII) and ZUGFeRD 1.0."""

NS_RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
NS_RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
NS_UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
NS_QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"

PROFILE_EN16931 = "urn:cen.eu:en16931:2017"

_PROFILES = (
    ("xrechnung", "XRECHNUNG"),
    ("extended", "EXTENDED"),
    ("basicwl", "BASIC WL"),
    ("basic", "BASIC"),
    ("minimum", "MINIMUM"),
    ("en16931", "EN16931"),
    ("comfort", "COMFORT"),
)


class EInvoiceError(ValueError):
    """An e-invoice attachment is present but cannot be read as CII XML."""


@dataclass(frozen=True, slots=True)
class EmbeddedInvoice:
    """Canonical raw invoice fields read from an embedded e-invoice.

    ``fields`` holds strings only (amounts as written in the XML, dates as ISO
    ``YYYY-MM-DD``); fields absent from the XML are absent from the dict.
    ``source`` names the attachment and profile, e.g. ``factur-x.xml [EN16931]``.
    """

    fields: dict[str, Any]
    source: str
    profile: str = ""


# --------------------------------------------------------------------------- reading


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


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)


def _parse_xml(data: bytes) -> etree._Element:
    if len(data) > MAX_XML_BYTES:
        raise EInvoiceError(f"e-invoice XML is {len(data)} bytes, more than the {MAX_XML_BYTES} allowed")
    if not data.strip():
        raise EInvoiceError("e-invoice attachment is empty")
    try:
        return etree.fromstring(data, parser=_safe_parser())
    except etree.XMLSyntaxError as exc:
        raise EInvoiceError(f"e-invoice attachment is not well-formed XML: {exc}") from exc


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
    return EmbeddedInvoice(fields=fields, source=source, profile=profile)


def profile_name(guideline_id: str | None) -> str:
    """Short profile name (EN16931, XRECHNUNG, BASIC, ...) from a guideline URN."""
    if not guideline_id:
        return ""
    low = guideline_id.lower()
    for needle, name in _PROFILES:
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


# -------------------------------------------------------------------- tree helpers


def _children(el: etree._Element | None, name: str) -> list[etree._Element]:
    if el is None:
        return []
    return [c for c in el if isinstance(c.tag, str) and etree.QName(c).localname == name]


def _find(el: etree._Element | None, *path: str) -> etree._Element | None:
    """First element reached by following child local names from ``el``."""
    current = el
    for name in path:
        kids = _children(current, name)
        if not kids:
            return None
        current = kids[0]
    return current


def _find_any(el: etree._Element | None, *names: str) -> etree._Element | None:
    """First descendant of ``el`` whose local name is one of ``names`` (in order of preference)."""
    if el is None:
        return None
    for name in names:
        for desc in el.iter():
            if isinstance(desc.tag, str) and etree.QName(desc).localname == name:
                return desc
    return None


def _text(el: etree._Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    text = re.sub(r"\s+", " ", el.text).strip()
    return text or None


# --------------------------------------------------------------------------- writing


def build_cii_xml(fields: Mapping[str, Any], *, lines: Iterable[Mapping[str, Any]] = (),
                  tax_rate_percent: float | None = None) -> bytes:
    """A minimal EN16931-shaped CII invoice (UTF-8 bytes) from canonical invoice fields.

    ``fields`` uses the contract names (invoice_number, invoice_date as ISO, amounts
    as numbers or strings); ``lines`` items have name, quantity, unit_price, amount.
    """
    nsmap = {"rsm": NS_RSM, "ram": NS_RAM, "udt": NS_UDT, "qdt": NS_QDT}
    root = etree.Element(f"{{{NS_RSM}}}CrossIndustryInvoice", nsmap=nsmap)
    context = _sub(root, "rsm", "ExchangedDocumentContext")
    _sub(_sub(context, "ram", "GuidelineSpecifiedDocumentContextParameter"), "ram", "ID", PROFILE_EN16931)
    doc = _sub(root, "rsm", "ExchangedDocument")
    _sub(doc, "ram", "ID", str(fields["invoice_number"]))
    _sub(doc, "ram", "TypeCode", "380")
    _add_date(_sub(doc, "ram", "IssueDateTime"), str(fields["invoice_date"]))
    tx = _sub(root, "rsm", "SupplyChainTradeTransaction")
    for i, line in enumerate(lines, start=1):
        _add_line(tx, i, line, tax_rate_percent)
    _add_agreement(tx, fields)
    _sub(tx, "ram", "ApplicableHeaderTradeDelivery")
    _add_settlement(tx, fields, tax_rate_percent)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _sub(parent: etree._Element, prefix: str, name: str, text: str | None = None,
         **attrs: str) -> etree._Element:
    ns = {"rsm": NS_RSM, "ram": NS_RAM, "udt": NS_UDT, "qdt": NS_QDT}[prefix]
    el = etree.SubElement(parent, f"{{{ns}}}{name}", attrib=attrs or None)
    if text is not None:
        el.text = text
    return el


def _add_date(parent: etree._Element, iso: str) -> None:
    _sub(parent, "udt", "DateTimeString", iso.replace("-", ""), format="102")


def _money(value: Any) -> str:
    return f"{float(value):.2f}"


def _add_line(tx: etree._Element, line_id: int, line: Mapping[str, Any], rate: float | None) -> None:
    item = _sub(tx, "ram", "IncludedSupplyChainTradeLineItem")
    _sub(_sub(item, "ram", "AssociatedDocumentLineDocument"), "ram", "LineID", str(line_id))
    _sub(_sub(item, "ram", "SpecifiedTradeProduct"), "ram", "Name", str(line["name"]))
    agreement = _sub(item, "ram", "SpecifiedLineTradeAgreement")
    price = _sub(agreement, "ram", "NetPriceProductTradePrice")
    _sub(price, "ram", "ChargeAmount", _money(line["unit_price"]))
    delivery = _sub(item, "ram", "SpecifiedLineTradeDelivery")
    _sub(delivery, "ram", "BilledQuantity", f"{float(line['quantity']):.4f}", unitCode="H87")
    settlement = _sub(item, "ram", "SpecifiedLineTradeSettlement")
    _add_line_tax(settlement, rate)
    summation = _sub(settlement, "ram", "SpecifiedTradeSettlementLineMonetarySummation")
    _sub(summation, "ram", "LineTotalAmount", _money(line["amount"]))


def _add_line_tax(parent: etree._Element, rate: float | None) -> None:
    tax = _sub(parent, "ram", "ApplicableTradeTax")
    _sub(tax, "ram", "TypeCode", "VAT")
    _sub(tax, "ram", "CategoryCode", "S")
    if rate is not None:
        _sub(tax, "ram", "RateApplicablePercent", f"{rate:.2f}")


def _add_party(parent: etree._Element, role: str, name: Any, tax_id: Any) -> None:
    if not name:
        return
    party = _sub(parent, "ram", role)
    _sub(party, "ram", "Name", str(name))
    if tax_id:
        reg = _sub(party, "ram", "SpecifiedTaxRegistration")
        _sub(reg, "ram", "ID", str(tax_id), schemeID="VA")


def _add_agreement(tx: etree._Element, fields: Mapping[str, Any]) -> None:
    agreement = _sub(tx, "ram", "ApplicableHeaderTradeAgreement")
    _add_party(agreement, "SellerTradeParty", fields.get("seller_name"), fields.get("seller_tax_id"))
    _add_party(agreement, "BuyerTradeParty", fields.get("buyer_name"), fields.get("buyer_tax_id"))


def _add_settlement(tx: etree._Element, fields: Mapping[str, Any], rate: float | None) -> None:
    currency = str(fields["currency"])
    settlement = _sub(tx, "ram", "ApplicableHeaderTradeSettlement")
    _sub(settlement, "ram", "InvoiceCurrencyCode", currency)
    if fields.get("subtotal_amount") is not None and fields.get("tax_amount") is not None:
        tax = _sub(settlement, "ram", "ApplicableTradeTax")
        _sub(tax, "ram", "CalculatedAmount", _money(fields["tax_amount"]))
        _sub(tax, "ram", "TypeCode", "VAT")
        _sub(tax, "ram", "BasisAmount", _money(fields["subtotal_amount"]))
        _sub(tax, "ram", "CategoryCode", "S")
        if rate is not None:
            _sub(tax, "ram", "RateApplicablePercent", f"{rate:.2f}")
    if fields.get("due_date"):
        terms = _sub(settlement, "ram", "SpecifiedTradePaymentTerms")
        _add_date(_sub(terms, "ram", "DueDateDateTime"), str(fields["due_date"]))
    _add_summation(settlement, fields, currency)


def _add_summation(settlement: etree._Element, fields: Mapping[str, Any], currency: str) -> None:
    summation = _sub(settlement, "ram", "SpecifiedTradeSettlementHeaderMonetarySummation")
    subtotal = fields.get("subtotal_amount")
    if subtotal is not None:
        _sub(summation, "ram", "LineTotalAmount", _money(subtotal))
        _sub(summation, "ram", "TaxBasisTotalAmount", _money(subtotal))
    if fields.get("tax_amount") is not None:
        _sub(summation, "ram", "TaxTotalAmount", _money(fields["tax_amount"]), currencyID=currency)
    _sub(summation, "ram", "GrandTotalAmount", _money(fields["total_amount"]))
    _sub(summation, "ram", "DuePayableAmount", _money(fields["total_amount"]))


def attach_xml(pdf_path: str | Path, xml: bytes, *, name: str = "factur-x.xml",
               out_path: str | Path | None = None, created: date | None = None) -> Path:
    """Embed ``xml`` as attachment ``name`` into a PDF (in place unless ``out_path``); returns the path.

    pdfium stamps the attachment with the current time; pass ``created`` to make
    the output reproducible.
    """
    import pypdfium2 as pdfium

    target = Path(out_path) if out_path is not None else Path(pdf_path)
    pdf = pdfium.PdfDocument(Path(pdf_path).read_bytes())
    try:
        attachment = pdf.new_attachment(name)
        attachment.set_data(xml)
        if created is not None:
            attachment.set_str_value("CreationDate", f"D:{created:%Y%m%d}000000")
        pdf.save(str(target))
    finally:
        pdf.close()
    return target
