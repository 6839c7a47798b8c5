"""One confidence per field, from the signals the pipeline has (docs/confidence.md gives the formula).

``score(signals)`` is a product of factors, each in 0..1, then an agreement adjustment:

    c = prior(method) * recognition ** 2 * grounding * validity * shape * cross_field
    two independent readings agree:    c = 1 - (1 - c) / 2
    they disagree:                     c = c * 0.7

Values read from embedded e-invoice XML get 1. The priors are the accuracy of each way of reading a
value on the project's evaluation samples, shrunk toward the earlier hand-set prior (docs/confidence.md);
``shape`` (after validation, :func:`apply_policy`) lowers a positional guess that does not look like what
its heuristic looks for (a name with a number in it, an address holding a date).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ocrflow.contracts import Contract, FieldSpec
from ocrflow.core.evidence import EvidenceRow
from ocrflow.core.models import Failure, RowOutcome
from ocrflow.memory.calibration import memory_prior
from ocrflow.pipeline.evidence.calibration import field_key, method_key, predict, shipped
from ocrflow.pipeline.evidence.shapes import field_shape

PRIORS: dict[str, float] = {
    "xml": 1.0, "vlm": 0.85, "same_line": 0.95, "right": 0.95, "section": 0.88, "below": 0.86,
    "dominant_currency": 0.94, "heuristic": 0.62, "not_found": 0.0,
}
HEURISTIC_PRIORS: dict[str, float] = {
    # document-level heuristics differ a lot in how often they are right
    "top_lines": 0.71, "address_block": 0.87, "largest_amount": 0.76, "first_date": 0.82,
    "effective_date": 0.9, "governing_law": 0.91, "term": 0.86, "parties": 0.87,
    "title_number": 0.9, "title_date": 0.88,
}
"""(right + 4 x p0) / (n + 4) on the evaluation samples (n values read this way, p0 the earlier hand-set
prior), at most 0.95 for anything that is not XML; docs/confidence.md has the counts."""
IMPLAUSIBLE = 0.5
"""``shape`` of a positional guess that does not look like what its heuristic looks for."""
_DIGIT_RUN = re.compile(r"\d{3,}")
_LONG_NUMBER = re.compile(r"\d{7,}")
_DATE_INSIDE = re.compile(r"(?<!\d)\d{1,2}[./-]\d{1,2}[./-]\d{2,4}(?!\d)")
MAX_NAME_WORDS = 8
MAX_ADDRESS_WORDS = 30
GROUNDING = {"exact": 1.0, "absent": 0.3}
FUZZY_FLOOR = 0.55
INVALID = 0.3
RULE_BROKEN = 0.5
DISAGREE = 0.7
NON_FIELD_CHECKS = frozenset({"coerce", "min_confidence", "business_key", "unique", "duplicate"})


def prior(method: str) -> float:
    """How often this way of reading a value is right, before looking at this value: the shipped
    calibration's prior of the method, else the first version's hand-set table."""
    if method.startswith("xml"):
        return PRIORS["xml"]
    cal = shipped()
    if method_key(method) in cal.priors:
        return cal.priors[method_key(method)]
    return _first_prior(method)


def _first_prior(method: str) -> float:
    if method.startswith("memory:"):  # issuer memory: how often it was right on the fit part (ocrflow.memory)
        return memory_prior(method)
    if method.startswith("vlm"):
        return PRIORS["vlm"]
    if method.startswith("heuristic:"):
        return HEURISTIC_PRIORS.get(method.split(":", 1)[1], PRIORS["heuristic"])
    if method.startswith("label:"):
        return PRIORS.get(method.rsplit(":", 1)[1], PRIORS["below"])
    return PRIORS.get(method, PRIORS["heuristic"])


def field_prior(contract: str, field: str, method: str) -> float:
    """The prior of ``method`` on this contract field (shipped calibration), else the method's."""
    cal = shipped()
    key = field_key(contract, field, method)
    return cal.priors[key] if key in cal.priors else prior(method)


def grounding_factor(grounding: str, match: float) -> float:
    if grounding == "fuzzy":
        return FUZZY_FLOOR + (1 - FUZZY_FLOOR) * max(0.0, (match - 0.85) / 0.15)
    return GROUNDING.get(grounding, GROUNDING["absent"])


def shape(method: str, value: str | None) -> float:
    """How much a positional guess looks like what its heuristic looks for (1: nothing odd).

    A name from the top lines holds no run of three digits and is not a sentence; an address from the
    block under it holds no date, no phone or registration number (seven digits in a row) and is not a
    page of text. Values read next to a label, from XML or by a model are not judged here.
    """
    if value is None:
        return 1.0
    words = len(value.split())
    if method == "heuristic:top_lines":
        odd = bool(_DIGIT_RUN.search(value)) or words > MAX_NAME_WORDS
    elif method == "heuristic:address_block":
        odd = bool(_DATE_INSIDE.search(value) or _LONG_NUMBER.search(value)) or words > MAX_ADDRESS_WORDS
    else:
        odd = False
    return IMPLAUSIBLE if odd else 1.0


def score(signals: Mapping[str, float]) -> float:
    """The combined confidence of one value: 1 for XML; the shipped calibration's logistic model of the
    signals; without a fitted model, the first version's product of factors (see the module docstring)."""
    if signals.get("xml"):
        return 1.0
    weights = shipped().weights
    c = predict(signals, weights) * guards(signals) if weights else product_score(signals)
    return round(min(1.0, max(0.0, c)), 4)


SHAPE_GUARD = 0.3
"""The factor on a value without the shape of its field (``field_shape`` 0)."""


def guards(signals: Mapping[str, float], *, field_shape: bool = True) -> float:
    """A value found nowhere on the page (grounding absent), not of its field's type, or without the shape of
    its field (``shapes.field_shape``: an address made of item lines or of a postcode alone, a name that is a
    product line) keeps the first version's factor, 0.3 each, on top of the fitted model: the samples read on
    CPU hold (almost) no such value - a VLM's invented value; 1 or 2 of the fit part's values have a wrong
    shape - so no weight for them can be fitted (a fitted weight for the shape went from -5.5 to -0.2 with
    the ridge strength cross-validation chose, and the gate with it), and they must wait for review under any
    minimum of 0.3 or more (the lowest the gate chooses). ``field_shape=False``: without the shape guard
    (``ocrflow calibrate --lift`` measures what it does)."""
    absent = signals.get("grounding", 1.0) <= GROUNDING["absent"] + 1e-9
    bad_shape = field_shape and float(signals.get("field_shape", 1.0)) < 0.5
    return ((GROUNDING["absent"] if absent else 1.0) * signals.get("validity", 1.0)
            * (SHAPE_GUARD if bad_shape else 1.0))


def product_score(signals: Mapping[str, float]) -> float:
    c = (signals.get("prior", PRIORS["heuristic"]) * signals.get("recognition", 1.0) ** 2
         * signals.get("grounding", 1.0) * signals.get("validity", 1.0) * signals.get("shape", 1.0)
         * signals.get("cross_field", 1.0))
    agreement = signals.get("agreement")
    if agreement is not None:
        c = 1 - (1 - c) / 2 if agreement >= 1 else c * DISAGREE
    return c


def rule_fields(failures: Iterable[Failure], contract: Contract) -> set[str]:
    """Fields that a failed cross-field rule of the row names (a rule failure's value maps its columns)."""
    names = set(contract.field_names)
    out: set[str] = set()
    for f in failures:
        if isinstance(f.value, dict) and f.check not in NON_FIELD_CHECKS and "unique" not in f.check:
            out.update(k for k in f.value if k in names)
    return out


def apply_row_rules(row: RowOutcome, contract: Contract) -> None:
    """After validation, on every page-read header value: its field's prior, its shape (a positional guess
    that does not look like what its heuristic looks for; a value without the shape of its field), the
    cross-field rules that failed on the row; then its confidence again."""
    broken = rule_fields(row.failures, contract)
    kinds = {f.name: f.kind for f in contract.fields}
    from_xml = any(ev.signals and ev.signals.get("xml") for ev in row.evidence)
    for ev in row.evidence:
        if ev.value is None and not ev.line_no and not from_xml:
            ev.confidence = null_prior(contract.name, ev.field)
        if ev.confidence is None or ev.signals is None or ev.signals.get("xml") or ev.line_no:
            continue
        ev.signals["prior"] = field_prior(contract.name, ev.field, ev.method)
        odd = shape(ev.method, ev.value)
        if odd < 1.0:
            ev.signals["shape"] = odd
        looks = field_shape(ev.field, kinds.get(ev.field, ""), ev.value)
        if looks is not None:
            ev.signals["field_shape"] = looks
        if ev.field in broken:
            ev.signals["cross_field"] = RULE_BROKEN
        ev.confidence = score(ev.signals)


def null_prior(contract: str, field: str) -> float | None:
    """How sure an empty field read from pages is really empty on the document: the share of such empty
    fields of the fit part whose gold had no value either (shipped calibration, ``null|contract.field``);
    None where the calibration has not measured it."""
    return shipped().priors.get(f"null|{contract}.{field}")


def _spec(contract: Contract, field: str) -> FieldSpec | None:
    try:
        return contract.field(field)
    except KeyError:
        return None


def threshold(contract: Contract, field: str, engine: str = "") -> float | None:
    """The minimum confidence the contract asks of ``field`` for a value ``engine`` read: the one the gate chose
    on that engine's fit values where the contract has it, else the field's own, else the contract's."""
    spec = _spec(contract, field)
    if spec is None:
        return contract.min_confidence
    if engine in spec.min_confidence_fitted:
        return spec.min_confidence_fitted[engine]
    return spec.min_confidence if spec.min_confidence is not None else contract.min_confidence


def below_threshold(evidence: Iterable[EvidenceRow], contract: Contract) -> list[EvidenceRow]:
    """The evidence of values whose confidence is under the contract's policy (an empty field that has a
    confidence, ``null_prior``, included, except under a minimum of 1: that field's values are reviewed)."""
    out = []
    for ev in evidence:
        if ev.line_no:  # line items have their own checks (ocrflow.validate.lines), not this policy
            continue
        limit = threshold(contract, ev.field, ev.engine)
        if limit is None or ev.confidence is None or ev.confidence >= limit:
            continue
        if ev.value is not None or limit < 1.0:  # a reviewed field (minimum 1) has no empty value to review
            out.append(ev)
    return out


def _shown(confidence: float, limit: float) -> str:
    """``confidence`` to two places, or as many as it takes to show it under ``limit`` (0.9799, not 0.98)."""
    places = 2
    while places < 6 and float(f"{confidence:.{places}f}") >= limit:
        places += 1
    return f"{confidence:.{places}f}"


def _policy_message(ev: EvidenceRow, contract: Contract) -> str:
    spec = _spec(contract, ev.field)
    fitted = spec is not None and ev.engine in spec.min_confidence_fitted
    limit = threshold(contract, ev.field, ev.engine) or 0.0
    minimum = f"the minimum {limit:g}" + (f" fitted on {ev.engine}'s values" if fitted else "")
    if ev.value is None:
        return (f"{ev.field} is empty: confidence {_shown(ev.confidence or 0.0, limit)} that the document has none "
                f"is under {minimum}")
    return (f"{ev.field} = {ev.value!r}: confidence {_shown(ev.confidence or 0.0, limit)} is under {minimum} "
            f"({ev.source}, {ev.method}, {ev.grounding})")


def policy_failures(row: RowOutcome, contract: Contract) -> list[Failure]:
    """One ``min_confidence`` failure per value under the contract's minimum confidence."""
    return [Failure(field=ev.field, check="min_confidence", value=ev.value,
                    message=_policy_message(ev, contract))
            for ev in below_threshold(row.evidence, contract)]


def apply_policy(row: RowOutcome, contract: Contract) -> None:
    """After validation: lower what failed cross-field rules involve, then add the ``min_confidence`` failures."""
    apply_row_rules(row, contract)
    row.failures.extend(policy_failures(row, contract))


def evidence_for_run(row: RowOutcome, run_id: str) -> list[EvidenceRow]:
    """The row's evidence stamped with the run that writes it."""
    for ev in row.evidence:
        ev.run_id = run_id
    return row.evidence
