"""What the VLM answers is what lands: spotting lines become the page text, extracted fields win over the
rule extractor (which only fills fields the VLM left empty). The model fake answers from the demo's truth,
so a pipeline that ignored the VLM would load the rules' reading instead and these tests would fail."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.fakes.fake_vllm import FakeVllm
from tests.fakes.model_fake import TruthModel
from tests.support.duck import rows
from tests.support.vllm import run_cli


def test_model_fake_imports_nothing_from_ocrflow() -> None:
    code = ("import sys, tests.fakes.model_fake, tests.fakes.fake_vllm; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'ocrflow'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"


def test_extracted_fields_from_the_vlm_win_over_the_rules(demo_dir: Path, inbox: Path, fake: FakeVllm,
                                                          model: TruthModel, tmp_path: Path,
                                                          clean_env: None) -> None:
    image = Image.open(demo_dir / "docs" / "receipt_scan_01.jpg")
    truth = model.match(image)
    assert truth is not None
    # values on no page: only the VLM can have said them; receipt_date left empty: the rules fill it
    model.replace_truth(image, truth.with_fields(merchant_name="VLM SAW THIS MART", total_amount=77.77,
                                                 receipt_date=None))
    db = tmp_path / "v.duckdb"
    result = run_cli(str(inbox / "receipt_scan_01.jpg"), "--db", str(db), fake=fake)
    assert result.exit_code == 0, result.output
    # the VLM's values win, but they are printed on no page: grounding 'absent', confidence under the
    # contract's minimum, so the row waits for review (issue 11) instead of reaching the clean table
    assert rows(db, "SELECT count(*) FROM receipt") == [(0,)]
    (values, reasons, engine, model_name), = rows(db, 'SELECT "values", reasons, engine, model FROM quarantine')
    values, reasons = json.loads(values), json.loads(reasons)
    assert (values["merchant_name"], str(values["total_amount"]), str(values["receipt_date"])) == \
        ("VLM SAW THIS MART", "77.77", "2018-02-26")
    assert (engine, model_name) == ("vllm", "tencent/HunyuanOCR")
    assert {(r["field"], r["check"]) for r in reasons} >= {("merchant_name", "min_confidence"),
                                                           ("total_amount", "min_confidence")}
    # the receipt prints an item table header ("ITEM QTY RM"), so the empty lines of the extraction are asked
    # again with the parse prompt (tests/gpu_path/test_vlm_lines.py)
    assert model.asked == {"spot": 1, "parse": 1, "extract": 1} and model.unknown == 0


def test_spotting_lines_and_boxes_are_the_page(demo_dir: Path, inbox: Path, fake: FakeVllm, model: TruthModel,
                                               tmp_path: Path, clean_env: None) -> None:
    db = tmp_path / "s.duckdb"
    result = run_cli(str(inbox / "receipt_scan_02.png"), "--db", str(db), fake=fake)
    assert result.exit_code == 0, result.output
    truth = model.match(Image.open(demo_dir / "docs" / "receipt_scan_02.png"))
    assert truth is not None
    text, width, height = rows(db, "SELECT text, width, height FROM pages")[0]
    assert text.splitlines() == [ln.text for ln in truth.lines]
    boxes = rows(db, "SELECT lines FROM pages")[0][0]
    assert "RESTORAN SRI MELAKA" in str(boxes)
    # the first line's box, mapped back from the 0-1000 grid, is where the generator drew it (1 grid cell)
    import json

    first = json.loads(boxes)[0] if isinstance(boxes, str) else boxes[0]
    values = [float(v) for v in (first[1:5] if isinstance(first, list) else first["bbox"])]
    scale = (width / truth.width, height / truth.height)
    expected = [truth.lines[0].box[i] * scale[i % 2] for i in range(4)]
    assert all(abs(a - b) <= max(width, height) / 1000 + 1 for a, b in zip(values, expected, strict=True))


def test_noisy_json_answers_still_land(inbox: Path, fake: FakeVllm, model: TruthModel, tmp_path: Path,
                                       clean_env: None) -> None:
    model.noise = frozenset({"prose", "fence"})
    db = tmp_path / "n.duckdb"
    result = run_cli(str(inbox / "receipt_scan_01.jpg"), "--db", str(db), fake=fake)
    assert result.exit_code == 0, result.output
    assert rows(db, "SELECT CAST(total_amount AS VARCHAR) FROM receipt") == [("38.72",)]


def test_a_wrong_digit_from_the_vlm_is_what_lands(inbox: Path, fake: FakeVllm, model: TruthModel,
                                                  tmp_path: Path, clean_env: None) -> None:
    """The rules would read the right merchant name from the page; the VLM's misreading wins (VLM > rules)."""
    model.noise = frozenset({"wrong_digit"})
    db = tmp_path / "w.duckdb"
    result = run_cli(str(inbox / "receipt_scan_01.jpg"), "--db", str(db), fake=fake)
    assert result.exit_code == 0, result.output
    (address,) = rows(db, "SELECT merchant_address FROM receipt")[0]
    assert address.startswith("NO 22, JALAN")  # truth: "NO 12, JALAN SS2/24, ..."
