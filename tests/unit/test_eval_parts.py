"""The fit and check parts of one evaluation: each part's figures from its own documents, shown side by side."""

import re
from typing import Any

from rich.console import Console

from ocrflow.eval.report.html import render_html
from ocrflow.eval.report.text import print_eval
from ocrflow.eval.runner import Outcomes, part_figures, score_run
from ocrflow.eval.split import part_of


def _records() -> tuple[list[dict[str, Any]], list[str], Outcomes]:
    """Ten fit and ten check documents; every check document's name is read wrong and every fit one right."""
    names = [f"d/{i}.png" for i in range(200)]
    fit = [n for n in names if part_of(n) == "fit"][:10]
    check = [n for n in names if part_of(n) == "check"][:10]
    records = [{"path": n, "source": "s", "doc_type": "receipt", "fields": {"merchant_name": "ACME"}}
               for n in fit + check]
    out = Outcomes()
    for n in fit + check:
        value = "ACME" if n in fit else "SISTER CO"
        out.found[n] = ("loaded", "", {"merchant_name": value})
        out.evidence[n] = {"merchant_name": {"value": value, "confidence": 0.9, "page_no": 1,
                                             "bbox": [0, 0, 1, 1], "source": "ocr"}}
    return records, list(fit + check), out


def test_each_part_is_scored_on_its_own_documents() -> None:
    records, paths, out = _records()
    report = score_run(records, paths, {}, out, use_embedded_xml=True)
    fit = part_figures(records, paths, {}, out, "fit", use_embedded_xml=True)
    check = part_figures(records, paths, {}, out, "check", use_embedded_xml=True)
    assert report["field_accuracy"] == 0.5 and report["labelled"] == 20
    assert fit["field_accuracy"] == 1.0 and fit["document_count"] == 10 and fit["trust"]["wrong_in_clean"] == 0.0
    assert check["field_accuracy"] == 0.0 and check["trust"]["wrong_in_clean_n"] == 10
    assert check["trust"]["reliability"]["n"] == 10 and abs(check["trust"]["reliability"]["ece"] - 0.9) < 1e-9
    assert {d["part"] for d in report["documents"]} == {"fit", "check"}
    assert "documents" not in fit


def _full() -> dict[str, Any]:
    records, paths, out = _records()
    report = score_run(records, paths, {}, out, use_embedded_xml=True)
    report["split"] = "all"
    report["parts"] = {p: part_figures(records, paths, {}, out, p, use_embedded_xml=True) for p in ("fit", "check")}
    return report


def test_text_view_shows_both_parts() -> None:
    console = Console(record=True, width=220)
    print_eval(console, _full())
    text = console.export_text()
    row = next(line for line in text.splitlines() if "wrong values in clean tables" in line and "%" in line
               and "(0/10)" in line)
    assert "100.0% (10/10)" in row
    assert "by part" in text


def test_html_report_shows_both_parts_side_by_side() -> None:
    html = render_html(_full())
    table = re.search(r'<table id="parts">.*?</table>', html, re.S)
    assert table is not None
    head = re.search(r"<tr><th>figure</th>(.*?)</tr>", table.group(0))
    assert head is not None and head.group(1) == "<th>fit</th><th>check</th>"
    assert "1.000 (10/10)" in table.group(0) and "0.000 (0/10)" in table.group(0)
    assert 'id="reliability-fit"' in html and 'id="reliability-check"' in html
