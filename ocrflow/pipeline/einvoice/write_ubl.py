"""Write a minimal UBL 2.1 Invoice or CreditNote (EN 16931 shape) from canonical invoice fields and lines
(the same inputs as :func:`ocrflow.pipeline.einvoice.write.build_cii_xml`); the demo and the tests use it to make
the same invoice in both syntaxes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lxml import etree

from ocrflow.pipeline.einvoice.model import NS_CAC, NS_CBC, NS_UBL_CREDIT_NOTE, NS_UBL_INVOICE, PROFILE_EN16931


def _el(parent: etree._Element, ns: str, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{ns}}}{name}", attrib=attrs or None)
    if text is not None:
        el.text = text
    return el


def _money(value: Any) -> str:
    return f"{float(value):.2f}"


def build_ubl_xml(fields: Mapping[str, Any], *, lines: Iterable[Mapping[str, Any]] = (),
                  tax_rate_percent: float | None = None, credit_note: bool = False) -> bytes:
    """UTF-8 UBL bytes; ``lines`` items have name, quantity, unit_price, amount (optional unit)."""
    ns, kind = (NS_UBL_CREDIT_NOTE, "CreditNote") if credit_note else (NS_UBL_INVOICE, "Invoice")
    root = etree.Element(f"{{{ns}}}{kind}", nsmap={None: ns, "cac": NS_CAC, "cbc": NS_CBC})
    currency = str(fields["currency"])
    _el(root, NS_CBC, "CustomizationID", PROFILE_EN16931)
    _el(root, NS_CBC, "ID", str(fields["invoice_number"]))
    _el(root, NS_CBC, "IssueDate", str(fields["invoice_date"]))
    if fields.get("due_date") and not credit_note:
        _el(root, NS_CBC, "DueDate", str(fields["due_date"]))
    _el(root, NS_CBC, f"{kind}TypeCode", "381" if credit_note else "380")
    _el(root, NS_CBC, "DocumentCurrencyCode", currency)
    _party(root, "AccountingSupplierParty", fields.get("seller_name"), fields.get("seller_tax_id"))
    _party(root, "AccountingCustomerParty", fields.get("buyer_name"), fields.get("buyer_tax_id"))
    if fields.get("tax_amount") is not None:
        _el(_el(root, NS_CAC, "TaxTotal"), NS_CBC, "TaxAmount", _money(fields["tax_amount"]), currencyID=currency)
    totals = _el(root, NS_CAC, "LegalMonetaryTotal")
    if fields.get("subtotal_amount") is not None:
        _el(totals, NS_CBC, "LineExtensionAmount", _money(fields["subtotal_amount"]), currencyID=currency)
        _el(totals, NS_CBC, "TaxExclusiveAmount", _money(fields["subtotal_amount"]), currencyID=currency)
    _el(totals, NS_CBC, "TaxInclusiveAmount", _money(fields["total_amount"]), currencyID=currency)
    _el(totals, NS_CBC, "PayableAmount", _money(fields["total_amount"]), currencyID=currency)
    for i, line in enumerate(lines, start=1):
        _line(root, kind, i, line, currency, tax_rate_percent)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _party(root: etree._Element, role: str, name: Any, tax_id: Any) -> None:
    if not name:
        return
    party = _el(_el(root, NS_CAC, role), NS_CAC, "Party")
    if tax_id:
        scheme = _el(party, NS_CAC, "PartyTaxScheme")
        _el(scheme, NS_CBC, "CompanyID", str(tax_id))
        _el(_el(scheme, NS_CAC, "TaxScheme"), NS_CBC, "ID", "VAT")
    _el(_el(party, NS_CAC, "PartyLegalEntity"), NS_CBC, "RegistrationName", str(name))


def _line(root: etree._Element, kind: str, line_id: int, line: Mapping[str, Any], currency: str,
          rate: float | None) -> None:
    el = _el(root, NS_CAC, f"{kind}Line")
    _el(el, NS_CBC, "ID", str(line_id))
    qty = "CreditedQuantity" if kind == "CreditNote" else "InvoicedQuantity"
    _el(el, NS_CBC, qty, f"{float(line['quantity']):.4f}", unitCode=str(line.get("unit") or "H87"))
    _el(el, NS_CBC, "LineExtensionAmount", _money(line["amount"]), currencyID=currency)
    item = _el(el, NS_CAC, "Item")
    _el(item, NS_CBC, "Name", str(line["name"]))
    category = _el(item, NS_CAC, "ClassifiedTaxCategory")
    _el(category, NS_CBC, "ID", "S")
    if rate is not None:
        _el(category, NS_CBC, "Percent", f"{rate:.2f}")
    _el(_el(category, NS_CAC, "TaxScheme"), NS_CBC, "ID", "VAT")
    _el(_el(el, NS_CAC, "Price"), NS_CBC, "PriceAmount", _money(line["unit_price"]), currencyID=currency)
