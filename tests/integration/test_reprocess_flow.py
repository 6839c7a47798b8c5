"""The reprocess-quarantine flow on a real Prefect server: both of its roads (re-extract from the stored pages,
or re-run the source files through process-documents with force) take the quarantined document and only it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ocrflow.cli import app
from tests.support.duck import rows as _rows
from tests.support.prefect_server import PrefectServer

pytestmark = [pytest.mark.prefect_server, pytest.mark.slow]


def test_reprocess_quarantine_flow_takes_only_the_quarantined_document(
        prefect_server: PrefectServer, demo_dir: Path, tmp_path: Path, clean_env: None) -> None:
    from flows.params import QuarantineSelection
    from flows.reprocess_quarantine import reprocess_quarantine

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("invoice_digital.pdf", "invoice_bad_totals.pdf"):  # text layer: no OCR needed
        shutil.copy(demo_dir / "docs" / name, inbox / name)
    db = tmp_path / "r.duckdb"
    first = CliRunner().invoke(app, ["run", str(inbox), "--engine", "embedded", "--db", str(db)])
    assert first.exit_code == 0, first.output
    assert _rows(db, "SELECT count(*) FROM quarantine") == [(1,)]

    stored = reprocess_quarantine(QuarantineSelection(store=str(db), engine="embedded"))
    assert (stored["documents"], stored["released"], stored["still_quarantined"]) == (1, 0, 1)

    rerun = reprocess_quarantine(QuarantineSelection(store=str(db), engine="embedded", from_stored_pages=False))
    assert rerun.is_completed()
    attempts = dict(_rows(db, "SELECT regexp_extract(path, '[^/]+$'), attempts FROM documents"))
    # each road counts an attempt on the quarantined document (run, re-extract, re-run); the loaded one ran once
    assert attempts == {"invoice_digital.pdf": 1, "invoice_bad_totals.pdf": 3}
    assert _rows(db, "SELECT count(*) FROM quarantine") == [(1,)]  # still failing its totals check
    assert _rows(db, "SELECT count(*) FROM invoice") == [(1,)]
