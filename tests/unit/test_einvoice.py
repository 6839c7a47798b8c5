"""ocrflow.pipeline.einvoice: read Factur-X / ZUGFeRD CII XML embedded in PDFs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ocrflow.pipeline.einvoice import (
    EInvoiceError,
    XmlUnsafeError,
    attach_xml,
    build_cii_xml,
    parse_cii,
    profile_name,
    read_embedded_invoice,
)

FIELDS = {
    "invoice_number": "RE-2024-0042",
    "invoice_date": "2024-03-05",
    "due_date": "2024-04-04",
    "seller_name": "Muster Lieferant GmbH",
    "seller_tax_id": "DE123456789",
    "buyer_name": "Kunden AG Mitte",
    "buyer_tax_id": "DE987654321",
    "currency": "EUR",
    "subtotal_amount": "100.00",
    "tax_amount": "19.00",
    "total_amount": "119.00",
}


def _blank_pdf(path: Path) -> Path:
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path), invariant=1)
    canvas.drawString(72, 720, "Rechnung RE-2024-0042")
    canvas.save()
    return path


def test_round_trip_through_a_facturx_pdf(tmp_path: Path) -> None:
    xml = build_cii_xml(FIELDS, lines=[{"name": "Widget", "quantity": 2, "unit_price": "50.00",
                                        "amount": "100.00"}], tax_rate_percent=19.0)
    pdf = attach_xml(_blank_pdf(tmp_path / "inv.pdf"), xml, name="factur-x.xml", created=date(2024, 3, 5))
    got = read_embedded_invoice(pdf)
    assert got is not None
    assert got.fields == {**FIELDS, "invoice_type_code": "380"}
    assert got.source == "factur-x.xml [EN16931]"
    assert got.profile == "EN16931"


def test_pdf_without_attachment_gives_none(tmp_path: Path) -> None:
    assert read_embedded_invoice(_blank_pdf(tmp_path / "plain.pdf")) is None


def test_unrelated_attachment_is_ignored(tmp_path: Path) -> None:
    pdf = attach_xml(_blank_pdf(tmp_path / "notes.pdf"), b"hello", name="notes.txt")
    assert read_embedded_invoice(pdf) is None


def test_garbage_xml_attachment_raises(tmp_path: Path) -> None:
    garbage = b"<rsm:CrossIndustryInvoice><oops"
    pdf = attach_xml(_blank_pdf(tmp_path / "bad.pdf"), garbage, name="factur-x.xml")
    with pytest.raises(EInvoiceError, match="not well-formed"):
        read_embedded_invoice(pdf)
    assert issubclass(EInvoiceError, ValueError)


def test_xml_with_other_root_raises() -> None:
    with pytest.raises(EInvoiceError, match="not a Cross Industry Invoice"):
        parse_cii(b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>")


def test_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xml = build_cii_xml(FIELDS).replace(b"Muster Lieferant GmbH", b"&xxe;")
    doctype = f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'.encode()
    xml = xml.replace(b"?>\n", b"?>\n" + doctype, 1)
    with pytest.raises(XmlUnsafeError, match="DTD") as caught:
        parse_cii(xml)
    assert "TOP-SECRET" not in str(caught.value)


def test_vat_id_wins_over_tax_number_and_tax_number_is_the_fallback() -> None:
    xml = build_cii_xml(FIELDS).replace(
        b'<ram:ID schemeID="VA">DE123456789</ram:ID>',
        b'<ram:ID schemeID="FC">201/113/40209</ram:ID></ram:SpecifiedTaxRegistration>'
        b'<ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">DE123456789</ram:ID>')
    assert parse_cii(xml).fields["seller_tax_id"] == "DE123456789"
    only_fc = build_cii_xml(FIELDS).replace(b'schemeID="VA">DE123456789', b'schemeID="FC">201/113/40209')
    assert parse_cii(only_fc).fields["seller_tax_id"] == "201/113/40209"


def test_tax_total_in_invoice_currency_is_chosen() -> None:
    xml = build_cii_xml(FIELDS).replace(
        b'<ram:TaxTotalAmount currencyID="EUR">19.00</ram:TaxTotalAmount>',
        b'<ram:TaxTotalAmount currencyID="USD">20.50</ram:TaxTotalAmount>'
        b'<ram:TaxTotalAmount currencyID="EUR">19.00</ram:TaxTotalAmount>')
    assert parse_cii(xml).fields["tax_amount"] == "19.00"


def test_missing_optional_fields_are_absent() -> None:
    minimal = {k: FIELDS[k] for k in ("invoice_number", "invoice_date", "currency", "total_amount")}
    fields = parse_cii(build_cii_xml(minimal)).fields
    assert fields == {**minimal, "invoice_type_code": "380"}


@pytest.mark.parametrize(("urn", "name"), [
    ("urn:cen.eu:en16931:2017", "EN16931"),
    ("urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0", "XRECHNUNG"),
    ("urn:factur-x.eu:1p0:basicwl", "BASIC WL"),
    ("urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic", "BASIC"),
    ("urn:factur-x.eu:1p0:minimum", "MINIMUM"),
    ("", ""),
])
def test_profile_names(urn: str, name: str) -> None:
    assert profile_name(urn) == name
