"""Coercion (ocrflow/pipeline/coerce.py), pinned where mutation testing found it unpinned: credit/debit and sign
spellings of amounts, numbers and whole numbers from every Python type, list splitting, the empty-value
errors and their messages, two-digit years and the day/month order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from ocrflow.contracts import FieldSpec, load_contracts
from ocrflow.pipeline.coerce import (
    CoercionError,
    clean_text,
    coerce_row,
    coerce_value,
    normalize_currency,
    normalize_tax_id,
    parse_date,
    parse_money,
)


def _spec(kind: str) -> FieldSpec:
    return FieldSpec(name="f", kind=kind, logical_type="", physical_type="", required=False)


def _read(kind: str, value: Any, *, day_first: bool = True) -> Any:
    return coerce_value(_spec(kind), value, day_first=day_first)


@pytest.mark.parametrize(("raw", "amount"), [
    (3, "3.00"), (2.675, "2.68"), (Decimal("1.005"), "1.01"),
    ("12.55CR", "12.55"), ("12.55 cr", "12.55"), ("7.25 DR", "7.25"), ("7.25dr", "7.25"),
    ("5.00-", "-5.00"), ("\u22123.20", "-3.20"), ("-3.20", "-3.20"), ("+4.10", "4.10"), (" + 4.10", "4.10"),
    ("1 234,50", "1234.50"), ("1'234.50", "1234.50"), ("1,234", "1234.00"), ("1,23", "1.23"), ("0,125", "0.13"),
    ("1,234,567", "1234567.00"), ("1.234", "1234.00"), ("(7.67)", "-7.67"),
])
def test_amount_spellings(raw: Any, amount: str) -> None:
    assert parse_money(raw) == Decimal(amount)


@pytest.mark.parametrize(("raw", "message"), [
    (True, "True is not an amount"), ("garbage", "'garbage' is not an amount"),
    (Decimal("Infinity"), "is not a finite amount"),
])
def test_what_is_no_amount_says_so(raw: Any, message: str) -> None:
    with pytest.raises(CoercionError, match=message.replace("(", r"\(")):
        parse_money(raw)


@pytest.mark.parametrize(("raw", "number"), [
    (7, 7.0), (2.5, 2.5), ("+3.5", 3.5), ("-3.5", -3.5), ("-1,234.5", -1234.5), (" 12 ", 12.0), ("0,5", 0.5),
])
def test_numbers(raw: Any, number: float) -> None:
    got = _read("number", raw)
    assert got == number and type(got) is float


@pytest.mark.parametrize(("raw", "message"), [
    (True, "True is not a number"), ("abc", "'abc' is not a number"), ("-x", "'-x' is not a number"),
    ("--3", "'--3' is not a number"), (float("inf"), "inf is not a finite number"),
    (10**400, "is too large a number"),
])
def test_what_is_no_number_says_so(raw: Any, message: str) -> None:
    with pytest.raises(CoercionError, match=message):
        _read("number", raw)


@pytest.mark.parametrize(("raw", "whole"), [(5, 5), (3.0, 3), (1e20, 10**20), ("1,234", 1234), ("7", 7)])
def test_whole_numbers(raw: Any, whole: int) -> None:
    got = _read("integer", raw)
    assert got == whole and type(got) is int


@pytest.mark.parametrize(("raw", "message"), [
    (True, "True is not an integer"), (2.5, "2.5 is not a whole number"), ("7.50", "'7.50' is not a whole number"),
    (float("inf"), "inf is not a whole number"), (float("nan"), "nan is not a whole number"),
])
def test_what_is_no_whole_number_says_so(raw: Any, message: str) -> None:
    with pytest.raises(CoercionError, match=message):
        _read("integer", raw)


def test_lists_split_on_semicolons_and_lines_without_repeats() -> None:
    assert _read("list", "a; b\nc;a") == ["a", "b", "c"]
    assert _read("list", "ab") == ["ab"]
    assert _read("list", ["a", None, " b   c ", "a", ""]) == ["a", "b c"]
    assert _read("list", ("x", None, "y")) == ["x", "y"]


def test_text_identifiers_and_tax_ids() -> None:
    assert clean_text("  a \n b ;") == "a b"
    assert _read("identifier", " A-1   2 .") == "A-1 2"
    assert _read("tax_id", "de 123 456.") == "DE123456"
    assert _read("weird-kind", "  x  y ") == "x y"  # an unknown kind reads as text
    for kind, raw, message in (("text", " ;: ", "' ;: ' is empty text"),
                               ("identifier", " . ", "' . ' is an empty identifier"),
                               ("tax_id", ".,", "'.,' is not a tax id")):
        with pytest.raises(CoercionError, match=message):
            _read(kind, raw)
    with pytest.raises(CoercionError):
        normalize_tax_id(" ")


def test_currencies() -> None:
    assert [normalize_currency(s) for s in ("eur", " usd ", "€", "us $", "人民币", "Rs.")] == [
        "EUR", "USD", "EUR", "USD", "CNY", "INR"]
    assert _read("currency", "rm") == "MYR"
    with pytest.raises(CoercionError, match="'xyz' is not a known currency"):
        normalize_currency("xyz")


def test_dates_two_digit_years_and_day_month_order() -> None:
    assert _read("date", "03/04/2024", day_first=True) == dt.date(2024, 4, 3)
    assert _read("date", "03/04/2024", day_first=False) == dt.date(2024, 3, 4)
    assert _read("date", "13/05/2024", day_first=False) == dt.date(2024, 5, 13)  # no month 13: swapped
    assert _read("date", "05/13/2024", day_first=True) == dt.date(2024, 5, 13)
    assert parse_date("01.02.69", day_first=True) == dt.date(2069, 2, 1)
    assert parse_date("01.02.70", day_first=True) == dt.date(1970, 2, 1)
    assert parse_date(dt.date(2020, 1, 2), day_first=True) == dt.date(2020, 1, 2)
    with pytest.raises(CoercionError, match="'31/02/2024' is not a date"):
        parse_date("31/02/2024", day_first=True)


def test_a_row_records_unreadable_values_as_failures() -> None:
    receipt = load_contracts()["receipt"]
    money = next(f for f in receipt.fields if f.kind == "money")
    values, failures = coerce_row(receipt, {money.name: "lots"}, day_first=True)
    assert values[money.name] is None
    assert [(f.field, f.check, f.value) for f in failures] == [(money.name, "coerce", "lots")]
    assert failures[0].message == f"cannot read {money.name} as money: 'lots' is not an amount"
    blank, none = coerce_row(receipt, {money.name: "  "}, day_first=True)
    assert blank[money.name] is None and none == []
