"""Trust figures: wrong-in-clean over loaded labelled values, and load rate over documents that are not copies."""

from __future__ import annotations

from typing import Any

from ocrflow.eval.trust import trust_report


def _doc(state: str, checks: list[str], soft: bool = True) -> dict[str, Any]:
    ev = {"value": "x", "page_no": 1, "bbox": [0, 0, 1, 1], "confidence": 0.9, "source": "ocr"}
    return {"path": "a.pdf", "state": state, "checks": checks, "evidence": {"f": ev},
            "fields": {"f": {"soft": soft, "correct": soft}}}


def test_copies_held_only_as_duplicates_leave_the_load_rate_denominator() -> None:
    docs = [_doc("loaded", []), _doc("loaded", [], soft=False), _doc("quarantined", ["duplicate"]),
            _doc("quarantined", ["duplicate", "min_confidence"]), _doc("quarantined", ["min_confidence"])]
    t = trust_report(docs)
    assert t["duplicates"] == 1
    assert t["loaded_without_review"] == 2 / 4  # the duplicate that is also doubtful still counts
    assert t["loaded_of_all"] == 2 / 5
    assert t["wrong_in_clean"] == 1 / 2 and t["wrong_in_clean_n"] == 1
    assert t["held_by_check"] == {"min_confidence": 2, "duplicate": 2}
