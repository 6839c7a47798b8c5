from datetime import date
from decimal import Decimal

import pytest

from ocrflow.coerce import coerce_row
from ocrflow.contracts import Contract, load_contracts
from ocrflow.extract import extract_fields
from ocrflow.models import DocumentRef, DocumentText, Line, PagePath, PageText


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
