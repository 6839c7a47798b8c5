"""Integration fixtures: one real Prefect server on loopback for the whole session (started on demand), and a
store of either kind (DuckDB file, PostgreSQL schema of its own: ``pg_schema``, tests/conftest.py) for the store
tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ocrflow.contracts import Contract
from ocrflow.store.duckdb_store import DuckDBStore
from ocrflow.store.postgres_store import PostgresStore
from tests.support.prefect_server import PrefectServer, start_server
from tests.support.store import STORE_KINDS


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """``prefect server start --host 127.0.0.1`` with its own PREFECT_HOME; the test process uses it too."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    server = start_server(tmp_path_factory.mktemp("prefect-home"))
    print(f"\n[prefect] server answered /api/health after {server.started_s:.1f}s")
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.url}):
            yield server
    finally:
        server.close()


@pytest.fixture(params=STORE_KINDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path, contracts: dict[str, Contract]) -> Iterator[Any]:
    """A DuckDB file, or a PostgreSQL schema of its own (that half is marked postgres)."""
    if request.param == "duckdb":
        store: Any = DuckDBStore(str(tmp_path / "s.duckdb"))
    else:
        url, schema = request.getfixturevalue("pg_schema")
        store = PostgresStore(url, schema=schema)
    store.init_schema(list(contracts.values()))
    yield store
    store.close()
