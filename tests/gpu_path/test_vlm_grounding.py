"""Every VLM value is grounded on the page text the model's own spotting gave: found as printed (exact),
found with an OCR slip (fuzzy), or found nowhere (absent), and the confidence follows (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from ocrflow.pipeline.evidence.calibration import CALIBRATION_FILE
from tests.fakes.fake_vllm import FakeVllm
from tests.fakes.model_fake import TruthModel
from tests.support.duck import rows
from tests.support.vllm import run_cli


def _slip(text: str) -> str:
    """One letter of the name changed, as a model misreading one glyph would."""
    i = next(i for i, c in enumerate(text) if c.isalpha() and i > 2)
    return text[:i] + ("X" if text[i] != "X" else "Y") + text[i + 1:]


def test_vlm_values_are_grounded_exact_fuzzy_or_absent(demo_dir: Path, inbox: Path, fake: FakeVllm,
                                                       model: TruthModel, tmp_path: Path, clean_env: None) -> None:
    image = Image.open(demo_dir / "docs" / "receipt_scan_01.jpg")
    truth = model.match(image)
    assert truth is not None
    name = str(truth.fields["merchant_name"])
    model.replace_truth(image, truth.with_fields(merchant_name=_slip(name), total_amount=77.77))
    db = tmp_path / "g.duckdb"
    result = run_cli(str(inbox / "receipt_scan_01.jpg"), "--db", str(db), fake=fake)
    assert result.exit_code == 0, result.output
    got = {f: (g, s, c, box) for f, g, s, c, box in rows(
        db, "SELECT field, grounding, source, confidence, x1 IS NOT NULL FROM field_evidence "
            "WHERE line_no = 0 AND value IS NOT NULL")}
    assert got["merchant_address"][:2] == ("exact", "vlm") and got["merchant_address"][3]
    assert got["merchant_name"][:2] == ("fuzzy", "vlm") and got["merchant_name"][3]  # the printed name's box
    assert got["total_amount"][:2] == ("absent", "vlm") and not got["total_amount"][3]
    exact, fuzzy, absent = (got[f][2] for f in ("merchant_address", "merchant_name", "total_amount"))
    # fuzzy grounding weighs what the fit part of the samples gave it (0 in the shipped calibration: no fit value
    # was fuzzy-grounded), so it may tie with exact; a value printed nowhere is held however sure the model sounds
    weight = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))["model"]["weights"].get("fuzzy", 0.0)
    assert (exact > fuzzy if weight < 0 else exact == fuzzy) and fuzzy > absent and absent < 0.3
