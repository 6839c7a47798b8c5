"""E-invoice lines: UBL and CII of the same invoice read to the same row and lines; unsafe XML refused."""

from __future__ import annotations

import pytest

from ocrflow.pipeline.einvoice.model import EInvoiceError, XmlUnsafeError
from ocrflow.pipeline.einvoice.standalone import read_xml_invoice, sniff_einvoice_xml, sniff_syntax
from ocrflow.pipeline.einvoice.write import build_cii_xml
from ocrflow.pipeline.einvoice.write_ubl import build_ubl_xml

FIELDS = {"invoice_number": "INV-77", "invoice_date": "2024-03-01", "due_date": "2024-03-31",
          "seller_name": "Acme Supplies GmbH", "seller_tax_id": "DE123456789", "buyer_name": "Buyer AG",
          "currency": "EUR", "subtotal_amount": 110.0, "tax_amount": 20.9, "total_amount": 130.9}
LINES = [{"name": "Paper A4", "quantity": 10, "unit_price": 5.5, "amount": 55.0},
         {"name": "Toner black", "quantity": 2, "unit_price": 27.5, "amount": 55.0}]


def test_ubl_and_cii_of_the_same_invoice_give_the_same_fields_and_lines() -> None:
    ubl = read_xml_invoice(build_ubl_xml(FIELDS, lines=LINES, tax_rate_percent=19.0), name="a.xml")
    cii = read_xml_invoice(build_cii_xml(FIELDS, lines=LINES, tax_rate_percent=19.0), name="b.xml")
    assert (ubl.syntax, cii.syntax) == ("ubl", "cii")
    assert ubl.profile == cii.profile == "EN16931"
    keep = set(FIELDS) - {"due_date"}
    assert {k: ubl.fields[k] for k in keep} == {k: cii.fields[k] for k in keep}
    assert [{k: v for k, v in ln.items() if k != "unit"} for ln in ubl.lines] == \
        [{k: v for k, v in ln.items() if k != "unit"} for ln in cii.lines]
    assert [ln["description"] for ln in ubl.lines] == ["Paper A4", "Toner black"]
    assert ubl.lines[0]["quantity"] == "10.0000" and ubl.lines[0]["line_net_amount"] == "55.00"
    assert ubl.lines[1]["tax_rate"] == "19.00"


def test_credit_note_keeps_type_code_381_and_positive_amounts() -> None:
    found = read_xml_invoice(build_ubl_xml(FIELDS, lines=LINES, credit_note=True))
    assert found.fields["invoice_type_code"] == "381"
    assert found.fields["total_amount"] == "130.90"
    assert len(found.lines) == 2


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>&lol3;</ID></Invoice>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">&x;
</rsm:CrossIndustryInvoice>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "external-entity"])
def test_xml_with_entities_is_refused_as_unsafe(data: bytes) -> None:
    assert sniff_einvoice_xml(data[:2048]) == "application/xml"
    with pytest.raises(XmlUnsafeError, match="DTD"):
        read_xml_invoice(data, name="evil.xml")


def test_xml_that_is_no_einvoice_is_refused_naming_its_root() -> None:
    data = b'<?xml version="1.0"?><catalog xmlns="urn:example:books"><book/></catalog>'
    assert sniff_einvoice_xml(data) is None
    with pytest.raises(EInvoiceError, match=r"'catalog'.*neither a UBL"):
        read_xml_invoice(data, name="books.xml")


def test_syntax_is_sniffed_from_the_first_bytes() -> None:
    assert sniff_syntax(build_ubl_xml(FIELDS)[:2048]) == "ubl"
    assert sniff_syntax(build_cii_xml(FIELDS)[:2048]) == "cii"
    assert sniff_syntax(b"<html/>") is None
