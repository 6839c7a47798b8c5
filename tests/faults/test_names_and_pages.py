"""Inputs that broke whole runs: file names that are not UTF-8, documents longer than a page limit."""

from __future__ import annotations

import os
from pathlib import Path

from tests.pdfs import write_lines_pdf
from tests.support.duck import rows, run_into

INVOICE = ["INVOICE", "Invoice number: {n}", "Invoice date: 2024-03-01", "Seller: Example Trading GmbH",
           "Subtotal: 100.00 EUR", "Tax: 19.00 EUR", "Total: 119.00 EUR"]


def _invoice(path: Path, number: str) -> None:
    write_lines_pdf(path, [line.format(n=number) for line in INVOICE])






def test_a_name_that_is_not_utf8_is_recorded_and_the_others_still_load(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _invoice(inbox / "plain.pdf", "INV-1")
    _invoice(inbox / "发票.pdf", "INV-2")
    latin1 = Path(os.fsdecode(os.fsencode(inbox) + b"/latin1_\xe9t\xe9.pdf"))  # as a Windows share names it
    _invoice(latin1, "INV-3")
    db = tmp_path / "o.duckdb"
    summary = run_into([str(inbox)], db)
    docs = dict(rows(db, "SELECT regexp_extract(path, '[^/]+$'), state FROM documents"))
    assert set(docs) == {"plain.pdf", "发票.pdf", "latin1_\\xe9t\\xe9.pdf"}  # shown, escaped, never dropped
    assert all(state in ("loaded", "quarantined") for state in docs.values()), docs
    assert summary.counts["documents"] == 3 and summary.counts["failed"] == 0
    lineage = {r[0] for r in rows(db, "SELECT regexp_extract(source_path, '[^/]+$') FROM invoice "
                                       "UNION ALL SELECT regexp_extract(source_path, '[^/]+$') FROM quarantine")}
    assert "latin1_\\xe9t\\xe9.pdf" in lineage  # the row of that file carries its (display) name


def _long_pdf(path: Path, pages: int) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path), pagesize=A4, invariant=1)
    for n in range(1, pages + 1):
        canvas.setFont("Helvetica", 11)
        lines = [line.format(n="INV-LONG") for line in INVOICE] if n == 1 else [f"Terms and conditions, page {n}"]
        for i, line in enumerate(lines):
            canvas.drawString(60, 780 - 18 * i, line)
        canvas.showPage()
    canvas.save()


def test_a_long_document_is_read_whole_by_default(tmp_path: Path) -> None:
    pdf = tmp_path / "inbox" / "long.pdf"
    pdf.parent.mkdir()
    _long_pdf(pdf, 120)
    db = tmp_path / "o.duckdb"
    run_into([str(pdf.parent)], db)
    [(pages, state)] = rows(db, "SELECT pages, state FROM documents")
    assert pages == 120 and state in ("loaded", "quarantined")
    assert rows(db, "SELECT count(*), max(page_no) FROM pages") == [(120, 120)]


def test_past_a_hard_page_limit_a_document_is_failed_with_its_page_count_not_loaded(tmp_path: Path) -> None:
    pdf = tmp_path / "inbox" / "long.pdf"
    pdf.parent.mkdir()
    _long_pdf(pdf, 120)
    db = tmp_path / "o.duckdb"
    summary = run_into([str(pdf.parent)], db, max_pages=50)
    [(pages, state, error)] = rows(db, "SELECT pages, state, error FROM documents")
    assert (pages, state) == (120, "failed")
    assert "120 pages" in error and "limit of 50" in error
    assert rows(db, "SELECT count(*) FROM pages") == [(0,)]
    assert rows(db, "SELECT count(*) FROM invoice") == [(0,)]
    assert summary.counts["failed"] == 1
