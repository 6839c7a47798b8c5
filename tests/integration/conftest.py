"""Integration fixtures: one real Prefect server on loopback for the whole session (started on demand)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.prefect_server import PrefectServer, start_server


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
