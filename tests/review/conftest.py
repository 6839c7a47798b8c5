"""Fixtures: a real store (DuckDB file or PostgreSQL schema) filled by a real run over generated PDFs
(tests/support/review.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.review import Reviewed, fill
from tests.support.store import STORE_KINDS


@pytest.fixture(params=STORE_KINDS)
def reviewed(request: pytest.FixtureRequest, tmp_path: Path) -> Reviewed:
    """Filled in a DuckDB file, or in a PostgreSQL schema of its own (``pg_schema``; that half is marked)."""
    if request.param == "duckdb":
        return fill(str(tmp_path / "review.duckdb"), tmp_path / "inbox")
    base, schema = request.getfixturevalue("pg_schema")
    return fill(f"{base}?schema={schema}", tmp_path / "inbox")


@pytest.fixture()
def duck(tmp_path: Path) -> Reviewed:
    return fill(str(tmp_path / "review.duckdb"), tmp_path / "inbox")
