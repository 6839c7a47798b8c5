"""``ocrflow eval --report``: the HTML report (charts, trust figures, reliability, misses with page crops) and the
terminal view of one evaluation."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any

from PIL import Image
from rich.console import Console
from typer.testing import CliRunner

from ocrflow.cli import app
from ocrflow.eval.report.charts import accuracy_bars, reliability_diagram
from ocrflow.eval.report.crops import PageCropper, crop_box
from ocrflow.eval.report.html import render_html, write_report
from ocrflow.eval.report.text import print_eval
from ocrflow.eval.trust import held_by_check, reliability
from tests.pdfs import write_lines_pdf

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HOSTILE = "<script>alert(1)</script>"


def _report(**overrides: Any) -> dict[str, Any]:
    """A hand-made `eval --json` output: one loaded receipt with a wrong name, one quarantined invoice."""
    pairs = [(0.95, True)] * 8 + [(0.55, False), (0.45, True)]
    docs = [
        {"path": "r/a.png", "source": "scans", "doc_type": "receipt", "state": "loaded", "error": "",
         "fields": {"merchant_name": {"kind": "text", "gold": "ACME STORE", "predicted": HOSTILE, "correct": False,
                                      "soft": False, "confidence": 0.55},
                    "total_amount": {"kind": "money", "gold": 9.0, "predicted": 9.0, "correct": True, "soft": True,
                                     "confidence": 0.95}},
         "evidence": {"merchant_name": {"source": "ocr", "method": "heuristic:top_lines", "grounding": "exact",
                                        "page_no": 1, "bbox": [10, 10, 90, 30], "page_width": 200,
                                        "page_height": 100, "confidence": 0.55, "value": HOSTILE}}},
        {"path": "i/b.pdf", "source": "pdfs", "doc_type": "invoice", "state": "quarantined",
         "error": "total_amount must be positive",
         "fields": {"invoice_number": {"kind": "identifier", "gold": "INV-1", "predicted": None, "correct": False,
                                       "soft": False, "confidence": None}},
         "evidence": {}},
    ]
    report: dict[str, Any] = {
        "field_accuracy": 1 / 3, "soft_field_accuracy": 1 / 3, "labelled": 3, "correct": 1,
        "by_source": {"scans": {"field_accuracy": 0.5, "soft_field_accuracy": 0.5, "labelled": 2, "correct": 1},
                      "pdfs": {"field_accuracy": 0.0, "soft_field_accuracy": 0.0, "labelled": 1, "correct": 0}},
        "by_field": {"merchant_name": {"field_accuracy": 0.0, "soft_field_accuracy": 0.0, "labelled": 1,
                                       "correct": 0},
                     "total_amount": {"field_accuracy": 1.0, "soft_field_accuracy": 1.0, "labelled": 1, "correct": 1},
                     "invoice_number": {"field_accuracy": 0.0, "soft_field_accuracy": 0.0, "labelled": 1,
                                        "correct": 0}},
        "documents": docs,
        "trust": {"wrong_in_clean": 0.5, "wrong_in_clean_n": 1, "labelled_in_clean": 2,
                  "loaded_without_review": 0.5, "loaded": 1, "documents": 2, "located": 0.75, "located_n": 3,
                  "values": 4, "reliability": reliability(pairs), "states": {"loaded": 1, "quarantined": 1},
                  "held_by_check": {"rule:totals": 1},
                  "by_source": {"ocr": {"field_accuracy": 0.5, "soft_field_accuracy": 0.5, "labelled": 2,
                                        "correct": 1}}},
        "line_items": {"precision": 0.5, "recall": 0.25, "f1": 1 / 3, "predicted": 2, "gold": 4, "correct": 1,
                       "documents": 1, "with_xml": True,
                       "by_source": {"pdfs": {"precision": 0.5, "recall": 0.25, "f1": 1 / 3, "predicted": 2,
                                              "gold": 4, "correct": 1, "documents": 1}}},
        "seconds": 1.5, "use_embedded_xml": True,
        "run": {"gold": "gold.jsonl", "engine": "embedded", "model": "rapidocr", "prompt_version": "",
                "contract_mode": "gold", "contracts": {"invoice": "2.1.0"}, "started_at": "2026-01-01T00:00:00"},
    }
    report.update(overrides)
    return report


def _images(html: str, kind: str) -> list[bytes]:
    return [base64.b64decode(b) for b in re.findall(rf'src="data:image/{kind};base64,([A-Za-z0-9+/=]+)"', html)]


def _table(html: str, table_id: str) -> str:
    match = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    assert match, f"no table {table_id}"
    return match.group(0)


def test_report_shows_trust_reliability_lines_and_escapes_document_strings(tmp_path: Path) -> None:
    page = Image.new("RGB", (400, 200), "white")
    page.paste((200, 0, 0), (20, 20, 180, 60))  # the box of the miss, in a 2x larger image than recorded
    (tmp_path / "r").mkdir()
    page.save(tmp_path / "r" / "a.png")
    html = write_report(_report(), tmp_path / "out", base=tmp_path).read_text(encoding="utf-8")

    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    trust = _table(html, "trust")
    assert "50.0%" in trust and "1/2" in trust and "3/4" in trust and "75.0%" in trust
    rel = _table(html, "reliability")
    assert "0.9&ndash;1.0" in rel and ">8<" in rel and "0.5&ndash;0.6" in rel
    assert "0.333" in _table(html, "line-items") and "pdfs" in _table(html, "line-items")
    misses = _table(html, "misses")
    assert misses.index("r/a.png") < misses.index("i/b.pdf")  # wrong values that reached a clean table first
    assert "ACME STORE" in misses and "INV-1" in misses and "(none)" in misses and "no box" in misses
    crops = _images(misses, "jpeg")
    assert len(crops) == 1
    crop = Image.open(io.BytesIO(crops[0]))
    assert crop.getpixel((crop.width // 2, crop.height // 2))[0] > 150  # the red box is inside the crop
    charts = _images(html, "png")
    assert len(charts) == 4 and all(c.startswith(PNG_MAGIC) for c in charts)
    assert not re.search(r'(src|href)="(?!data:)', html)  # self-contained: nothing fetched from elsewhere
    assert "embedded / rapidocr" in html and "invoice 2.1.0" in html
    assert "Not loaded, by failed check: rule:totals 1." in html


def test_report_of_an_old_json_without_trust_or_run(tmp_path: Path) -> None:
    old = {k: v for k, v in _report().items() if k not in ("trust", "line_items", "run")}
    html = render_html(old)
    assert "This report has no trust figures." in html and "No line-item gold." in html
    assert len(_images(html, "jpeg")) == 0  # no base folder: no crops, still every miss
    assert html.count("<tr>") >= 3


def test_crop_box_scales_the_recorded_grid_and_clips() -> None:
    box = crop_box([100, 100, 200, 120], (1000, 500), (500, 250))
    assert box == (26, 26, 124, 84)  # halved, 24 px margin
    assert crop_box([0, 0, 1000, 500], (1000, 500), (500, 250)) == (0, 0, 500, 250)


def test_cropper_renders_a_pdf_page_once(tmp_path: Path) -> None:
    pdf = tmp_path / "a.pdf"
    write_lines_pdf(pdf, ["Invoice No: INV-1001", "Total: 19.00"])
    cropper = PageCropper()
    first = cropper.page(pdf, 1)
    assert first is not None and cropper.page(pdf, 1) is first
    assert cropper.crop(pdf, {"page_no": 1, "bbox": None}) is None
    assert cropper.page(pdf, 2) is None
    b64 = cropper.crop(pdf, {"page_no": 1, "bbox": [100, 100, 400, 130], "page_width": first.width,
                             "page_height": first.height})
    assert b64 is not None and Image.open(io.BytesIO(base64.b64decode(b64))).width > 100


def test_charts_are_png() -> None:
    bars = base64.b64decode(accuracy_bars("t", {"a": {"field_accuracy": 0.5, "soft_field_accuracy": 1.0,
                                                      "labelled": 2}}))
    diagram = base64.b64decode(reliability_diagram(reliability([(0.9, True), (0.2, False)])["buckets"], 0.15))
    assert bars.startswith(PNG_MAGIC) and diagram.startswith(PNG_MAGIC)


def test_text_output_prints_trust_figures_and_reliability() -> None:
    console = Console(record=True, width=200)
    print_eval(console, _report())
    out = console.export_text()
    assert "wrong values in clean tables" in out and "50.0%" in out and "1/2" in out
    assert "documents loaded without review" in out and "values with page and box" in out and "3/4" in out
    assert "expected calibration error" in out and "0.9-1.0" in out
    assert "line items (with XML)" in out and "0.333" in out
    assert "not loaded, by failed check: rule:totals 1" in out


def test_held_by_check_counts_documents_that_did_not_load() -> None:
    docs = [{"state": "loaded", "checks": []}, {"state": "quarantined", "checks": ["duplicate"]},
            {"state": "quarantined", "checks": ["duplicate", "min_confidence"]}, {"state": "failed", "checks": []}]
    assert held_by_check(docs) == {"duplicate": 2, "failed": 1, "min_confidence": 1}


def test_eval_writes_the_report_of_a_real_run(tmp_path: Path) -> None:
    """Real run of a generated text-layer invoice, its gold off in one value: the miss shows with its crop."""
    name = "<img src=x onerror=alert(1)>.pdf"
    write_lines_pdf(tmp_path / name, ["ACME Trading GmbH", "Invoice No: INV-1001", "Invoice Date: 2024-03-05",
                                      "Currency: EUR", "Total: 119.00"])
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"path": name, "doc_type": "invoice", "source": "gen",
                                "fields": {"invoice_number": "INV-9999", "total_amount": 119.0}}) + "\n")
    out = CliRunner().invoke(app, ["eval", "--gold", str(gold), "--json", "--engine", "embedded",
                                   "--report", str(tmp_path / "rep")])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["run"]["engine"] and result["run"]["contracts"]["invoice"]
    assert result["by_field"]["invoice_number"]["correct"] == 0
    assert result["by_field"]["total_amount"]["correct"] == 1
    assert result["documents"][0]["checks"] == [] and result["trust"]["loaded"] == 1
    html = (tmp_path / "rep" / "index.html").read_text(encoding="utf-8")
    misses = _table(html, "misses")
    assert "INV-9999" in misses and "INV-1001" in misses and "&lt;img src=x onerror=alert(1)&gt;.pdf" in misses
    assert "<img src=x" not in html
    assert len(_images(misses, "jpeg")) == 1


def test_text_output_says_so_when_the_gold_has_no_line_items() -> None:
    from ocrflow.eval.report.text import print_lines

    console = Console(record=True, width=120)
    print_lines(console, {"precision": 0.0, "recall": 0.0, "f1": 0.0, "correct": 0, "predicted": 0, "gold": 0,
                          "by_source": {}, "with_xml": True})
    out = console.export_text()
    assert "no line items to score" in out and "F1" not in out


def test_html_report_says_so_when_the_gold_has_no_line_items(tmp_path: Path) -> None:
    empty = {"precision": 0.0, "recall": 0.0, "f1": 0.0, "correct": 0, "predicted": 0, "gold": 0, "by_source": {}}
    html = write_report(_report(line_items=empty), tmp_path / "out", base=tmp_path).read_text(encoding="utf-8")
    assert "No line-item gold." in html and 'id="line-items"' not in html
