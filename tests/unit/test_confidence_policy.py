"""The shape of positional guesses, the shipped contracts' confidence policy, and grounding of values printed
in words (dates with month names, durations, currency symbols)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ocrflow.contracts import Contract, default_contracts_dir, load_contract, load_contracts
from ocrflow.contracts.policy import set_fitted_min_confidence
from ocrflow.core.evidence import EvidenceRow
from ocrflow.core.models import DocumentRef, Line, RowOutcome
from ocrflow.pipeline.evidence.calibration import shipped
from ocrflow.pipeline.evidence.confidence import apply_policy, policy_failures, prior, score, shape, threshold
from ocrflow.pipeline.evidence.grounding import Grounder
from ocrflow.pipeline.extract.layout import PageLine
from ocrflow.review.queue import min_confidence as queue_min_confidence
from ocrflow.review.queue import review_queue
from ocrflow.store.records import FieldConfidence


def test_shape_judges_only_positional_guesses() -> None:
    assert shape("heuristic:top_lines", "HON HWA HARDWARE TRADING") == 1.0
    assert shape("heuristic:top_lines", "TTA ICE A05143") < 1.0  # a code, not a name
    assert shape("heuristic:top_lines", "Hotel Details Check In Check Out Rooms Guests Nights") < 1.0
    assert shape("heuristic:address_block", "NO 37, JALAN MANIS 7, 56100 CHERAS, KUALA LUMPUR.") == 1.0
    assert shape("heuristic:address_block", "Resort Road 4, 31/12/2017 01/01/2018") < 1.0  # a date inside
    assert shape("heuristic:address_block", "bakery 000965911 117, Jalan Radin") < 1.0  # a registration no.
    assert shape("label:seller:right", "TTA ICE A05143") == 1.0  # read beside a label: not judged
    assert shape("heuristic:top_lines", None) == 1.0


def test_a_value_is_as_sure_as_its_way_of_reading_was_on_the_fit_part() -> None:
    """The priors are the shipped calibration's (fitted on the fit part: which way of reading is surer is the
    data's to say, not this test's); XML beats all of them; and the confidence grows with the prior."""
    cal = shipped()
    assert prior("heuristic:top_lines") == cal.priors["heuristic:top_lines"]
    assert prior("label:total:right") == cal.priors["label:right"]
    assert prior("xml:total_amount") == 1.0 > max(cal.priors.values())
    surer = score({"prior": 0.9, "recognition": 0.98, "grounding": 1.0})
    assert score({"prior": 0.6, "recognition": 0.98, "grounding": 1.0}) < surer < 1.0


def _row(values: dict[str, tuple[str, str, float]], engine: str = "") -> RowOutcome:
    doc = DocumentRef(path="r.jpg", sha256="s" * 64, mime="image/jpeg", size_bytes=1)
    evidence = []
    for name, (value, method, recognition) in values.items():
        signals = {"prior": prior(method), "recognition": recognition, "grounding": 1.0, "validity": 1.0}
        evidence.append(EvidenceRow(doc_sha256=doc.sha256, contract="receipt", field=name, value=value, raw=value,
                                    source="ocr", method=method, confidence=score(signals), grounding="exact",
                                    signals=signals, engine=engine))
    return RowOutcome(doc=doc, contract="receipt", contract_version="1.0.0", values={}, raw={}, lineage={},
                      evidence=evidence)


def test_receipt_policy_sends_odd_positional_guesses_to_review() -> None:
    receipt = load_contracts()["receipt"]
    assert threshold(receipt, "merchant_name") is not None and threshold(receipt, "merchant_address") is not None
    good = _row({"merchant_name": ("HON HWA HARDWARE TRADING", "heuristic:top_lines", 0.97),
                 "merchant_address": ("NO 37, JALAN MANIS 7, 56100 CHERAS", "heuristic:address_block", 0.97),
                 "total_amount": ("10.40", "label:total:right", 0.99)})
    apply_policy(good, receipt)
    assert good.clean, [f.message for f in good.failures]
    odd = _row({"merchant_name": ("TTA ICE A05143", "heuristic:top_lines", 0.95),
                "merchant_address": ("30, Jln Kebudayaan 7, 81300 Skudai", "heuristic:address_block", 0.99)})
    apply_policy(odd, receipt)
    assert [(f.field, f.check) for f in odd.failures] == [("merchant_name", "min_confidence")]
    ev = next(e for e in odd.evidence if e.field == "merchant_name")
    assert ev.signals is not None and ev.signals["shape"] < 1.0 and ev.confidence is not None
    assert ev.confidence < (threshold(receipt, "merchant_name") or 0)


def _fitted_receipt(folder: Path, minimums: dict[str, float]) -> Contract:
    text = (default_contracts_dir() / "receipt.yaml").read_text(encoding="utf-8")
    folder.mkdir()
    path = folder / "receipt.yaml"
    path.write_text(set_fitted_min_confidence(text, minimums, ["embedded", "pdfium"]), encoding="utf-8")
    return load_contract(path)


def test_a_fitted_minimum_holds_the_values_of_the_engines_it_was_fitted_on_and_no_others(tmp_path: Path) -> None:
    """The gate chose its minimums on the embedded engine's values; a VLM's confidence is another model's, so its
    values keep the hand-set minimum (a higher fitted one does not hold them, a lower one does not free them)."""
    row = _row({"merchant_name": ("HON HWA HARDWARE TRADING", "heuristic:top_lines", 0.97)})
    conf = row.evidence[0].confidence or 0.0
    hand = threshold(load_contracts()["receipt"], "merchant_name") or 0.0
    strict = _fitted_receipt(tmp_path / "strict", {"merchant_name": min(1.0, conf + 0.01)})
    loose = _fitted_receipt(tmp_path / "loose", {"merchant_name": max(0.0, hand - 0.2)})
    assert hand <= conf < min(1.0, conf + 0.01)
    for engine, contract, held in (("embedded", strict, True), ("pdfium", strict, True), ("vllm", strict, False),
                                   ("", strict, False)):
        r = _row({"merchant_name": ("HON HWA HARDWARE TRADING", "heuristic:top_lines", 0.97)}, engine)
        apply_policy(r, contract)
        assert bool(r.failures) is held, (engine, [f.message for f in r.failures])
        if held:
            assert f"fitted on {engine}'s values" in r.failures[0].message
    assert threshold(loose, "merchant_name", "embedded") == max(0.0, hand - 0.2)
    assert threshold(loose, "merchant_name", "vllm") == hand


def test_the_reason_shows_a_confidence_just_under_its_minimum_as_under_it(tmp_path: Path) -> None:
    """A confidence of 0.97996 held by a minimum of 0.98 reads '0.97996 is under the minimum 0.98', not '0.98 is
    under the minimum 0.98': the reason shows as many places as it takes."""
    contract = _fitted_receipt(tmp_path / "c", {"merchant_name": 0.98})
    for confidence, shown in ((0.97996, "0.97996"), (0.9791, "0.979"), (0.5, "0.50")):
        row = _row({"merchant_name": ("HON HWA HARDWARE TRADING", "heuristic:top_lines", 0.97)}, "embedded")
        row.evidence[0].confidence = confidence
        (held,) = policy_failures(row, contract)
        assert f"confidence {shown} is under the minimum 0.98 " in held.message, held.message


def _grounder() -> Grounder:
    texts = ["This Agreement is entered into as of March 1, 2015 between", "shall terminate two years after",
             "Total $ 12.00", "Datum: 4. Juni 2018"]
    return Grounder([PageLine(1, i, Line(t, (0, 20 * i, 300, 20 * i + 15), 1.0)) for i, t in enumerate(texts)])


def test_values_printed_in_words_are_found_on_the_page() -> None:
    g = _grounder()
    dated = g.locate(date(2015, 3, 1))
    assert dated.grounding == "exact" and dated.bbox == (0, 0, 300, 15)
    assert g.locate("2015-03-01").grounding == "exact"
    assert g.locate(date(2018, 6, 4)).bbox == (0, 60, 300, 75)
    term = g.locate("2 years")
    assert term.grounding == "exact" and term.bbox == (0, 20, 300, 35)
    assert g.locate("USD").bbox == (0, 40, 300, 55)
    assert g.locate(date(2016, 3, 1)).grounding != "exact"


class _Loaded:
    """The one read the review queue's low-confidence half makes (the SQL behind it: tests/integration/
    test_store_reads.py)."""

    def __init__(self, rows: list[FieldConfidence]) -> None:
        self.rows = rows

    def quarantine_entries(self) -> list[object]:
        return []

    def lowest_confidences(self) -> dict[str, float]:
        return {}

    def loaded_field_confidences(self) -> list[FieldConfidence]:
        return self.rows


def test_the_review_queue_applies_the_minimum_the_load_applied(tmp_path: Path) -> None:
    """A value loaded past its engine's fitted minimum does not wait for review as 'under threshold'; the same
    confidence read by an engine the gate never saw does, under the hand-set minimum."""
    hand = threshold(load_contracts()["receipt"], "merchant_address") or 0.0
    fitted = _fitted_receipt(tmp_path / "c", {"merchant_address": hand - 0.2})
    conf = hand - 0.1
    rows = [FieldConfidence(f"{i:064x}", "receipt", f"/in/{engine}.jpg", "merchant_address", conf, engine)
            for i, engine in enumerate(("embedded", "vllm"))]
    queue = review_queue(_Loaded(rows), {"receipt": fitted})  # type: ignore[arg-type]
    assert [(i.path, i.reason, i.low_fields) for i in queue.items] == [("/in/vllm.jpg", "low_confidence",
                                                                       ["merchant_address"])]
    assert queue_min_confidence(fitted, "merchant_address", "embedded") == hand - 0.2
    assert queue_min_confidence(fitted, "merchant_address", "vllm") == hand
