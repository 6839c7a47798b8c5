"""End to end on the embedded engine: demo documents in, typed rows in a real DuckDB file."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ocrflow.core.settings import load_settings
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.run.files_work import run_files
from ocrflow.run.summary import RunSummary
from ocrflow.store.duckdb_store import DuckDBStore

pytestmark = pytest.mark.slow


def _run(inputs: list[str], db: Path, **kw: Any) -> RunSummary:
    settings = load_settings(store=str(db), **kw)
    store = DuckDBStore(str(db))
    try:
        return run_files(inputs, settings, store, EmbeddedEngine())
    finally:
        store.close()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> tuple[Path, Path, RunSummary]:
    inbox = tmp_path_factory.mktemp("inbox")
    shutil.copytree(demo_dir, inbox, dirs_exist_ok=True)
    (inbox / "gold.jsonl").unlink()
    shutil.rmtree(inbox / "truth")  # the demo's drawn-text sidecars are not documents
    (inbox / "notes.pdf").write_text("not a pdf at all")
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.4\ngarbage that pdfium cannot open")
    db = tmp_path_factory.mktemp("db") / "ocrflow.duckdb"
    summary = _run([str(inbox)], db)
    return inbox, db, summary


def test_counts_and_final_states(loaded: tuple[Path, Path, RunSummary], demo_gold: list[dict]) -> None:
    _, db, summary = loaded
    n = len(demo_gold)
    assert summary.counts["documents"] == n + 2
    assert summary.counts["failed"] == 2  # the two bad files, and nothing else
    assert summary.status == "FAILED"  # partial success is not SUCCESS
    con = duckdb.connect(str(db), read_only=True)
    states = dict(con.execute("SELECT state, count(*) FROM documents GROUP BY state").fetchall())
    con.close()
    assert sum(states.values()) == n + 2  # every document accounted for
    assert states.get("pending", 0) == 0
    expected_q = sum(1 for g in demo_gold if g.get("expect") == "quarantined")
    assert states.get("quarantined", 0) >= expected_q


def test_bad_files_are_recorded_with_specific_errors(loaded: tuple[Path, Path, RunSummary]) -> None:
    _, db, _ = loaded
    con = duckdb.connect(str(db), read_only=True)
    errors = dict(con.execute("SELECT regexp_extract(path, '[^/]+$'), error FROM documents "
                              "WHERE state = 'failed'").fetchall())
    con.close()
    assert "unsupported file type" in errors["notes.pdf"]
    assert "PDF is truncated" in errors["broken.pdf"]  # no %%EOF: cut off (code truncated)


def test_rows_are_typed_and_match_ground_truth(loaded: tuple[Path, Path, RunSummary],
                                               demo_gold: list[dict]) -> None:
    _, db, _ = loaded
    con = duckdb.connect(str(db), read_only=True)
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'invoice'").fetchall())
    assert types["total_amount"] == "DECIMAL(18,2)"
    assert types["invoice_date"] == "DATE"
    rows = {r[0]: r for r in con.execute(
        "SELECT invoice_number, invoice_date, total_amount, currency, source_path, page_numbers, engine, "
        "contract_version, flow_run_id, extracted_at FROM invoice").fetchall()}
    con.close()
    digital = [g for g in demo_gold if g["doc_type"] == "invoice" and g.get("expect") != "quarantined"]
    assert digital
    for g in digital:
        row = rows[g["fields"]["invoice_number"]]
        assert row[1] == date.fromisoformat(g["fields"]["invoice_date"])
        assert row[2] == Decimal(str(g["fields"]["total_amount"])).quantize(Decimal("0.01"))
        assert row[3] == g["fields"]["currency"]
        assert row[4].endswith(g["path"].split("/")[-1])
        standalone_xml = g["path"].endswith(".xml")  # an e-invoice of its own: a row without pages
        assert (row[5] == [] if standalone_xml else row[5]) and row[6] and row[7] == "1.0.0"
        assert row[8] and row[9] is not None


def test_receipts_ocr_path_and_values(loaded: tuple[Path, Path, RunSummary], demo_gold: list[dict]) -> None:
    _, db, _ = loaded
    con = duckdb.connect(str(db), read_only=True)
    paths = dict(con.execute("SELECT path_taken, count(*) FROM pages GROUP BY path_taken").fetchall())
    totals = {float(r[0]) for r in con.execute("SELECT total_amount FROM receipt").fetchall()}
    ocr_pages = con.execute("SELECT count(*) FROM pages WHERE path_taken = 'ocr' AND engine = 'embedded'"
                            ).fetchone()
    con.close()
    assert paths.get("text_layer", 0) >= 1 and paths.get("ocr", 0) >= 1
    assert ocr_pages and ocr_pages[0] >= 1
    gold_totals = {float(g["fields"]["total_amount"]) for g in demo_gold if g["doc_type"] == "receipt"}
    assert totals & gold_totals  # OCRed receipts land with their printed totals


def test_quarantine_holds_reasons_never_clean_rows(loaded: tuple[Path, Path, RunSummary],
                                                   demo_gold: list[dict]) -> None:
    _, db, _ = loaded
    con = duckdb.connect(str(db), read_only=True)
    q = con.execute("SELECT doc_sha256, reasons FROM quarantine").fetchall()
    clean = {r[0] for r in con.execute("SELECT doc_sha256 FROM invoice UNION ALL "
                                       "SELECT doc_sha256 FROM receipt").fetchall()}
    con.close()
    assert q, "the demo set includes an invalid invoice"
    for sha, reasons in q:
        assert sha not in clean
        assert "field" in reasons and "message" in reasons


def test_second_run_skips_everything_and_force_reprocesses(loaded: tuple[Path, Path, RunSummary],
                                                           demo_gold: list[dict]) -> None:
    inbox, db, first = loaded
    again = _run([str(inbox)], db)
    assert again.counts["skipped"] == first.counts["documents"]  # notes.pdf too: already final, failed
    assert again.already_final.get("failed", 0) >= 1
    assert again.counts["loaded"] == 0 and again.counts["pages"] == 0
    con = duckdb.connect(str(db), read_only=True)
    before = con.execute("SELECT count(*) FROM invoice").fetchone()
    con.close()
    one = next(g for g in demo_gold if g["doc_type"] == "invoice" and g["path"].endswith(".pdf")
               and g.get("expect") != "quarantined")
    forced = _run([str(inbox / one["path"])], db, force=True)
    assert forced.counts["loaded"] == 1
    con = duckdb.connect(str(db), read_only=True)
    after = con.execute("SELECT count(*) FROM invoice").fetchone()
    runs = con.execute("SELECT count(*) FROM runs WHERE finished_at IS NOT NULL").fetchone()
    con.close()
    assert before == after  # upsert by document hash: no duplicate
    assert runs and runs[0] == 3


def test_cli_export_parquet_reads_back_equal(loaded: tuple[Path, Path, RunSummary], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ocrflow.cli import app

    _, db, _ = loaded
    out = tmp_path / "lake"
    result = CliRunner().invoke(app, ["export", str(out), "--format", "parquet", "--db", str(db)])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table in ("invoice", "receipt"):
            want = con.execute(f"SELECT doc_sha256, total_amount FROM {table} ORDER BY 1").fetchall()
            got = con.execute(f"SELECT doc_sha256, total_amount FROM read_parquet('{out}/{table}/*/*.parquet', "
                              "hive_partitioning = true) ORDER BY 1").fetchall()
            assert got == want and want
    finally:
        con.close()


def test_cli_query_reads_json_and_reports_errors(loaded: tuple[Path, Path, RunSummary], tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from ocrflow.cli import app

    _, db, _ = loaded
    runner = CliRunner()
    ok = runner.invoke(app, ["query", "--json", "--db", str(db),
                             "SELECT state, count(*) AS n FROM documents GROUP BY state ORDER BY state"])
    assert ok.exit_code == 0, ok.output
    states = {r["state"]: r["n"] for r in json.loads(ok.output)}
    assert states["failed"] == 2 and states["loaded"] >= 1
    write = runner.invoke(app, ["query", "--db", str(db), "DELETE FROM documents"])
    assert write.exit_code == 2 and "read-only" in " ".join(write.output.lower().split())
    missing = runner.invoke(app, ["query", "--db", str(tmp_path / "none.duckdb"), "SELECT 1"])
    assert missing.exit_code == 2 and "does not exist" in " ".join(missing.output.split())


def test_cli_run_stops_clearly_when_the_store_takes_no_writes(demo_dir: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Every batch write fails: the run stops after two, exits 2 with the store named, and every document
    it touched is still pending in the store (nothing lost, nothing half-written)."""
    from typer.testing import CliRunner

    from ocrflow.cli import app

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("invoice_digital.pdf", "invoice_two_pages.pdf", "invoice_facturx.pdf"):
        shutil.copy(demo_dir / "docs" / name, inbox / name)
    db = tmp_path / "w.duckdb"

    def refuse(self: DuckDBStore, batch: Any, contracts: Any) -> None:
        raise duckdb.IOException("disk quota exceeded")

    monkeypatch.setattr(DuckDBStore, "write_batch", refuse)
    monkeypatch.setenv("OCRFLOW_DOCUMENTS_IN_FLIGHT", "1")
    result = CliRunner().invoke(app, ["run", str(inbox), "--db", str(db), "--engine", "embedded",
                                      "--batch-size", "1"], catch_exceptions=False)
    flat = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "2 batches in a row could not be written" in flat and "disk quota exceeded" in flat
    monkeypatch.undo()
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT state, count(*) FROM documents GROUP BY state").fetchall() == [("pending", 3)]
        status, message = con.execute("SELECT status, message FROM runs").fetchone() or ("", "")
        assert status == "FAILED" and "2 batches in a row could not be written" in message
    finally:
        con.close()
