from datetime import date
from decimal import Decimal

import pytest

from ocrflow.contracts import Contract, FieldSpec
from ocrflow.pipeline.coerce import (
    CoercionError,
    coerce_row,
    normalize_currency,
    normalize_tax_id,
    parse_date,
    parse_money,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("1,234.50", "1234.50"), ("RM8.60", "8.60"), ("¥1,234.50", "1234.50"), ("1.234,50 €", "1234.50"),
    ("$4.11", "4.11"), ("-7.67", "-7.67"), ("(7.67)", "-7.67"), ("1 234,50", "1234.50"),
    ("EUR 56,02", "56.02"), ("Rs. 1,939", "1939.00"), ("12,5", "12.50"), ("7.67-", "-7.67"),
])
def test_parse_money(text: str, expected: str) -> None:
    assert parse_money(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "abc", "12/03/2018", "RM"])
def test_parse_money_rejects(text: str) -> None:
    with pytest.raises(CoercionError):
        parse_money(text)


@pytest.mark.parametrize(("text", "day_first", "expected"), [
    ("25/12/2018", True, date(2018, 12, 25)),
    ("03/04/2018", True, date(2018, 4, 3)),
    ("03/04/2018", False, date(2018, 3, 4)),
    ("12/25/2018", True, date(2018, 12, 25)),
    ("2018-12-25", False, date(2018, 12, 25)),
    ("21.09.2017", True, date(2017, 9, 21)),
    ("04 JUN 2018", True, date(2018, 6, 4)),
    ("August 3, 2014", True, date(2014, 8, 3)),
    ("3. März 2018", True, date(2018, 3, 3)),
    ("19 april 2014", True, date(2014, 4, 19)),
    ("2024年3月5日", True, date(2024, 3, 5)),
    ("25/12/18", True, date(2018, 12, 25)),
    ("17-Mar-2017", True, date(2017, 3, 17)),
    ("09-06-201816:00:43", True, date(2018, 6, 9)),
    ("09/05/20181:12:43 PM", True, date(2018, 5, 9)),
])
def test_parse_date(text: str, day_first: bool, expected: date) -> None:
    assert parse_date(text, day_first=day_first) == expected


@pytest.mark.parametrize("text", ["31/02/2018", "tomorrow", "12.50"])
def test_parse_date_rejects(text: str) -> None:
    with pytest.raises(CoercionError):
        parse_date(text, day_first=True)


@pytest.mark.parametrize(("text", "code"), [
    ("$", "USD"), ("€", "EUR"), ("£", "GBP"), ("₹", "INR"), ("Rs", "INR"), ("INR", "INR"),
    ("RM", "MYR"), ("¥", "CNY"), ("元", "CNY"), ("RMB", "CNY"), ("usd", "USD"), ("EUR", "EUR"),
])
def test_normalize_currency(text: str, code: str) -> None:
    assert normalize_currency(text) == code


def test_normalize_currency_rejects_unknown() -> None:
    with pytest.raises(CoercionError):
        normalize_currency("XYZ")


def test_normalize_tax_id() -> None:
    assert normalize_tax_id(" de 123 456 789 ") == "DE123456789"


def _contract() -> Contract:
    specs = [("number", "identifier"), ("issued", "date"), ("total", "money"), ("cur", "currency"),
             ("vat", "tax_id"), ("name", "text"), ("people", "list"), ("count", "integer"),
             ("rate", "number")]
    fields = tuple(FieldSpec(name=n, kind=k, logical_type="string", physical_type="", required=False)
                   for n, k in specs)
    return Contract(name="t", version="1.0.0", table="t", description="", fields=fields, keywords={},
                    business_key=(), path="<memory>")


def test_coerce_row_types_every_kind() -> None:
    raw = {"number": " INV-7 ", "issued": "04 JUN 2018", "total": "RM 1,234.5", "cur": "€",
           "vat": "de 123", "name": "  Acme   GmbH ", "people": ["A Inc.", "B LLC", "A Inc."], "count": "3",
           "rate": "19,5"}
    values, failures = coerce_row(_contract(), raw, day_first=True)
    assert failures == []
    assert values == {"number": "INV-7", "issued": date(2018, 6, 4), "total": Decimal("1234.50"),
                      "cur": "EUR", "vat": "DE123", "name": "Acme GmbH", "people": ["A Inc.", "B LLC"],
                      "count": 3, "rate": 19.5}
    assert values["total"].as_tuple().exponent == -2


def test_coerce_row_records_failures_and_keeps_none() -> None:
    raw = {"issued": "not a date", "total": "lots", "cur": "XYZ", "name": None}
    values, failures = coerce_row(_contract(), raw, day_first=True)
    assert values["issued"] is None and values["total"] is None and values["cur"] is None
    assert values["name"] is None and values["number"] is None
    assert {f.field for f in failures} == {"issued", "total", "cur"}
    bad = next(f for f in failures if f.field == "total")
    assert bad.check == "coerce" and bad.value == "lots" and "money" in bad.message
