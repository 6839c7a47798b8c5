"""The confidence gate with a guarantee: per-field minimum confidences chosen so that an upper bound on the
share of wrong values in the clean tables stays under the aim (docs/confidence.md).

The bound is the one-sided Clopper-Pearson (exact binomial) upper limit at 90%: with ``k`` wrong values among
``n`` labelled values of the documents that would load, the true share of wrong values is under
``bound(k, n)`` with 90% confidence. With no error at all, ``bound(0, n) <= 2%`` needs ``n >= 114``, more
labelled values than any single field of the sample set has; so the thresholds are chosen *jointly*, and the
bound is over the pooled labelled values of every document that would load (``pooled="all"``: the wrong
values in clean tables, the figure the aim is about), or over the values the gate decides on only
(``pooled="gated"``: page-read values, not e-invoice XML, whose confidence is 1 whatever the threshold).

Search: thresholds come from a fixed ladder (``LEVELS``); for each contract every combination of its fields'
levels is tried (a contract with more than ``MAX_FREE`` open fields shares one level among them), the
combinations no other one beats on loaded documents, wrong values and labelled values are kept, and one
combination per contract is picked so that the most documents load while the pooled bound holds. A field
with fewer than ``MIN_FIELD_EXAMPLES`` labelled page-read values in the fit part is reviewed (minimum 1:
only XML or a person's approval loads it) until the samples hold enough of them; so is every field of a contract
whose fit part holds fewer labelled page-read values than the bound needs with no error (``thin_contracts``):
pooled with a larger contract, a small one would load on the other's examples (the samples' NDAs: 13 fit
documents, whose wrong values showed up only on the check part once their thresholds let them load).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product

import numpy as np
from scipy.stats import beta

LEVEL = 0.90
MAX_WRONG = 0.02
REVIEW = 1.0
"""The minimum of a reviewed field: only confidence 1 (XML, a person's approval) passes it."""
LEVELS = (0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, REVIEW)
"""The thresholds tried (a ladder, not every confidence seen: a threshold fitted to the hundredth would fit
the sample). None under 0.3: a value found nowhere on the page or not of its field's type is always held."""
MAX_FREE = 5
MIN_FIELD_EXAMPLES = 5
"""A field with fewer labelled page-read values in the fit part is reviewed: with four values and no error its
own share of wrong values could still be 44% (the 90% bound), too little to let it share the pool's bound."""


def upper_bound(wrong: int, n: int, level: float = LEVEL) -> float:
    """One-sided Clopper-Pearson upper limit of a binomial share (1.0 when there is nothing to count)."""
    if n <= 0 or wrong >= n:
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
    empty: bool = False
    """An empty field (its confidence: how sure it is really empty); a reviewed field's empties hold nothing."""


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
    """The thresholds and the figures on the fit part they were chosen with."""

    thresholds: dict[str, float]
    documents: int = 0
    loaded: int = 0
    wrong: int = 0
    labelled: int = 0
    bound: float = 1.0
    pool: int = 0
    """Labelled page-read values in the fit part (what decides whether a bound is possible)."""
    reviewed: list[str] = field(default_factory=list)
    """Fields held for review because the fit part has too few examples of them."""
    per_field: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per field: labelled page-read values, how many of them load, how many load wrong."""


def _counted(v: GateValue, pooled: str) -> bool:
    return v.labelled and (v.gated or pooled == "all")


def holds(v: GateValue, threshold: float) -> bool:
    """Whether a minimum holds this value: a page-read value under it, or an empty field under a minimum
    that is not 'reviewed' (a reviewed field's minimum concerns its values: an empty one has none to review)."""
    return v.gated and v.confidence < threshold and not (v.empty and threshold >= REVIEW)


def loads(doc: GateDoc, thresholds: dict[str, float]) -> bool:
    if doc.held_otherwise:
        return False
    return not any(holds(v, thresholds.get(v.field, REVIEW)) for v in doc.values)


def evaluate(docs: Sequence[GateDoc], thresholds: dict[str, float], level: float = LEVEL,
             pooled: str = "all") -> GateChoice:
    """What ``thresholds`` do on ``docs``: documents loaded, wrong labelled values among them, the bound."""
    loaded = [d for d in docs if loads(d, thresholds)]
    values = [v for d in loaded for v in d.values if _counted(v, pooled)]
    wrong = sum(v.wrong for v in values)
    return GateChoice(dict(thresholds), len(docs), len(loaded), wrong, len(values),
                      upper_bound(wrong, len(values), level))


@dataclass(frozen=True, slots=True)
class _Option:
    thresholds: dict[str, float]
    loaded: int
    wrong: int
    labelled: int


def _frontier(options: list[_Option]) -> list[_Option]:
    """The options no other beats on all of: more loaded, fewer wrong, more labelled."""
    keep: list[_Option] = []
    for o in sorted(options, key=lambda o: (-o.loaded, o.wrong, -o.labelled)):
        if not any(k.loaded >= o.loaded and k.wrong <= o.wrong and k.labelled >= o.labelled for k in keep):
            keep.append(o)
    return keep


def _contract_options(docs: Sequence[GateDoc], fields: Sequence[str], reviewed: set[str],
                      pooled: str) -> list[_Option]:
    """Every combination of ladder levels for the contract's open fields, as (loaded, wrong, labelled)."""
    open_fields = [f for f in fields if f not in reviewed]
    fixed = dict.fromkeys(reviewed, REVIEW)
    eligible = [d for d in docs if not d.held_otherwise]
    conf = np.ones((len(open_fields), len(eligible)))  # a field without a gated value never holds a document
    blocked = np.zeros(len(eligible), dtype=bool)  # a reviewed field's value holds it whatever the levels
    for j, d in enumerate(eligible):
        for v in d.values:
            if not v.gated:
                continue
            if v.field in open_fields:  # an open field's levels are all under 1: its empties count too
                i = open_fields.index(v.field)
                conf[i, j] = min(conf[i, j], v.confidence)
            elif holds(v, fixed.get(v.field, REVIEW)):
                blocked[j] = True
    wrong = np.array([sum(v.wrong for v in d.values if _counted(v, pooled)) for d in eligible])
    labelled = np.array([sum(1 for v in d.values if _counted(v, pooled)) for d in eligible])
    levels = np.array(LEVELS)
    shared = len(open_fields) > MAX_FREE
    combos = ([(k,) * len(open_fields) for k in range(len(levels))] if shared
              else list(product(range(len(levels)), repeat=len(open_fields))))
    passes = conf[:, None, :] >= levels[None, :, None] - 1e-9  # field x level x document
    options = []
    for combo in combos:
        ok = ~blocked
        for i, k in enumerate(combo):
            ok = ok & passes[i, k]
        options.append(_Option({**fixed, **{f: float(levels[k]) for f, k in zip(open_fields, combo, strict=True)}},
                               int(ok.sum()), int(wrong[ok].sum()), int(labelled[ok].sum())))
    return _frontier(options)


def thin_contracts(page_read: Sequence[GateValue], fields: Sequence[str], max_wrong: float = MAX_WRONG,
                   level: float = LEVEL) -> set[str]:
    """The fields (``contract.field``) of contracts with fewer labelled page-read values than a bound within
    ``max_wrong`` needs with no error at all (114 for 2% at 90%): such a contract's own values cannot show that
    it meets the aim, and the pooled bound would let it load on another contract's examples."""
    needed = examples_needed(max_wrong, level)
    counts: dict[str, int] = {}
    for v in page_read:
        if "." in v.field:
            counts[v.field.split(".")[0]] = counts.get(v.field.split(".")[0], 0) + 1
    return {f for f in fields if "." in f and counts.get(f.split(".")[0], 0) < needed}


def choose(docs: Sequence[GateDoc], fields: Sequence[str], *, max_wrong: float = MAX_WRONG, level: float = LEVEL,
           min_examples: int = MIN_FIELD_EXAMPLES, pooled: str = "all") -> GateChoice:
    """Per-field thresholds for ``docs`` (one or several contracts: field names are then ``contract.field``),
    chosen jointly so that the most documents load while the pooled bound stays within ``max_wrong``."""
    page_read = [v for d in docs for v in d.values if v.labelled and v.gated]
    reviewed = {f for f in fields if sum(v.field == f for v in page_read) < min_examples}
    reviewed |= thin_contracts(page_read, fields, max_wrong, level)
    by_contract: dict[str, list[GateDoc]] = {}
    for d in docs:
        by_contract.setdefault(d.contract, []).append(d)
    combined = [_Option({}, 0, 0, 0)]
    for contract, members in sorted(by_contract.items()):
        own = [f for f in fields if f.startswith(f"{contract}.") or "." not in f]
        options = _contract_options(members, own, reviewed & set(own), pooled)
        combined = _frontier([_Option({**a.thresholds, **b.thresholds}, a.loaded + b.loaded, a.wrong + b.wrong,
                                      a.labelled + b.labelled) for a in combined for b in options])
    feasible = [o for o in combined if upper_bound(o.wrong, o.labelled, level) <= max_wrong]
    best = max(feasible, key=lambda o: (o.loaded, -upper_bound(o.wrong, o.labelled, level)), default=None)
    thresholds = {**dict.fromkeys(fields, REVIEW), **(best.thresholds if best else {})}
    choice = evaluate(docs, thresholds, level, pooled)
    choice.reviewed = sorted(reviewed)
    choice.pool = len(page_read)
    loaded = {d.path for d in docs if loads(d, thresholds)}
    for name in fields:
        vals = [(d.path, v) for d in docs for v in d.values if v.field == name and v.labelled and v.gated]
        choice.per_field[name] = {"labelled": len(vals), "loaded": sum(p in loaded for p, _ in vals),
                                  "wrong_loaded": sum(p in loaded and v.wrong for p, v in vals)}
    return choice
