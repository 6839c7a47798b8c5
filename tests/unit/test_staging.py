"""The Arrow staging of DuckDB's bulk path: typed where exact, text (cast by DuckDB) otherwise."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from ocrflow.store.staging import arrow_column, arrow_type, staging_table

TYPES = ["VARCHAR", "DECIMAL(18,2)", "DATE", "TIMESTAMP", "INTEGER", "BIGINT", "DOUBLE", "BOOLEAN", "JSON",
         "VARCHAR[]", "INTEGER[]"]


def _row_path(types: list[str], rows: list[list[Any]]) -> list[tuple[Any, ...]]:
    """What DuckDB stores when the same values are bound row by row (the reference)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (" + ", ".join(f"c{i} {t}" for i, t in enumerate(types)) + ")")
    con.executemany(f"INSERT INTO t VALUES ({', '.join('?' for _ in types)})", rows)
    return con.execute("SELECT * FROM t ORDER BY c0").fetchall()


def _bulk_path(types: list[str], rows: list[list[Any]], keep: tuple[str, ...] = ("c0",)) -> list[tuple[Any, ...]]:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (" + ", ".join(f"c{i} {t}" for i, t in enumerate(types)) + ")")
    data = [list(c) for c in zip(*rows, strict=True)]
    table, select, params = staging_table([f"c{i}" for i in range(len(types))], types, data, keep=keep)
    con.register("stage", table)
    con.execute(f"INSERT INTO t SELECT {select} FROM stage", params)
    return con.execute("SELECT * FROM t ORDER BY c0").fetchall()


def test_exact_values_are_staged_in_the_table_types() -> None:
    rows = [["a", Decimal("1.50"), date(2024, 1, 2), datetime(2024, 1, 2, 3, 4, 5, 6), 7, 2**40, 0.5, True,
             '{"k": 1}', ["x", None], [1, 2]],
            ["b", None, None, None, None, None, None, None, None, None, None]]
    data = [list(c) for c in zip(*rows, strict=True)]
    for typ, values in zip(TYPES, data, strict=True):
        assert arrow_column(typ, values).type == arrow_type(typ), typ
    assert arrow_type("DECIMAL(18,2)") == pa.decimal128(18, 2)
    assert _bulk_path(TYPES, rows) == _row_path(TYPES, rows)


def test_inexact_values_go_as_text_and_store_what_the_row_path_stores() -> None:
    tz = timezone(timedelta(hours=2))
    rows = [["a", Decimal("1.235"), date(2024, 1, 2), datetime(2024, 1, 2, 12, tzinfo=tz), 3, 4, 1.25, False,
             "[]", ["x"], [1]],
            ["b", Decimal("12345678.9"), date(2024, 2, 3), datetime(2024, 1, 2, 12, tzinfo=UTC), 4, 5, 2.0,
             True, "{}", [], []]]
    data = [list(c) for c in zip(*rows, strict=True)]
    assert arrow_column("DECIMAL(18,2)", data[1]).type == pa.string()  # 1.235 does not fit the scale exactly
    assert arrow_column("TIMESTAMP", data[3]).type == pa.string()  # aware datetimes: as UTC text
    assert arrow_column("INTEGER", [1, True]).type == pa.string()  # a bool among ints is not an int here
    got = _bulk_path(TYPES, rows)
    without_ts = [r[:3] + r[4:] for r in rows]
    assert [g[:3] + g[4:] for g in got] == _row_path(TYPES[:3] + TYPES[4:], without_ts)
    assert [r[1] for r in got] == [Decimal("1.24"), Decimal("12345678.90")]  # rounded as DuckDB's CAST rounds
    assert [r[3] for r in got] == [datetime(2024, 1, 2, 10), datetime(2024, 1, 2, 12)]  # UTC, naive


@pytest.mark.parametrize("value", ["EUR", Decimal("2.50"), date(2024, 5, 1), [1]])
def test_a_column_with_one_value_is_sent_once_as_a_parameter(value: Any) -> None:
    typ = {str: "VARCHAR", Decimal: "DECIMAL(18,2)", date: "DATE", list: "INTEGER[]"}[type(value)]
    data = [["k1", "k2", "k3"], [value, value, value]]
    table, select, params = staging_table(["key", "v"], ["VARCHAR", typ], data, keep=("key",))
    assert table.column_names == ["key"] and params == [value]
    assert select == f'CAST("key" AS VARCHAR) AS "key", CAST(? AS {typ}) AS "v"'
    assert _bulk_path(["VARCHAR", typ], [list(r) for r in zip(*data, strict=True)]) == \
        _row_path(["VARCHAR", typ], [list(r) for r in zip(*data, strict=True)])


def test_equal_decimals_of_different_scale_in_a_text_column_are_not_folded() -> None:
    data = [["k1", "k2"], [Decimal("1.0"), Decimal("1.00")]]
    table, _, params = staging_table(["key", "v"], ["VARCHAR", "VARCHAR"], data, keep=("key",))
    assert params == [] and table.column("v").to_pylist() == ["1.0", "1.00"]
