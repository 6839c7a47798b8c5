"""The confidence gate with a guarantee: per-field minimum confidences chosen so that an upper bound on the
share of wrong values among the values that would load stays under the aim (docs/confidence.md).

The bound is the one-sided Clopper-Pearson (exact binomial) upper limit at 90%: with ``k`` wrong values among
``n`` loaded labelled values, the true share of wrong values is under ``bound(k, n)`` with 90% confidence.
With no error at all, ``bound(0, n) <= 2%`` needs ``n >= 114``, more labelled values than any single field
of the sample set has; so the thresholds of one contract are chosen *jointly*, and the bound is over the
pooled values of that contract that the gate decides on (values read from e-invoice XML have confidence 1
and load whatever the threshold: they are not part of the pool). A contract whose pool cannot reach the
bound even with every value loaded and none wrong has too few examples: its fields are reviewed (minimum 1,
so only XML or a person's approval loads them) until the samples hold enough of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from scipy.stats import beta

LEVEL = 0.90
MAX_WRONG = 0.02
REVIEW = 1.0
"""The minimum of a reviewed field: only confidence 1 (XML, a person's approval) passes it."""


def upper_bound(wrong: int, n: int, level: float = LEVEL) -> float:
    """One-sided Clopper-Pearson upper limit of a binomial share (1.0 when there is nothing to count)."""
    if n <= 0:
        return 1.0
    if wrong >= n:
        return 1.0
    return float(beta.ppf(level, wrong + 1, n - wrong))


def examples_needed(max_wrong: float = MAX_WRONG, level: float = LEVEL) -> int:
    """The fewest values with no error whose bound is within ``max_wrong`` (114 for 2% at 90%)."""
    n = 1
    while upper_bound(0, n, level) > max_wrong:
        n += 1
    return n


@dataclass(frozen=True, slots=True)
class GateValue:
    """One non-null value of a row: its field, confidence, and (when labelled) whether it is wrong."""

    field: str
    confidence: float
    labelled: bool = False
    wrong: bool = False
    gated: bool = True
    """False for a value the threshold cannot hold (confidence 1: XML, a person's approval)."""


@dataclass(frozen=True, slots=True)
class GateDoc:
    """One document of the fit part as the gate sees it."""

    path: str
    contract: str
    values: tuple[GateValue, ...]
    held_otherwise: bool = False
    """A check other than the confidence policy holds it (it does not load whatever the thresholds)."""


@dataclass(slots=True)
class GateChoice:
    """The thresholds of one contract and the figures on the fit part they were chosen with."""

    contract: str
    thresholds: dict[str, float]
    documents: int = 0
    loaded: int = 0
    wrong: int = 0
    labelled: int = 0
    bound: float = 1.0
    pool: int = 0
    """Labelled gated values of the contract on the fit part (what the bound could at most count)."""
    reviewed: list[str] = field(default_factory=list)
    """Fields held for review because the fit part has too few examples for a bound."""
    per_field: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per field: labelled gated values in the pool, and how many of them load / are wrong and load."""


def _loads(doc: GateDoc, thresholds: dict[str, float]) -> bool:
    if doc.held_otherwise:
        return False
    return all(not v.gated or v.confidence >= thresholds.get(v.field, REVIEW) for v in doc.values)


def evaluate(docs: Sequence[GateDoc], thresholds: dict[str, float], level: float = LEVEL) -> GateChoice:
    """What ``thresholds`` do on ``docs``: documents loaded, wrong gated labelled values among them, the bound."""
    loaded = [d for d in docs if _loads(d, thresholds)]
    values = [v for d in loaded for v in d.values if v.labelled and v.gated]
    wrong = sum(v.wrong for v in values)
    contract = docs[0].contract if docs else ""
    return GateChoice(contract, dict(thresholds), len(docs), len(loaded), wrong, len(values),
                      upper_bound(wrong, len(values), level))


def _candidates(docs: Iterable[GateDoc], name: str) -> list[float]:
    """Thresholds worth trying for a field: just under each confidence it was seen with, highest first."""
    seen = sorted({v.confidence for d in docs for v in d.values if v.field == name and v.gated}, reverse=True)
    return [round(c - 1e-4, 4) for c in seen] + [0.0]


def _better(a: GateChoice, b: GateChoice | None) -> bool:
    return b is None or (a.loaded, -a.bound) > (b.loaded, -b.bound)


MIN_FIELD_EXAMPLES = 5
"""A field with fewer labelled gated values in the fit part is reviewed: with four values and no error its own
share of wrong values could still be 44% (the 90% bound), too little to let it share the pool's bound."""


def choose(docs: Sequence[GateDoc], fields: Sequence[str], *, max_wrong: float = MAX_WRONG,
           level: float = LEVEL, min_examples: int = MIN_FIELD_EXAMPLES) -> GateChoice:
    """Per-field thresholds, chosen jointly on ``docs`` (the fit part).

    Start with every field reviewed; take the lowest common threshold whose pooled bound stays within
    ``max_wrong``; then repeatedly lower the one field threshold that loads the most documents while the
    bound holds; stop when no lowering keeps it. A pool whose labelled gated values could not reach the bound
    even with none wrong keeps every field reviewed; so does a field with fewer than ``min_examples`` of its
    own.

    ``docs`` may hold several contracts: the pool is then theirs together, with fields named
    ``contract.field``."""
    thresholds = dict.fromkeys(fields, REVIEW)
    pool = [v for d in docs for v in d.values if v.labelled and v.gated]
    if upper_bound(0, len(pool), level) > max_wrong:
        choice = evaluate(docs, thresholds, level)
        choice.reviewed = sorted(fields)
        return _finish(choice, docs, len(pool))
    few = sorted(n for n in fields if sum(v.field == n for v in pool) < min_examples)
    open_fields = [n for n in fields if n not in few]
    options = {name: _candidates(docs, name) for name in open_fields}
    current = evaluate(docs, thresholds, level)
    common = sorted({t for ts in options.values() for t in ts}, reverse=True)
    for t in common:  # one threshold for every field first: fields are only loaded together
        trial = evaluate(docs, {**thresholds, **dict.fromkeys(open_fields, t)}, level)
        if trial.bound <= max_wrong and trial.loaded > current.loaded:
            thresholds, current = trial.thresholds, trial
    while True:  # then lower one field at a time while the bound holds
        best: GateChoice | None = None
        for name in open_fields:
            for t in options[name]:
                if t >= thresholds[name]:
                    continue
                trial = evaluate(docs, {**thresholds, name: t}, level)
                if trial.bound <= max_wrong and trial.loaded > current.loaded and _better(trial, best):
                    best = trial
        if best is None:
            break
        thresholds, current = best.thresholds, best
    current.reviewed = few
    return _finish(current, docs, len(pool))


def _finish(choice: GateChoice, docs: Sequence[GateDoc], pool: int) -> GateChoice:
    choice.pool = pool
    loaded = {d.path for d in docs if _loads(d, choice.thresholds)}
    for name in choice.thresholds:
        vals = [(d.path, v) for d in docs for v in d.values if v.field == name and v.labelled and v.gated]
        choice.per_field[name] = {"labelled": len(vals), "loaded": sum(p in loaded for p, _ in vals),
                                  "wrong_loaded": sum(p in loaded and v.wrong for p, v in vals)}
    return choice
