"""``ocrflow eval --compare A.json B.json``: two saved runs side by side, from hand-made `eval --json` outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ocrflow.cli import app
from ocrflow.eval.report.compare import NotAnEvalReport, compare_reports, load_report


def _field(acc: float, n: int = 2) -> dict[str, Any]:
    return {"field_accuracy": acc, "soft_field_accuracy": acc, "labelled": n, "correct": round(acc * n)}


def _run(engine: str, model: str, version: str, names: dict[str, Any], values: dict[str, bool],
         wrong_in_clean: float) -> dict[str, Any]:
    docs = [{"path": "a.pdf", "fields": {k: {"gold": "G", "predicted": "P" if not ok else "G", "correct": ok}
                                         for k, ok in values.items()}}]
    return {"field_accuracy": sum(v["field_accuracy"] for v in names.values()) / len(names),
            "soft_field_accuracy": 0.9, "labelled": 6, "correct": 4, "by_field": names,
            "by_source": {"gen": _field(0.5)}, "documents": docs, "use_embedded_xml": True,
            "trust": {"wrong_in_clean": wrong_in_clean, "loaded_without_review": 0.6, "located": 0.97,
                      "reliability": {"ece": 0.1}},
            "line_items": {"precision": 0.5, "recall": 0.5, "f1": 0.5},
            "run": {"engine": engine, "model": model, "prompt_version": "", "contract_mode": "auto",
                    "contracts": {"invoice": version}, "gold": "gold.jsonl", "started_at": "2026-01-01"}}


A = _run("embedded", "rapidocr", "2.0.0", {"invoice_number": _field(0.5), "total_amount": _field(1.0),
                                           "seller_name": _field(0.5)},
         {"invoice_number": False, "total_amount": True, "seller_name": True}, 0.05)
B = _run("vllm", "tencent/HunyuanOCR", "2.1.0", {"invoice_number": _field(1.0), "total_amount": _field(0.5),
                                                 "seller_name": _field(0.5), "due_date": _field(1.0)},
         {"invoice_number": True, "total_amount": False, "seller_name": True}, 0.01)


def test_compare_lists_better_worse_flips_and_trust() -> None:
    cmp = compare_reports(A, B)
    assert cmp["a"]["engine"] == "embedded" and cmp["b"]["model"] == "tencent/HunyuanOCR"
    assert cmp["a"]["contracts"] == {"invoice": "2.0.0"} and cmp["b"]["contracts"] == {"invoice": "2.1.0"}
    assert cmp["better"] == ["invoice_number"] and cmp["worse"] == ["total_amount"]
    fields = {f["name"]: f for f in cmp["fields"]}
    assert fields["due_date"]["a"] is None and fields["due_date"]["delta"] is None  # only scored in B
    assert fields["invoice_number"]["delta"] == pytest.approx(0.5)
    assert [f["field"] for f in cmp["flipped"]["fixed"]] == ["invoice_number"]
    assert [f["field"] for f in cmp["flipped"]["broken"]] == ["total_amount"]
    trust = {t["name"]: t for t in cmp["trust"]}
    assert trust["wrong_in_clean"]["delta"] == pytest.approx(-0.04) and not trust["wrong_in_clean"]["higher_is_better"]
    assert trust["ece"]["a"] == 0.1


def _write(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(A))
    b.write_text(json.dumps(B))
    return a, b


def test_cli_compare_prints_both_runs_side_by_side(tmp_path: Path) -> None:
    a, b = _write(tmp_path)
    out = CliRunner().invoke(app, ["eval", "--compare", str(a), str(b)], terminal_width=200)
    assert out.exit_code == 0, out.output
    text = out.stdout
    assert "embedded" in text and "tencent/HunyuanOCR" in text and "2.0.0" in text and "2.1.0" in text
    assert "better: invoice_number; worse: total_amount" in text
    assert "fixed: a.pdf invoice_number: 'P' -> 'G'" in text and "broken: a.pdf total_amount" in text
    assert "wrong_in_clean" in text and "-0.040" in text


def test_cli_compare_json_and_errors(tmp_path: Path) -> None:
    a, b = _write(tmp_path)
    out = CliRunner().invoke(app, ["eval", "--compare", str(a), str(b), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["worse"] == ["total_amount"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"rows": 3}')
    out = CliRunner().invoke(app, ["eval", "--compare", str(a), str(bad)])
    assert out.exit_code == 2 and "not an `ocrflow eval --json` output" in out.output
    with pytest.raises(NotAnEvalReport, match="not JSON"):
        (tmp_path / "x.json").write_text("{")
        load_report(tmp_path / "x.json")
