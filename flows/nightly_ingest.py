"""`nightly_ingest`: find new files under a root folder (or fsspec URL) and process them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger

from flows.process_documents import process_documents


def _run_name() -> str:
    from prefect.runtime import flow_run

    params = flow_run.parameters or {}
    return f"nightly-{datetime.now(UTC):%Y-%m-%d}-{params.get('root', '')}"


@flow(name="nightly-ingest", flow_run_name=_run_name, log_prints=True)
def nightly_ingest(
    root: str = "inbox",
    glob: str = "**/*",
    contract: str = "auto",
    engine: str = "auto",
    store: str | None = None,
) -> Any:
    """Process every file under ``root`` whose hash is not loaded yet (already-loaded files are skipped)."""
    logger = get_run_logger()
    logger.info("ingesting %s (glob %s)", root, glob)
    return process_documents(paths=[root], contract=contract, engine=engine, store=store, glob=glob)
