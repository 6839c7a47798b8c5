"""Line-item scoring (EVAL.md): one-to-one matching by description similarity, then exact-ish values."""

from __future__ import annotations

from ocrflow.eval.lines import match_lines, score_line_items

GOLD = [{"description": "Paper A4 white", "quantity": 10.0, "unit_price": 5.5, "line_total": 55.0},
        {"description": "Toner black", "quantity": 2.0, "unit_price": 27.5, "line_total": 55.0}]


def test_matching_is_one_to_one_and_order_free() -> None:
    pred = [{"description": "Toner black", "quantity": 2, "unit_price": 27.5, "line_net_amount": 55.0},
            {"description": "Paper A4 white", "quantity": 10, "unit_price": 5.5, "line_net_amount": 55.0}]
    assert match_lines(pred, GOLD) == 2
    assert match_lines(pred[:1] * 2, GOLD) == 1  # the same line twice counts once


def test_a_wrong_value_or_description_makes_the_line_wrong() -> None:
    assert match_lines([{**GOLD[0], "line_net_amount": 55.02}], GOLD[:1]) == 0
    assert match_lines([{**GOLD[0], "line_net_amount": 55.0, "quantity": 10.01}], GOLD[:1]) == 0
    assert match_lines([{**GOLD[0], "line_net_amount": 55.0, "description": "Stapler"}], GOLD[:1]) == 0
    assert match_lines([{**GOLD[0], "line_net_amount": 55.0, "description": "paper a4  white."}], GOLD[:1]) == 1


def test_precision_recall_f1_overall_and_by_source() -> None:
    good = [{**GOLD[0], "line_net_amount": 55.0}]
    report = score_line_items([({"source": "a", "lines": GOLD}, good),
                               ({"source": "b", "lines": GOLD[:1]}, [*good, {"description": "x", "amount": 1}]),
                               ({"source": "c", "fields": {}}, good)])  # no gold lines: not scored
    assert (report["correct"], report["predicted"], report["gold"]) == (2, 3, 3)
    assert abs(report["precision"] - 2 / 3) < 1e-9 and abs(report["f1"] - 2 / 3) < 1e-9
    assert report["by_source"]["a"]["precision"] == 1.0 and report["by_source"]["a"]["recall"] == 0.5
    assert set(report["by_source"]) == {"a", "b"}
