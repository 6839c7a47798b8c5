from datetime import date
from decimal import Decimal

import pytest

from ocrflow.contracts import HEURISTIC_NAMES, Contract, load_contracts
from ocrflow.core.models import DocumentRef, DocumentText, Line, PagePath, PageText
from ocrflow.pipeline.coerce import coerce_row
from ocrflow.pipeline.extract import extract_fields
from ocrflow.pipeline.extract.heuristics import HEURISTICS, PRIMARY
from ocrflow.pipeline.extract.tables import table_lines


def _doc(rows: list[list[tuple[str, float]]], width: int = 1000) -> DocumentText:
    """One page; each row is a list of (text, x0) placed on the same baseline, rows 40 px apart."""
    lines = []
    for i, row in enumerate(rows):
        y = 50.0 + 40.0 * i
        for text, x0 in row:
            lines.append(Line(text=text, bbox=(x0, y, x0 + 12.0 * len(text), y + 20.0)))
    page = PageText(page_no=1, width=width, height=50 + 40 * len(rows) + 50, lines=tuple(lines),
                    path=PagePath.OCR, engine="test", model="test")
    return DocumentText(doc=DocumentRef(path="x", sha256="0", mime="image/png", size_bytes=0), pages=(page,))


def test_heuristics_implement_exactly_the_names_contracts_may_use() -> None:
    assert set(HEURISTICS) == set(HEURISTIC_NAMES)
    assert PRIMARY <= set(HEURISTICS)


@pytest.fixture(scope="module")
def contracts() -> dict[str, Contract]:
    return load_contracts()


def test_english_invoice_labels_right_and_below(contracts: dict[str, Contract]) -> None:
    doc = _doc([
        [("ACME Widgets Ltd.", 50)],
        [("12 High Street, London", 50)],
        [("Invoice Number:", 50), ("INV-2024-0042", 600)],
        [("Invoice Date:", 50), ("August 3, 2014", 600)],
        [("Due Date", 50)],
        [("2014-09-02", 50)],
        [("VAT No: GB 123 456 789", 50)],
        [("Subtotal", 50), ("$1,000.00", 800)],
        [("Tax", 50), ("$200.00", 800)],
        [("Total due", 50), ("$1,200.00", 800)],
    ])
    raw = extract_fields(doc, contracts["invoice"])
    assert raw["invoice_number"] == "INV-2024-0042"
    assert raw["seller_name"] == "ACME Widgets Ltd."
    values, failures = coerce_row(contracts["invoice"], raw, day_first=True)
    assert failures == []
    assert values["invoice_date"] == date(2014, 8, 3)
    assert values["due_date"] == date(2014, 9, 2)
    assert values["seller_tax_id"] == "GB123456789"
    assert values["subtotal_amount"] == Decimal("1000.00")
    assert values["tax_amount"] == Decimal("200.00")
    assert values["total_amount"] == Decimal("1200.00")
    assert values["currency"] == "USD"


def test_chinese_invoice_labels(contracts: dict[str, Contract]) -> None:
    doc = _doc([
        [("上海某某科技有限公司", 300)],
        [("发票号码: 12345678", 50)],
        [("开票日期: 2024年3月5日", 50)],
        [("价税合计", 50), ("¥1,234.50", 700)],
    ])
    raw = extract_fields(doc, contracts["invoice"])
    values, failures = coerce_row(contracts["invoice"], raw, day_first=True)
    assert failures == []
    assert values["invoice_number"] == "12345678"
    assert values["invoice_date"] == date(2024, 3, 5)
    assert values["total_amount"] == Decimal("1234.50")
    assert values["currency"] == "CNY"
    assert values["seller_name"] == "上海某某科技有限公司"


def test_receipt_heuristics(contracts: dict[str, Contract]) -> None:
    doc = _doc([
        [("31801017", 40)],
        [("GOOD FOOD TRADING SDN BHD", 100)],
        [("(12345-A)", 200)],
        [("NO 12, JALAN MAJU 3,", 100)],
        [("43000 KAJANG, SELANGOR.", 100)],
        [("TEL: 03-1234 5678", 100)],
        [("GST ID: 000123456789", 100)],
        [("Doc No: CS0001", 20), ("Date: 13/01/2018", 500)],
        [("SUB TOTAL", 20), ("5.00", 700)],
        [("TOTAL", 20), ("5.30", 700)],
        [("CASH", 20), ("10.00", 700)],
        [("CHANGE", 20), ("4.70", 700)],
    ])
    raw = extract_fields(doc, contracts["receipt"])
    values, failures = coerce_row(contracts["receipt"], raw, day_first=True)
    assert failures == []
    assert values["merchant_name"] == "GOOD FOOD TRADING SDN BHD"
    assert values["merchant_address"] == "NO 12, JALAN MAJU 3, 43000 KAJANG, SELANGOR."
    assert values["receipt_date"] == date(2018, 1, 13)
    assert values["total_amount"] == Decimal("5.30")


def test_receipt_total_falls_back_to_largest_amount(contracts: dict[str, Contract]) -> None:
    doc = _doc([[("SHOP", 100)], [("ITEM A", 20), ("3.50", 700)], [("ITEM B", 20), ("12.20", 700)]])
    assert extract_fields(doc, contracts["receipt"])["total_amount"] == "12.20"


def test_nda_heuristics(contracts: dict[str, Contract]) -> None:
    doc = _doc([
        [("MUTUAL NONDISCLOSURE AGREEMENT", 200)],
        [("This Agreement is entered into as of March 1, 2015 by and between", 20)],
        [("Alpha Pharmaceuticals, Inc., a Delaware corporation (\"Alpha\"), and", 20)],
        [("Beta Industries Ltd., an Israeli company (\"Beta\").", 20)],
        [("This Agreement shall remain in effect for a period of three (3) years.", 20)],
        [("This Agreement shall be governed by the laws of the State of Delaware, without", 20)],
    ])
    raw = extract_fields(doc, contracts["nda"], day_first=False)
    values, failures = coerce_row(contracts["nda"], raw, day_first=False)
    assert failures == []
    assert values["effective_date"] == date(2015, 3, 1)
    assert values["jurisdiction"] == "Delaware"
    assert values["term"] == "3 years"
    assert values["parties"] == ["Alpha Pharmaceuticals Inc.", "Beta Industries Ltd."]


def test_missing_fields_are_none(contracts: dict[str, Contract]) -> None:
    raw = extract_fields(_doc([[("hello", 10)]]), contracts["invoice"])
    assert set(raw) == set(contracts["invoice"].field_names)
    assert raw["invoice_number"] is None and raw["total_amount"] is None and raw["invoice_date"] is None


def test_german_invoice_title_sections_and_totals(contracts: dict[str, Contract]) -> None:
    """No e-invoice XML: number/date from the title, names from "Name:" under section headings."""
    doc = _doc([
        [("Handelsrechnung (380) Nr. A-7781 vom 14.02.2021", 40)],
        [("Währung:", 40), ("EUR", 500)],
        [("Liefer- und Leistungsdatum:", 40), ("10.02.2021", 500)],
        [("Verkäufer", 40)],
        [("Nummer:", 40), ("7788", 500)],
        [("Name:", 40), ("Lieferant KG", 500)],
        [("USt.-Id.-Nr.:", 40), ("DE999888777", 500)],
        [("Käufer/Leistungsempfänger", 40)],
        [("Nummer:", 40), ("K-12", 500)],
        [("Name:", 40), ("Nord-Kunde GmbH", 500)],
        [("Lieferant KG", 300)],
        [("Umsatzsteuer (S)", 40), ("100,00", 600), ("19", 750), ("19,00", 850)],
        [("Umsatzsteuer (S)", 40), ("50,00", 600), ("7", 750), ("3,50", 850)],
        [("Positionssumme", 300), ("150,00", 850)],
        [("Gesamtbetrag der Zuschläge", 300), ("0,00", 850)],
        [("Rechnungssumme ohne USt.", 300), ("150,00", 850)],
        [("Steuerbetrag", 300), ("22,50", 850)],
        [("Bruttosumme", 300), ("172,50", 850)],
        [("Zahlbetrag", 300), ("172,50", 850)],
    ])
    raw = extract_fields(doc, contracts["invoice"])
    values, failures = coerce_row(contracts["invoice"], raw, day_first=True)
    assert failures == []
    assert values["invoice_number"] == "A-7781"
    assert values["invoice_date"] == date(2021, 2, 14)
    assert values["seller_name"] == "Lieferant KG"
    assert values["buyer_name"] == "Nord-Kunde GmbH"
    assert values["seller_tax_id"] == "DE999888777"
    assert values["subtotal_amount"] == Decimal("150.00")
    assert values["tax_amount"] == Decimal("22.50")
    assert values["total_amount"] == Decimal("172.50")
    assert values["currency"] == "EUR"


def test_french_invoice_title_date_and_ttc_total(contracts: dict[str, Contract]) -> None:
    doc = _doc([
        [("Exemple SARL", 40)],
        [("Facture n°99120 du 02 Juillet 2015", 40)],
        [("Date limite de paiement le 05 Juillet 2015", 40)],
        [("Total HT :", 500), ("10,00 €", 800)],
        [("TVA 20% :", 500), ("2,00 €", 800)],
        [("Total TTC :", 500), ("12,00 €", 800)],
    ])
    values, _ = coerce_row(contracts["invoice"], extract_fields(doc, contracts["invoice"]), day_first=True)
    assert values["invoice_number"] == "99120"
    assert values["invoice_date"] == date(2015, 7, 2)
    assert values["total_amount"] == Decimal("12.00")


def test_booking_id_below_its_header(contracts: dict[str, Contract]) -> None:
    doc = _doc([
        [("PAYMENT RECEIPT", 200)],
        [("Booking ID", 600), ("Payment Mode", 800)],
        [("QX1234", 600), ("Cash", 800)],
        [("Grand Total", 40), ("Rs 1500", 800)],
    ])
    assert extract_fields(doc, contracts["invoice"])["invoice_number"] == "QX1234"


def test_receipt_offset_top_phone_row_glued_date_and_payable(contracts: dict[str, Contract]) -> None:
    rows = [
        [("Z99", 600)],
        [("Owned By :", 20)],
        [("SUNRISE HOLDINGS SDN BHD", 20)],
        [("KEDAI RUNCIT MAJU", 100)],
        [("NO 5, JALAN BUNGA 2,", 100)],
        [("43200Cheras, Selangor", 100)],
        [("+603-1111 2222", 100)],
        [("Date", 20), (":09-06-201816:00:43", 300)],
        [("Total Sales (Excluding GST)", 20), ("6.00", 700)],
        [("Total 0% supplies:", 20), ("6.00", 700)],
        [("Total Payable:", 20), ("6.36", 700)],
    ]
    doc = _doc(rows)
    raw = extract_fields(doc, contracts["receipt"])
    values, failures = coerce_row(contracts["receipt"], raw, day_first=True)
    assert failures == []
    assert values["merchant_name"] == "KEDAI RUNCIT MAJU"
    assert values["merchant_address"] == "NO 5, JALAN BUNGA 2, 43200 Cheras, Selangor"
    assert values["receipt_date"] == date(2018, 6, 9)
    assert values["total_amount"] == Decimal("6.36")


def test_receipt_header_far_below_image_top(contracts: dict[str, Contract]) -> None:
    """The top part is measured on the text, not the page: a receipt photographed low still has a top."""
    rows = [[("BRIGHT LAMP TRADING", 100)], [("12, JALAN API 3,", 100)], [("81200 JOHOR BAHRU", 100)]]
    doc = _doc(rows + [[(f"ITEM {i}", 20), (f"{i}.00", 700)] for i in range(1, 12)])
    shifted = tuple(Line(text=ln.text, bbox=(ln.x0, ln.y0 + 900, ln.x1, ln.y1 + 900)) for ln in doc.pages[0].lines)
    doc = DocumentText(doc=doc.doc, pages=(PageText(page_no=1, width=1000, height=2000, lines=shifted,
                                                    path=PagePath.OCR, engine="test", model="test"),))
    raw = extract_fields(doc, contracts["receipt"])
    assert raw["merchant_name"] == "BRIGHT LAMP TRADING"
    assert raw["merchant_address"] == "12, JALAN API 3, 81200 JOHOR BAHRU"


def test_nda_placeholder_party_signature_date_and_terminate_term(contracts: dict[str, Contract]) -> None:
    doc = _doc([
        [("NONDISCLOSURE AGREEMENT", 200)],
        [("This Agreement is dated as of the latest date set forth on the signature page and is between [", 20)],
        [("] (\u201cRecipient\u201d) and Gamma Power Corporation, a cooperative (\u201cGPC\u201d).", 20)],
        [("Information disclosed on or after November 8, 2011 is covered.", 20)],
        [("Term. This Agreement shall terminate two years after the date of this Agreement.", 20)],
        [("This Agreement shall be governed by the laws of the State of Georgia.", 20)],
        [("IN WITNESS WHEREOF, the parties have signed this Agreement as of the date written below.", 20)],
        [("Date: 9/4/12", 20)],
    ])
    raw = extract_fields(doc, contracts["nda"], day_first=True)
    values, failures = coerce_row(contracts["nda"], raw, day_first=True)
    assert failures == []
    assert values["effective_date"] == date(2012, 9, 4)  # US text: numeric dates are month first
    assert values["term"] == "2 years"
    assert values["jurisdiction"] == "Georgia"
    assert values["parties"] == ["Gamma Power Corporation"]


@pytest.mark.parametrize(("sentences", "expected"), [
    (["For a period of one (1) year from the date hereof, neither party will solicit employees.",
      "This letter agreement will terminate two (2) years from the date hereof."], "2 years"),
    (["This Agreement shall terminate in its entirety one year after the date of this Agreement.",
      "Obligations survive any termination for a period of three (3) years from that date."], "1 year"),
    (["A standstill applies for a period of two (2) years from the date hereof.",
      "Except as otherwise provided, the obligations hereunder shall terminate five years from the date hereof."],
     "5 years"),
    (["Unless terminated earlier, the term of this Agreement shall be for three (3) years."], "3 years"),
    (["This Agreement shall continue in full force and effect for a period of eighteen months."], "18 months"),
    (["Confidentiality lasts for a period of twelve (12) months after disclosure."], "1 year"),
    (["Obligations survive any termination for a period of three (3) years.",  # a section number glued on
      "6.1This Agreement shall terminate in its entirety one year after the date of this Agreement."], "1 year"),
    (["The Executive shall not compete for a period of one (1) year after the termination of employment.",
      "The term of the employment agreement set forth in this Section 1 shall be for a period commencing at the "
      "Effective Date and continuing for three (3) years thereafter."], "3 years"),
])
def test_nda_term_is_the_agreements_own_not_another_period(contracts: dict[str, Contract], sentences: list[str],
                                                           expected: str) -> None:
    """An agreement states several periods (standstill, non-solicitation, survival); the term is the one
    whose subject is the agreement itself, wherever it comes; without one, the first stated period."""
    doc = _doc([[("NONDISCLOSURE AGREEMENT", 200)], *[[(s, 20)] for s in sentences]])
    values, _ = coerce_row(contracts["nda"], extract_fields(doc, contracts["nda"], day_first=True), day_first=True)
    assert values["term"] == expected


def test_label_beside_a_section_label_still_counts(contracts: dict[str, Contract]) -> None:
    doc = _doc([
        [("Bill To:", 40), ("Invoice Date: 2020-01-15", 600)],
        [("Example Buyer Ltd", 40), ("Invoice No: 5521", 600)],
        [("Total", 40), ("$10.00", 800)],
    ])
    values, _ = coerce_row(contracts["invoice"], extract_fields(doc, contracts["invoice"]), day_first=True)
    assert values["invoice_date"] == date(2020, 1, 15)
    assert values["invoice_number"] == "5521"
    assert values["buyer_name"] == "Example Buyer Ltd"


def test_title_number_is_not_another_documents_number(contracts: dict[str, Contract]) -> None:
    doc = _doc([
        [("INVOICE   Customer No. 77120", 40)],
        [("Invoice Number:", 40), ("INV-501", 600)],
    ])
    assert extract_fields(doc, contracts["invoice"])["invoice_number"] == "INV-501"


def test_seller_name_sharing_its_row_with_the_title_and_tax_rate(contracts: dict[str, Contract]) -> None:
    doc = _doc([
        [("Harbourline Studio Ltd", 100), ("INVOICE", 900)],
        [("167 High Street", 100)],
        [("London EC1A 1BB", 100), ("Invoice Number:", 600), ("INV-77", 850)],
        [("Bill To", 100)],
        [("Example Buyer LLP", 100)],
        [("19 Market Road", 100)],
        [("Subtotal", 700), ("100.00", 900)],
        [("Tax (20%)", 700), ("20.00", 900)],
        [("Total", 700), ("GBP 120.00", 880)],
    ])
    values, _ = coerce_row(contracts["invoice"], extract_fields(doc, contracts["invoice"]), day_first=True)
    assert values["seller_name"] == "Harbourline Studio Ltd"
    assert values["tax_amount"] == Decimal("20.00")
    assert values["total_amount"] == Decimal("120.00")


def test_a_rendered_e_invoice_s_key_value_blocks_are_read_as_such(contracts: dict[str, Contract]) -> None:
    """The party's name below its label after its number ("Nummer" and ": 549910" split by the text layer),
    not the key; a label glued into a compound ("Verkäufer-IBAN") is no label; a rate before a tax label
    ("19 % VAT") makes an item row, not the tax; the German "Steuerbetrag" (first of its list) outranks the
    generic English "VAT" (third of its)."""
    doc = _doc([
        [("Handelsrechnung Nr. 471102 vom 05.03.2018", 40)],
        [("Verkäufer-IBAN", 40), (": DE5467894567876500", 300)],
        [("Verkäufer:", 40)],
        [("Nummer", 40), (": 549910", 200)],
        [("Globale Nummer: 4000001123452 (GTIN)", 40)],
        [("Lieferant GmbH", 40)],
        [("Käufer:", 40)],
        [("Nummer", 40), (": GE2020211", 200)],
        [("Kunden AG Mitte", 40)],
        [("Trennblätter", 40), ("20 Stk", 400), ("19 % VAT (S)", 500), ("198,00", 800)],
        [("VAT (S)", 40), ("275,00", 400), ("7", 600), ("19,25", 800)],
        [("VAT (S)", 40), ("198,00", 400), ("19", 600), ("37,62", 800)],
        [("Steuerbetrag", 500), ("56,87", 800)],
        [("Bruttosumme", 500), ("529,87", 800)],
    ])
    values, _ = coerce_row(contracts["invoice"], extract_fields(doc, contracts["invoice"]), day_first=True)
    assert values["seller_name"] == "Lieferant GmbH"
    assert values["buyer_name"] == "Kunden AG Mitte"
    assert values["tax_amount"] == Decimal("56.87")
    assert values["total_amount"] == Decimal("529.87")
    english = _doc([[("INVOICE 12", 40)], [("Paper A4", 40), ("20 pcs", 400), ("19 % VAT", 500), ("198.00", 800)],
                    [("VAT", 500), ("37.62", 800)], [("Total", 500), ("235.62", 800)]])
    values, _ = coerce_row(contracts["invoice"], extract_fields(english, contracts["invoice"]), day_first=True)
    assert values["tax_amount"] == Decimal("37.62")  # the item row's "19 % VAT" is its rate


def test_a_payment_terms_table_is_no_item_table_and_gives_the_due_date(contracts: dict[str, Contract]) -> None:
    """"Beschreibung | Fälligkeit | Teilzahlung" names a description and an amount as an item table's header
    does; its due-date label makes it a payment-terms table, so its labels are read as labels (the date under
    "Fälligkeit" is the due date) and it gives no line items."""
    doc = _doc([
        [("Rechnung Nr. 471102 vom 05.03.2018", 40)],
        [("Zahlungsbedingungen:", 40)],
        [("Beschreibung", 40), ("Fälligkeit", 400), ("Teilzahlung", 700)],
        [("05.03.2019", 400)],
        [("Art (Kategorie)", 40), ("Steuerbasisbetrag", 300), ("USt. %", 600), ("USt.-Betrag", 800)],
        [("VAT (S)", 40), ("275,00", 300), ("7", 600), ("19,25", 800)],
        [("VAT (S)", 40), ("198,00", 300), ("19", 600), ("37,62", 800)],
        [("Positionssumme", 300), ("473,00", 850)],
    ])
    invoice = contracts["invoice"]
    raw = extract_fields(doc, invoice)
    values, failures = coerce_row(invoice, raw, day_first=True)
    assert failures == []
    assert values["due_date"] == date(2019, 3, 5)
    assert table_lines(doc, invoice, values) == []
