"""The gate with a guarantee: Clopper-Pearson bounds and thresholds chosen jointly per contract."""

import pytest
from scipy.stats import binomtest

from ocrflow.eval.gate import REVIEW, GateDoc, GateValue, choose, evaluate, examples_needed, upper_bound


def test_bound_matches_the_exact_binomial_interval() -> None:
    for k, n in ((0, 50), (1, 120), (3, 300), (10, 40)):
        # a one-sided 90% upper limit is the upper end of a two-sided 80% interval
        ci = binomtest(k, n).proportion_ci(confidence_level=0.80, method="exact")
        assert upper_bound(k, n) == pytest.approx(ci.high, rel=1e-6)
    assert upper_bound(0, 0) == 1.0 and upper_bound(5, 5) == 1.0


def test_no_error_needs_114_values_for_two_percent() -> None:
    assert examples_needed() == 114
    assert upper_bound(0, 114) <= 0.02 < upper_bound(0, 113)


def _docs(n: int, wrong_low: int, wrong_high: int = 0) -> list[GateDoc]:
    """n documents with two fields; name confidence 0.9 (right) except ``wrong_low`` docs at 0.4 (wrong)."""
    docs = []
    for i in range(n):
        low = i < wrong_low
        high_wrong = wrong_low <= i < wrong_low + wrong_high
        docs.append(GateDoc(f"d{i}", "receipt", (
            GateValue("name", 0.4 if low else 0.9, True, low),
            GateValue("total", 0.95, True, high_wrong),
        )))
    return docs


def test_a_threshold_holds_the_doubtful_values_and_keeps_the_bound() -> None:
    docs = _docs(120, wrong_low=10)
    choice = choose(docs, ["name", "total"])
    assert choice.bound <= 0.02 and choice.wrong == 0
    assert 0.4 < choice.thresholds["name"] <= 0.9 and choice.thresholds["total"] <= 0.95
    assert choice.loaded == 110 and choice.reviewed == []
    assert choice.per_field["name"] == {"labelled": 120, "loaded": 110, "wrong_loaded": 0}


def test_errors_the_gate_cannot_see_keep_everything_reviewed() -> None:
    # wrong totals at the same confidence as right ones: no threshold separates them
    docs = _docs(150, wrong_low=0, wrong_high=15)
    choice = choose(docs, ["name", "total"])
    assert choice.loaded == 0 and choice.thresholds["total"] == REVIEW


def test_a_pool_too_small_for_the_bound_loads_nothing() -> None:
    docs = _docs(40, wrong_low=0)  # 80 labelled values, none wrong: the bound cannot reach 2%
    choice = choose(docs, ["name", "total"])
    assert set(choice.thresholds.values()) == {REVIEW} and choice.loaded == 0 and choice.pool == 80


def test_a_field_with_too_few_examples_is_reviewed() -> None:
    docs = _docs(150, wrong_low=0)
    rare = [GateDoc(f"r{i}", "receipt", (GateValue("name", 0.9, True, False), GateValue("total", 0.95, True, False),
                                         GateValue("tip", 0.99, i < 2, False))) for i in range(10)]
    choice = choose([*docs, *rare], ["name", "total", "tip"])
    assert choice.reviewed == ["tip"] and choice.thresholds["tip"] == REVIEW
    assert choice.loaded == 150  # the ten documents with a tip wait for review, the others load
    assert choice.per_field["tip"] == {"labelled": 2, "loaded": 0, "wrong_loaded": 0}


def test_values_the_gate_cannot_hold_do_not_enter_the_pool() -> None:
    xml = [GateDoc(f"x{i}", "invoice", (GateValue("total", 1.0, True, False, gated=False),)) for i in range(200)]
    choice = choose(xml, ["total"])
    assert choice.pool == 0 and choice.reviewed == ["total"]
    assert evaluate(xml, choice.thresholds).loaded == 200  # confidence 1 loads whatever the threshold


def test_a_document_held_by_another_check_never_loads() -> None:
    doc = GateDoc("a", "receipt", (GateValue("name", 0.9, True, False),), held_otherwise=True)
    assert evaluate([doc], {"name": 0.0}).loaded == 0


def test_a_small_contract_does_not_load_on_a_large_ones_examples() -> None:
    """Pooled, 150 receipts let 20 NDAs' values load under the receipts' bound; but 40 NDA values could never
    show a 2% bound on their own (114 with no error), so every NDA field is reviewed and the receipts load."""
    receipts = [GateDoc(f"r{i}", "receipt", (GateValue("receipt.name", 0.9, True, False),
                                             GateValue("receipt.total", 0.95, True, False))) for i in range(150)]
    ndas = [GateDoc(f"n{i}", "nda", (GateValue("nda.term", 0.8, True, i < 2),
                                     GateValue("nda.parties", 0.9, True, False))) for i in range(20)]
    fields = ["receipt.name", "receipt.total", "nda.term", "nda.parties"]
    choice = choose([*receipts, *ndas], fields)
    assert choice.reviewed == ["nda.parties", "nda.term"]
    assert choice.thresholds["nda.term"] == choice.thresholds["nda.parties"] == REVIEW
    assert choice.loaded == 150 and choice.wrong == 0
    assert choice.thresholds["receipt.name"] < REVIEW and choice.thresholds["receipt.total"] < REVIEW
    grown = [GateDoc(f"m{i}", "nda", d.values) for i, d in enumerate(ndas * 3)]  # 120 NDA values: enough
    assert "nda.term" not in choose([*receipts, *grown], fields).reviewed
