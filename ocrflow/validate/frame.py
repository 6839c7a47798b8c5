"""Coerced rows -> the pandas DataFrame the suite checks (plus failures for wrongly typed values)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ocrflow.contracts import Contract, FieldSpec, Rule
from ocrflow.core.models import Failure
from ocrflow.validate.report import json_value
from ocrflow.validate.suite import NUMERIC_KINDS, midnight, rule_column

if TYPE_CHECKING:
    import pandas as pd

LIST_SEPARATOR = " | "
COERCE_CHECK = "ocrflow_coerced_type"
"""Check name of a failure found while framing a row (a value of the wrong Python type)."""


def rows_frame(contract: Contract, rows: list[dict[str, Any]], key: str) -> tuple[pd.DataFrame,
                                                                                   dict[str, list[Failure]]]:
    """Rows as a DataFrame GX can check, plus failures for values of the wrong Python type.

    Decimal -> float (non-finite -> +-inf so the range check flags it), date -> datetime64,
    list -> one string joined by `` | `` (empty list -> ""), helper columns for computed rules.
    """
    import pandas as pd

    pre: dict[str, list[Failure]] = {}
    data: dict[str, Any] = {key: [str(r[key]) for r in rows]}
    for f in contract.fields:
        values = []
        for r in rows:
            value, problem = _frame_value(f, r.get(f.name))
            values.append(value)
            if problem:
                pre.setdefault(str(r[key]), []).append(
                    Failure(f.name, COERCE_CHECK, json_value(r.get(f.name)), problem))
        data[f.name] = _series(f.kind, values)
    for i, rule in enumerate(contract.rules):
        if rule.kind == "sum_equals":
            data[rule_column(rule, i)] = pd.Series([_sum_gap(rule, r) for r in rows], dtype="float64")
    return pd.DataFrame(data), pre


def _series(kind: str, values: list[Any]) -> pd.Series:
    import pandas as pd

    if kind == "date":
        return pd.to_datetime(pd.Series(values, dtype="object"))
    if kind in NUMERIC_KINDS:
        return pd.Series(values, dtype="float64")
    return pd.Series(values, dtype="object")


def _frame_value(f: FieldSpec, value: Any) -> tuple[Any, str]:
    """(value for the DataFrame, problem text or "")."""
    if value is None:
        return None, ""
    if f.kind == "date":
        return _frame_date(f.name, value)
    if f.kind in NUMERIC_KINDS:
        return _frame_number(f.name, value)
    if f.kind == "list":
        if isinstance(value, list | tuple):
            return LIST_SEPARATOR.join(str(v) for v in value), ""
        return None, f"{f.name} must be a list of strings, got {type(value).__name__}"
    return str(value), ""


def _frame_date(name: str, value: Any) -> tuple[Any, str]:
    if isinstance(value, dt.datetime):
        return midnight(value.date()), ""
    if isinstance(value, dt.date):
        return midnight(value), ""
    if isinstance(value, str):
        try:
            return midnight(dt.date.fromisoformat(value)), ""
        except ValueError:
            pass
    return None, f"{name} must be a date, got {value!r}"


def _frame_number(name: str, value: Any) -> tuple[Any, str]:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None, f"{name} must be a number, got {value!r}"
    number = float(value)
    if math.isnan(number):
        return math.inf, ""
    return number, ""


def _sum_gap(rule: Rule, row: dict[str, Any]) -> float | None:
    """sum(fields) - target, computed in Decimal (exact cents), or None when any value is missing."""
    try:
        parts = [Decimal(str(row[n])) for n in rule.fields]
        total = Decimal(str(row[rule.target]))
    except (KeyError, InvalidOperation, TypeError, ValueError):
        return None
    if any(row.get(n) is None for n in (*rule.fields, rule.target)):
        return None
    if not all(v.is_finite() for v in (*parts, total)):  # Infinity - Infinity is no number: never a match
        return math.inf
    gap = sum(parts, Decimal(0)) - total
    return float(gap) if gap.is_finite() else math.inf
