"""Fixtures shared by more than one folder, and the guard that holds each test to its markers.

Every test uses real parts: real files, a real DuckDB file, real OCR. What a test needs beyond that (PostgreSQL,
the Prefect server, chromium) its markers say (tests/support/needs.py, docs/testing.md)."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.needs import GUARD, explain, fail_unmarked_fixtures, fail_unmarked_use, report
from tests.support.vllm import inbox_fixture, truth_model

if TYPE_CHECKING:
    from ocrflow.contracts import Contract
    from tests.fakes.model_fake import TruthModel

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# no ephemeral Prefect server behind a test's back: the server is the prefect_server fixture's (and marker's)
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_ENABLED", "false")


# --------------------------------------------------------------------------- the markers' guard
_selected: list[pytest.Item] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--needs-report", action="store_true",
                     help="list the tests marked postgres/prefect_server/browser that did not use it in this run")


def pytest_configure(config: pytest.Config) -> None:
    GUARD.watch_postgres()


def pytest_collection_finish(session: pytest.Session) -> None:
    _selected[:] = session.items


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    GUARD.item = item
    try:
        return (yield)
    finally:
        GUARD.item = None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    fail_unmarked_fixtures(item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    result = yield
    fail_unmarked_use(item)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    report = yield
    explain(report)  # type: ignore[arg-type]
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if config.getoption("needs_report"):
        report(_selected, terminalreporter.write_line)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled demo documents, generated once per session by the project's own generator."""
    from ocrflow.demo import generate_demo

    out = tmp_path_factory.mktemp("demo")
    generate_demo(out)
    return out


@pytest.fixture(scope="session")
def demo_gold(demo_dir: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in (demo_dir / "gold.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("OCRFLOW_"):
            monkeypatch.delenv(key)


@pytest.fixture()
def contracts() -> dict[str, Contract]:
    """The shipped contracts (contracts/*.yaml)."""
    from ocrflow.contracts import load_contracts

    return load_contracts()


@pytest.fixture()
def pg_schema() -> Iterator[tuple[str, str]]:
    """(URL, schema) of a PostgreSQL schema of the test's own, dropped afterwards: mark the test postgres."""
    from tests.support.store import drop_schema, require_pg, schema_name

    url, schema = require_pg(), schema_name()
    yield url, schema
    drop_schema(url, schema)


@pytest.fixture()
def model(demo_dir: Path) -> TruthModel:
    """The model fake, knowing the demo's three raster receipts (tests/fakes/model_fake.py)."""
    return truth_model(demo_dir)


inbox = inbox_fixture()
"""Two scanned receipts (OCR path) and one digital invoice (text layer: never sent to the model)."""
