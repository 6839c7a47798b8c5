"""A Great Expectations 1.x expectation suite generated from a data contract.

Every expectation carries ``meta`` with the contract field(s) it checks and a human message, so
mapping results back to fields needs no knowledge of the expectation type. Great Expectations is
imported inside the functions (the import costs seconds).

The contract's business key is not an expectation here: a batch-level uniqueness check would
quarantine every copy of a repeated key. The store decides it inside the write transaction, in the
order the documents were planned, so the first copy loads and later ones are quarantined as
``duplicate of <sha256 prefix> (<path>)`` (ocrflow.store.business_keys), in one batch or across runs.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ocrflow.contracts import Contract, FieldSpec, Rule

if TYPE_CHECKING:
    import great_expectations as gx
    from great_expectations.expectations import Expectation

EARLIEST_DATE = dt.date(1990, 1, 1)
"""Dates before this are treated as misreads (a sane range for scanned business documents)."""
NUMERIC_KINDS = ("money", "number", "integer")
DEFAULT_MONEY_DIGITS = 16
"""Integer digits allowed for money without a DECIMAL(p,s) physical type (finite and loadable)."""
META_FIELD = "ocrflow_field"
META_MESSAGE = "ocrflow_message"
META_COLUMNS = "ocrflow_columns"


@dataclass(frozen=True, slots=True)
class ExpectationSpec:
    """One expectation of a contract's suite as plain data: GX's class name, its kwargs and its meta. The
    batch checks compile these without importing GX (ocrflow.validate.checks); ``build_suite`` makes the GX
    objects from the same list."""

    cls_name: str
    kwargs: dict[str, Any]
    meta: dict[str, Any]
    message: str

    @property
    def type(self) -> str:
        """GX's expectation type: the class name in snake case (``ExpectColumnValuesToBeBetween`` ->
        ``expect_column_values_to_be_between``)."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.cls_name).lower()


def suite_spec(contract: Contract, *, today: dt.date | None = None) -> list[ExpectationSpec]:
    """The expectations of the contract's suite, in suite order, without GX."""
    day = today or dt.date.today()
    specs: list[ExpectationSpec] = []
    for f in contract.fields:
        specs.extend(_field_expectations(f, day))
    specs.extend(_rule_expectation(r, i) for i, r in enumerate(contract.rules))
    return specs


def build_suite(contract: Contract, *, today: dt.date | None = None) -> gx.ExpectationSuite:
    """An expectation suite named ``{name}-{version}`` derived from the contract (not yet saved)."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    expectations: list[Expectation] = []
    for spec in suite_spec(contract, today=today):
        exp: Expectation = getattr(gxe, spec.cls_name)(**spec.kwargs, meta=dict(spec.meta))
        exp.notes = f"{exp.expectation_type}: {spec.message}"
        expectations.append(exp)
    return gx.ExpectationSuite(name=suite_name(contract), expectations=expectations,
                               meta={"ocrflow_contract": contract.name, "ocrflow_version": contract.version})


def suite_name(contract: Contract) -> str:
    return f"{contract.name}-{contract.version}"


def rule_column(rule: Rule, index: int) -> str:
    """Name of the helper column that holds a computed rule value (never a contract field name)."""
    return f"_rule{index}_{rule.kind}"


def _expect(cls_name: str, subject: str | list[str], message: str, /, **kwargs: Any) -> ExpectationSpec:
    """An expectation whose meta names the contract field(s) it checks and a human message."""
    columns = [subject] if isinstance(subject, str) else list(subject)
    meta = {META_FIELD: ",".join(columns), META_MESSAGE: message, META_COLUMNS: columns}
    return ExpectationSpec(cls_name, kwargs, meta, message)


def _field_expectations(f: FieldSpec, today: dt.date) -> list[ExpectationSpec]:
    out: list[ExpectationSpec] = []
    if f.required:
        out.append(_expect("ExpectColumnValuesToNotBeNull", f.name, f"{f.name} must not be null",
                           column=f.name))
        if f.kind == "list":
            out.append(_expect("ExpectColumnValueLengthsToBeBetween", f.name, f"{f.name} must not be empty",
                               column=f.name, min_value=1))
    if f.pattern and _is_string_kind(f.kind):
        out.append(_expect("ExpectColumnValuesToMatchRegex", f.name,
                           f"{f.name} must match the pattern {f.pattern}", column=f.name, regex=f.pattern))
    if f.allowed:
        out.append(_expect("ExpectColumnValuesToBeInSet", f.name,
                           f"{f.name} must be one of {', '.join(f.allowed)}", column=f.name,
                           value_set=list(f.allowed)))
    if f.unique:
        out.append(_expect("ExpectColumnValuesToBeUnique", f.name, f"{f.name} must be unique in the batch",
                           column=f.name))
    between = _range_expectation(f, today)
    if between is not None:
        out.append(between)
    return out


def _is_string_kind(kind: str) -> bool:
    return kind not in (*NUMERIC_KINDS, "date", "list")


def _range_expectation(f: FieldSpec, today: dt.date) -> ExpectationSpec | None:
    if f.kind == "date":
        low, high = EARLIEST_DATE, _add_years(today, 1)
        return _expect("ExpectColumnValuesToBeBetween", f.name,
                       f"{f.name} must be a date between {low.isoformat()} and {high.isoformat()}",
                       column=f.name, min_value=midnight(low), max_value=midnight(high))
    if f.kind not in NUMERIC_KINDS:
        return None
    if f.kind != "money" and f.minimum is None and f.maximum is None:
        return None
    bound = _money_bound(f.physical_type)
    low_n = f.minimum if f.minimum is not None else -bound
    high_n = f.maximum if f.maximum is not None else bound
    text = (f"{f.name} must be a finite amount between {low_n:g} and {high_n:g}" if f.kind == "money"
            else f"{f.name} must be between {low_n:g} and {high_n:g}")
    return _expect("ExpectColumnValuesToBeBetween", f.name, text, column=f.name,
                   min_value=low_n, max_value=high_n)


def _money_bound(physical_type: str) -> float:
    """Largest magnitude a DECIMAL(p,s) column holds (10 ** (p - s)); a fixed bound otherwise."""
    digits = DEFAULT_MONEY_DIGITS
    inner = physical_type.upper().removeprefix("DECIMAL(").removesuffix(")")
    parts = inner.split(",")
    if physical_type.upper().startswith("DECIMAL(") and len(parts) == 2 and all(p.strip().isdigit()
                                                                                 for p in parts):
        digits = int(parts[0]) - int(parts[1])
    return float(10**digits)


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day)


def _rule_expectation(rule: Rule, index: int) -> ExpectationSpec:
    if rule.kind == "not_before":
        return _expect("ExpectColumnPairValuesAToBeGreaterThanB", [rule.fields[0], rule.target],
                       f"{rule.fields[0]} must not be before {rule.target}", column_A=rule.fields[0],
                       column_B=rule.target, or_equal=True, ignore_row_if="either_value_is_missing")
    if rule.kind == "sum_equals":
        message = f"{' + '.join(rule.fields)} must equal {rule.target} (within {rule.tolerance:g})"
        return _expect("ExpectColumnValuesToBeBetween", [*rule.fields, rule.target], message,
                       column=rule_column(rule, index), min_value=-rule.tolerance, max_value=rule.tolerance)
    raise ValueError(f"unknown rule kind {rule.kind!r}")
