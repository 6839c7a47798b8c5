"""Property tests (hypothesis) of the coercion parsers: no crash on any input, the declared type or the
documented error out, and round trips of what documents print (amounts in en/de/fr/ch styles, dates in
the spellings the parsers claim to read)."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ocrflow.contracts import KINDS, Contract, FieldSpec, load_contracts
from ocrflow.pipeline.coerce import (
    ISO_CODES,
    CoercionError,
    coerce_row,
    coerce_value,
    normalize_currency,
    normalize_tax_id,
    parse_date,
    parse_money,
)

FAST = settings(max_examples=200, deadline=None)

# what a document or a model's JSON can hand the coercion stage: text of any kind, numbers (also the
# non-finite ones JSON parsers accept: Infinity, NaN), booleans, lists and objects
TEXT = st.text(max_size=60)
NUMERIC_TEXT = st.text(alphabet="0123456789.,-+()' €$£¥RMrmUSDEUR\u00a0\u202f", max_size=24)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.decimals(), TEXT, NUMERIC_TEXT)
RAW = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=3),
                   max_leaves=8)

MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")
MONTHS_DE = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
             "November", "Dezember")


def _declared(kind: str, value: Any) -> bool:
    """Whether ``value`` is of the type a field of ``kind`` promises."""
    if kind == "money":
        return isinstance(value, Decimal) and value.is_finite() and value.as_tuple().exponent == -2
    if kind == "date":
        return isinstance(value, date)
    if kind == "currency":
        return value in ISO_CODES
    if kind == "list":
        return isinstance(value, list) and all(isinstance(v, str) and v for v in value)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, float) and math.isfinite(value)
    return isinstance(value, str) and bool(value)


def _spec(kind: str) -> FieldSpec:
    return FieldSpec(name=f"f_{kind}", kind=kind, logical_type="string", physical_type="", required=False)


@FAST
@given(kind=st.sampled_from(KINDS), value=RAW, day_first=st.booleans())
@example(kind="integer", value=float("inf"), day_first=True)
@example(kind="number", value=float("nan"), day_first=True)
@example(kind="money", value=float("nan"), day_first=True)
@example(kind="money", value="1" * 5000, day_first=True)
def test_coerce_value_gives_the_declared_type_or_a_coercion_error(kind: str, value: Any, day_first: bool) -> None:
    try:
        out = coerce_value(_spec(kind), value, day_first=day_first)
    except CoercionError:
        return
    assert _declared(kind, out), (kind, value, out)


_CONTRACTS = list(load_contracts().values())


@FAST
@given(contract=st.sampled_from(_CONTRACTS), data=st.data(), day_first=st.booleans())
def test_coerce_row_never_raises_and_every_value_is_typed_or_none(contract: Contract, data: st.DataObject,
                                                                   day_first: bool) -> None:
    raw = {f.name: data.draw(RAW, label=f.name) for f in contract.fields}
    values, failures = coerce_row(contract, raw, day_first=day_first)
    assert set(values) == set(contract.field_names)
    for f in contract.fields:
        assert values[f.name] is None or _declared(f.kind, values[f.name]), (f.name, raw[f.name], values[f.name])
    failed = {x.field for x in failures}
    assert all(values[name] is None for name in failed)  # a value that failed is never half-loaded


@FAST
@given(text=TEXT | NUMERIC_TEXT)
def test_parsers_read_or_raise_coercion_error_on_any_text(text: str) -> None:
    for parse in (parse_money, normalize_currency, normalize_tax_id,
                  lambda t: parse_date(t, day_first=True), lambda t: parse_date(t, day_first=False)):
        try:
            out = parse(text)
        except CoercionError:
            continue
        assert out is not None
    try:
        tax_id = normalize_tax_id(text)
    except CoercionError:
        return
    assert tax_id and tax_id == tax_id.upper() and not any(c.isspace() for c in tax_id)


def _grouped(whole: int, sep: str) -> str:
    return f"{whole:,}".replace(",", sep)


AMOUNTS = st.decimals(min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"), places=2,
                      allow_nan=False, allow_infinity=False)


@FAST
@given(amount=AMOUNTS, style=st.sampled_from(["en", "de", "fr", "fr_nbsp", "ch", "plain"]),
       currency=st.sampled_from(["", "€", "$", "£", "EUR ", "RM"]), where=st.sampled_from(["before", "after"]),
       negative=st.sampled_from(["minus", "parens", "trailing"]))
@example(amount=Decimal("1234.50"), style="de", currency="€", where="after", negative="minus")
@example(amount=Decimal("0.05"), style="fr", currency="", where="before", negative="minus")
def test_a_formatted_amount_parses_back_to_itself(amount: Decimal, style: str, currency: str, where: str,
                                                  negative: str) -> None:
    whole, cents = divmod(abs(amount), 1)
    frac = f"{int(cents * 100):02d}"
    seps = {"en": (",", "."), "de": (".", ","), "fr": (" ", ","), "fr_nbsp": ("\u202f", ","), "ch": ("'", "."),
            "plain": ("", ".")}
    group, mark = seps[style]
    text = f"{_grouped(int(whole), group) if group else int(whole)}{mark}{frac}"
    text = f"{currency}{text}" if where == "before" else f"{text} {currency}".strip()
    if amount < 0:
        text = {"minus": f"-{text}", "parens": f"({text})", "trailing": f"{text}-"}[negative]
    assert parse_money(text) == amount, text


@FAST
@given(whole=st.integers(min_value=1000, max_value=999_999_999), group=st.sampled_from([",", ".", " ", "'"]))
def test_a_grouped_whole_amount_parses_back(whole: int, group: str) -> None:
    assert parse_money(_grouped(whole, group)) == Decimal(whole)


@FAST
@given(d=st.dates(min_value=date(1970, 1, 1), max_value=date(2069, 12, 31)), day_first=st.booleans(),
       style=st.sampled_from(["iso", "numeric", "numeric_2y", "en_dmy", "en_mdy", "de", "cjk", "ordinal"]))
def test_a_formatted_date_parses_back_to_itself(d: date, day_first: bool, style: str) -> None:
    a, b = (d.day, d.month) if day_first else (d.month, d.day)
    text = {
        "iso": d.isoformat(),
        "numeric": f"{a:02d}/{b:02d}/{d.year}",
        "numeric_2y": f"{a}.{b}.{d.year % 100:02d}",
        "en_dmy": f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}",
        "en_mdy": f"{MONTHS_EN[d.month - 1]} {d.day}, {d.year}",
        "de": f"{d.day}. {MONTHS_DE[d.month - 1]} {d.year}",
        "cjk": f"{d.year}年{d.month}月{d.day}日",
        "ordinal": f"{d.day}{'th' if 10 <= d.day % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(d.day % 10, 'th')}"
                   f" of {MONTHS_EN[d.month - 1]} {d.year}",
    }[style]
    assert parse_date(f"Date: {text}", day_first=day_first) == d, text
