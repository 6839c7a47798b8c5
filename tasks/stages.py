"""Prefect tasks for each pipeline stage. Each wraps one core function; no logic lives here."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from ocrflow.contracts import Contract
from ocrflow.engines.base import TransientEngineError
from ocrflow.models import DocumentRef
from ocrflow.pipeline import DocResult, Plan, Processor, plan, validate_and_build_batch


def _transient_only(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a task only when it failed for a transient reason (network, 5xx, 429, timeouts)."""
    try:
        state.result()
    except TransientEngineError:
        return True
    except Exception:  # noqa: BLE001 - any other error is terminal: no retry
        return False
    return False


@task(name="discover", cache_policy=NO_CACHE)
def discover_task(inputs: list[str], store: Any, glob: str, force: bool) -> Plan:
    return plan(inputs, store, glob=glob, force=force)


@task(name="process-document", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 10],
      retry_jitter_factor=0.5, retry_condition_fn=_transient_only, task_run_name="process {doc.path}")
def process_document_task(processor: Processor, doc: DocumentRef) -> DocResult:
    return processor.process(doc, raise_transient=True)


@task(name="validate-and-load", cache_policy=NO_CACHE)
def load_batch_task(results: list[DocResult], contracts: dict[str, Contract], run_id: str,
                    store: Any, reports: list[Any] | None = None) -> list[DocResult]:
    batch = validate_and_build_batch(results, contracts, run_id, reports)
    store.write_batch(batch, contracts)
    return results
