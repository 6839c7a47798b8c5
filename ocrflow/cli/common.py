"""What every command shares: the Typer app, consoles, the store option, opening a store or exiting 2."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:  # the commands import what they need when they run: `ocrflow --help` stays fast
    from ocrflow.core.settings import Settings
    from ocrflow.engines.base import Engine
    from ocrflow.store import Store

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Documents in, validated rows out.")
contracts_app = typer.Typer(no_args_is_help=True, help="Inspect and lint data contracts.")
app.add_typer(contracts_app, name="contracts")
quarantine_app = typer.Typer(no_args_is_help=True, help="List and inspect quarantined documents.")
app.add_typer(quarantine_app, name="quarantine")
console = Console(stderr=False)
err = Console(stderr=True)
WIDE = 10_000


def full_width() -> None:
    """Without a terminal (and without COLUMNS), print lines and tables at their full width (make, cron,
    worker logs), not cut or wrapped at 80 columns."""
    if os.environ.get("COLUMNS"):
        return
    for c in (console, err):
        if not c.is_terminal:
            c.width = WIDE

DbOpt = Annotated[str | None, typer.Option("--db", "--store", help="DuckDB path or postgresql:// URL "
                                                                     "[env OCRFLOW_STORE]")]


def quiet_libraries() -> None:
    for name in ("RapidOCR", "rapidocr", "great_expectations", "httpx", "openai"):
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("TQDM_DISABLE", "1")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one clear error line; the caller raises the returned Exit."""
    err.print(f"[red]error:[/red] {' '.join(message.split())}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def settings_or_exit(config: Path | None = None, **overrides: object) -> Settings:
    """Settings, or one line saying which value is wrong and exit code 2."""
    from ocrflow.core.settings import ConfigError, load_settings

    try:
        return load_settings(config, **overrides)
    except (ConfigError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None


def open_store_or_exit(db: str | None, *, read_only: bool, config: Path | None = None) -> tuple[Settings, Store]:
    """(settings, store) or a clear error and exit code 2."""
    from ocrflow.store import StoreError, open_store

    settings = settings_or_exit(config, store=db)
    try:
        return settings, open_store(settings.store, read_only=read_only)
    except StoreError as exc:
        raise fail(str(exc)) from exc


@contextmanager
def store_and_engine_or_exit(settings: Settings) -> Iterator[tuple[Store, Engine]]:
    """The run's store and engine, both closed afterwards; either failing to open exits 2 with one line."""
    from ocrflow.engines.factory import make_engine
    from ocrflow.store import StoreError, open_store

    try:
        store = open_store(settings.store)
    except StoreError as exc:
        raise fail(str(exc)) from exc
    try:
        try:
            eng = make_engine(settings)
        except ValueError as exc:
            raise fail(str(exc)) from exc
        try:
            yield store, eng
        finally:
            eng.close()
    finally:
        store.close()
