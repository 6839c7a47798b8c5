"""``ocrflow review``: serve the review page; ``ocrflow review export --gold FILE``: reviewed work as gold."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated

import typer

from ocrflow.cli.common import DbOpt, app, console, fail, open_store_or_exit, settings_or_exit

review_app = typer.Typer(invoke_without_command=True, help="The review page: clear the quarantine and "
                         "low-confidence rows in a browser.")
app.add_typer(review_app, name="review")


@review_app.callback()
def review(
    ctx: typer.Context,
    db: DbOpt = None,
    host: Annotated[str, typer.Option(help="address to bind; any but loopback needs a token")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8765,
    token: Annotated[str | None, typer.Option(help="token every request must carry [env OCRFLOW_REVIEW_TOKEN]",
                                              envvar="OCRFLOW_REVIEW_TOKEN")] = None,
    reviewer: Annotated[str | None, typer.Option(help="name recorded with every correction (default: $USER)")]
    = None,
) -> None:
    """Serve the review queue at http://HOST:PORT/ (Ctrl+C stops it)."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = db
        return
    import uvicorn

    from ocrflow.contracts import load_contracts
    from ocrflow.review.app import ReviewConfig, create_app
    from ocrflow.review.security import SecurityError, required_token

    settings = settings_or_exit(store=db)
    try:
        needed = required_token(host, token)
    except SecurityError as exc:
        raise fail(str(exc)) from exc
    name = reviewer or os.environ.get("USER") or getpass.getuser()
    config = ReviewConfig(settings.store, load_contracts(), settings, token=needed, reviewer=name)
    from ocrflow.core.settings import redact_url

    console.print(f"review page: http://{host}:{port}/ (store {redact_url(settings.store)}, reviewer {name})",
                  highlight=False)
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning")


@review_app.command("export")
def review_export(
    ctx: typer.Context,
    gold: Annotated[Path, typer.Option("--gold", help="gold.jsonl to write")],
    db: DbOpt = None,
) -> None:
    """Write every approved, loaded document as a gold.jsonl record (path, doc_type, fields)."""
    from ocrflow.contracts import load_contracts
    from ocrflow.review.export import export_gold

    _, store = open_store_or_exit(db or ctx.obj, read_only=True)
    try:
        n = export_gold(store, load_contracts(), gold)
    finally:
        store.close()
    console.print(f"{n} reviewed document(s) written to {gold}", highlight=False)
