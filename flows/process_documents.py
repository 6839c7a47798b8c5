"""`process_documents`: documents in, validated rows out, each stage a Prefect task.

Failure semantics: an engine outage (transient) is retried by the task, then leaves the document pending;
anything else wrong with one document makes that document failed; neither stops the run. The run ends
Completed, or Failed with the counts and the names of the failed documents (its data is the summary).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.task_runners import ThreadPoolTaskRunner

from flows.params import ClaimOptions, EngineName
from flows.reporting import Progress, publish_summary
from flows.runtime import flow_engine, flow_settings, run_name
from flows.window import Window
from ocrflow.batches import BatchReport, run_batches
from ocrflow.contracts import Contract, load_contracts
from ocrflow.engines.base import Engine, EngineError, TransientEngineError
from ocrflow.metrics import observe_error, start_metrics_server
from ocrflow.models import DocumentRef
from ocrflow.pipeline import (
    DocResult,
    Plan,
    Processor,
    RunSummary,
    abandon,
    build_run_data_docs,
    finish,
    new_run_id,
    pending_result,
    prepare_engine,
    register_plan,
    summarize,
    worker_id,
)
from ocrflow.settings import Settings
from ocrflow.store import RunRecord, StoreError, open_store
from tasks.stages import discover_task, load_batch_task, process_document_task


def _flow_run_id() -> str:
    from prefect.runtime import flow_run

    return str(flow_run.id or "")


def _run_name() -> str:
    from prefect.runtime import flow_run

    params = flow_run.parameters or {}
    return run_name("process", list(params.get("paths") or []))


# Threads for document tasks: an upper bound only. How many documents run at once is the setting
# documents_in_flight (2 embedded, 32 vLLM by default; at most 256): flows.window submits a task only when
# a slot is free. pypdfium2 is not thread-safe: every pdfium call runs under
# ocrflow.pdfium_lock.PDFIUM_LOCK (two unguarded threads segfaulted the flow process).
DOCUMENT_THREADS = 256


@flow(name="process-documents", task_runner=ThreadPoolTaskRunner(max_workers=DOCUMENT_THREADS),  # type: ignore[arg-type]
      log_prints=True, flow_run_name=_run_name)
def process_documents(
    paths: list[str],
    contract: str = "auto",
    engine: EngineName = "auto",
    store: str | None = None,
    force: bool = False,
    glob: str = "**/*",
    batch_size: int = 0,
    claims: ClaimOptions | None = None,
) -> Any:
    """Process files, folders or fsspec URLs into the store; returns the run summary.

    Args:
        paths: files, folders or fsspec URLs (folders are searched with `glob`)
        contract: data contract name (invoice, receipt, ...) or auto to pick one per document
        engine: auto (vLLM when OCRFLOW_VLLM_URL is set), embedded (CPU) or vllm
        store: DuckDB path or postgresql:// URL; empty: the deployment's OCRFLOW_STORE
        force: re-process documents that are already loaded
        glob: glob filter inside folders
        batch_size: documents validated and written per transaction (and per progress step); 0: at least
            16 and at least the documents in flight (OCRFLOW_DOCUMENTS_IN_FLIGHT: 2 embedded, 32 vLLM)
        claims: sharing the inbox with other runs (PostgreSQL): claim time-to-live and owner name
    """
    logger = get_run_logger()
    start_metrics_server()
    started = time.perf_counter()
    settings = flow_settings(contract=contract, engine=engine, store=store, force=force or None, glob=glob)
    contracts = load_contracts(settings.contracts_dir)
    try:
        st = open_store(settings.store)
    except StoreError as exc:  # e.g. the DuckDB file is held by another run: say who, fail clearly
        logger.error("%s", exc)
        from prefect.states import Failed

        return Failed(message=str(exc))
    try:
        # preflight before any document is touched; then the store's result cache in front of the engine
        eng = prepare_engine(flow_engine(settings), st, settings)
    except EngineError as exc:
        st.close()
        logger.error("%s", exc)
        from prefect.states import Failed

        return Failed(message=f"engine not ready: {exc}")
    try:
        summary = _run(list(paths), settings, st, eng, contracts, batch_size=settings.resolved_batch_size(batch_size),
                       claims=claims or ClaimOptions(), started=started)
    finally:
        eng.close()
        st.close()
    publish_summary(summary, title=f"process-documents: {summary.status}", store_url=settings.store)
    return _finish(summary)


def _run(paths: list[str], settings: Settings, st: Any, eng: Engine, contracts: dict[str, Contract], *,
         batch_size: int, claims: ClaimOptions, started: float) -> RunSummary:
    logger = get_run_logger()
    st.init_schema(list(contracts.values()))
    run_id = new_run_id()
    run = RunRecord(run_id=run_id, flow_run_id=_flow_run_id() or run_id, started_at=datetime.now(UTC),
                    engine=eng.name, contract=settings.contract, inputs=list(paths))
    st.start_run(run)
    plan_ = discover_task(paths, st, settings.glob, settings.force)
    register_plan(st, plan_, run_id, force=settings.force)
    logger.info("%d to process, %d already loaded, %d rejected", len(plan_.todo), len(plan_.skipped),
                len(plan_.rejected))
    processor = Processor(settings, eng, contracts, flow_run_id=run.flow_run_id)
    progress = Progress(len(plan_.todo), "process-documents")
    progress.start()
    reports: list[Any] = []
    results: list[DocResult] = []

    window: Window[DocumentRef, DocResult] = Window(lambda doc: process_document_task.submit(processor, doc),
                                                    _result_or_pending, settings.resolved_documents_in_flight())
    def load(done: list[DocResult]) -> list[DocResult]:
        written: list[DocResult] = load_batch_task(done, contracts, run_id, st, reports)
        return written

    def on_batch(b: BatchReport) -> None:
        results.extend(b.written)
        counts = _state_counts(results)
        progress.advance(b.documents, counts)
        if b.load_error:
            logger.error("writing batch %d/%d failed, its %d documents stay pending: %s", b.number, b.batches,
                         len(b.written), b.load_error)
        else:
            logger.info("batch %d/%d written: %d documents (%s); %d claimed by other workers", b.number,
                        b.batches, len(b.written), ", ".join(f"{k} {v}" for k, v in counts.items()), b.elsewhere)

    worker = claims.worker or worker_id(run.flow_run_id)
    try:
        loop = run_batches(st, plan_.todo, start=window.start, load=load, worker=worker, ttl_s=claims.ttl_s,
                           batch_size=batch_size, store_name=settings.store, on_batch=on_batch)
    except StoreError as exc:
        abandon(st, run, str(exc))
        raise
    mine, elsewhere = loop.mine, loop.elsewhere
    if elsewhere:
        logger.info("%d document(s) were being processed by other workers and were left to them", len(elsewhere))
    effective = Plan(todo=mine, skipped=[*plan_.skipped, *elsewhere], rejected=plan_.rejected)
    summary = summarize(run, loop.results, effective, started)
    summary.data_docs = build_run_data_docs(reports, settings.store, run_id)
    finish(st, run, summary)
    return summary


def _state_counts(results: list[DocResult]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.state.value] = counts.get(r.state.value, 0) + 1
    return counts


def _result_or_pending(future: Any, doc: DocumentRef) -> DocResult:
    """The task's result; a transient error that outlived the retries leaves the document pending."""
    try:
        result: DocResult = future.result()
        return result
    except TransientEngineError as exc:
        observe_error(type(exc).__name__)
        return pending_result(doc, exc)
    except Exception as exc:  # noqa: BLE001 - a bug on one document must not stop the others
        from ocrflow.models import DocState

        observe_error(type(exc).__name__)
        return DocResult(doc, DocState.FAILED, error=f"{type(exc).__name__}: {exc}")


def summary_dict(summary: RunSummary) -> dict[str, Any]:
    return {"run_id": summary.run_id, "status": summary.status, **summary.counts,
            "seconds": round(summary.seconds, 2), "message": summary.message,
            "failed_documents": [p for p, _ in summary.failed]}


def _finish(summary: RunSummary) -> Any:
    """The summary, or a Failed state naming the failed documents (one bad document never crashes the flow)."""
    out = summary_dict(summary)
    if summary.status != "COMPLETED":
        from prefect.states import Failed

        return Failed(message=summary.message, data=out)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m flows.process_documents PATHS... [--store S]``: one flow run in this process."""
    parser = argparse.ArgumentParser(prog="python -m flows.process_documents")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--store", default=None)
    parser.add_argument("--contract", default="auto")
    parser.add_argument("--engine", default="auto", choices=["auto", "embedded", "vllm"])
    parser.add_argument("--batch-size", type=int, default=0, help="0: auto")
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--claim-ttl", type=float, default=900.0)
    args = parser.parse_args(argv)
    state: Any = process_documents(paths=args.paths, contract=args.contract, engine=args.engine, store=args.store,
                              force=args.force, batch_size=args.batch_size,
                              claims=ClaimOptions(ttl_s=args.claim_ttl), return_state=True)
    out = state.result(raise_on_failure=False)
    data = out if isinstance(out, dict) else {"status": state.type.value, "message": state.message}
    sys.stdout.write(json.dumps(data, default=str) + "\n")
    return 0 if state.is_completed() else 1


if __name__ == "__main__":
    raise SystemExit(main())
