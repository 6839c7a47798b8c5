"""A review approval builds its row through the pipeline's one row assembly (``ocrflow.pipeline.row``):
the document's allowance total printed negative (a minus sign, accounting brackets) is stored as the
positive BT-107 sum, exactly as the pipeline stores it, and the line checks then read it the same way."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

from ocrflow.contracts import load_contracts
from ocrflow.core.settings import load_settings
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.review.actions import approve
from ocrflow.run.files_work import run_files
from ocrflow.store import Store, open_store
from tests.pdfs import write_lines_pdf

INVOICE = ["Acme Tools GmbH", "Invoice Number: INV-3001", "Bill To: Beta Corp", "Currency: EUR",
           "Invoice Date: 2024-03-05", "Subtotal: 100.00", "Total Allowances: (10.00)", "Tax: 19.00",
           "Total: 130.00"]
"""Subtotal + tax is 119, not 130: the pipeline quarantines it; the allowances are printed deducted, in
accounting brackets."""


def _run(inbox: Path, url: str) -> None:
    store = open_store(url)
    try:
        run_files([str(inbox)], load_settings(store=url), store, EmbeddedEngine())
    finally:
        store.close()


def _one(store: Store, sql: str, *params: Any) -> Any:
    _, rows = store.query(sql, list(params))
    return rows[0] if rows else None


def _values(store: Store, sha: str) -> dict[str, Any]:
    row = _one(store, "SELECT \"values\" FROM quarantine WHERE doc_sha256 = ?", sha)
    return row[0] if isinstance(row[0], dict) else json.loads(row[0])


def test_an_approval_stores_a_printed_negative_allowance_as_the_pipeline_does(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_lines_pdf(inbox / "allowance.pdf", INVOICE)
    url = str(tmp_path / "r.duckdb")
    _run(inbox, url)
    store = open_store(url)
    try:
        sha = str(_one(store, "SELECT sha256 FROM documents")[0])
        assert _one(store, "SELECT state FROM documents WHERE sha256 = ?", sha) == ("quarantined",)
        piped = _values(store, sha)
        raw = json.loads(str(_one(store, "SELECT raw_values FROM quarantine WHERE doc_sha256 = ?", sha)[0]))
        assert raw["allowance_total_amount"] == "(10.00)"  # read as printed ...
        assert Decimal(str(piped["allowance_total_amount"])) == Decimal("10.00")  # ... stored as the BT-107 sum
        # the reviewer corrects the total and types the allowances as the page prints them: the same raw value
        decision = approve(store, load_contracts(), sha, {"total_amount": "119.00",
                                                          "allowance_total_amount": raw["allowance_total_amount"]},
                           "tester")
        assert decision.state == "loaded", decision.reasons
        stored = _one(store, "SELECT allowance_total_amount, total_amount FROM invoice WHERE doc_sha256 = ?", sha)
    finally:
        store.close()
    assert stored == (Decimal("10.00"), Decimal("119.00"))


def _lines_sum(store: Store, sha: str) -> Decimal:
    _, rows = store.query("SELECT line_net_amount FROM invoice_line WHERE doc_sha256 = ?", [sha])
    return sum((Decimal(str(r[0])) for r in rows), Decimal(0))


def test_an_approval_checks_the_lines_against_the_unsigned_allowances(tmp_path: Path, demo_dir: Path) -> None:
    """A reviewer adds allowances the page prints as ``-5.00`` and lowers the net total by them: the lines
    minus the allowances make the net total (BR-CO-10), so the approval loads, as the pipeline would. (A UBL
    invoice: its lines are read exactly, so only the approval is under test.)"""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(demo_dir / "docs" / "invoice_ubl.xml", inbox)
    url = str(tmp_path / "r.duckdb")
    _run(inbox, url)
    store = open_store(url)
    try:
        sha = str(_one(store, "SELECT doc_sha256 FROM invoice")[0])
        lines = _lines_sum(store, sha)
        assert lines > 0
        subtotal, tax = _one(store, "SELECT subtotal_amount, tax_amount FROM invoice WHERE doc_sha256 = ?", sha)
        assert Decimal(str(subtotal)) == lines  # the invoice's lines make its net total
        net = lines - Decimal("5.00")
        edits = {"allowance_total_amount": "-5.00", "subtotal_amount": str(net),
                 "total_amount": str(net + Decimal(str(tax)))}
        decision = approve(store, load_contracts(), sha, edits, "tester")
        assert decision.state == "loaded", decision.reasons
        stored = _one(store, "SELECT allowance_total_amount, subtotal_amount FROM invoice WHERE doc_sha256 = ?", sha)
        assert stored == (Decimal("5.00"), net)
        assert _lines_sum(store, sha) == lines  # the lines were written again with their header
    finally:
        store.close()
