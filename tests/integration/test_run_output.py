"""What ``ocrflow run`` prints without a terminal (make, cron, a worker's log): a plain line when the plan is
known and one per batch (done, failed, rate, ETA), tables and lines at full width (rich cut them at 80
columns), every failed document named, an empty input said in words and, with --fail-on-empty, exit 1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ocrflow.cli import app

pytestmark = pytest.mark.slow
BROKEN = 6


def _inbox(root: Path, demo_dir: Path) -> Path:
    inbox = root / ("a-folder-name-long-enough-that-every-path-in-it-runs-past-eighty-columns-" + "x" * 20)
    inbox.mkdir(parents=True)
    for name in ("invoice_digital.pdf", "invoice_bad_totals.pdf"):
        shutil.copy(demo_dir / "docs" / name, inbox / name)
    for i in range(BROKEN):
        (inbox / f"broken{i}.pdf").write_bytes(b"%PDF-1.4\ngarbage that pdfium cannot open " + bytes([65 + i]))
    return inbox


def test_plain_lines_full_width_and_every_failure_named(demo_dir: Path, tmp_path: Path, clean_env: None) -> None:
    inbox = _inbox(tmp_path, demo_dir)
    db = tmp_path / "o.duckdb"
    result = CliRunner().invoke(app, ["run", str(inbox), "--db", str(db), "--engine", "embedded", "--batch-size",
                                      "3"], catch_exceptions=False)
    out = result.output
    assert result.exit_code == 1, out  # 6 failed over a budget of 1 (1 % of 8, rounded up)
    lines = out.splitlines()
    assert "8 to process, 0 already final, 0 rejected" in lines
    batches = [line for line in lines if line.startswith("batch ")]
    assert [b.split(" written:")[0] for b in batches] == ["batch 1/3", "batch 2/3", "batch 3/3"]
    assert all("documents/s" in b and ("ETA" in b or b.endswith("done")) and "failed " in b for b in batches)
    assert batches[-1].startswith("batch 3/3 written: 8/8 documents") and batches[-1].endswith("done")
    for i in range(BROKEN):  # each failure on one line of its own, its full path unbroken
        (line,) = [x for x in lines if x.strip().startswith(f"failed {inbox / f'broken{i}.pdf'}: ")]
        assert len(line) > 80 and "render:" in line
    assert any("┃ documents ┃" in x for x in lines)  # the table is there, uncut
    assert "status: FAILED" in out
    printed = CliRunner().invoke(app, ["run", str(inbox), "--db", str(tmp_path / "j.duckdb"), "--engine", "embedded",
                                       "--json"]).stdout
    summary = json.loads(printed[printed.index("{"):])
    assert all(f"broken{i}.pdf: render:" in summary["message"] for i in range(BROKEN))  # all six, not five
    assert len(summary["failed_documents"]) == BROKEN
    queried = CliRunner().invoke(app, ["query", "--db", str(db), "SELECT repeat('x', 150) AS wide, count(*) AS n "
                                       "FROM documents"])
    assert queried.exit_code == 0, queried.output
    assert any("x" * 150 in x and "│ 8" in x for x in queried.output.splitlines())  # one row, not wrapped at 80


def test_an_empty_input_says_so_and_fails_on_request(tmp_path: Path, clean_env: None) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    db = str(tmp_path / "e.duckdb")
    quiet = CliRunner().invoke(app, ["run", str(empty), "--db", db, "--engine", "embedded"])
    assert quiet.exit_code == 0, quiet.output
    assert f"no documents found in {empty} (glob **/*)" in quiet.output
    cron = CliRunner().invoke(app, ["run", str(empty), "--db", db, "--engine", "embedded", "--fail-on-empty"])
    assert cron.exit_code == 1 and "--fail-on-empty" in cron.output and "status: FAILED" in cron.output
