"""`process_documents`: documents in, validated rows out, through the core run lifecycle (ocrflow.run.lifecycle).

The flow takes what ``ocrflow run`` takes: ``paths`` and one ``options`` object (ocrflow.run.params.RunParams,
the same fields, meanings and exit codes). This module holds the Prefect glue only; FlowHooks
(flows/hooks.py) runs discovery and each batch's validate-and-load as task runs. Failure semantics: an
engine outage (transient) is retried (2 s, 10 s), then leaves the document pending; anything else wrong
with one document makes that document failed; neither stops the run. SIGINT / SIGTERM (a cancel from the
UI) stop it cleanly (ocrflow.run.stopping). The run ends Completed, Failed with the counts and the names of
the failed documents, or Cancelled; its data is the summary (flows/outcome.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from prefect import flow, get_run_logger

from flows.hooks import FlowHooks
from flows.outcome import exit_code, final_state, flow_output
from flows.reporting import publish_summary, review_waiting
from flows.runtime import flow_engine, flow_settings, run_name
from ocrflow.core.settings import ConfigError, Settings
from ocrflow.engines.base import EngineError
from ocrflow.metrics import start_metrics_server
from ocrflow.run.files_work import FilesWork
from ocrflow.run.lifecycle import DocumentRun, record_stopped_run, stop_message
from ocrflow.run.params import RunParams
from ocrflow.run.stopping import HardStop, StopRequest, stop_on_signals
from ocrflow.run.summary import RunSummary, stopped_summary
from ocrflow.store import StoreError, open_store

STOPS = (ConfigError, StoreError, OSError)
"""Expected reasons for a run to stop before or between batches: a bad parameter or setting, a store that
cannot be opened or stopped answering, a missing or unreadable input. Each ends the run with one line."""
TITLE = "process-documents"
RETRY_DELAYS = (2.0, 10.0)
"""Seconds before each re-try of a document whose engine failed transiently (then it stays pending)."""


def _flow_run_id() -> str:
    from prefect.runtime import flow_run

    return str(flow_run.id or "")


def _run_name() -> str:
    from prefect.runtime import flow_run

    return run_name("process", list((flow_run.parameters or {}).get("paths") or []))


@flow(name="process-documents", log_prints=True, flow_run_name=_run_name)
def process_documents(paths: list[str], options: RunParams | None = None) -> Any:
    """Process files, folders or fsspec URLs into the store; returns the run summary.

    Args:
        paths: files, folders or fsspec URLs (folders are searched with the options' glob)
        options: what ``ocrflow run`` takes (contract, engine, store, renderer, dpi, glob, force, error budget,
            batch size, claims, ...); empty fields: the config file, the deployment's OCRFLOW_* and the defaults
    """
    logger = get_run_logger()
    start_metrics_server()
    params, started, stop = options or RunParams(), time.perf_counter(), StopRequest()
    with stop_on_signals(stop, logger.warning):
        try:
            summary = _run(list(paths), params, logger, stop, started)
        except HardStop as exc:  # a second signal: the run row is closed CANCELLED; leave now
            summary = stopped_summary("", _flow_run_id(), stop_message(exc), started)
            summary.status, summary.code = "CANCELLED", 128 + exc.signum
    if summary.code == 2:
        logger.error("%s", summary.message)
    store_url = params.store or ""
    publish_summary(summary, title=f"{TITLE}: {summary.status}", store_url=store_url)
    return final_state(summary)


def _run(paths: list[str], params: RunParams, logger: Any, stop: StopRequest, started: float) -> RunSummary:
    """The run, or the summary of a run that stopped before or between batches (exit code 2)."""
    try:
        settings = flow_settings(params.config, **params.setting_overrides())
        st = open_store(settings.store)
    except (*STOPS, FileNotFoundError) as exc:  # e.g. the DuckDB file is held by another run: say who
        return stopped_summary("", _flow_run_id(), stop_message(exc), started)
    options = params.run_options(flow_run_id=_flow_run_id(), stop=stop)
    options.retry_delays = RETRY_DELAYS
    eng = None
    run: DocumentRun | None = None
    try:
        eng = flow_engine(settings)
        run = DocumentRun(settings, st, eng, FilesWork(paths, settings), FlowHooks(logger), options)
        summary = run.execute()
        summary.review_waiting = review_waiting(st, run.contracts)
        return summary
    except (EngineError, *STOPS) as exc:  # the preflight, a contract typo, a missing input, a dead store
        message = ("engine not ready: " if isinstance(exc, EngineError) else "") + stop_message(exc)
        return stopped_summary(_ledger_row(st, run, settings, paths, options.flow_run_id, message),
                               options.flow_run_id, message, started)
    finally:
        if eng is not None:
            eng.close()
        st.close()


def _ledger_row(st: Any, run: DocumentRun | None, settings: Settings, paths: list[str], flow_run_id: str,
                message: str) -> str:
    """The run's ``runs`` row, closed FAILED: the run's own (the run closed it) or, when the run never
    opened one (the engine could not be made), a new one."""
    if run is not None and run.record is not None:
        return run.record.run_id
    return record_stopped_run(st, flow_run_id=flow_run_id, engine="", contract=settings.contract,
                              inputs=list(paths), message=message).run_id


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m flows.process_documents PATHS... [--store S]``: one flow run in this process; prints the
    summary as one JSON line and exits with the run's exit code (``ocrflow run --prefect`` does all options)."""
    parser = argparse.ArgumentParser(prog="python -m flows.process_documents")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--store", default=None)
    parser.add_argument("--contract", default=None)
    parser.add_argument("--engine", default=None, choices=["auto", "embedded", "vllm"])
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--claim-ttl", type=float, default=900.0)
    args = parser.parse_args(argv)
    params = RunParams(store=args.store, contract=args.contract, engine=args.engine, batch_size=args.batch_size,
                       force=args.force, claim_ttl_s=args.claim_ttl)
    state: Any = process_documents(paths=args.paths, options=params, return_state=True)
    out = flow_output(state)
    sys.stdout.write(json.dumps(out, default=str) + "\n")
    return exit_code(state, out)


if __name__ == "__main__":
    raise SystemExit(main())
