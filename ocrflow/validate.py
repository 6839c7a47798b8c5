"""Validate coerced rows with a Great Expectations 1.x suite generated from a data contract.

``build_suite`` turns a :class:`~ocrflow.contracts.Contract` into an ``ExpectationSuite``;
``validate_rows`` runs it over rows (one dict per document) and maps GX's row-level results back
to :class:`~ocrflow.models.Failure` values keyed by the row key; ``build_data_docs`` renders a
report as a static GX Data Docs site.

Great Expectations is imported lazily (the import costs seconds) and one ephemeral context is
reused per process. Every expectation carries ``meta`` with the contract field it checks and a
human message, so mapping results back needs no knowledge of the expectation type.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import threading
import time
import warnings
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocrflow.contracts import Contract, FieldSpec, Rule
from ocrflow.models import Failure

if TYPE_CHECKING:
    import great_expectations as gx
    import pandas as pd
    from great_expectations.expectations import Expectation

EARLIEST_DATE = dt.date(1990, 1, 1)
"""Dates before this are treated as misreads (a sane range for scanned business documents)."""
NUMERIC_KINDS = ("money", "number", "integer")
LIST_SEPARATOR = " | "
DEFAULT_MONEY_DIGITS = 16
"""Integer digits allowed for money without a DECIMAL(p,s) physical type (finite and loadable)."""
META_FIELD = "ocrflow_field"
META_MESSAGE = "ocrflow_message"
META_COLUMNS = "ocrflow_columns"
COERCE_CHECK = "ocrflow_coerced_type"
"""Check name of a failure found while framing a row (a value of the wrong Python type)."""


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The outcome of validating one batch of rows against one contract."""

    contract: str
    suite_name: str
    success: bool
    row_count: int
    failures: dict[str, list[Failure]]
    statistics: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)
    errors: tuple[str, ...] = ()
    elapsed_s: float = 0.0

    def failures_for(self, key: str) -> list[Failure]:
        return self.failures.get(str(key), [])

    @property
    def failed_keys(self) -> list[str]:
        return sorted(self.failures)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe summary (without the raw GX result)."""
        return {"contract": self.contract, "suite": self.suite_name, "success": self.success,
                "row_count": self.row_count, "statistics": self.statistics, "errors": list(self.errors),
                "failures": {k: [f.as_dict() for f in fs] for k, fs in self.failures.items()}}


# --------------------------------------------------------------------------- suite generation


def build_suite(contract: Contract, *, today: dt.date | None = None) -> gx.ExpectationSuite:
    """An expectation suite named ``{name}-{version}`` derived from the contract (not yet saved)."""
    import great_expectations as gx

    day = today or dt.date.today()
    expectations: list[Expectation] = []
    for f in contract.fields:
        expectations.extend(_field_expectations(f, day))
    expectations.extend(_key_expectations(contract))
    expectations.extend(_rule_expectation(r, i) for i, r in enumerate(contract.rules))
    return gx.ExpectationSuite(name=suite_name(contract), expectations=expectations,
                               meta={"ocrflow_contract": contract.name, "ocrflow_version": contract.version})


def suite_name(contract: Contract) -> str:
    return f"{contract.name}-{contract.version}"


def rule_column(rule: Rule, index: int) -> str:
    """Name of the helper column that holds a computed rule value (never a contract field name)."""
    return f"_rule{index}_{rule.kind}"


def _expect(cls_name: str, subject: str | list[str], message: str, /, **kwargs: Any) -> Expectation:
    """A GX expectation whose meta names the contract field(s) it checks and a human message."""
    import great_expectations.expectations as gxe

    cls = getattr(gxe, cls_name)
    columns = [subject] if isinstance(subject, str) else list(subject)
    label = ",".join(columns)
    meta = {META_FIELD: label, META_MESSAGE: message, META_COLUMNS: columns}
    exp: Expectation = cls(**kwargs, meta=meta)
    exp.notes = f"{exp.expectation_type}: {message}"
    return exp


def _field_expectations(f: FieldSpec, today: dt.date) -> list[Expectation]:
    out: list[Expectation] = []
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


def _range_expectation(f: FieldSpec, today: dt.date) -> Expectation | None:
    if f.kind == "date":
        low, high = EARLIEST_DATE, _add_years(today, 1)
        return _expect("ExpectColumnValuesToBeBetween", f.name,
                       f"{f.name} must be a date between {low.isoformat()} and {high.isoformat()}",
                       column=f.name, min_value=_midnight(low), max_value=_midnight(high))
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


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day)


def _key_expectations(contract: Contract) -> list[Expectation]:
    key = list(contract.business_key)
    if not key:
        return []
    if len(key) == 1:
        return [_expect("ExpectColumnValuesToBeUnique", key, f"business key {key[0]} must be unique",
                        column=key[0])]
    return [_expect("ExpectCompoundColumnsToBeUnique", key,
                    f"business key ({', '.join(key)}) must be unique", column_list=key,
                    ignore_row_if="any_value_is_missing")]


def _rule_expectation(rule: Rule, index: int) -> Expectation:
    if rule.kind == "not_before":
        return _expect("ExpectColumnPairValuesAToBeGreaterThanB", [rule.fields[0], rule.target],
                       f"{rule.fields[0]} must not be before {rule.target}", column_A=rule.fields[0],
                       column_B=rule.target, or_equal=True, ignore_row_if="either_value_is_missing")
    if rule.kind == "sum_equals":
        message = f"{' + '.join(rule.fields)} must equal {rule.target} (within {rule.tolerance:g})"
        return _expect("ExpectColumnValuesToBeBetween", [*rule.fields, rule.target], message,
                       column=rule_column(rule, index), min_value=-rule.tolerance, max_value=rule.tolerance)
    raise ValueError(f"unknown rule kind {rule.kind!r}")


# --------------------------------------------------------------------------- rows -> DataFrame


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
                    Failure(f.name, COERCE_CHECK, _json_value(r.get(f.name)), problem))
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
        return _midnight(value.date()), ""
    if isinstance(value, dt.date):
        return _midnight(value), ""
    if isinstance(value, str):
        try:
            return _midnight(dt.date.fromisoformat(value)), ""
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
    gap = sum(parts, Decimal(0)) - total
    return float(gap) if gap.is_finite() else math.inf


# --------------------------------------------------------------------------- running GX


class _Runtime:
    """One ephemeral GX context per process, with a validation definition per contract suite."""

    def __init__(self) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        self.source = self.context.data_sources.add_pandas("ocrflow")
        self.fingerprints: dict[str, str] = {}
        self.docs_sites: set[str] = set()

    def definition(self, contract: Contract, today: dt.date) -> Any:
        import great_expectations as gx

        name = suite_name(contract)
        fingerprint = _fingerprint(contract, today)
        if self.fingerprints.get(name) == fingerprint:
            return self.context.validation_definitions.get(name)
        if name in self.fingerprints:
            self.context.validation_definitions.delete(name)
            self.context.suites.delete(name)
        suite = self.context.suites.add(build_suite(contract, today=today))
        batch = self._asset(name).add_batch_definition_whole_dataframe("all")
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=suite))
        self.fingerprints[name] = fingerprint
        return definition

    def _asset(self, name: str) -> Any:
        if name in {a.name for a in self.source.assets}:
            self.source.delete_asset(name)
        return self.source.add_dataframe_asset(name)

    def forget_results(self) -> None:
        """Drop stored results: the in-memory store would otherwise grow with every run."""
        store = self.context.validation_results_store
        for k in store.list_keys():
            store.remove_key(k)


_LOCK = threading.Lock()
_RUNTIME: _Runtime | None = None


def _runtime() -> _Runtime:
    global _RUNTIME
    if _RUNTIME is None:
        _RUNTIME = _Runtime()
    return _RUNTIME


def _fingerprint(contract: Contract, today: dt.date) -> str:
    blob = repr((contract.name, contract.version, contract.fields, contract.business_key, contract.rules,
                 today.isoformat()))
    return hashlib.sha256(blob.encode()).hexdigest()


def validate_rows(contract: Contract, rows: list[dict[str, Any]], *, key: str = "doc_sha256",
                  today: dt.date | None = None) -> ValidationReport:
    """Validate coerced rows; failures are keyed by ``str(row[key])`` (keys must be unique)."""
    started = time.perf_counter()
    _check_keys(rows, key)
    if not rows:
        return ValidationReport(contract.name, suite_name(contract), True, 0, {}, {}, {})
    frame, failures = rows_frame(contract, rows, key)
    with _LOCK:
        runtime = _runtime()
        definition = runtime.definition(contract, today or dt.date.today())
        with warnings.catch_warnings():
            # contract patterns may use groups; pandas warns that str.contains ignores them (harmless)
            warnings.filterwarnings("ignore", message="This pattern is interpreted as a regular expression")
            result = definition.run(batch_parameters={"dataframe": frame}, result_format={
                "result_format": "COMPLETE", "unexpected_index_column_names": [key]})
        runtime.forget_results()
    by_key = {str(r[key]): r for r in rows}
    errors = _collect_failures(result, by_key, key, failures)
    raw = json_safe(result.to_json_dict())
    return ValidationReport(
        contract=contract.name, suite_name=suite_name(contract),
        success=bool(result.success) and not failures and not errors, row_count=len(rows),
        failures=failures, statistics=json_safe(dict(result.statistics)), raw=raw, errors=tuple(errors),
        elapsed_s=time.perf_counter() - started)


def _check_keys(rows: list[dict[str, Any]], key: str) -> None:
    missing = [i for i, r in enumerate(rows) if r.get(key) is None]
    if missing:
        raise ValueError(f"rows {missing[:5]} have no key column {key!r}")
    keys = [str(r[key]) for r in rows]
    dupes = sorted({k for k in keys if keys.count(k) > 1}) if len(set(keys)) != len(keys) else []
    if dupes:
        raise ValueError(f"key column {key!r} must be unique within a batch; repeated: {dupes[:5]}")


def _collect_failures(result: Any, rows: dict[str, dict[str, Any]], key: str,
                      out: dict[str, list[Failure]]) -> list[str]:
    """Add one Failure per unexpected row to ``out``; return expectation-level errors."""
    errors: list[str] = []
    for res in result.results:
        if res.success:
            continue
        config = res.expectation_config
        meta = config.meta or {}
        info = res.exception_info or {}
        if info.get("raised_exception"):
            errors.append(f"{config.type} on {meta.get(META_FIELD)}: {info.get('exception_message')}")
            continue
        unexpected = (res.result or {}).get("unexpected_index_list")
        if not unexpected:
            errors.append(f"{config.type} on {meta.get(META_FIELD)} failed without row details")
            continue
        for hit in unexpected:
            row_key = str(hit[key])
            out.setdefault(row_key, []).append(_failure(config.type, meta, rows.get(row_key, {})))
    return errors


def _failure(check: str, meta: dict[str, Any], row: dict[str, Any]) -> Failure:
    columns = list(meta.get(META_COLUMNS) or [])
    value: Any
    if len(columns) == 1:
        value = _json_value(row.get(columns[0]))
    else:
        value = {c: _json_value(row.get(c)) for c in columns}
    return Failure(field=str(meta.get(META_FIELD, "")), check=check, value=value,
                   message=str(meta.get(META_MESSAGE, check)))


def _json_value(value: Any) -> Any:
    """A coerced row value as JSON-safe Python (Decimal -> float or str, date -> ISO string)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return str(value)


def json_safe(value: Any) -> Any:
    """Recursively convert numpy scalars, timestamps and other objects so ``json.dumps`` works."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and type(value).__module__ == "numpy":
        return json_safe(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# --------------------------------------------------------------------------- Data Docs


def build_data_docs(report_or_results: ValidationReport | dict[str, Any] | Any, out_dir: Path) -> Path:
    """Render one validation run as a static GX Data Docs site under ``out_dir``; return index.html.

    Accepts a :class:`ValidationReport`, its ``raw`` dict, or a GX ``ExpectationSuiteValidationResult``.
    Each run adds a page under ``validations/``; the index lists the run just rendered.
    """
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResultSchema,
    )
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    raw = _raw_results(report_or_results)
    result = ExpectationSuiteValidationResultSchema().load(raw)
    run = raw.get("meta", {}).get("run_id") or {}
    run_id = RunIdentifier(run_name=run.get("run_name"), run_time=run.get("run_time"))
    ident = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name),
        run_id=run_id, batch_identifier=str(raw.get("meta", {}).get("active_batch_definition", {})
                                            .get("data_asset_name") or result.suite_name))
    out = out_dir.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with _LOCK:
        runtime = _runtime()
        site = _docs_site(runtime, out)
        runtime.context.validation_results_store.set(ident, result)
        try:
            runtime.context.build_data_docs(site_names=[site])
        finally:
            runtime.forget_results()
    index = out / "index.html"
    if not index.is_file():
        raise RuntimeError(f"GX did not write {index}")
    return index


def _raw_results(report_or_results: ValidationReport | dict[str, Any] | Any) -> dict[str, Any]:
    if isinstance(report_or_results, ValidationReport):
        raw = report_or_results.raw
    elif isinstance(report_or_results, dict):
        raw = report_or_results
    else:
        raw = json_safe(report_or_results.to_json_dict())
    if not raw.get("results"):
        raise ValueError("no validation results to render (empty batch?)")
    return json.loads(json.dumps(raw))


def _docs_site(runtime: _Runtime, out: Path) -> str:
    name = "ocrflow-" + hashlib.sha256(str(out).encode()).hexdigest()[:10]
    if name not in runtime.docs_sites:
        runtime.context.add_data_docs_site(name, {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(out)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        })
        runtime.docs_sites.add(name)
    return name
