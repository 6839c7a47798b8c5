"""Quarantine commands: list, show, and reprocess from the stored pages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ocrflow.cli.common import DbOpt, app, console, err, open_store_or_exit, quarantine_app, quiet_libraries


@quarantine_app.command("list")
def quarantine_list(
    contract: Annotated[str | None, typer.Option(help="only this contract's documents")] = None,
    db: DbOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Quarantined documents, newest first: id (sha256 prefix), contract, path, first reasons."""
    from rich.markup import escape

    _, store = open_store_or_exit(db, read_only=True)
    try:
        entries = store.quarantine_entries(contract)
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
    from ocrflow.store.quarantine import QuarantineError, find_entry

    _, store = open_store_or_exit(db, read_only=True)
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
    failed: Annotated[bool, typer.Option(
        "--failed", help="process failed documents again from their files (after a fix)")] = False,
    code: Annotated[str | None, typer.Option(
        "--code", help="with --failed: only documents failed with this error_code (e.g. encrypted)")] = None,
    unmatched: Annotated[bool, typer.Option(
        "--unmatched", help="process documents no contract matched again (after adding a contract)")] = False,
    include_rejected: Annotated[bool, typer.Option(
        "--include-rejected", help="with --failed: also documents a reviewer rejected (final otherwise)")] = False,
    contract: Annotated[str | None, typer.Option(
        help="--quarantined: only documents quarantined under this contract; --failed/--unmatched: the "
             "contract to apply (default auto)")] = None,
    engine: Annotated[str | None, typer.Option(help="--failed/--unmatched: auto | embedded | vllm")] = None,
    db: DbOpt = None,
    config: Annotated[Path | None, typer.Option(help="ocrflow.toml config file")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the outcome as JSON")] = False,
) -> None:
    """Reprocess documents without OCR: a row leaves the quarantine only by passing validation."""
    from rich.markup import escape

    from ocrflow.contracts import ContractError
    from ocrflow.run.quarantine_work import reprocess_quarantined

    if sum((quarantined, failed, unmatched)) != 1 or ((code or include_rejected) and not failed):
        err.print("[red]error:[/red] say what to reprocess: one of --quarantined, --failed [--code X] "
                  "[--include-rejected], --unmatched")
        raise typer.Exit(2)
    if not quarantined:
        from ocrflow.cli.reprocess_ledger_cmd import reprocess_from_files

        reprocess_from_files("failed" if failed else "unmatched", code=code, contract=contract, engine=engine,
                             db=db, config=config, json_out=json_out, include_rejected=include_rejected)
        return
    quiet_libraries()
    settings, store = open_store_or_exit(db, read_only=False, config=config)
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
