"""A contract's expectation suite evaluated over a batch's frame with pandas, as GX's pandas engine evaluates it.

Great Expectations spends ~0.3 s of CPU per ``ValidationDefinition.run`` building its metric graph,
whatever the row count (16 rows cost what 4,096 cost), which made it most of the batch loop at 16
documents a batch. The suite stays GX's (``ocrflow.validate.suite.build_suite``, built once per run);
this module reads its expectations (type, kwargs, meta) and computes each one's unexpected rows with
the same pandas operations as GX's metric providers (GX 1.x ``expectations/metrics``):

==========================================  =========================================================
expectation                                 unexpected rows (nulls skipped except for not_be_null)
==========================================  =========================================================
expect_column_values_to_not_be_null         ``column.isnull()``
expect_column_values_to_match_regex         not ``column.astype(str).str.contains(regex)``
expect_column_values_to_be_in_set           not ``column.isin(value_set)``
expect_column_value_lengths_to_be_between   ``column.astype(str).str.len()`` outside the bounds
expect_column_values_to_be_unique           ``column.duplicated(keep=False)``
expect_column_values_to_be_between          outside ``[min_value, max_value]`` (strict flags honoured)
expect_column_pair_values_a_to_be_greater_  not ``A >= B`` (``or_equal``) / ``A > B``, rows skipped by
than_b                                      ``ignore_row_if``
==========================================  =========================================================

Failures come out as :func:`ocrflow.validate.run.validate_rows` makes them (same order: expectations in
suite order, rows in frame order); tests compare both on the same rows, generated ones included. A suite
with anything else (another expectation type, ``mostly``, a row condition) is not compiled: the caller
validates it with GX itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ocrflow.validate.suite import META_FIELD, ExpectationSpec

if TYPE_CHECKING:
    import pandas as pd

PAIR = "expect_column_pair_values_a_to_be_greater_than_b"
_COLUMN_KINDS = {
    "expect_column_values_to_not_be_null": {"column"},
    "expect_column_values_to_match_regex": {"column", "regex"},
    "expect_column_values_to_be_in_set": {"column", "value_set"},
    "expect_column_value_lengths_to_be_between": {"column", "min_value", "max_value", "strict_min", "strict_max"},
    "expect_column_values_to_be_unique": {"column"},
    "expect_column_values_to_be_between": {"column", "min_value", "max_value", "strict_min", "strict_max"},
    PAIR: {"column_A", "column_B", "or_equal", "ignore_row_if"},
}
"""Expectation type -> the kwargs this module understands (any other kwarg with a value: not compiled)."""
_IGNORED_KWARGS = {"batch_id", "result_format", "include_config", "catch_exceptions", "meta", "notes"}


@dataclass(frozen=True, slots=True)
class Check:
    """One expectation of a suite: its type, its kwargs and its ocrflow meta."""

    type: str
    kwargs: dict[str, Any]
    meta: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.type} on {self.meta.get(META_FIELD)}"


def compile_suite(suite: Any) -> list[Check] | None:
    """A GX suite's expectations as checks, in suite order; None when one of them is not evaluated here."""
    return _compile((exp.configuration.type, dict(exp.configuration.kwargs), dict(exp.configuration.meta or {}))
                    for exp in suite.expectations)


def compile_specs(specs: Iterable[ExpectationSpec]) -> list[Check] | None:
    """``compile_suite`` of the suite ``build_suite`` would make from these specs (``suite_spec``), without
    importing GX (seconds of CPU that a run's documents would wait for: issue 21)."""
    return _compile((spec.type, dict(spec.kwargs), dict(spec.meta)) for spec in specs)


def _compile(items: Iterable[tuple[str, dict[str, Any], dict[str, Any]]]) -> list[Check] | None:
    checks = []
    for kind, raw_kwargs, meta in items:
        kwargs = {k: v for k, v in raw_kwargs.items() if k not in _IGNORED_KWARGS and v is not None}
        known = _COLUMN_KINDS.get(kind)
        if known is None or not set(kwargs) <= known:  # mostly, row_condition, ...: GX evaluates it
            return None
        checks.append(Check(kind, kwargs, meta))
    return checks


def unexpected(check: Check, frame: pd.DataFrame) -> list[int]:
    """Positions (in frame order) of the rows this check finds unexpected."""
    import numpy as np

    kw = check.kwargs
    if check.type == PAIR:
        a, b = frame[kw["column_A"]], frame[kw["column_B"]]
        ok = (a >= b) if kw.get("or_equal") else (a > b)
        bad = ~ok.to_numpy(dtype=bool) & ~_pair_ignored(a, b, kw.get("ignore_row_if", "both_values_are_missing"))
        return [int(i) for i in np.flatnonzero(bad)]
    column = frame[kw["column"]]
    if check.type == "expect_column_values_to_not_be_null":
        return [int(i) for i in np.flatnonzero(column.isnull().to_numpy())]
    present = column.notnull().to_numpy()
    values = column[present]
    ok = _condition(check.type, values, kw)
    positions = np.flatnonzero(present)
    return [int(i) for i in positions[~ok.to_numpy(dtype=bool)]]


def _condition(kind: str, values: pd.Series, kw: dict[str, Any]) -> pd.Series:
    """True where a non-null value meets the expectation (GX's column_condition_partial for pandas)."""
    if kind == "expect_column_values_to_match_regex":
        return values.astype(str).str.contains(kw["regex"])
    if kind == "expect_column_values_to_be_in_set":
        return values.isin(kw["value_set"]) if "value_set" in kw else values.notnull()
    if kind == "expect_column_value_lengths_to_be_between":
        return _between(values.astype(str).str.len(), kw)
    if kind == "expect_column_values_to_be_unique":
        return ~values.duplicated(keep=False)
    if kind == "expect_column_values_to_be_between":
        return _between(values, kw)
    raise ValueError(f"no pandas condition for {kind}")


def _between(values: pd.Series, kw: dict[str, Any]) -> pd.Series:
    low, high = kw.get("min_value"), kw.get("max_value")
    if low is None and high is None:
        raise ValueError("min_value and max_value cannot both be None")
    ok = values.notnull()
    if low is not None:
        ok &= (values > low) if kw.get("strict_min") else (values >= low)
    if high is not None:
        ok &= (values < high) if kw.get("strict_max") else (values <= high)
    return ok


def _pair_ignored(a: pd.Series, b: pd.Series, rule: str) -> Any:
    """Rows a column-pair expectation skips (GX's ``ignore_row_if``)."""
    na, nb = a.isnull().to_numpy(), b.isnull().to_numpy()
    if rule == "either_value_is_missing":
        return na | nb
    if rule == "both_values_are_missing":
        return na & nb
    if rule == "neither":
        return na & ~na
    raise ValueError(f"unknown ignore_row_if {rule!r}")
