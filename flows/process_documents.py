"""`process_documents`: documents in, validated rows out, each stage a Prefect task."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.task_runners import ThreadPoolTaskRunner

from ocrflow.contracts import load_contracts
from ocrflow.engines.base import TransientEngineError
from ocrflow.engines.factory import make_engine
from ocrflow.pipeline import (
    DocResult,
    Processor,
    RunSummary,
    new_run_id,
    pending_result,
    pending_updates,
    rejected_updates,
    summarize,
)
from ocrflow.settings import Settings, load_settings
from ocrflow.store import RunRecord, open_store
from tasks.stages import discover_task, load_batch_task, process_document_task


def _flow_run_id() -> str:
    from prefect.runtime import flow_run

    return str(flow_run.id or "")


def _settings(**params: Any) -> Settings:
    return load_settings(**params)


@flow(name="process-documents", task_runner=ThreadPoolTaskRunner(max_workers=2),  # type: ignore[arg-type]
      log_prints=True,
      flow_run_name="process-{contract}-{engine}")
def process_documents(
    paths: list[str],
    contract: str = "auto",
    engine: str = "auto",
    store: str | None = None,
    force: bool = False,
    glob: str = "**/*",
    batch_size: int = 16,
) -> Any:
    """Process files/folders/URLs into the store; returns the run summary (counts, status)."""
    logger = get_run_logger()
    started = time.perf_counter()
    settings = _settings(contract=contract, engine=engine, store=store, force=force or None, glob=glob)
    contracts = load_contracts(settings.contracts_dir)
    st = open_store(settings.store)
    eng = make_engine(settings)
    try:
        st.init_schema(list(contracts.values()))
        run_id = new_run_id()
        run = RunRecord(run_id=run_id, flow_run_id=_flow_run_id() or run_id, started_at=datetime.now(UTC),
                        engine=eng.name, contract=settings.contract, inputs=list(paths))
        st.start_run(run)
        plan_ = discover_task(paths, st, settings.glob, settings.force)
        st.register(pending_updates(plan_.todo) + rejected_updates(plan_.rejected), run_id)
        logger.info("%d to process, %d already loaded, %d rejected", len(plan_.todo), len(plan_.skipped),
                    len(plan_.rejected))
        processor = Processor(settings, eng, contracts, flow_run_id=run.flow_run_id)
        results: list[DocResult] = []
        for i in range(0, len(plan_.todo), batch_size):
            chunk = plan_.todo[i:i + batch_size]
            futures = process_document_task.map(processor, chunk)
            done = [_result_or_pending(f, doc) for f, doc in zip(futures, chunk, strict=True)]
            results.extend(load_batch_task(done, contracts, run_id, st))
        summary = summarize(run, results, plan_, started)
        run.finished_at, run.status, run.counts = datetime.now(UTC), summary.status, summary.counts
        run.seconds, run.message = summary.seconds, summary.message
        st.finish_run(run)
    finally:
        eng.close()
        st.close()
    return _finish(summary)


def _result_or_pending(future: Any, doc: Any) -> DocResult:
    try:
        return future.result()
    except TransientEngineError as exc:
        return pending_result(doc, exc)


def _finish(summary: RunSummary) -> Any:
    """The summary, or a Failed state naming the failed documents (one bad document never crashes the flow)."""
    out = {"run_id": summary.run_id, "status": summary.status, **summary.counts,
           "seconds": round(summary.seconds, 2), "message": summary.message}
    if summary.status != "COMPLETED":
        from prefect.states import Failed

        return Failed(message=summary.message, data=out)
    return out


if __name__ == "__main__":
    import sys

    print(process_documents(sys.argv[1:]))
