"""``ocrflow reprocess --failed [--code X]`` and ``--unmatched``: final documents through a run again."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from ocrflow.cli.common import console, err, fail, quiet_libraries, settings_or_exit, store_and_engine_or_exit


def reprocess_from_files(which: str, *, code: str | None, contract: str | None, engine: str | None,
                         db: str | None, config: Path | None, json_out: bool, include_rejected: bool = False) -> None:
    """Exit 0 when the run is COMPLETED (within the error budget), 1 otherwise, 2 for a usage error.

    Rejected documents are final: left alone unless ``include_rejected`` (``--include-rejected``)."""
    from ocrflow.core.errors import ErrorCode
    from ocrflow.core.models import DocState
    from ocrflow.core.settings import ConfigError
    from ocrflow.engines.base import EngineError
    from ocrflow.run.ledger_work import reprocess_ledger
    from ocrflow.store import StoreError
    from ocrflow.store.base import REJECTED

    if code is not None and code not in {c.value for c in ErrorCode} | {REJECTED}:
        raise fail(f"unknown error code {code!r}; known: {', '.join(c.value for c in ErrorCode)}")
    quiet_libraries()
    settings = settings_or_exit(config, store=db, contract=contract, engine=engine)
    rejected: list[str] = []
    with store_and_engine_or_exit(settings) as (store, eng):
        try:
            summary, missing = reprocess_ledger(store, settings, eng, state=DocState(which), code=code,
                                                include_rejected=include_rejected, rejected=rejected)
        except (ValueError, ConfigError, EngineError, StoreError) as exc:
            raise fail(str(exc)) from exc
    c = summary.counts
    if json_out:
        console.print_json(json.dumps({"run_id": summary.run_id, "status": summary.status, **c,
                                       "missing": missing, "failed_documents": summary.failed,
                                       "rejected_left_alone": rejected}, ensure_ascii=False))
    else:
        console.print(f"reprocess {which} run {summary.run_id}: {c['documents']} document(s): {c['loaded']} loaded, "
                      f"{c['quarantined']} quarantined, {c['failed']} failed, {c.get('unmatched', 0)} unmatched, "
                      f"{c['pending']} pending; {len(missing)} no longer found"
                      + (f"; {len(rejected)} rejected in review left alone (--include-rejected takes them back)"
                         if rejected else ""), highlight=False, soft_wrap=True)
        for path, why in [*summary.failed, *summary.unmatched]:
            console.print(f"  {escape(path)}: {escape(why[:200])}", highlight=False, soft_wrap=True)
        for path in missing:
            err.print(f"  [yellow]not found[/yellow] {escape(path)}", highlight=False)
    raise typer.Exit(0 if summary.status == "COMPLETED" else 1)
