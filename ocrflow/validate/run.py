"""Run a contract's expectation suite over coerced rows and map GX's row-level results back to
:class:`~ocrflow.core.models.Failure` values keyed by the row key."""

from __future__ import annotations

import datetime as dt
import time
import warnings
from typing import TYPE_CHECKING, Any

from ocrflow.contracts import Contract
from ocrflow.core.models import Failure
from ocrflow.validate.checks import Check, unexpected
from ocrflow.validate.frame import rows_frame
from ocrflow.validate.report import ValidationReport, json_safe, json_value
from ocrflow.validate.runtime import LOCK, runtime
from ocrflow.validate.suite import META_COLUMNS, META_FIELD, META_MESSAGE, suite_name

if TYPE_CHECKING:
    import pandas as pd


def validate_rows(contract: Contract, rows: list[dict[str, Any]], *, key: str = "doc_sha256",
                  today: dt.date | None = None) -> ValidationReport:
    """Validate coerced rows; failures are keyed by ``str(row[key])`` (keys must be unique)."""
    started = time.perf_counter()
    check_keys(rows, key)
    if not rows:
        return ValidationReport(contract.name, suite_name(contract), True, 0, {}, {}, {})
    frame, failures = rows_frame(contract, rows, key)
    with LOCK:
        gx_runtime = runtime()
        definition = gx_runtime.definition(contract, today or dt.date.today())
        with warnings.catch_warnings():
            # contract patterns may use groups; pandas warns that str.contains ignores them (harmless)
            warnings.filterwarnings("ignore", message="This pattern is interpreted as a regular expression")
            result = definition.run(batch_parameters={"dataframe": frame}, result_format={
                "result_format": "COMPLETE", "unexpected_index_column_names": [key]})
        gx_runtime.forget_results()
    by_key = {str(r[key]): r for r in rows}
    errors = _collect_failures(result, by_key, key, failures)
    raw = json_safe(result.to_json_dict())
    return ValidationReport(
        contract=contract.name, suite_name=suite_name(contract),
        success=bool(result.success) and not failures and not errors, row_count=len(rows),
        failures=failures, statistics=json_safe(dict(result.statistics)), raw=raw, errors=tuple(errors),
        elapsed_s=time.perf_counter() - started)


def check_rows(contract: Contract, rows: list[dict[str, Any]], checks: list[Check], *,
               key: str = "doc_sha256") -> ValidationReport:
    """Validate coerced rows with a compiled suite (``ocrflow.validate.checks``): the failures, statistics and
    success of :func:`validate_rows` on the same rows, without GX's per-call cost; ``raw`` stays empty."""
    started = time.perf_counter()
    check_keys(rows, key)
    if not rows:
        return ValidationReport(contract.name, suite_name(contract), True, 0, {}, {}, {})
    frame, failures = rows_frame(contract, rows, key)
    return check_frame(contract, rows, frame, failures, checks, key=key, started=started)


def check_frame(contract: Contract, rows: list[dict[str, Any]], frame: pd.DataFrame,
                failures: dict[str, list[Failure]], checks: list[Check], *, key: str = "doc_sha256",
                started: float | None = None) -> ValidationReport:
    """:func:`check_rows` on rows already framed (``rows_frame``: the frame and its typing failures)."""
    started = time.perf_counter() if started is None else started
    keys = frame[key].tolist()
    successful = 0
    for check in checks:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="This pattern is interpreted as a regular expression")
            hits = unexpected(check, frame)
        successful += not hits
        for i in hits:
            failures.setdefault(keys[i], []).append(_failure(check.type, check.meta, rows[i]))
    evaluated = len(checks)
    statistics = {"evaluated_expectations": evaluated, "successful_expectations": successful,
                  "unsuccessful_expectations": evaluated - successful,
                  "success_percent": 100.0 * successful / evaluated if evaluated else None}
    return ValidationReport(contract=contract.name, suite_name=suite_name(contract), success=not failures,
                            row_count=len(rows), failures=failures, statistics=statistics, raw={},
                            elapsed_s=time.perf_counter() - started)


def gx_summary(contract: Contract, frame: pd.DataFrame, today: dt.date) -> dict[str, Any]:
    """GX's own validation of a framed set of rows, in its SUMMARY format (counts and partial lists, what a
    Data Docs page shows), as JSON-safe data."""
    with LOCK:
        gx_runtime = runtime()
        definition = gx_runtime.definition(contract, today)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="This pattern is interpreted as a regular expression")
            result = definition.run(batch_parameters={"dataframe": frame}, result_format={"result_format": "SUMMARY"})
        gx_runtime.forget_results()
    raw: dict[str, Any] = json_safe(result.to_json_dict())
    return raw


def check_keys(rows: list[dict[str, Any]], key: str) -> None:
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
        value = json_value(row.get(columns[0]))
    else:
        value = {c: json_value(row.get(c)) for c in columns}
    return Failure(field=str(meta.get(META_FIELD, "")), check=check, value=value,
                   message=str(meta.get(META_MESSAGE, check)))
