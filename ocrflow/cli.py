"""ocrflow command line: run, query, eval, demo-data, contracts."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Documents in, validated rows out.")
contracts_app = typer.Typer(no_args_is_help=True, help="Inspect and lint data contracts.")
app.add_typer(contracts_app, name="contracts")
quarantine_app = typer.Typer(no_args_is_help=True, help="List and inspect quarantined documents.")
app.add_typer(quarantine_app, name="quarantine")
console = Console(stderr=False)
err = Console(stderr=True)

DbOpt = Annotated[str | None, typer.Option("--db", "--store", help="DuckDB path or postgresql:// URL "
                                                                     "[env OCRFLOW_STORE]")]


def _quiet_libraries() -> None:
    for name in ("RapidOCR", "rapidocr", "great_expectations", "httpx", "openai"):
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("TQDM_DISABLE", "1")


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
    json_out: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", min=1, help="documents per write transaction (default: at least 16 and at least the "
                                    "documents in flight)")] = None,
    prefect: Annotated[bool, typer.Option(
        "--prefect", help="run as the Prefect flow process-documents (ephemeral server unless PREFECT_API_URL "
                          "is set)")] = False,
) -> None:
    """Process documents into the store and print a summary."""
    if prefect:
        _run_prefect(paths, contract=contract or "auto", engine=engine or "auto", db=db, force=force,
                     glob=glob or "**/*", json_out=json_out)
        return
    from ocrflow.engines.base import EngineError
    from ocrflow.engines.factory import make_engine
    from ocrflow.settings import load_settings
    from ocrflow.store import StoreError, open_store

    _quiet_libraries()
    settings = load_settings(config, contract=contract, engine=engine, store=db, renderer=renderer, dpi=dpi,
                             glob=glob, force=force or None, day_first=day_first,
                             use_embedded_xml=False if no_einvoice else None)
    try:
        store = open_store(settings.store)
    except StoreError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    eng = make_engine(settings)
    try:
        summary = _run_with_progress(paths, settings, store, eng, batch_size)
    except (FileNotFoundError, EngineError, StoreError) as exc:  # StoreError: the store stopped taking writes
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    finally:
        eng.close()
        store.close()
    if json_out:
        console.print_json(json.dumps({"run_id": summary.run_id, "status": summary.status, **summary.counts,
                                       "seconds": round(summary.seconds, 2), "failed_documents": summary.failed}))
    else:
        _print_summary(summary, settings.store)
    raise typer.Exit(0 if summary.status == "COMPLETED" else 1)


def _run_prefect(paths: list[str], *, contract: str, engine: str, db: str | None, force: bool, glob: str,
                 json_out: bool) -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    _quiet_libraries()
    from flows.process_documents import process_documents

    state: Any = process_documents(paths=paths, contract=contract, engine=engine, store=db, force=force, glob=glob,
                              return_state=True)
    out = state.result(raise_on_failure=False)
    if not isinstance(out, dict):
        err.print(f"[red]flow {state.type.value}:[/red] {state.message or out}")
        raise typer.Exit(1)
    if json_out:
        console.print_json(json.dumps(out, default=str))
    else:
        t = Table(title=f"process-documents flow: {state.name}  run {out.get('run_id')}")
        keys = ("documents", "pages", "loaded", "quarantined", "failed", "pending", "skipped", "seconds")
        for k in keys:
            t.add_column(k, justify="right")
        t.add_row(*(str(out.get(k, "")) for k in keys))
        console.print(t)
        if out.get("message"):
            console.print(f"  {out['message']}")
    raise typer.Exit(0 if state.is_completed() else 1)


def _run_with_progress(paths: list[str], settings: Any, store: Any, eng: Any, batch_size: int | None) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ocrflow.pipeline import run_pipeline

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=False) as progress:
        task = progress.add_task("discovering", total=None)

        def on_plan(p: Any) -> None:
            progress.update(task, total=len(p.todo), description=f"processing ({len(p.skipped)} already loaded)")

        def on_doc(r: Any) -> None:
            state = "extracted" if r.row is not None else r.state.value
            progress.update(task, advance=1, description=f"{Path(r.doc.path).name[:40]} -> {state}")

        return run_pipeline(paths, settings, store, eng, progress=on_doc, on_plan=on_plan, batch_size=batch_size)


def _print_summary(summary: Any, store_url: str) -> None:
    t = Table(title=f"ocrflow run {summary.run_id}  ->  {store_url}")
    for col in ("documents", "pages", "loaded", "quarantined", "failed", "pending", "skipped", "time"):
        t.add_column(col, justify="right")
    c = summary.counts
    t.add_row(*(str(c[k]) for k in ("documents", "pages", "loaded", "quarantined", "failed", "pending",
                                      "skipped")), f"{summary.seconds:.1f}s")
    console.print(t)
    for label, items in (("quarantined", summary.quarantined), ("failed", summary.failed),
                         ("pending", summary.pending)):
        for path, why in items:
            console.print(f"  [yellow]{label}[/yellow] {path}: {why[:200]}")
    if summary.data_docs:
        console.print(f"data docs: {summary.data_docs}")
    console.print(f"status: [bold]{summary.status}[/bold]")


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL to run (read-only)")],
    db: DbOpt = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run a read-only SQL query against the store."""
    _, store = _open_store_or_exit(db, read_only=True)
    try:
        cols, rows = store.query(sql)
    except Exception as exc:  # any SQL error: show the database's own message
        err.print(f"[red]query failed:[/red] {exc}")
        raise typer.Exit(2) from exc
    finally:
        store.close()
    if json_out:
        console.print_json(json.dumps([dict(zip(cols, r, strict=True)) for r in rows], default=str))
        return
    t = Table()
    for c in cols:
        t.add_column(c)
    for r in rows:
        t.add_row(*("" if v is None else str(v) for v in r))
    console.print(t)


@app.command("eval")
def eval_cmd(
    gold: Annotated[Path, typer.Option(help="gold.jsonl; paths inside are relative to it")],
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object on stdout")] = False,
    no_einvoice: Annotated[bool, typer.Option("--no-einvoice", help="score without embedded XML")] = False,
    contract: Annotated[str, typer.Option(help="'gold' uses each record's doc_type; 'auto' picks")] = "gold",
    engine: Annotated[str | None, typer.Option(help="auto | embedded | vllm")] = None,
) -> None:
    """Run the pipeline on the files of a gold.jsonl and score field accuracy (see EVAL.md)."""
    from ocrflow.evalrun import run_eval

    _quiet_libraries()
    report = run_eval(gold, use_embedded_xml=not no_einvoice, contract_mode=contract, engine=engine,
                      progress=None if json_out else err)
    if json_out:
        sys.stdout.write(json.dumps(report, default=str) + "\n")
        return
    _print_eval(report)


def _print_eval(report: dict[str, Any]) -> None:
    console.print(f"field accuracy: [bold]{report['field_accuracy']:.3f}[/bold] "
                  f"({report['correct']}/{report['labelled']}), soft {report.get('soft_field_accuracy', 0):.3f}")
    for title, key in (("by source", "by_source"), ("by field", "by_field")):
        t = Table(title=title)
        for col in ("name", "accuracy", "correct", "labelled"):
            t.add_column(col)
        for name, v in sorted(report[key].items()):
            t.add_row(name, f"{v['field_accuracy']:.3f}", str(v["correct"]), str(v["labelled"]))
        console.print(t)


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="folder to write to")],
    fmt: Annotated[str, typer.Option("--format", help="only 'parquet' for now")] = "parquet",
    db: DbOpt = None,
) -> None:
    """Export the clean tables as Parquet partitioned by month of the document date (hive layout)."""
    from ocrflow.contracts import load_contracts
    from ocrflow.export import export_parquet

    if fmt != "parquet":
        err.print(f"[red]error:[/red] unsupported format {fmt!r}; use --format parquet")
        raise typer.Exit(2)
    settings, store = _open_store_or_exit(db, read_only=True)
    try:
        files = export_parquet(store, out, list(load_contracts(settings.contracts_dir).values()))
    finally:
        store.close()
    console.print(f"wrote {len(files)} Parquet file(s) under {out}")
    for f in files:
        console.print(f"  {f}")


@app.command("demo-data")
def demo_data(out: Annotated[Path, typer.Argument(help="folder to write the demo documents to")]) -> None:
    """Generate the bundled demo documents (with ground truth in gold.jsonl)."""
    from ocrflow.demo import generate_demo

    docs = generate_demo(out)
    console.print(f"wrote {len(docs)} documents and gold.jsonl to {out}")


@contracts_app.command("check")
def contracts_check(directory: Annotated[Path | None, typer.Argument(
        help="contracts folder [default: settings contracts_dir / OCRFLOW_CONTRACTS_DIR, else data_contracts/]")]
                    = None) -> None:
    """Lint every contract: ODCS schema, kinds, types, regexes, keys, rules, duplicate names."""
    from rich.markup import escape

    from ocrflow.contracts import default_contracts_dir, lint_dir
    from ocrflow.settings import load_settings

    d = directory or load_settings().contracts_dir or default_contracts_dir()
    if not d.is_dir():
        err.print(f"[red]error:[/red] contracts folder {d} does not exist")
        raise typer.Exit(2)
    results = lint_dir(d)
    for r in results:
        if r.contract is not None:
            c = r.contract
            console.print(f"[green]ok[/green]   {r.path.name}: {c.name} {c.version}, {len(c.fields)} fields, "
                          f"{len(c.rules)} rules", highlight=False)
            continue
        for problem in r.problems:
            console.print(f"[red]FAIL[/red] {escape(problem)}", highlight=False)
    bad = sum(1 for r in results if not r.ok)
    console.print(f"{len(results)} contracts, {bad} with problems", highlight=False)
    raise typer.Exit(1 if bad else 0)


def _open_store_or_exit(db: str | None, *, read_only: bool, config: Path | None = None) -> tuple[Any, Any]:
    """(settings, store) or a clear error and exit code 2."""
    from ocrflow.settings import load_settings
    from ocrflow.store import StoreError, open_store

    settings = load_settings(config, store=db)
    try:
        return settings, open_store(settings.store, read_only=read_only)
    except StoreError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


@quarantine_app.command("list")
def quarantine_list(
    contract: Annotated[str | None, typer.Option(help="only this contract's documents")] = None,
    db: DbOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Quarantined documents, newest first: id (sha256 prefix), contract, path, first reasons."""
    from rich.markup import escape

    from ocrflow.quarantine import list_quarantine

    _, store = _open_store_or_exit(db, read_only=True)
    try:
        entries = list_quarantine(store, contract)
    finally:
        store.close()
    if json_out:
        console.print_json(json.dumps([e.as_dict() for e in entries], default=str, ensure_ascii=False))
        return
    t = Table(title=f"quarantine: {len(entries)} document(s)")
    for col in ("id", "contract", "path", "reasons", "quarantined_at"):
        t.add_column(col, overflow="fold")
    for e in entries:
        when = e.quarantined_at.strftime("%Y-%m-%d %H:%M:%S") if e.quarantined_at else ""
        t.add_row(e.short_id, escape(e.contract), escape(e.path), escape(e.first_reasons()), when)
    console.print(t)


@quarantine_app.command("show")
def quarantine_show(
    doc_id: Annotated[str, typer.Argument(metavar="ID", help="document id: a sha256 prefix (4+ hex digits)")],
    db: DbOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """One quarantined document: every reason, the coerced values and the raw extracted values."""
    from ocrflow.quarantine import QuarantineError, find_entry

    _, store = _open_store_or_exit(db, read_only=True)
    try:
        entry = find_entry(store, doc_id)
    except QuarantineError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    finally:
        store.close()
    if json_out:
        console.print_json(json.dumps(entry.as_dict(), default=str, ensure_ascii=False))
        return
    _print_entry(entry)


def _print_entry(entry: Any) -> None:
    from rich.markup import escape

    console.print(f"[bold]{entry.sha256}[/bold]  {escape(entry.path)}", highlight=False)
    console.print(f"contract {escape(entry.contract)} {entry.contract_version}, engine {escape(entry.engine)} "
                  f"{escape(entry.model)}, run {escape(entry.flow_run_id)}, quarantined {entry.quarantined_at}",
                  highlight=False)
    reasons = Table(title="reasons")
    for col in ("field", "check", "value", "message"):
        reasons.add_column(col, overflow="fold")
    for r in entry.reasons:
        reasons.add_row(*(escape(_cell(r.get(k))) for k in ("field", "check", "value", "message")))
    console.print(reasons)
    values = Table(title="values")
    for col in ("field", "value", "raw value"):
        values.add_column(col, overflow="fold")
    for name in dict.fromkeys([*entry.values, *entry.raw_values]):
        values.add_row(escape(name), escape(_cell(entry.values.get(name))), escape(_cell(entry.raw_values.get(name))))
    console.print(values)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


@app.command()
def reprocess(
    quarantined: Annotated[bool, typer.Option(
        "--quarantined", help="re-extract, re-coerce and re-validate quarantined documents from their stored "
                              "page text, with the current contracts")] = False,
    contract: Annotated[str | None, typer.Option(help="only documents quarantined under this contract")] = None,
    db: DbOpt = None,
    config: Annotated[Path | None, typer.Option(help="ocrflow.toml config file")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the outcome as JSON")] = False,
) -> None:
    """Reprocess documents without OCR: a row leaves the quarantine only by passing validation."""
    from rich.markup import escape

    from ocrflow.contracts import ContractError
    from ocrflow.quarantine import reprocess_quarantined

    if not quarantined:
        err.print("[red]error:[/red] say what to reprocess: --quarantined")
        raise typer.Exit(2)
    _quiet_libraries()
    settings, store = _open_store_or_exit(db, read_only=False, config=config)
    try:
        summary = reprocess_quarantined(store, settings, contract=contract)
    except ContractError as exc:
        err.print(f"[red]contract error:[/red] {exc}")
        raise typer.Exit(2) from exc
    finally:
        store.close()
    if json_out:
        console.print_json(json.dumps({"run_id": summary.run_id, "status": summary.status, **summary.counts,
                                       "outcomes": [{"id": o.sha256[:12], "path": o.path, "contract": o.contract,
                                                     "state": o.state.value, "reasons": o.reasons}
                                                    for o in summary.outcomes]}, ensure_ascii=False))
    else:
        console.print(f"reprocess run {summary.run_id}: {len(summary.outcomes)} quarantined document(s), "
                      f"{len(summary.released)} released, {len(summary.still_quarantined)} still quarantined, "
                      f"{len(summary.failed)} failed", highlight=False, soft_wrap=True)
        for o in summary.outcomes:
            why = f": {'; '.join(o.reasons)[:200]}" if o.reasons else ""
            console.print(f"  {o.state.value:11} {o.sha256[:12]} {escape(o.contract)} {escape(o.path)}{escape(why)}",
                          highlight=False, soft_wrap=True)
    raise typer.Exit(0 if summary.status == "COMPLETED" else 1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
