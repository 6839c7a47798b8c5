"""``ocrflow run``: documents into the store, in this process or as the Prefect flow."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ocrflow.cli.common import (
    DbOpt,
    app,
    console,
    err,
    fail,
    quiet_libraries,
    settings_or_exit,
    store_and_engine_or_exit,
)

if TYPE_CHECKING:
    from ocrflow.core.settings import Settings
    from ocrflow.engines.base import Engine
    from ocrflow.run.summary import RunSummary
    from ocrflow.store import Store

COUNT_KEYS = ("documents", "pages", "loaded", "quarantined", "failed", "unmatched", "pending", "skipped",
              "duplicates")


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
    prefect: Annotated[bool, typer.Option(
        "--prefect", help="run as the Prefect flow process-documents (ephemeral server unless PREFECT_API_URL "
                          "is set)")] = False,
) -> None:
    """Process documents into the store and print a summary."""
    if prefect:
        _run_prefect(paths, contract=contract or "auto", engine=engine or "auto", db=db, force=force,
                     glob=glob or "**/*", json_out=json_out)
        return
    quiet_libraries()
    settings = settings_or_exit(config, contract=contract, engine=engine, store=db, renderer=renderer, dpi=dpi,
                                glob=glob, force=force or None, day_first=day_first,
                                use_embedded_xml=False if no_einvoice else None, max_failed=max_failed)
    summary = _run_here(paths, settings, batch_size, claim_ttl)
    if json_out:
        console.print_json(json.dumps({"run_id": summary.run_id, "status": summary.status, **summary.counts,
                                       "seconds": round(summary.seconds, 2), "failed_documents": summary.failed}))
    else:
        _print_summary(summary, settings.store)
    raise typer.Exit(0 if summary.status == "COMPLETED" else 1)


def _run_here(paths: list[str], settings: Settings, batch_size: int | None, claim_ttl: float) -> RunSummary:
    """The run in this process; a usage, configuration, engine or store error exits 2 with one line."""
    from ocrflow.core.settings import ConfigError
    from ocrflow.engines.base import EngineError
    from ocrflow.store import StoreError

    with store_and_engine_or_exit(settings) as (store, eng):
        try:
            return _run_with_progress(paths, settings, store, eng, batch_size, claim_ttl)
        except (FileNotFoundError, ConfigError, EngineError, StoreError) as exc:  # StoreError: the store stopped
            raise fail(str(exc)) from exc


def _run_prefect(paths: list[str], *, contract: str, engine: str, db: str | None, force: bool, glob: str,
                 json_out: bool) -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    quiet_libraries()
    from flows.outcome import flow_output
    from flows.process_documents import process_documents

    state: Any = process_documents(paths=paths, contract=contract, engine=engine, store=db, force=force, glob=glob,
                                   return_state=True)
    out = flow_output(state)  # the counts, also of a Failed run
    if not isinstance(out, dict):
        err.print(f"[red]flow {state.type.value}:[/red] {state.message or out}")
        raise typer.Exit(1)
    if json_out:
        console.print_json(json.dumps(out, default=str))
    else:
        t = Table(title=f"process-documents flow: {state.name}  run {out.get('run_id')}")
        keys = (*COUNT_KEYS, "seconds")
        for k in keys:
            t.add_column(k, justify="right")
        t.add_row(*(str(out.get(k, "")) for k in keys))
        console.print(t)
        if out.get("message"):
            console.print(f"  {out['message']}")
    raise typer.Exit(0 if state.is_completed() else 1)


def _run_with_progress(paths: list[str], settings: Settings, store: Store, eng: Engine,
                       batch_size: int | None, claim_ttl: float) -> RunSummary:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ocrflow.core.results import DocResult
    from ocrflow.run.files_work import run_files
    from ocrflow.run.lifecycle import RunHooks, RunOptions
    from ocrflow.run.planning import Plan

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=False) as progress:
        task = progress.add_task("discovering", total=None)

        class Bar(RunHooks):
            def on_plan(self, plan: Plan) -> None:
                progress.update(task, total=len(plan.todo),
                                description=f"processing ({len(plan.skipped)} already final)")

            def on_document(self, result: DocResult) -> None:
                state = "extracted" if result.row is not None else result.state.value
                progress.update(task, advance=1, description=f"{Path(result.doc.path).name[:40]} -> {state}")

        return run_files(paths, settings, store, eng, hooks=Bar(), options=RunOptions(batch_size=batch_size,
                                                                              claim_ttl_s=claim_ttl))


def _print_summary(summary: RunSummary, store_url: str) -> None:
    from ocrflow.core.settings import redact_url

    t = Table(title=f"ocrflow run {summary.run_id}  ->  {redact_url(store_url)}")
    for col in (*COUNT_KEYS, "time"):
        t.add_column(col, justify="right")
    c = summary.counts
    t.add_row(*(str(c.get(k, 0)) for k in COUNT_KEYS), f"{summary.seconds:.1f}s")
    console.print(t)
    for label, items in (("quarantined", summary.quarantined), ("failed", summary.failed),
                         ("unmatched", summary.unmatched), ("pending", summary.pending)):
        for path, why in items:
            console.print(f"  [yellow]{label}[/yellow] {path}: {why[:200]}")
    if summary.data_docs:
        console.print(f"data docs: {summary.data_docs}")
    console.print(f"status: [bold]{summary.status}[/bold] (error budget: {summary.budget} failed or unmatched)")
