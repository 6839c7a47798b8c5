"""Prefect tasks for the stages of a run. Each wraps one core call; no logic lives here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from ocrflow.core.models import DocumentRef
from ocrflow.core.results import DocResult
from ocrflow.core.settings import ConfigError
from ocrflow.engines.base import TransientEngineError
from ocrflow.run.lifecycle import DocumentProcessor
from ocrflow.run.planning import Plan
from ocrflow.store.base import Store, StoreError


def _transient_only(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a task only when it failed for a transient reason (network, 5xx, 429, timeouts)."""
    try:
        state.result()
    except TransientEngineError:
        return True
    except Exception:  # noqa: BLE001 - any other error is terminal: no retry
        return False
    return False


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


@task(name="process-document", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 10],
      retry_jitter_factor=0.5, retry_condition_fn=_transient_only, task_run_name="process {doc.path}")
def process_document_task(processor: DocumentProcessor, doc: DocumentRef) -> DocResult:
    return processor.process(doc, raise_transient=True)


@task(name="validate-and-load", cache_policy=NO_CACHE)
def load_batch_task(write: Callable[[list[DocResult], str], list[DocResult]], results: list[DocResult],
                    run_id: str) -> list[DocResult]:
    return write(results, run_id)


STAGE_TASKS: dict[str, Any] = {"discover": discover_task, "load": load_batch_task}
"""The run lifecycle's stages (``RunHooks.stage`` names) that a flow runs as tasks."""
