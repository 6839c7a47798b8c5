"""Line items of a CII invoice (D16B: ZUGFeRD 2.x, Factur-X, XRechnung CII; and ZUGFeRD 1.0).

Each ``IncludedSupplyChainTradeLineItem`` becomes one raw line with the invoice contract's line names:
BT-153 name, BT-155 seller's item id, BT-146 net price (per BT-149 base quantity), BT-129 billed
quantity with its BT-130 unit code, BT-152 VAT rate, BT-131 line net amount; line allowances and
charges (BG-27/BG-28, already inside BT-131) are summed for the validation's arithmetic check.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from ocrflow.pipeline.einvoice.tree import children, compact, find, find_any, text


def cii_lines(root: etree._Element) -> list[dict[str, Any]]:
    items = [el for el in root.iter() if isinstance(el.tag, str)
             and etree.QName(el).localname == "IncludedSupplyChainTradeLineItem"]
    return [_line(n, item) for n, item in enumerate(items, start=1)]


def _line(line_no: int, item: etree._Element) -> dict[str, Any]:
    product = find(item, "SpecifiedTradeProduct")
    price = find_any(item, "NetPriceProductTradePrice")
    quantity = find_any(item, "BilledQuantity")
    settlement = find_any(item, "SpecifiedLineTradeSettlement", "SpecifiedSupplyChainTradeSettlement")
    summation = find_any(settlement, "SpecifiedTradeSettlementLineMonetarySummation",
                         "SpecifiedTradeSettlementMonetarySummation")
    allowances, charges = allowance_charge_sums(children(settlement, "SpecifiedTradeAllowanceCharge"))
    raw = compact({
        "line_id": text(find_any(item, "LineID")),
        "description": _name(product),
        "seller_item_id": text(find(product, "SellerAssignedID")),
        "unit_price": text(find(price, "ChargeAmount")),
        "price_base_quantity": text(find(price, "BasisQuantity")),
        "quantity": text(quantity),
        "unit": quantity.get("unitCode") if quantity is not None else None,
        "tax_rate": text(find_any(settlement, "RateApplicablePercent", "ApplicablePercent")),
        "line_net_amount": text(find_any(summation, "LineTotalAmount")),
        "allowance_amount": allowances,
        "charge_amount": charges,
    })
    return {"line_no": line_no, **raw}


def _name(product: etree._Element | None) -> str | None:
    """BT-153 as written (line breaks kept, other white space collapsed)."""
    el = find(product, "Name")
    if el is None or el.text is None:
        return text(find(product, "Description"))
    parts = [" ".join(p.split()) for p in el.text.strip().splitlines()]
    return "\n".join(p for p in parts if p) or None


def allowance_charge_sums(entries: list[etree._Element]) -> tuple[str | None, str | None]:
    """(sum of allowances, sum of charges) of CII ``SpecifiedTradeAllowanceCharge`` or UBL
    ``AllowanceCharge`` elements, as strings; None where there are none."""
    sums = {True: Decimal(0), False: Decimal(0)}
    seen = {True: False, False: False}
    for entry in entries:
        indicator = text(find_any(entry, "Indicator", "ChargeIndicator")) or ""
        is_charge = indicator.strip().lower() == "true"
        amount = text(find_any(entry, "ActualAmount", "Amount"))
        try:
            sums[is_charge] += Decimal(amount or "")
        except InvalidOperation:
            continue
        seen[is_charge] = True
    return (str(sums[False]) if seen[False] else None, str(sums[True]) if seen[True] else None)
