"""What a test needs, said by its markers, and the guard that holds every test to them.

The markers are declared in pyproject.toml ([tool.pytest.ini_options], ``--strict-markers``): ``postgres``,
``prefect_server`` and ``browser`` name a real service, ``slow`` an end-to-end test. A test that
asks for a service's fixture without the service's marker fails at setup; one that connects to PostgreSQL
(in this process) without ``postgres`` fails at teardown. So ``pytest -m "not postgres"`` runs exactly the
tests that do without PostgreSQL. The Prefect server comes only from the ``prefect_server`` fixture: Prefect's
ephemeral server is switched off for the tests (tests/conftest.py), so a flow run without the fixture stops
with "No Prefect API URL provided" instead of starting a server of its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest

SERVICES = ("postgres", "prefect_server", "browser")
FIXTURES = {"pg_schema": "postgres", "prefect_server": "prefect_server", "browser": "browser"}
"""The shared fixtures that bring a real service, and the marker a test that asks for one must carry."""


class Guard:
    """Which services the running test used; what it used without the marker."""

    def __init__(self) -> None:
        self.item: pytest.Item | None = None
        self.used: dict[str, set[str]] = defaultdict(set)  # nodeid -> services it connected to
        self.asked: dict[str, set[str]] = defaultdict(set)  # nodeid -> services whose fixture it asked for

    def use(self, need: str) -> None:
        if self.item is not None:
            self.used[self.item.nodeid].add(need)

    def fixtures_without_marker(self, item: pytest.Item) -> list[str]:
        names = getattr(item, "fixturenames", ())
        self.asked[item.nodeid] = {need for name, need in FIXTURES.items() if name in names}
        return [f"fixture {name!r} needs @pytest.mark.{need}" for name, need in FIXTURES.items()
                if name in names and item.get_closest_marker(need) is None]

    def used_without_marker(self, item: pytest.Item) -> list[str]:
        """What the test connected to without the marker (a fixture asked for without one failed at setup)."""
        return sorted(need for need in self.used.get(item.nodeid, set()) - self.asked.get(item.nodeid, set())
                      if item.get_closest_marker(need) is None)

    def marked_not_used(self, items: list[pytest.Item]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for need in SERVICES:
            out[need] = [i.nodeid for i in items if i.get_closest_marker(need) is not None
                         and need not in self.used.get(i.nodeid, set()) | self.asked.get(i.nodeid, set())]
        return out

    def watch_postgres(self) -> None:
        """Count every successful psycopg connection against the running test (a refused one needs no server)."""
        import psycopg

        real: Callable[..., Any] = psycopg.Connection.__dict__["connect"].__func__
        if getattr(real, "guarded", False):
            return

        def connect(cls: Any, *args: Any, **kwargs: Any) -> Any:
            conn = real(cls, *args, **kwargs)
            self.use("postgres")
            return conn

        connect.guarded = True  # type: ignore[attr-defined]
        psycopg.Connection.connect = classmethod(connect)  # type: ignore[assignment, method-assign]
        psycopg.connect = psycopg.Connection.connect  # type: ignore[assignment]


GUARD = Guard()


def fail_unmarked_fixtures(item: pytest.Item) -> None:
    missing = GUARD.fixtures_without_marker(item)
    if missing:
        pytest.fail(f"{item.nodeid}: " + "; ".join(missing) + " (tests/support/needs.py)", pytrace=False)


def fail_unmarked_use(item: pytest.Item) -> None:
    missing = GUARD.used_without_marker(item)
    if missing:
        pytest.fail(f"{item.nodeid} used {', '.join(missing)} without @pytest.mark."
                    + ", @pytest.mark.".join(missing) + " (tests/support/needs.py)", pytrace=False)


NO_SERVER = "No Prefect API URL provided"


def explain(report: pytest.TestReport) -> None:
    """A flow run without the server fixture fails in Prefect's client: say what the test lacks."""
    if report.failed and NO_SERVER in str(report.longrepr):
        report.sections.append(("needs", "Prefect's ephemeral server is off in the tests: a test that runs a flow "
                                         "asks for the prefect_server fixture and carries "
                                         "@pytest.mark.prefect_server (tests/support/needs.py)"))


def report(items: list[pytest.Item], write: Callable[[str], None]) -> None:
    """Marked tests that never used their service in this run (a marker to check, not an error)."""
    for need, ids in GUARD.marked_not_used(items).items():
        if ids:
            write(f"marked {need} but did not use it in this run ({len(ids)}): " + ", ".join(ids))
