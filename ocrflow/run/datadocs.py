"""Great Expectations Data Docs for one pipeline run, written next to the store.

``data_docs_for_run`` renders every validation report of a run (one per contract and batch) into
``<store folder>/data_docs/<run_id>/``: one GX Data Docs site per report in a numbered sub-folder
(GX keeps only the last validation page when one site is rebuilt), and an ``index.html`` that links
them with their row and failure counts. The run ledger keeps that path (``runs.data_docs``).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable
from pathlib import Path

from ocrflow.validate import ValidationReport, build_data_docs

log = logging.getLogger("ocrflow")

DATA_DOCS_FOLDER = "data_docs"
DEFAULT_BASE = Path("data")
"""Where Data Docs go when the store is not a local file (a PostgreSQL URL)."""


def data_docs_dir(store_url: str, run_id: str) -> Path:
    """``data_docs/<run_id>`` beside a DuckDB file; ``data/data_docs/<run_id>`` for a server store."""
    from ocrflow.store import is_postgres_url

    base = DEFAULT_BASE if is_postgres_url(store_url) else Path(store_url).parent
    return base / DATA_DOCS_FOLDER / _safe_run_id(run_id)


def _safe_run_id(run_id: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in run_id).strip(".")
    if not safe:
        raise ValueError(f"run id {run_id!r} cannot name a folder")
    return safe


def data_docs_for_run(reports: Iterable[ValidationReport], store_url: str, run_id: str) -> Path | None:
    """Render the run's validation reports as Data Docs; return the run's ``index.html``.

    Reports without rows (an empty batch) are skipped; ``None`` when no report had any, so a run
    that validated nothing leaves no empty folder behind.
    """
    useful = [r for r in reports if r.row_count and r.raw.get("results")]
    if not useful:
        return None
    out = data_docs_dir(store_url, run_id)
    pages = [(r, build_data_docs(r, out / f"{i:02d}-{_safe_run_id(r.contract)}"))
             for i, r in enumerate(useful, start=1)]
    index = out / "index.html"
    index.write_text(_index_html(run_id, pages, out), encoding="utf-8")
    log.info("data docs for run %s: %s", run_id, index)
    return index.resolve()


def _index_html(run_id: str, pages: list[tuple[ValidationReport, Path]], out: Path) -> str:
    rows = "\n".join(
        f"<tr><td><a href=\"{html.escape(page.relative_to(out.resolve()).as_posix())}\">"
        f"{html.escape(r.suite_name)}</a></td><td>{r.row_count}</td><td>{len(r.failures)}</td>"
        f"<td>{'passed' if r.success else 'failed'}</td></tr>"
        for r, page in pages)
    title = f"ocrflow run {html.escape(run_id)}: validation"
    return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\n"
            f"<h1>{title}</h1>\n<table border=\"1\" cellpadding=\"4\">\n"
            "<tr><th>suite</th><th>rows</th><th>rows failing</th><th>result</th></tr>\n"
            f"{rows}\n</table>\n</body></html>\n")
