"""Validate coerced rows with a Great Expectations 1.x suite generated from a data contract.

- ``suite``: ``build_suite`` turns a :class:`~ocrflow.contracts.Contract` into an ``ExpectationSuite``;
- ``frame``: rows (one dict per document) -> the DataFrame the suite checks;
- ``run``: ``validate_rows`` runs the suite and maps GX's row-level results back to
  :class:`~ocrflow.core.models.Failure` values keyed by the row key (a :class:`ValidationReport`);
- ``docs``: ``build_data_docs`` renders a report as a static GX Data Docs site;
- ``runtime``: the one ephemeral GX context per process that ``run`` and ``docs`` share.
"""

from ocrflow.validate.docs import build_data_docs
from ocrflow.validate.frame import COERCE_CHECK, rows_frame
from ocrflow.validate.report import ValidationReport, json_safe
from ocrflow.validate.run import validate_rows
from ocrflow.validate.suite import build_suite, rule_column, suite_name

__all__ = [
    "COERCE_CHECK",
    "ValidationReport",
    "build_data_docs",
    "build_suite",
    "json_safe",
    "rows_frame",
    "rule_column",
    "suite_name",
    "validate_rows",
]
