"""UBL 2.1 invoices and credit notes (EN 16931 / XRechnung / Peppol BIS) -> the invoice contract.

The header fields are the same business terms the CII reader maps (BT-1 number, BT-2 issue date, BT-9
due date, BT-27/31 seller, BT-44/48 buyer, BT-5 currency, BT-109 net total, BT-110 tax, BT-112 total,
BT-107/108 document allowances/charges, BT-3 type code), so the same invoice in either syntax gives the
same row. Credit notes keep type code 381 and their amounts as stated (positive).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from ocrflow.pipeline.einvoice.cii_lines import allowance_charge_sums
from ocrflow.pipeline.einvoice.model import SYNTAX_UBL, UBL_ROOTS, EInvoiceError, EmbeddedInvoice
from ocrflow.pipeline.einvoice.read import profile_name
from ocrflow.pipeline.einvoice.tree import children, compact, find, text


def is_ubl(root: etree._Element) -> bool:
    q = etree.QName(root)
    return UBL_ROOTS.get(q.namespace or "") == q.localname


def parse_ubl(root: etree._Element, *, name: str = "invoice.xml") -> EmbeddedInvoice:
    if not is_ubl(root):
        raise EInvoiceError(f"{name}: root element {etree.QName(root).text!r} is not a UBL 2.1 Invoice or CreditNote")
    kind = etree.QName(root).localname
    customization = text(find(root, "CustomizationID"))
    profile = profile_name(customization)
    fields = _header(root, kind)
    if not fields.get("invoice_number"):
        raise EInvoiceError(f"{name}: UBL {kind} without an invoice number (cbc:ID)")
    line_tag = "InvoiceLine" if kind == "Invoice" else "CreditNoteLine"
    lines = tuple(_line(n, el) for n, el in enumerate(children(root, line_tag), start=1))
    source = f"{name} [UBL {kind}{', ' + profile if profile else ''}]"
    return EmbeddedInvoice(fields=fields, source=source, profile=profile, lines=lines,
                           syntax=SYNTAX_UBL)


def _header(root: etree._Element, kind: str) -> dict[str, Any]:
    currency = text(find(root, "DocumentCurrencyCode"))
    totals = find(root, "LegalMonetaryTotal")
    seller = find(root, "AccountingSupplierParty", "Party")
    buyer = find(root, "AccountingCustomerParty", "Party")
    due = text(find(root, "DueDate")) or text(find(root, "PaymentMeans", "PaymentDueDate"))
    return compact({
        "invoice_number": text(find(root, "ID")),
        "invoice_date": text(find(root, "IssueDate")),
        "due_date": due,
        "seller_name": _party_name(seller),
        "seller_tax_id": _party_tax_id(seller),
        "buyer_name": _party_name(buyer),
        "buyer_tax_id": _party_tax_id(buyer),
        "currency": currency,
        "subtotal_amount": text(find(totals, "TaxExclusiveAmount")),
        "tax_amount": _tax_total(root, currency),
        "total_amount": text(find(totals, "TaxInclusiveAmount")),
        "invoice_type_code": text(find(root, "InvoiceTypeCode" if kind == "Invoice" else "CreditNoteTypeCode")),
        "allowance_total_amount": text(find(totals, "AllowanceTotalAmount")),
        "charge_total_amount": text(find(totals, "ChargeTotalAmount")),
    })


def _party_name(party: etree._Element | None) -> str | None:
    return text(find(party, "PartyLegalEntity", "RegistrationName")) or text(find(party, "PartyName", "Name"))


def _party_tax_id(party: etree._Element | None) -> str | None:
    """VAT id (TaxScheme VAT, BT-31/48); another registration (BT-32) when the party has no VAT id."""
    by_scheme: dict[str, str] = {}
    for scheme in children(party, "PartyTaxScheme"):
        value = text(find(scheme, "CompanyID"))
        if value:
            by_scheme.setdefault((text(find(scheme, "TaxScheme", "ID")) or "").upper(), value)
    return by_scheme.get("VAT") or next(iter(by_scheme.values()), None)


def _tax_total(root: etree._Element, currency: str | None) -> str | None:
    """BT-110: the TaxTotal in the document currency (a second TaxTotal may be in the VAT currency)."""
    amounts = [find(t, "TaxAmount") for t in children(root, "TaxTotal")]
    present = [a for a in amounts if a is not None]
    for amount in present:
        if currency is None or amount.get("currencyID") in (None, currency):
            return text(amount)
    return text(present[0]) if present else None


def _line(line_no: int, line: etree._Element) -> dict[str, Any]:
    quantity = find(line, "InvoicedQuantity")
    if quantity is None:
        quantity = find(line, "CreditedQuantity")
    item = find(line, "Item")
    price = find(line, "Price")
    allowances, charges = allowance_charge_sums(children(line, "AllowanceCharge"))
    raw = compact({
        "line_id": text(find(line, "ID")),
        "description": _item_name(item),
        "seller_item_id": text(find(item, "SellersItemIdentification", "ID")),
        "unit_price": text(find(price, "PriceAmount")),
        "price_base_quantity": text(find(price, "BaseQuantity")),
        "quantity": text(quantity),
        "unit": quantity.get("unitCode") if quantity is not None else None,
        "tax_rate": text(find(item, "ClassifiedTaxCategory", "Percent")),
        "line_net_amount": text(find(line, "LineExtensionAmount")),
        "allowance_amount": allowances,
        "charge_amount": charges,
    })
    return {"line_no": line_no, **raw}


def _item_name(item: etree._Element | None) -> str | None:
    el = find(item, "Name")
    if el is None or el.text is None:
        return text(find(item, "Description"))
    parts = [" ".join(p.split()) for p in el.text.strip().splitlines()]
    return "\n".join(p for p in parts if p) or None
