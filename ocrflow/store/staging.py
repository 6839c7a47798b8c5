"""Staging data for DuckDB's bulk path: Python columns as an Arrow table in the table's types.

DuckDB scans an Arrow table natively (typed buffers, no Python object per value), where a pandas
frame of object columns costs it a Python call per value under the GIL. A column goes to Arrow in
its SQL type when its Python values map exactly (str, Decimal that fits the scale, date, naive
datetime, int, float, bool, lists of those); anything else goes as text (or a list of text) and the
``CAST`` in the SELECT turns it into the table type, exactly as the row path would store it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from ocrflow.store.rows import is_constant

if TYPE_CHECKING:
    import pyarrow as pa

_TZINFO = attrgetter("tzinfo")

_EXACT: dict[str, type] = {
    "VARCHAR": str, "JSON": str, "DATE": date, "TIMESTAMP": datetime, "BIGINT": int, "INTEGER": int,
    "DOUBLE": float, "BOOLEAN": bool,
}
"""SQL type -> the one Python type whose values Arrow takes as they are (``type(v) is T``, so a
datetime in a DATE column or a bool in an INTEGER column goes the text way)."""

_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def arrow_type(typ: str) -> pa.DataType | None:
    """The Arrow type DuckDB reads back as ``typ`` (None when there is none here)."""
    import pyarrow as pa

    u = typ.upper().replace(" ", "")
    if u.endswith("[]"):
        inner = arrow_type(u[:-2])
        return pa.list_(inner) if inner is not None else None
    m = _DECIMAL.fullmatch(u)
    if m:
        return pa.decimal128(int(m.group(1)), int(m.group(2)))
    return {
        "VARCHAR": pa.string(), "JSON": pa.string(), "DATE": pa.date32(), "TIMESTAMP": pa.timestamp("us"),
        "BIGINT": pa.int64(), "INTEGER": pa.int32(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(),
    }.get(u)


def _python_type(typ: str) -> type | None:
    u = typ.upper().replace(" ", "")
    return Decimal if _DECIMAL.fullmatch(u) else _EXACT.get(u)


def _exact(typ: str, values: Sequence[Any]) -> bool:
    """Every value is None or of the one Python type that Arrow converts to ``typ`` without guessing."""
    if typ.endswith("[]"):
        inner = _python_type(typ[:-2])
        return inner is not None and all(
            v is None or (type(v) is list and all(x is None or type(x) is inner for x in v)) for v in values)
    want = _python_type(typ)
    kinds = set(map(type, values)) - {type(None)}
    if want is None or not kinds <= {want}:
        return False
    return want is not datetime or set(map(_TZINFO, filter(None, values))) <= {None}


def text(v: Any) -> str | None:
    """A scalar as text that DuckDB casts back to the column type exactly."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, datetime):
        if v.tzinfo is not None:
            v = v.astimezone(UTC).replace(tzinfo=None)
        return v.isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float):
        return repr(v)
    return str(v)


def text_column(typ: str, values: Sequence[Any]) -> list[Any]:
    """A column as text (lists: lists of text), for the SELECT's CAST to read as the row path stores it."""
    if typ.endswith("[]"):
        return [None if v is None else [text(x) for x in v] for v in values]
    return [v if v is None or type(v) is str else text(v) for v in values]


def arrow_column(typ: str, values: Sequence[Any]) -> pa.Array:
    """One staging column: typed where the values map exactly, else text (the SELECT casts it)."""
    import pyarrow as pa

    at = arrow_type(typ)
    if at is not None and _exact(typ, values):
        try:
            return pa.array(values, type=at)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass  # e.g. a Decimal with more places than the column: DuckDB's CAST rounds it, as the row path
    text_type = pa.list_(pa.string()) if typ.endswith("[]") else pa.string()
    return pa.array(text_column(typ, values), type=text_type)


def _same_object(values: Sequence[Any]) -> bool:
    return bool(values) and values[-1] is values[0] and len(set(map(id, values))) == 1


def staging_table(columns: Sequence[str], types: Sequence[str], data: list[list[Any]], *,
                  keep: Sequence[str] = ()) -> tuple[pa.Table, str, list[Any]]:
    """The staged columns as an Arrow table, the SELECT list that casts each to its table type, and its
    parameters.

    A column holding one value in every row (engine, model, run id, extraction time, ...) is not
    staged: it becomes ``CAST(? AS T)`` with the value as a parameter. Columns in ``keep`` (the key)
    are always staged.
    """
    import pyarrow as pa

    arrays: dict[str, pa.Array] = {}
    select: list[str] = []
    params: list[Any] = []
    for name, typ, vals in zip(columns, types, data, strict=True):
        if name not in keep and vals and _exact(typ, vals[:1]) and (_same_object(vals) or is_constant(vals)):
            select.append(f'CAST(? AS {typ}) AS "{name}"')
            params.append(vals[0])  # of the column's exact Python type: bound as it is
        else:
            select.append(f'CAST("{name}" AS {typ}) AS "{name}"')
            arrays[name] = arrow_column(typ, vals)
    if not arrays:
        raise ValueError("staging_table needs at least one staged column (pass the key in keep)")
    return pa.table(arrays), ", ".join(select), params


def arrow_table(columns: Sequence[str], types: Sequence[str], data: list[list[Any]]) -> pa.Table:
    """Every column staged (no constants folded), for a plain ``INSERT ... SELECT CAST(...)``."""
    import pyarrow as pa

    return pa.table({name: arrow_column(typ, vals) for name, typ, vals in zip(columns, types, data, strict=True)})
