"""Write e-invoices: :func:`build_cii_xml` makes a minimal, schema-shaped CII document (EN16931
profile) from the invoice contract's canonical fields and :func:`attach_xml` embeds it in a PDF; the
demo generator and the tests use them to make Factur-X PDFs with known content.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from lxml import etree

from ocrflow.pipeline.einvoice.model import NS_QDT, NS_RAM, NS_RSM, NS_UDT, PROFILE_EN16931


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
