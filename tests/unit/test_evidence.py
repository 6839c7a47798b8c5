"""Grounding, confidence and the min_confidence policy (no store, no files)."""

from __future__ import annotations

from ocrflow.core.models import Line
from ocrflow.pipeline.evidence.confidence import score
from ocrflow.pipeline.evidence.grounding import Grounder
from ocrflow.pipeline.extract.layout import PageLine


def _lines() -> list[PageLine]:
    return [PageLine(1, 0, Line("Invoice No: INV-2024-17", (10, 10, 200, 30), 0.9)),
            PageLine(1, 1, Line("Total EUR 1.234,50", (10, 40, 200, 60), 0.95))]


def test_exact_fuzzy_absent() -> None:
    g = Grounder(_lines())
    exact = g.locate("INV-2024-17")
    assert exact.grounding == "exact" and exact.bbox == (10, 10, 200, 30) and exact.page_no == 1
    assert g.locate("INV-2024-71").grounding == "fuzzy"
    assert g.locate("Something else entirely").grounding == "absent"


def test_absent_value_gets_low_confidence() -> None:
    sure = score({"prior": 0.85, "recognition": 1.0, "grounding": 1.0, "validity": 1.0})
    absent = score({"prior": 0.85, "recognition": 1.0, "grounding": 0.3, "validity": 1.0})
    assert absent < 0.3 < sure
    assert score({"xml": 1.0}) == 1.0
