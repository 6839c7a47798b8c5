"""A contract whose column type changed against the existing table is refused by ``ocrflow run``: the run
stops before anything is written, says which field changed and how, and exits 2 (README: a usage,
configuration or store error)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from ocrflow.cli import app
from ocrflow.contracts import default_contracts_dir


def _retype_total_amount(contracts: Path) -> None:
    """invoice.yaml, same major version, with the ``total_amount`` column turned from DECIMAL(18,2) into
    DECIMAL(18,4) (still a valid contract: the field stays money, only the stored type changes)."""
    path = contracts / "invoice.yaml"
    doc = yaml.safe_load(path.read_text())
    prop = next(p for p in doc["schema"][0]["properties"] if p["name"] == "total_amount")
    prop["physicalType"] = "DECIMAL(18,4)"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def _snapshot(db: Path) -> dict[str, object]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            "documents": con.execute("SELECT path, state FROM documents ORDER BY path").fetchall(),
            "runs": con.execute("SELECT run_id, status FROM runs ORDER BY run_id").fetchall(),
            "invoice": con.execute("SELECT doc_sha256, total_amount FROM invoice ORDER BY doc_sha256").fetchall(),
            "columns": con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                   "WHERE table_name = 'invoice' ORDER BY column_name").fetchall(),
        }
    finally:
        con.close()


@pytest.mark.slow
def test_a_changed_column_type_stops_the_run_with_exit_2_and_writes_nothing(
        tmp_path: Path, demo_dir: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    contracts = tmp_path / "contracts"
    shutil.copytree(default_contracts_dir(), contracts)
    monkeypatch.setenv("OCRFLOW_CONTRACTS_DIR", str(contracts))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(demo_dir / "docs" / "invoice_digital.pdf", inbox)
    db = tmp_path / "s.duckdb"
    runner = CliRunner()

    first = runner.invoke(app, ["run", str(inbox), "--db", str(db), "--engine", "embedded", "--json"],
                          catch_exceptions=False)
    assert first.exit_code == 0, first.output
    before = _snapshot(db)
    assert len(before["invoice"]) == 1 and ("total_amount", "DECIMAL(18,2)") in before["columns"]  # type: ignore[operator]

    _retype_total_amount(contracts)
    shutil.copy(demo_dir / "docs" / "invoice_two_pages.pdf", inbox)  # new work the refused run must not touch
    refused = runner.invoke(app, ["run", str(inbox), "--db", str(db), "--engine", "embedded", "--force"],
                            catch_exceptions=False)
    flat = " ".join(refused.output.split())
    assert refused.exit_code == 2, refused.output
    assert "'total_amount' changed type from DECIMAL(18,2) to DECIMAL(18,4)" in flat and "new major version" in flat
    assert "Traceback" not in refused.output
    assert _snapshot(db) == before  # no document registered, no run row, no row rewritten, no column altered


def test_a_broken_contract_file_stops_the_run_with_exit_2_in_one_line(
        tmp_path: Path, demo_dir: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    contracts = tmp_path / "contracts"
    shutil.copytree(default_contracts_dir(), contracts)
    path = contracts / "invoice.yaml"
    doc = yaml.safe_load(path.read_text())
    prop = next(p for p in doc["schema"][0]["properties"] if p["name"] == "total_amount")
    prop["logicalType"] = "no-such-type"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    monkeypatch.setenv("OCRFLOW_CONTRACTS_DIR", str(contracts))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(demo_dir / "docs" / "invoice_digital.pdf", inbox)
    db = tmp_path / "s.duckdb"
    result = CliRunner().invoke(app, ["run", str(inbox), "--db", str(db), "--engine", "embedded"],
                                catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "invoice" in result.output
    con = duckdb.connect(str(db), read_only=True)
    try:  # refused before the tables were made: no document registered, no run row
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    finally:
        con.close()
    assert "documents" not in tables and "runs" not in tables
