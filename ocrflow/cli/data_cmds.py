"""Commands over the store and the project's files: query, export, demo-data, contracts check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ocrflow.cli.common import (
    DbOpt,
    app,
    console,
    contracts_app,
    err,
    fail,
    full_width,
    open_store_or_exit,
    settings_or_exit,
)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL to run (read-only)")],
    db: DbOpt = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run a read-only SQL query against the store.

    Read-only for real: no file access, extensions or configuration changes on DuckDB; one query in a
    rolled-back READ ONLY transaction on PostgreSQL (ocrflow.store.sandbox). During a run on DuckDB it waits
    for the gap between two batches (OCRFLOW_STORE_WAIT_S, default 10 s)."""
    from ocrflow.store import StoreError, open_store

    try:
        store = open_store(settings_or_exit(store=db).store, sandbox=True)
    except StoreError as exc:
        raise fail(str(exc)) from exc
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
    full_width()
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
    settings, store = open_store_or_exit(db, read_only=True)
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
    from ocrflow.core.settings import load_settings

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
