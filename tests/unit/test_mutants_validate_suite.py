"""The expectation suite derived from a contract (ocrflow/validate/suite.py) and the DataFrame it checks
(ocrflow/validate/frame.py), pinned where mutation testing found them unpinned: which expectation each
field, key and rule gets, with its bounds and message, and how each Python value is framed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from decimal import Decimal
from typing import Any

import pytest

from ocrflow.contracts import Contract, FieldSpec, Rule, load_contracts
from ocrflow.core.models import Failure
from ocrflow.validate import build_suite
from ocrflow.validate.frame import COERCE_CHECK, rows_frame
from ocrflow.validate.suite import EARLIEST_DATE, META_COLUMNS, META_FIELD, META_MESSAGE, rule_column

TODAY = dt.date(2025, 6, 1)


def _f(name: str, kind: str, *, physical: str = "", required: bool = False, **kw: Any) -> FieldSpec:
    return FieldSpec(name=name, kind=kind, logical_type="", physical_type=physical, required=required, **kw)


def _contract(fields: list[FieldSpec], *, rules: tuple[Rule, ...] = (), key: tuple[str, ...] = ()) -> Contract:
    base = load_contracts()["receipt"]
    return dataclasses.replace(base, name="exp", version="3.1.4", fields=tuple(fields), rules=rules,
                               business_key=key)


def _by_field(contract: Contract, today: dt.date | None = TODAY) -> dict[str, list[tuple[str, dict[str, Any], str]]]:
    out: dict[str, list[tuple[str, dict[str, Any], str]]] = {}
    suite = build_suite(contract, today=today) if today else build_suite(contract)
    for e in suite.expectations:
        kwargs = {k: v for k, v in e.configuration.kwargs.items() if k not in ("batch_id",)}
        out.setdefault(e.meta[META_FIELD], []).append((e.expectation_type, kwargs, e.meta[META_MESSAGE]))
        assert e.notes == f"{e.expectation_type}: {e.meta[META_MESSAGE]}"
        assert e.meta[META_COLUMNS] == e.meta[META_FIELD].split(",")
    return out


# ------------------------------------------------------------------------------------------------ suite


def test_suite_name_and_meta() -> None:
    suite = build_suite(_contract([_f("a", "text")]), today=TODAY)
    assert suite.name == "exp-3.1.4"
    assert suite.meta["ocrflow_contract"] == "exp" and suite.meta["ocrflow_version"] == "3.1.4"
    assert suite.expectations == []  # an optional text field without constraints checks nothing


def test_field_constraints_become_expectations_with_messages() -> None:
    c = _contract([
        _f("code", "identifier", required=True, pattern="^[A-Z]+$", allowed=("AB", "CD"), unique=True),
        _f("tags", "list", required=True, pattern="^x$"),
        _f("when", "date", pattern="^2"),
    ])
    got = _by_field(c)
    assert got["code"] == [
        ("expect_column_values_to_not_be_null", {"column": "code"}, "code must not be null"),
        ("expect_column_values_to_match_regex", {"column": "code", "regex": "^[A-Z]+$"},
         "code must match the pattern ^[A-Z]+$"),
        ("expect_column_values_to_be_in_set", {"column": "code", "value_set": ["AB", "CD"]},
         "code must be one of AB, CD"),
        ("expect_column_values_to_be_unique", {"column": "code"}, "code must be unique in the batch"),
    ]
    assert got["tags"] == [  # no regex on a list (nor on dates and numbers)
        ("expect_column_values_to_not_be_null", {"column": "tags"}, "tags must not be null"),
        ("expect_column_value_lengths_to_be_between", {"column": "tags", "min_value": 1}, "tags must not be empty"),
    ]
    assert [t for t, _, _ in got["when"]] == ["expect_column_values_to_be_between"]


def test_a_date_lies_between_1990_and_a_year_from_today() -> None:
    got = _by_field(_contract([_f("when", "date")]))["when"]
    assert EARLIEST_DATE == dt.date(1990, 1, 1)
    assert got == [("expect_column_values_to_be_between",
                    {"column": "when", "min_value": dt.datetime(1990, 1, 1), "max_value": dt.datetime(2026, 6, 1)},
                    "when must be a date between 1990-01-01 and 2026-06-01")]
    leap = _by_field(_contract([_f("when", "date")]), today=dt.date(2024, 2, 29))["when"][0][1]
    assert leap["max_value"] == dt.datetime(2025, 2, 28)
    today = _by_field(_contract([_f("when", "date")]), today=None)["when"][0][1]
    d = dt.date.today()
    assert today["max_value"].date() in (d.replace(year=d.year + 1) if (d.month, d.day) != (2, 29)
                                         else d.replace(year=d.year + 1, day=28),)


def test_money_is_bounded_by_its_decimal_precision_or_16_digits() -> None:
    got = _by_field(_contract([_f("m", "money", physical="decimal(10, 2)"), _f("v", "money", physical="VARCHAR"),
                               _f("bad", "money", physical="DECIMAL(x,2)"), _f("p", "money", physical="DECIMAL(12)"),
                               _f("low", "money", physical="DECIMAL(18,2)", minimum=0.0)]))
    assert got["m"] == [("expect_column_values_to_be_between", {"column": "m", "min_value": -1e8, "max_value": 1e8},
                         "m must be a finite amount between -1e+08 and 1e+08")]
    assert got["v"][0][1] == {"column": "v", "min_value": -1e16, "max_value": 1e16}
    assert got["bad"][0][1]["max_value"] == 1e16 and got["p"][0][1]["max_value"] == 1e16
    assert got["low"][0][1] == {"column": "low", "min_value": 0.0, "max_value": 1e16}
    assert got["low"][0][2] == "low must be a finite amount between 0 and 1e+16"


def test_numbers_are_bounded_only_when_the_contract_says_so() -> None:
    got = _by_field(_contract([_f("n", "number"), _f("i", "integer", minimum=1.0), _f("x", "number", maximum=9.5)]))
    assert "n" not in got
    assert got["i"] == [("expect_column_values_to_be_between", {"column": "i", "min_value": 1.0, "max_value": 1e16},
                         "i must be between 1 and 1e+16")]
    assert got["x"][0][1] == {"column": "x", "min_value": -1e16, "max_value": 9.5}
    assert got["x"][0][2] == "x must be between -1e+16 and 9.5"


def test_business_keys_are_left_to_the_store() -> None:
    """The first copy of a key loads and the others are quarantined by the store: GX does not fail every copy."""
    assert _by_field(_contract([_f("a", "text"), _f("b", "text")], key=("a", "b"))) == {}


def test_rules_become_pair_and_helper_column_expectations() -> None:
    rules = (Rule("not_before", ("due",), "issued"), Rule("sum_equals", ("net", "vat"), "gross", tolerance=0.02))
    c = _contract([_f("issued", "date"), _f("due", "date"), _f("net", "money"), _f("vat", "money"),
                   _f("gross", "money")], rules=rules)
    got = _by_field(c)
    assert got["due,issued"] == [("expect_column_pair_values_a_to_be_greater_than_b",
                                  {"column_A": "due", "column_B": "issued", "or_equal": True,
                                   "ignore_row_if": "either_value_is_missing"}, "due must not be before issued")]
    assert got["net,vat,gross"] == [("expect_column_values_to_be_between",
                                     {"column": "_rule1_sum_equals", "min_value": -0.02, "max_value": 0.02},
                                     "net + vat must equal gross (within 0.02)")]
    assert rule_column(rules[0], 0) == "_rule0_not_before"
    with pytest.raises(ValueError, match="unknown rule kind 'ratio'"):
        build_suite(_contract([_f("a", "money")], rules=(Rule("ratio", ("a",), "a"),)), today=TODAY)


# ------------------------------------------------------------------------------------------------ frame


def test_values_are_framed_by_kind() -> None:
    c = _contract([_f("when", "date"), _f("m", "money"), _f("n", "integer"), _f("tags", "list"), _f("t", "text")])
    rows = [
        {"k": 1, "when": dt.date(2024, 5, 6), "m": Decimal("1.50"), "n": 3, "tags": ["a", "b"], "t": 7},
        {"k": 2, "when": dt.datetime(2024, 5, 7, 13, 30), "m": Decimal("NaN"), "n": 2.5, "tags": [], "t": None},
        {"k": 3, "when": "2024-05-08", "m": None, "n": None, "tags": ("x",), "t": "s"},
    ]
    frame, failures = rows_frame(c, rows, "k")
    assert failures == {}
    assert list(frame["k"]) == ["1", "2", "3"]
    assert list(frame["when"]) == [dt.datetime(2024, 5, 6), dt.datetime(2024, 5, 7), dt.datetime(2024, 5, 8)]
    assert str(frame["when"].dtype).startswith("datetime64")
    assert frame["m"].dtype == "float64" and frame["m"][0] == 1.5 and frame["m"][1] == math.inf
    assert math.isnan(frame["m"][2])
    assert frame["n"].dtype == "float64" and list(frame["n"][:2]) == [3.0, 2.5]
    assert list(frame["tags"]) == ["a | b", "", "x"] and frame["tags"].dtype == object
    assert list(frame["t"]) == ["7", None, "s"]


def test_values_of_the_wrong_python_type_become_failures_keyed_by_row() -> None:
    c = _contract([_f("when", "date"), _f("m", "money"), _f("tags", "list")])
    rows = [{"k": "r1", "when": "06/05/2024", "m": True, "tags": "a; b"},
            {"k": "r2", "when": 20240506, "m": "1.50", "tags": ["ok"]}]
    frame, failures = rows_frame(c, rows, "k")
    assert failures == {
        "r1": [Failure("when", COERCE_CHECK, "06/05/2024", "when must be a date, got '06/05/2024'"),
               Failure("m", COERCE_CHECK, True, "m must be a number, got True"),
               Failure("tags", COERCE_CHECK, "a; b", "tags must be a list of strings, got str")],
        "r2": [Failure("when", COERCE_CHECK, 20240506, "when must be a date, got 20240506"),
               Failure("m", COERCE_CHECK, "1.50", "m must be a number, got '1.50'")],
    }
    assert frame["when"].isna().all() and frame["m"].isna().all()
    assert COERCE_CHECK == "ocrflow_coerced_type"


def test_a_sum_rule_gets_its_gap_column_in_exact_cents() -> None:
    rule = Rule("sum_equals", ("net", "vat"), "gross", tolerance=0.01)
    c = _contract([_f("net", "money"), _f("vat", "money"), _f("gross", "money")], rules=(Rule("not_before", (
        "net",), "gross"), rule))
    rows = [{"k": 1, "net": Decimal("0.10"), "vat": Decimal("0.20"), "gross": Decimal("0.30")},
            {"k": 2, "net": Decimal("10.00"), "vat": Decimal("1.90"), "gross": Decimal("12.00")},
            {"k": 3, "net": None, "vat": Decimal("1"), "gross": Decimal("1")},
            {"k": 4, "net": Decimal("Infinity"), "vat": Decimal("1"), "gross": Decimal("1")},
            {"k": 5, "net": "x", "vat": Decimal("1"), "gross": Decimal("1")},
            {"k": 6, "vat": Decimal("1"), "gross": Decimal("1")}]
    frame, _ = rows_frame(c, rows, "k")
    assert "_rule0_not_before" not in frame.columns
    gap = list(frame["_rule1_sum_equals"])
    assert gap[0] == 0.0  # in Decimal: 0.1 + 0.2 - 0.3 is exactly 0 (in float it is not)
    assert gap[1] == pytest.approx(-0.10) and gap[3] == math.inf
    assert math.isnan(gap[2]) and math.isnan(gap[4]) and math.isnan(gap[5])


def test_columns_keep_their_dtype_when_every_value_is_missing() -> None:
    """A batch where nobody has an amount still gives GX float columns (not object ones) to range-check."""
    rule = Rule("sum_equals", ("net",), "gross", tolerance=0.01)
    c = _contract([_f("net", "money"), _f("gross", "money"), _f("n", "integer")], rules=(rule,))
    frame, _ = rows_frame(c, [{"k": 1, "net": None, "gross": None, "n": None}], "k")
    assert frame["net"].dtype == "float64" and frame["n"].dtype == "float64"
    assert frame["_rule0_sum_equals"].dtype == "float64"


def test_a_not_a_number_gap_is_infinite_so_the_range_check_fails_it() -> None:
    rule = Rule("sum_equals", ("net",), "gross", tolerance=0.01)
    c = _contract([_f("net", "money"), _f("gross", "money")], rules=(rule,))
    frame, _ = rows_frame(c, [{"k": 1, "net": Decimal("NaN"), "gross": Decimal("1")}], "k")
    assert frame["_rule0_sum_equals"][0] == math.inf
