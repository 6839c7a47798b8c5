"""Prefect tasks for the stages of a run. Each wraps one core call; no logic lives here.

A run is ``discover`` then one ``load`` task run per batch (validate and write; its result is the batch's
documents in their final states). Documents are not task runs: they run on the core's pool of
``documents_in_flight`` threads (ocrflow.run.lifecycle.RunHooks), their states go to the store, the run's
progress artifact and logs. A task run per document cost ~1,060 task runs and ~3,300 events per 1,000
documents and +53-68 % wall on 1,000 one-page invoices (docs/scaling.md, BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from ocrflow.core.results import DocResult
from ocrflow.core.settings import ConfigError
from ocrflow.run.planning import Plan
from ocrflow.store.base import Store, StoreError

DISCOVERY_STOPS = (OSError, ConfigError, StoreError)
"""A missing or unreadable input, a bad setting, a store that stopped answering: expected, not a bug."""


@task(name="discover", cache_policy=NO_CACHE)
def discover_task(plan: Callable[[Store], Plan], store: Store) -> Any:
    """The plan; an expected stop ends the task Failed with one line (no traceback) and re-raises in the flow."""
    try:
        return plan(store)
    except DISCOVERY_STOPS as exc:
        from prefect.states import Failed

        return Failed(message=" ".join(str(exc).split()) or type(exc).__name__, data=exc)


@task(name="validate-and-load", cache_policy=NO_CACHE)
def load_batch_task(write: Callable[[list[DocResult], str], list[DocResult]], results: list[DocResult],
                    run_id: str) -> list[DocResult]:
    """One batch: validate and write it in one transaction; the documents in their final states."""
    return write(results, run_id)


STAGE_TASKS: dict[str, Any] = {"discover": discover_task, "load": load_batch_task}
"""The run lifecycle's stages (``RunHooks.stage`` names) that a flow runs as tasks."""
