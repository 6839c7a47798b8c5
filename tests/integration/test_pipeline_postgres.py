"""The whole pipeline into PostgreSQL: a second run skips, a forced run re-processes (claims allow it)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from ocrflow.core.settings import load_settings
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.run.files_work import run_files
from ocrflow.store.postgres_store import PostgresStore
from tests.support.store import drop_schema, require_pg

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_pipeline_into_postgres_skips_then_force_reprocesses(demo_dir: Path, tmp_path: Path) -> None:
    url = require_pg()
    schema = f"ocrflow_pipe_{uuid.uuid4().hex[:10]}"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("invoice_digital.pdf", "invoice_two_pages.pdf"):
        shutil.copy(demo_dir / "docs" / name, inbox / name)
    try:
        def run(force: bool) -> dict[str, int]:
            store = PostgresStore(url, schema=schema)
            try:
                settings = load_settings(store=url, force=force)
                return run_files([str(inbox)], settings, store, EmbeddedEngine()).counts
            finally:
                store.close()

        assert run(False)["loaded"] == 2
        again = run(False)
        assert again["loaded"] == 0 and again["skipped"] == 2
        forced = run(True)  # final documents become claimable again only because the run is forced
        assert forced["loaded"] == 2 and forced["skipped"] == 0
        store = PostgresStore(url, schema=schema, read_only=True)
        rows = store.query("SELECT count(*), count(DISTINCT doc_sha256) FROM invoice")[1][0]
        claims = store.query("SELECT count(*) FROM documents WHERE claimed_by IS NOT NULL")[1][0][0]
        store.close()
        assert rows == (2, 2) and claims == 0
    finally:
        drop_schema(url, schema)


@pytest.mark.prefect_server
def test_flow_force_reprocesses_on_postgres(prefect_server: object, demo_dir: Path, tmp_path: Path) -> None:
    from typing import Any

    from flows.process_documents import process_documents
    from ocrflow.run.params import RunParams

    url = require_pg()
    schema = f"ocrflow_flow_{uuid.uuid4().hex[:10]}"
    doc = tmp_path / "invoice_digital.pdf"
    shutil.copy(demo_dir / "docs" / "invoice_digital.pdf", doc)
    store_url = f"{url}?schema={schema}"
    try:
        first: Any = process_documents(paths=[str(doc)], options=RunParams(store=store_url, engine="embedded"),
                                       return_state=True)
        assert first.result(raise_on_failure=False)["loaded"] == 1
        forced: Any = process_documents(paths=[str(doc)], options=RunParams(store=store_url, engine="embedded",
                                                                            force=True), return_state=True)
        out = forced.result(raise_on_failure=False)
        assert out["loaded"] == 1 and out["skipped"] == 0, out  # claimable again because the run is forced
    finally:
        drop_schema(url, schema)
