"""Line-item checks (ocrflow/validate/lines.py), pinned where mutation testing found them unpinned: each
line's required columns and quantity x price (with price base quantity, allowances, charges and the
half-cent-per-unit rounding allowance), and the sum of the lines against the subtotal (BR-CO-10/13)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from ocrflow.contracts import Contract, load_contracts
from ocrflow.core.models import DocumentRef, Failure, RowOutcome
from ocrflow.validate.lines import line_failures

SUM = "expect_lines_to_sum_to_subtotal"
ARITH = "expect_line_quantity_times_price_to_equal_net"
NOT_NULL = "expect_line_column_not_null"


@pytest.fixture(scope="module")
def invoice() -> Contract:
    return load_contracts()["invoice"]


def _outcome(lines: list[dict[str, Any]], **values: Any) -> RowOutcome:
    doc = DocumentRef(path="/in/a.pdf", sha256="a" * 64, mime="application/pdf", size_bytes=1)
    return RowOutcome(doc=doc, contract="invoice", contract_version="1.0.0", values=values, raw={}, lineage={},
                      lines=lines)


def _line(no: int, qty: Any = "2", price: Any = "10.00", net: Any = "20.00", **extra: Any) -> dict[str, Any]:
    return {"line_no": no, "description": f"item {no}", "quantity": qty, "unit_price": price,
            "line_net_amount": net, **extra}


def _checks(failures: list[Failure]) -> list[tuple[str, str]]:
    return [(f.field, f.check) for f in failures]


def test_no_lines_no_checks(invoice: Contract) -> None:
    assert line_failures(invoice, _outcome([], subtotal_amount=Decimal("5"))) == []
    no_lines = dataclasses.replace(invoice, lines=())
    assert line_failures(no_lines, _outcome([_line(1, net="99")], subtotal_amount=Decimal("5"))) == []


def test_a_missing_required_column_names_line_and_column(invoice: Contract) -> None:
    lines = [_line(1, description=""), _line(2, description=None), _line(3, unit="")]
    failures = line_failures(invoice, _outcome(lines))
    assert failures == [
        Failure("line_items[1].description", NOT_NULL, None, "line 1: description is missing"),
        Failure("line_items[2].description", NOT_NULL, None, "line 2: description is missing"),
    ]  # unit is optional: an empty one is fine


def test_quantity_times_price_within_the_rounding_allowance(invoice: Contract) -> None:
    # tolerance = 0.01 + 0.005 x |quantity| = 0.02 for two units: 20.02 passes, 20.03 fails
    assert line_failures(invoice, _outcome([_line(1, net="20.02"), _line(2, net="19.98")])) == []
    failures = line_failures(invoice, _outcome([_line(7, net="20.03")]))
    assert failures == [Failure(
        "line_items[7].line_net_amount", ARITH,
        {"quantity": "2", "unit_price": "10.00", "line_net_amount": "20.03"},
        "line 7: quantity x unit price = 20.00, but the line amount is 20.03 (tolerance 0.02)")]


def test_a_negative_quantity_gets_the_same_allowance(invoice: Contract) -> None:
    assert line_failures(invoice, _outcome([_line(1, qty="-2", net="-20.02")])) == []
    assert _checks(line_failures(invoice, _outcome([_line(1, qty="-2", net="-20.03")]))) == [
        ("line_items[1].line_net_amount", ARITH)]


def test_price_base_quantity_allowances_and_charges(invoice: Contract) -> None:
    per_100 = _line(1, qty="50", price="2.00", net="1.00", raw={"price_base_quantity": "100"})
    with_both = _line(2, qty="1", price="10.00", net="8.50", raw={"allowance_amount": "2", "charge_amount": "0.50"})
    assert line_failures(invoice, _outcome([per_100, with_both])) == []
    # 50 units per 100: the allowance is 0.01 + 0.005 x 50 / 100 = 0.0125
    off = _line(1, qty="50", price="2.00", net="1.02", raw={"price_base_quantity": "100"})
    assert [f.message for f in line_failures(invoice, _outcome([off]))] == [
        "line 1: quantity x unit price = 1.00, but the line amount is 1.02 (tolerance 0.01)"]
    zero_base = _line(1, qty="2", price="10.00", net="20.00", raw={"price_base_quantity": "0"})
    assert line_failures(invoice, _outcome([zero_base])) == []  # a base of 0 reads as 1, never a division by 0
    assert _checks(line_failures(invoice, _outcome([_line(1, net="10.00", raw={"allowance_amount": "-10"})]))) == [
        ("line_items[1].line_net_amount", ARITH)]


@pytest.mark.parametrize("missing", ["qty", "price", "net"])
def test_no_arithmetic_without_all_three_numbers(invoice: Contract, missing: str) -> None:
    values: dict[str, Any] = {"qty": "2", "price": "10.00", "net": "99.00", missing: None}
    assert _checks(line_failures(invoice, _outcome([_line(1, **values)]))) == (
        [("line_items[1].line_net_amount", NOT_NULL)] if missing == "net" else [])


@pytest.mark.parametrize("junk", [True, "abc"])
def test_a_value_that_is_no_number_skips_the_arithmetic(invoice: Contract, junk: Any) -> None:
    assert line_failures(invoice, _outcome([_line(1, qty=junk, net="99.00")])) == []


def test_the_lines_sum_to_the_subtotal_within_two_cents(invoice: Contract) -> None:
    lines = [_line(1), _line(2, qty="1", price="10.00", net="10.00")]
    assert line_failures(invoice, _outcome(lines, subtotal_amount=Decimal("30.02"))) == []
    assert line_failures(invoice, _outcome(lines, subtotal_amount=Decimal("29.98"))) == []
    failures = line_failures(invoice, _outcome(lines, subtotal_amount=Decimal("30.03")))
    assert failures == [Failure(
        "line_items", SUM, {"lines": "30.00", "subtotal_amount": "30.03"},
        "the 2 line amounts sum to 30.00 = 30.00, but the subtotal is 30.03 (BR-CO-10, tolerance 0.02)")]


def test_document_allowances_and_charges_enter_the_sum(invoice: Contract) -> None:
    lines = [_line(1), _line(2, qty="1", price="10.00", net="10.00")]
    ok = _outcome(lines, subtotal_amount=Decimal("28.50"), allowance_total_amount=Decimal("2"),
                  charge_total_amount=Decimal("0.50"))
    assert line_failures(invoice, ok) == []
    bad = _outcome(lines, subtotal_amount=Decimal("30.00"), allowance_total_amount=Decimal("2"),
                   charge_total_amount=Decimal("0.50"))
    assert [f.message for f in line_failures(invoice, bad)] == [
        "the 2 line amounts sum to 30.00 - allowances 2 + charges 0.50 = 28.50, but the subtotal is 30.00 "
        "(BR-CO-10, tolerance 0.02)"]
    only_charge = _outcome(lines, subtotal_amount=Decimal("30.00"), charge_total_amount=Decimal("1"))
    assert next(f.message for f in line_failures(invoice, only_charge)).startswith(
        "the 2 line amounts sum to 30.00 - allowances 0 + charges 1 = 31.00")


def test_no_sum_check_without_a_subtotal_or_with_a_line_amount_missing(invoice: Contract) -> None:
    assert line_failures(invoice, _outcome([_line(1)])) == []
    gap = _outcome([_line(1), _line(2, qty=None, net=None)], subtotal_amount=Decimal("99"))
    assert _checks(line_failures(invoice, gap)) == [("line_items[2].line_net_amount", NOT_NULL)]


def test_a_contract_whose_lines_have_an_amount_column(invoice: Contract) -> None:
    cols = tuple(dataclasses.replace(f, name="amount") if f.name == "line_net_amount" else f for f in invoice.lines)
    contract = dataclasses.replace(invoice, lines=cols)
    line = {"line_no": 1, "description": "x", "quantity": "2", "unit_price": "10.00", "amount": "25.00"}
    assert _checks(line_failures(contract, _outcome([line], subtotal_amount=Decimal("20.00")))) == [
        ("line_items[1].amount", ARITH), ("line_items", SUM)]
