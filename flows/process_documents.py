"""`process_documents`: documents in, validated rows out, through the core run lifecycle (ocrflow.run.lifecycle).

This module holds the flow's parameters and the Prefect glue only; FlowHooks (flows/hooks.py) runs the
stages as tasks and each document as a task run. Failure semantics: an engine outage (transient) is
retried by the task, then leaves the document pending; anything else wrong with one document makes that
document failed; neither stops the run. The run ends Completed, or Failed with the counts and the names
of the failed documents (its data is the summary).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from prefect import flow, get_run_logger
from prefect.task_runners import ThreadPoolTaskRunner

from flows.hooks import FlowHooks
from flows.outcome import failed_state, flow_output
from flows.params import ClaimOptions, ContractName, EngineName
from flows.reporting import publish_summary, review_waiting
from flows.runtime import flow_engine, flow_settings, run_name
from ocrflow.core.settings import ConfigError
from ocrflow.engines.base import EngineError
from ocrflow.metrics import start_metrics_server
from ocrflow.run.files_work import FilesWork
from ocrflow.run.lifecycle import DocumentRun, RunOptions, record_stopped_run, stop_message
from ocrflow.run.summary import RunSummary, stopped_summary
from ocrflow.store import Store, StoreError, open_store

STOPS = (ConfigError, StoreError, OSError)
"""Expected reasons for a run to stop before or between batches: a bad parameter or setting, a store that
cannot be opened or stopped answering, a missing or unreadable input. Each ends the run with one line."""
TITLE = "process-documents"


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
# ocrflow.pipeline.pdfium_lock.PDFIUM_LOCK (two unguarded threads segfaulted the flow process).
DOCUMENT_THREADS = 256


@flow(name="process-documents", task_runner=ThreadPoolTaskRunner(max_workers=DOCUMENT_THREADS),  # type: ignore[arg-type]
      log_prints=True, flow_run_name=_run_name)
def process_documents(
    paths: list[str],
    contract: ContractName = "auto",
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
    claims = claims or ClaimOptions()
    started = time.perf_counter()
    try:
        settings = flow_settings(contract=contract, engine=engine, store=store, force=force or None, glob=glob)
    except ConfigError as exc:
        return _stopped(logger, stop_message(exc), store_url=store or "", started=started)
    try:
        st = open_store(settings.store)
    except StoreError as exc:  # e.g. the DuckDB file is held by another run: say who
        return _stopped(logger, stop_message(exc), store_url=settings.store, started=started)
    options = RunOptions(flow_run_id=_flow_run_id(), batch_size=batch_size or None, worker=claims.worker,
                         claim_ttl_s=claims.ttl_s)
    eng = None
    run: DocumentRun | None = None
    try:
        eng = flow_engine(settings)
        run = DocumentRun(settings, st, eng, FilesWork(list(paths), settings), FlowHooks(logger), options)
        summary = run.execute()
        summary.review_waiting = review_waiting(st, run.contracts)
    except (EngineError, *STOPS) as exc:  # the preflight, a contract typo, a missing input, a dead store
        prefix = "engine not ready: " if isinstance(exc, EngineError) else ""
        run_id = _ledger_row(st, run, options, paths, settings.contract, prefix + stop_message(exc))
        return _stopped(logger, prefix + stop_message(exc), store_url=settings.store, started=started,
                        run_id=run_id)
    finally:
        if eng is not None:
            eng.close()
        st.close()
    publish_summary(summary, title=f"{TITLE}: {summary.status}", store_url=settings.store)
    return _finish(summary)


def _ledger_row(st: Store, run: DocumentRun | None, options: RunOptions, paths: list[str], contract: str,
                message: str) -> str:
    """The run's ``runs`` row, closed FAILED: the run's own (the run closed it) or, when the run never
    opened one (the engine could not be made), a new one."""
    if run is not None and run.record is not None:
        return run.record.run_id
    return record_stopped_run(st, flow_run_id=options.flow_run_id, engine="", contract=contract,
                              inputs=list(paths), message=message).run_id


def _stopped(logger: Any, message: str, *, store_url: str, started: float, run_id: str = "") -> Any:
    """A run that stopped early: one error line, the summary artifact, a Failed state with that line."""
    summary = stopped_summary(run_id, _flow_run_id(), message, started)
    logger.error("%s", summary.message)
    publish_summary(summary, title=f"{TITLE}: stopped", store_url=store_url)
    return failed_state(summary.message, summary_dict(summary))


def summary_dict(summary: RunSummary) -> dict[str, Any]:
    return {"run_id": summary.run_id, "status": summary.status, **summary.counts,
            "seconds": round(summary.seconds, 2), "message": summary.message,
            "failed_documents": [p for p, _ in summary.failed], "already_final": summary.already_final,
            "review_waiting": summary.review_waiting}


def _finish(summary: RunSummary) -> Any:
    """The summary, or a Failed state naming the failed documents (one bad document never crashes the flow)."""
    out = summary_dict(summary)
    if summary.status != "COMPLETED":
        return failed_state(summary.message, out)
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
    sys.stdout.write(json.dumps(flow_output(state), default=str) + "\n")
    return 0 if state.is_completed() else 1


if __name__ == "__main__":
    raise SystemExit(main())
