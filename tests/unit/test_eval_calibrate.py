"""``ocrflow calibrate`` on a tiny generated gold set: priors with their counts, a fitted model, a gate, and
nothing from the check part."""

import json
from pathlib import Path

from typer.testing import CliRunner

from ocrflow.cli import app
from ocrflow.eval.calibrate import figures, fit_calibration
from ocrflow.eval.fit import L2_CHOICES, ValueRecord, confidence_of, fit_priors, fit_weights
from ocrflow.eval.split import part_of
from ocrflow.pipeline.evidence.calibration import parse, predict
from tests.pdfs import write_lines_pdf


def _names(part: str, n: int) -> list[str]:
    return [p for p in (f"r{i:03d}.pdf" for i in range(400)) if part_of(p) == part][:n]


def _receipt(path: Path, shop: str, total: str) -> None:
    write_lines_pdf(path, [shop, "NO 1, JALAN MAJU, 50000 KUALA LUMPUR", "Date: 05/03/2024",
                           "COFFEE 2 x 2.50 5.00", f"TOTAL {total}", "CASH 20.00", f"CHANGE {20 - float(total):.2f}"],
                    small=True)


def test_calibrate_fits_on_the_fit_part_only(tmp_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    records = []
    for i, name in enumerate(_names("fit", 4) + _names("check", 2)):
        total = f"{5 + i}.00"
        _receipt(tmp_path / name, f"KEDAI MAJU {i} SDN BHD", total)
        # the gold of the second fit document disagrees with its page: one wrong value to count
        shop = "SOMETHING ELSE" if i == 1 else f"KEDAI MAJU {i} SDN BHD"
        records.append({"path": name, "doc_type": "receipt", "source": "gen",
                        "fields": {"merchant_name": shop, "receipt_date": "2024-03-05", "total_amount": float(total)}})
    gold.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "cal.json"
    res = CliRunner().invoke(app, ["calibrate", "--gold", str(gold), "--out", str(out)])
    assert res.exit_code == 0, res.output
    cal = json.loads(out.read_text())
    assert cal["fitted_on"]["split"] == "fit" and cal["fitted_on"]["documents"] == 4
    name_prior = cal["priors"]["receipt.merchant_name|heuristic:top_lines"]
    assert name_prior["n"] == 4 and name_prior["right"] == 3  # the check part's two documents are not counted
    assert cal["model"]["n"] == cal["fitted_on"]["labelled_values"] == 12
    gate = cal["gate"]["receipt"]
    assert gate["pool_values"] == 12 and sorted(gate["reviewed"]) == sorted(gate["thresholds"])  # 12 < 114
    assert parse(cal).weights["prior"] != 0
    assert "gate chosen on the fit part" in res.output
    crossed = cal["gate_rule"]["cross_fitted"]  # the procedure counted on fit documents it was not fitted on
    assert crossed["documents"] == 4 and crossed["folds"] == 2 and "cross-fitted on the fit part" in res.output
    assert gate["engines"] == ["pdfium"]  # whose values the thresholds were chosen on: these PDFs have a text layer


def test_calibrate_refuses_the_check_part(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["calibrate", "--gold", str(tmp_path / "g.jsonl"), "--split", "check"])
    assert res.exit_code == 2 and "fit part only" in res.output


def _records(n: int, rate: float, *, method: str = "heuristic:top_lines", unsure_wrong: bool = False,
             odd_wrong: bool = False) -> list[ValueRecord]:
    out = []
    for i in range(n):
        right = i >= n * (1 - rate)
        signals = {"prior": 0.5, "recognition": 0.98, "grounding": 1.0, "validity": 1.0}
        if unsure_wrong and not right:
            signals["recognition"] = 0.4
        if odd_wrong and not right:
            signals["field_shape"] = 0.0
        out.append(ValueRecord(f"d{i}", "receipt", "merchant_name", method, signals, True, right))
    return out


def test_priors_are_shrunk_counts_per_method_and_field() -> None:
    priors = fit_priors(_records(20, 0.75))
    coarse = priors["heuristic:top_lines"]
    assert coarse["n"] == 20 and coarse["right"] == 15
    assert coarse["value"] == round((15 + 4 * coarse["p0"]) / 24, 4)
    fine = priors["receipt.merchant_name|heuristic:top_lines"]
    assert fine["p0"] == coarse["value"]


def test_a_signal_that_marks_the_wrong_values_gets_weight() -> None:
    records = _records(80, 0.7, unsure_wrong=True)
    priors = fit_priors(records)
    model = fit_weights(records, priors)
    assert model["weights"]["unsure_ocr"] < -1.0
    good = predict({**records[-1].signals, "prior": 0.7}, model["weights"])
    unsure = predict({**records[0].signals, "prior": 0.7}, model["weights"])
    assert unsure < 0.5 < good
    dropped = fit_weights(records, priors, drop=["unsure_ocr"])
    assert "unsure_ocr" not in dropped["weights"]


def test_a_value_without_its_fields_shape_waits_for_review_whatever_the_weights() -> None:
    """The shape per field is a guard, not a fitted weight: 1 or 2 fit values have a wrong shape, so a weight
    for it followed the ridge strength (-5.5 at 0.03, -0.2 at 3.0, and every receipt reviewed by the gate)."""
    records = _records(200, 0.99, odd_wrong=True)
    priors = fit_priors(records)
    odd = records[0]
    assert "bad_field_shape" not in fit_weights(records, priors)["weights"]
    for l2 in (min(L2_CHOICES), max(L2_CHOICES)):
        weights = fit_weights(records, priors, l2=l2)["weights"]
        assert confidence_of(odd, priors, weights) < 0.3 < confidence_of(records[-1], priors, weights)
        assert confidence_of(odd, priors, weights, field_shape=False) > 0.3  # what --lift replays without it


def test_figures_replay_a_calibration_on_scored_documents() -> None:
    docs = []
    for i in range(50):
        right = i >= 10
        docs.append({"path": f"d{i}", "doc_type": "receipt", "state": "loaded", "checks": [],
                     "fields": {"merchant_name": {"correct": right, "soft": right}},
                     "evidence": {"merchant_name": {"value": "X", "confidence": 0.9, "source": "ocr",
                                                    "method": "heuristic:top_lines",
                                                    "signals": {"prior": 0.5, "field_shape": 1.0 if right else 0.0}}}})
    cal = fit_calibration({"documents": docs})
    loose = figures(docs, cal, {"receipt": {"merchant_name": 0.0}})
    assert loose["loaded"] == 50 and loose["wrong_in_clean_n"] == 10 and loose["field_accuracy"] == 0.8
    strict = figures(docs, cal, {"receipt": {"merchant_name": 0.5}})
    assert strict["loaded"] == 40 and strict["wrong_in_clean_n"] == 0
    assert strict["reliability"]["n"] == 50


def _doc(path: str, fields: dict, evidence: dict, *, state: str = "loaded") -> dict:
    return {"path": path, "doc_type": "nda", "state": state, "checks": [], "fields": fields, "evidence": evidence}


def test_an_empty_field_has_the_confidence_that_it_is_really_empty() -> None:
    from ocrflow.eval.calibrate import Scorer, null_priors

    docs = [_doc(f"n{i}", {"term": {"correct": False, "soft": False}} if i < 3 else {},
                 {"term": {"value": None, "confidence": None, "source": "text_layer"}}) for i in range(10)]
    priors = null_priors(docs)
    assert priors["null|nda.term"]["n"] == 10 and priors["null|nda.term"]["right"] == 7
    assert Scorer(priors, {}).of(docs[0], "term") == priors["null|nda.term"]["value"]
    xml = {"path": "x", "doc_type": "nda", "state": "loaded", "fields": {},
           "evidence": {"a": {"value": "1", "signals": {"xml": 1.0}, "confidence": 1.0},
                        "term": {"value": None, "confidence": None}}}
    assert "null|nda.a" not in null_priors([xml]) and Scorer(priors, {}).of(xml, "term") is None


def test_page_readings_of_e_invoices_join_the_fit() -> None:
    from ocrflow.eval.calibrate import with_page_readings

    xml = {"path": "z.pdf", "evidence": {"total_amount": {"value": "1", "signals": {"xml": 1.0}}}}
    pages = {"path": "z.pdf", "evidence": {"total_amount": {"value": "1", "signals": {"prior": 0.9}}}}
    other = {"path": "r.jpg", "evidence": {"total_amount": {"value": "2", "signals": {"prior": 0.9}}}}
    joined = with_page_readings([xml, other], [pages, other])
    assert [d["path"] for d in joined] == ["z.pdf", "r.jpg", "z.pdf#pages"]
