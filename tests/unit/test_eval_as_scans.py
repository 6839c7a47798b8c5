"""``ocrflow eval --as-scans``: the same PDFs read by OCR with their text layer ignored (issue 19: line items and
fields from scanned invoices, measured on documents that have a text layer and gold)."""

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ocrflow.cli import app
from tests.pdfs import write_lines_pdf


def _eval(gold: Path, *extra: str) -> dict[str, Any]:
    out = CliRunner().invoke(app, ["eval", "--gold", str(gold), "--json", "--engine", "embedded", *extra])
    assert out.exit_code == 0, out.output
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow  # one page through RapidOCR
def test_a_text_layer_pdf_is_read_by_ocr_as_a_scan(tmp_path: Path) -> None:
    write_lines_pdf(tmp_path / "inv.pdf", ["ACME Widgets Ltd.", "Invoice Number: INV-2024-0042",
                                           "Invoice Date: 2024-08-03", "Total: 150.00 EUR"])
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"path": "inv.pdf", "doc_type": "invoice", "source": "gen",
                                "fields": {"invoice_number": "INV-2024-0042", "total_amount": 150.0}}) + "\n")
    layer, scan = _eval(gold), _eval(gold, "--as-scans")
    sources = [{ev["source"] for ev in r["documents"][0]["evidence"].values() if ev.get("value") is not None}
               for r in (layer, scan)]
    assert sources == [{"text_layer"}, {"ocr"}]
    assert layer["as_scans"] is False and scan["as_scans"] is True
    assert scan["documents"][0]["fields"]["invoice_number"]["correct"]


def test_as_scans_with_the_review_simulation_is_refused(tmp_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text("")
    out = CliRunner().invoke(app, ["eval", "--gold", str(gold), "--as-scans", "--simulate-review"])
    assert out.exit_code == 2 and "--as-scans" in out.output
