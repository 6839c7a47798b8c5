"""Great Expectations Data Docs: one site per store, updated once at the end of each run, with retention.

The site lives in ``data_docs/`` beside a DuckDB file (``data/data_docs/`` for a server store). A run adds
its own validation pages (one per frame of up to ``FRAME_ROWS`` rows per contract, ocrflow.validate.session)
through GX's incremental build, a page ``runs/<run_id>.html`` listing them with their row and failure
counts, and a line in ``index.html`` (every kept run, newest first). Then runs beyond the retention
(``data_docs_keep_runs`` latest runs, and none older than ``data_docs_keep_days`` days when that is set)
lose their pages; so do the per-run sites of earlier versions (``data_docs/<run_id>/``). What the site
holds is listed in ``ocrflow-runs.json``. The cost of a run's update follows the run: its own pages, GX's
static assets (~4 MB, copied once per run), the two small index pages and the pages it prunes.
"""

from __future__ import annotations

import html
import json
import logging
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ocrflow.validate import ValidationReport
from ocrflow.validate.docs import render_pages
from ocrflow.validate.session import FrameResult

log = logging.getLogger("ocrflow")

DATA_DOCS_FOLDER = "data_docs"
DEFAULT_BASE = Path("data")
"""Where Data Docs go when the store is not a local file (a PostgreSQL URL)."""
MANIFEST = "ocrflow-runs.json"
RUNS_FOLDER = "runs"
LEGACY_RUN = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")
"""A folder of the earlier layout: one site per run, named by the run id."""


@dataclass(frozen=True, slots=True)
class Retention:
    keep_runs: int = 30
    keep_days: int = 0
    """0: no age limit."""


def site_dir(store_url: str) -> Path:
    """``data_docs`` beside a DuckDB file; ``data/data_docs`` for a server store."""
    from ocrflow.store import is_postgres_url

    base = DEFAULT_BASE if is_postgres_url(store_url) else Path(store_url).parent
    return base / DATA_DOCS_FOLDER


def safe_run_id(run_id: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in run_id).strip(".")
    if not safe:
        raise ValueError(f"run id {run_id!r} cannot name a file")
    return safe


Render = Callable[[list[dict[str, Any]], Path, str, datetime], list[Path]]
"""``ocrflow.validate.docs.render_pages``, or the run's way to call it (``RunValidation.render_pages``)."""


def data_docs_for_run(results: Iterable[FrameResult | ValidationReport], store_url: str, run_id: str,
                      retention: Retention | None = None, *, now: datetime | None = None,
                      render: Render = render_pages) -> Path | None:
    """Add the run's GX results to the store's site; return the run's page (None: nothing was validated)."""
    useful = [r for r in map(_as_frame, results) if r.rows and r.raw.get("results")]
    if not useful:
        return None
    site = site_dir(store_url).resolve()
    when = now or datetime.now(UTC)
    pages = render([r.raw for r in useful], site, safe_run_id(run_id), when)
    page = f"{RUNS_FOLDER}/{safe_run_id(run_id)}.html"
    entry: dict[str, Any] = {
        "run_id": run_id, "time": when.isoformat(), "page": page,
        "frames": [{"suite": r.suite, "page": p.relative_to(site).as_posix(), "rows": r.rows,
                    "failing": r.failing, "success": r.success, "disagreements": r.disagreements}
                   for r, p in zip(useful, pages, strict=True)]}
    runs = [e for e in _load(site) if e.get("run_id") != run_id] + [entry]
    runs = prune(site, runs, retention or Retention(), when)
    run_page = site / page
    run_page.parent.mkdir(parents=True, exist_ok=True)
    run_page.write_text(_run_html(entry), encoding="utf-8")
    (site / "index.html").write_text(_index_html(runs), encoding="utf-8")
    _save(site, runs)
    log.info("data docs for run %s: %s", run_id, run_page)
    return run_page


def _as_frame(r: FrameResult | ValidationReport) -> FrameResult:
    if isinstance(r, FrameResult):
        return r
    return FrameResult(r.contract, r.suite_name, r.row_count, len(r.failures), r.raw)


def prune(site: Path, runs: list[dict[str, Any]], retention: Retention, now: datetime) -> list[dict[str, Any]]:
    """Drop the pages of runs beyond the retention (and the per-run sites of the earlier layout); the kept runs."""
    runs = sorted(runs, key=lambda e: str(e.get("time", "")))
    keep = runs[-retention.keep_runs:]
    if retention.keep_days:
        oldest = (now - timedelta(days=retention.keep_days)).isoformat()
        keep = [e for e in keep if str(e.get("time", "")) >= oldest or e is runs[-1]]
    for entry in runs:
        if entry not in keep:
            _remove_run(site, entry)
    for legacy in site.iterdir() if site.is_dir() else ():
        if legacy.is_dir() and LEGACY_RUN.match(legacy.name):
            shutil.rmtree(legacy, ignore_errors=True)
    return keep


def _remove_run(site: Path, entry: dict[str, Any]) -> None:
    for rel in [entry.get("page", "")] + [f.get("page", "") for f in entry.get("frames", [])]:
        path = (site / str(rel)).resolve()
        if not rel or site not in path.parents:
            continue
        path.unlink(missing_ok=True)
        for parent in path.parents:  # the run's empty folders, up to the section
            if parent == site or parent.parent == site or any(parent.iterdir()):
                break
            parent.rmdir()


def _load(site: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads((site / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [e for e in data.get("runs", []) if isinstance(e, dict)] if isinstance(data, dict) else []


def _save(site: Path, runs: list[dict[str, Any]]) -> None:
    tmp = site / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps({"runs": runs}, indent=1), encoding="utf-8")
    tmp.replace(site / MANIFEST)


def _page(title: str, body: str) -> str:
    return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\n"
            f"<h1>{title}</h1>\n{body}\n</body></html>\n")


def _run_html(entry: dict[str, Any]) -> str:
    rows = "\n".join(
        f"<tr><td><a href=\"../{html.escape(f['page'])}\">{html.escape(f['suite'])}</a></td><td>{f['rows']}</td>"
        f"<td>{f['failing']}</td><td>{'passed' if f['success'] else 'failed'}</td>"
        f"<td>{html.escape('; '.join(f['disagreements'])) or 'agree'}</td></tr>" for f in entry["frames"])
    body = ("<p><a href=\"../index.html\">all runs</a></p>\n<table border=\"1\" cellpadding=\"4\">\n"
            "<tr><th>suite</th><th>rows</th><th>rows failing</th><th>result</th><th>GX vs batch checks</th></tr>\n"
            f"{rows}\n</table>")
    return _page(f"ocrflow run {html.escape(entry['run_id'])}: validation", body)


def _index_html(runs: list[dict[str, Any]]) -> str:
    rows = "\n".join(
        f"<tr><td><a href=\"{html.escape(e['page'])}\">{html.escape(e['run_id'])}</a></td>"
        f"<td>{html.escape(str(e.get('time', '')))}</td><td>{sum(f['rows'] for f in e['frames'])}</td>"
        f"<td>{sum(f['failing'] for f in e['frames'])}</td></tr>" for e in reversed(runs))
    body = ("<table border=\"1\" cellpadding=\"4\">\n<tr><th>run</th><th>time</th><th>rows</th><th>rows failing</th>"
            f"</tr>\n{rows}\n</table>")
    return _page("ocrflow: validation runs (Great Expectations Data Docs)", body)
