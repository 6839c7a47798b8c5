"""The outcome of validating a batch (:class:`ValidationReport`) and JSON-safe values for it."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ocrflow.core.models import Failure


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


def json_value(value: Any) -> Any:
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
        return [json_value(v) for v in value]
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
