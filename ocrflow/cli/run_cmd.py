"""``ocrflow run``: documents into the store, in this process or as the Prefect flow (``--prefect``).

Both paths take the same options (one ``ocrflow.run.params.RunParams``), print the same summary and exit
with the same codes: 0 COMPLETED, 1 FAILED, 2 a usage / configuration / engine / store error, 130 / 143
stopped by SIGINT / SIGTERM (ocrflow.run.summary, ocrflow.run.stopping).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from ocrflow.cli.common import DbOpt, app, console, err, fail, full_width, quiet_libraries, store_and_engine_or_exit
from ocrflow.cli.run_output import print_summary, progress

if TYPE_CHECKING:
    from ocrflow.run.params import RunParams
    from ocrflow.run.stopping import StopRequest


@app.command()
def run(
    paths: Annotated[list[str], typer.Argument(help="files, folders or fsspec URLs")],
    contract: Annotated[str | None, typer.Option(help="contract name or 'auto'")] = None,
    engine: Annotated[str | None, typer.Option(help="auto | embedded | vllm")] = None,
    db: DbOpt = None,
    renderer: Annotated[str | None, typer.Option(help="pypdfium2 | pdf2image")] = None,
    dpi: Annotated[int | None, typer.Option(help="rasterization DPI")] = None,
    glob: Annotated[str | None, typer.Option(help="glob filter inside folders")] = None,
    force: Annotated[bool, typer.Option("--force", help="re-process documents already loaded")] = False,
    day_first: Annotated[bool | None, typer.Option("--day-first/--month-first")] = None,
    no_einvoice: Annotated[bool, typer.Option("--no-einvoice", help="ignore embedded e-invoice XML")] = False,
    config: Annotated[Path | None, typer.Option(help="ocrflow.toml config file")] = None,
    max_failed: Annotated[str | None, typer.Option(
        "--max-failed", help="error budget: failed + unmatched documents a run may have and still be "
                             "COMPLETED (exit 0): a count (5) or a fraction of the run's documents (1%, 0.01; "
                             "default 1%)")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", min=1, help="documents per write transaction (default: at least 16 and at least the "
                                    "documents in flight)")] = None,
    claim_ttl: Annotated[float, typer.Option(
        "--claim-ttl", min=1.0, help="PostgreSQL: seconds a worker's claim on a document lasts; a killed "
                                     "worker's documents are taken over after it")] = 900.0,
    fail_on_empty: Annotated[bool, typer.Option(
        "--fail-on-empty", help="exit 1 when the inputs hold no document at all (cron: a missing mount)")] = False,
    prefect: Annotated[bool, typer.Option(
        "--prefect", help="run as the Prefect flow process-documents, with the same options and exit codes "
                          "(ephemeral server unless PREFECT_API_URL is set)")] = False,
) -> None:
    """Process documents into the store and print a summary."""
    from pydantic import ValidationError

    from ocrflow.run.params import RunParams
    from ocrflow.run.stopping import HardStop, StopRequest, stop_on_signals

    quiet_libraries()
    full_width()
    try:
        params = RunParams.model_validate({
            "contract": contract, "engine": engine, "store": db, "renderer": renderer, "dpi": dpi, "glob": glob,
            "force": force, "day_first": day_first, "no_einvoice": no_einvoice,
            "config": str(config) if config else None, "max_failed": max_failed, "batch_size": batch_size,
            "claim_ttl_s": claim_ttl, "fail_on_empty": fail_on_empty})
    except ValidationError as exc:
        raise fail("; ".join(f"--{'-'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
    stop = StopRequest()
    with stop_on_signals(stop, lambda line: err.print(f"[yellow]{line}[/yellow]", soft_wrap=True)):
        try:
            out, title, code = _run_prefect(paths, params) if prefect else _run_here(paths, params, stop)
            if json_out:
                console.print_json(json.dumps(out, default=str))
            else:
                print_summary(out, title)
        except HardStop as exc:  # a second signal: the runs row is closed (CANCELLED); leave now
            _leave_now(str(exc), 128 + exc.signum)
        if prefect and code > 128:  # stopped by a signal: do not wait for documents still in flight in threads
            _drain_prefect()
            _leave_now("", code)
    raise typer.Exit(code)


def _run_here(paths: list[str], params: RunParams, stop: StopRequest) -> tuple[dict[str, Any], str, int]:
    """The run in this process; a usage, configuration, engine or store error exits 2 with one line."""
    from ocrflow.core.settings import ConfigError, redact_url
    from ocrflow.engines.base import EngineError
    from ocrflow.metrics import start_metrics_server
    from ocrflow.run.files_work import run_files
    from ocrflow.run.summary import summary_json
    from ocrflow.store import StoreError

    try:
        settings = params.settings()
    except (ConfigError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    start_metrics_server()
    with store_and_engine_or_exit(settings) as (store, eng), progress() as hooks:
        try:
            summary = run_files(paths, settings, store, eng, hooks=hooks, options=params.run_options(stop=stop))
        except (OSError, ConfigError, EngineError, StoreError) as exc:  # StoreError: the store stopped
            raise fail(str(exc)) from exc
    return summary_json(summary), f"ocrflow run {summary.run_id}  ->  {redact_url(settings.store)}", summary.code


def _run_prefect(paths: list[str], params: RunParams) -> tuple[dict[str, Any], str, int]:
    """The run as the flow ``process-documents`` in this process (the same options; its exit code)."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flows.outcome import exit_code, flow_output
    from flows.process_documents import process_documents

    state: Any = process_documents(paths=paths, options=params, return_state=True)
    out = flow_output(state)  # the counts, also of a Failed or Cancelled run
    code = exit_code(state, out)
    if code == 2 and out.get("message"):
        err.print(f"[red]error:[/red] {out['message']}", highlight=False, soft_wrap=True)
    return out, f"process-documents flow: {state.name}  run {out.get('run_id')}", code


def _drain_prefect() -> None:
    """Send the flow run's last logs and events to the API before the process leaves without cleanup."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        try:
            worker.drain_all(timeout=5)
        except Exception as exc:  # noqa: BLE001 - leaving anyway; the run's state is already recorded
            err.print(f"could not flush Prefect {worker.__name__}: {exc}", highlight=False)


def _leave_now(message: str, code: int) -> NoReturn:
    """Exit at once with ``code`` (the store is closed and the runs row is not RUNNING): threads still
    processing a document are not waited for."""
    if message:
        err.print(f"[red]{message}[/red]", highlight=False, soft_wrap=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
