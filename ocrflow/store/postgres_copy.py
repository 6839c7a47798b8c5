"""COPY text for PostgreSQL bulk loads: Python columns formatted as psycopg's text dumpers would."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import chain
from typing import Any

from ocrflow.store.rows import is_constant


def array_literal(values: Sequence[Any] | None) -> str | None:
    """A one-dimensional list as a PostgreSQL array literal (COPY sends it as text; much faster than
    psycopg's generic list dumper)."""
    if values is None:
        return None
    items = ("NULL" if v is None else '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
             for v in values)
    return "{" + ",".join(items) + "}"


_COPY_SPECIALS = ("\\", "\n", "\r", "\t")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_NULL = "\\N"


_FORMATS: dict[type, Any] = {
    str: None, int: str, Decimal: str, date: date.isoformat, datetime: datetime.isoformat,
    float: repr, bool: lambda v: "t" if v else "f",
}
"""Python types whose COPY text this module writes itself: what psycopg's text dumpers write."""


def copy_columns(types: Sequence[str], data: list[list[Any]]) -> list[tuple[list[str | None], bool]] | None:
    """Each column as (unescaped COPY text per row, None for NULL; whether every row holds one value),
    or None when a value is not one ``_FORMATS`` knows (the caller then lets psycopg adapt it).

    Column by column, with one conversion per distinct Python type instead of psycopg's per-value
    dumper lookup; arrays as ``array_literal``. The text is what psycopg's text dumpers produce, so
    the rows stored are the same."""
    out: list[tuple[list[str | None], bool]] = []
    for typ, values in zip(types, data, strict=True):
        if (len(values) > 1 and values[-1] is values[0] and values.count(values[0]) == len(values)
                and len(set(map(id, values))) == 1):
            one = copy_columns([typ], [values[:1]])  # one object in every row: format it once
            if one is None:
                return None
            out.append((one[0][0] * len(values), True))
            continue
        present = set(map(type, values))
        kinds = present - {type(None)}
        text: list[Any]
        if typ.endswith("[]"):
            if not kinds <= {list, tuple}:
                return None
            text = _int_array_literals(values) or [array_literal(v) for v in values]
        elif not kinds <= _FORMATS.keys():
            return None
        elif kinds <= {str}:
            text = list(values)
        elif len(kinds) == 1 and kinds == present:
            text = list(map(_FORMATS[next(iter(kinds))], values))
        else:
            text = [v if v is None or type(v) is str else _FORMATS[type(v)](v) for v in values]
        out.append((text, is_constant(text)))
    return out


def _int_array_literals(values: Sequence[Any]) -> list[str | None] | None:
    """``array_literal`` of lists that hold only ints (page numbers), each distinct list formatted once;
    None when some element is not an int."""
    elements = set(map(type, chain.from_iterable(v for v in values if v is not None)))
    if not elements <= {int}:
        return None
    seen: dict[tuple[int, ...], str] = {}
    out: list[str | None] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        key = tuple(v)
        text = seen.get(key)
        if text is None:
            text = seen[key] = array_literal(key) or "{}"
        out.append(text)
    return out


def escape_copy_text(values: list[str | None]) -> list[str]:
    """COPY text format: backslash, newline, carriage return and tab escaped, NULL as ``\\N``."""
    joined = "\x00".join(filter(None, values))
    if any(c in joined for c in _COPY_SPECIALS):
        return [_NULL if v is None else v.translate(_COPY_ESCAPES) for v in values]
    return [_NULL if v is None else v for v in values]
