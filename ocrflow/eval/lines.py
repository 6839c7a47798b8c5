"""Score line items against gold ``lines`` (docs/evaluation.md, "Line items").

Per document the predicted lines are matched one-to-one to the gold lines so that the total description
similarity is maximal (an assignment problem, solved exactly by ``scipy.optimize.linear_sum_assignment``).
A matched pair is correct when the description similarity is >= 0.8, the line total is within 0.01 and,
where the gold line has them, quantity is within 0.001 and unit price within 0.01. Unmatched lines are
wrong. Precision = correct / predicted, recall = correct / gold, F1 = 2PR / (P + R); overall and per source.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from ocrflow.eval.scoring import similarity

DESCRIPTION_THRESHOLD = 0.8
TOTAL_TOLERANCE = Decimal("0.01")
QUANTITY_TOLERANCE = Decimal("0.001")
PRICE_TOLERANCE = Decimal("0.01")
PREDICTED_TOTAL_KEYS = ("line_net_amount", "amount", "line_total")

LineItem = tuple[Mapping[str, Any], Sequence[Mapping[str, Any]]]
"""(gold record with ``lines`` and ``source``, the predicted lines of that document)."""


def _dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _close(a: Any, b: Any, tolerance: Decimal) -> bool:
    x, y = _dec(a), _dec(b)
    return x is not None and y is not None and abs(x - y) <= tolerance


def _total(line: Mapping[str, Any]) -> Any:
    return next((line[k] for k in PREDICTED_TOTAL_KEYS if line.get(k) is not None), None)


def pair_correct(pred: Mapping[str, Any], gold: Mapping[str, Any]) -> bool:
    if similarity(str(pred.get("description") or ""), str(gold.get("description") or "")) < DESCRIPTION_THRESHOLD:
        return False
    if "line_total" in gold and not _close(_total(pred), gold["line_total"], TOTAL_TOLERANCE):
        return False
    if gold.get("quantity") is not None and not _close(pred.get("quantity"), gold["quantity"], QUANTITY_TOLERANCE):
        return False
    return gold.get("unit_price") is None or _close(pred.get("unit_price"), gold["unit_price"], PRICE_TOLERANCE)


def match_lines(predicted: Sequence[Mapping[str, Any]], gold: Sequence[Mapping[str, Any]]) -> int:
    """Correct lines under the one-to-one matching of maximal total description similarity."""
    if not predicted or not gold:
        return 0
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    sims = np.array([[similarity(str(p.get("description") or ""), str(g.get("description") or ""))
                      for g in gold] for p in predicted])
    rows, cols = linear_sum_assignment(sims, maximize=True)
    return sum(1 for r, c in zip(rows, cols, strict=True) if pair_correct(predicted[r], gold[c]))


def _prf(bucket: dict[str, int]) -> dict[str, Any]:
    p = bucket["correct"] / bucket["predicted"] if bucket["predicted"] else 0.0
    r = bucket["correct"] / bucket["gold"] if bucket["gold"] else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1, **bucket}


def score_line_items(items: Iterable[LineItem]) -> dict[str, Any]:
    """{"precision", "recall", "f1", "predicted", "gold", "correct", "documents", "by_source"}."""
    total = {"predicted": 0, "gold": 0, "correct": 0, "documents": 0}
    by_source: dict[str, dict[str, int]] = {}
    for record, predicted in items:
        gold = record.get("lines")
        if not isinstance(gold, list):
            continue
        correct = match_lines(predicted, gold)
        source = str(record.get("source") or "unknown")
        for bucket in (total, by_source.setdefault(source, {"predicted": 0, "gold": 0, "correct": 0,
                                                            "documents": 0})):
            bucket["predicted"] += len(predicted)
            bucket["gold"] += len(gold)
            bucket["correct"] += correct
            bucket["documents"] += 1
    return {**_prf(total), "by_source": {k: _prf(v) for k, v in sorted(by_source.items())}}
