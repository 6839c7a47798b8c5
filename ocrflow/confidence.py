"""One confidence per field, from the signals the pipeline has (docs/confidence.md gives the formula).

``score(signals)`` is a product of factors, each in 0..1, then an agreement adjustment:

    c = prior(method) * recognition ** 2 * grounding * validity * cross_field
    two independent readings agree:    c = 1 - (1 - c) / 2
    they disagree:                     c = c * 0.7

Values read from embedded e-invoice XML get 1. The priors were set from the accuracy of each kind
of reading on the project's evaluation set (``ocrflow eval`` prints the reliability table).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ocrflow.contracts import Contract
from ocrflow.evidence import EvidenceRow
from ocrflow.models import Failure, RowOutcome

PRIORS: dict[str, float] = {
    "xml": 1.0, "vlm": 0.85, "same_line": 0.93, "right": 0.9, "section": 0.88, "below": 0.82,
    "dominant_currency": 0.8, "heuristic": 0.62, "not_found": 0.0,
}
HEURISTIC_PRIORS: dict[str, float] = {
    # document-level heuristics differ a lot in how often they are right
    "top_lines": 0.55, "address_block": 0.6, "largest_amount": 0.7, "first_date": 0.7,
    "effective_date": 0.8, "governing_law": 0.8, "term": 0.75, "parties": 0.7,
    "title_number": 0.85, "title_date": 0.85,
}
GROUNDING = {"exact": 1.0, "absent": 0.3}
FUZZY_FLOOR = 0.55
INVALID = 0.3
RULE_BROKEN = 0.5
DISAGREE = 0.7
NON_FIELD_CHECKS = frozenset({"coerce", "min_confidence", "business_key", "unique"})


def prior(method: str) -> float:
    """How often this way of reading a value is right, before looking at this value."""
    if method.startswith("xml"):
        return PRIORS["xml"]
    if method.startswith("vlm"):
        return PRIORS["vlm"]
    if method.startswith("heuristic:"):
        return HEURISTIC_PRIORS.get(method.split(":", 1)[1], PRIORS["heuristic"])
    if method.startswith("label:"):
        return PRIORS.get(method.rsplit(":", 1)[1], PRIORS["below"])
    return PRIORS.get(method, PRIORS["heuristic"])


def grounding_factor(grounding: str, match: float) -> float:
    if grounding == "fuzzy":
        return FUZZY_FLOOR + (1 - FUZZY_FLOOR) * max(0.0, (match - 0.85) / 0.15)
    return GROUNDING.get(grounding, GROUNDING["absent"])


def score(signals: Mapping[str, float]) -> float:
    """The combined confidence of one value (see the module docstring)."""
    if signals.get("xml"):
        return 1.0
    c = (signals.get("prior", PRIORS["heuristic"]) * signals.get("recognition", 1.0) ** 2
         * signals.get("grounding", 1.0) * signals.get("validity", 1.0) * signals.get("cross_field", 1.0))
    agreement = signals.get("agreement")
    if agreement is not None:
        c = 1 - (1 - c) / 2 if agreement >= 1 else c * DISAGREE
    return round(min(1.0, max(0.0, c)), 4)


def rule_fields(failures: Iterable[Failure], contract: Contract) -> set[str]:
    """Fields that a failed cross-field rule of the row names (a rule failure's value maps its columns)."""
    names = set(contract.field_names)
    out: set[str] = set()
    for f in failures:
        if isinstance(f.value, dict) and f.check not in NON_FIELD_CHECKS and "unique" not in f.check:
            out.update(k for k in f.value if k in names)
    return out


def apply_row_rules(row: RowOutcome, contract: Contract) -> None:
    """Lower the confidence of the values a failed cross-field rule involves (after validation)."""
    broken = rule_fields(row.failures, contract)
    for ev in row.evidence:
        if ev.field in broken and ev.confidence is not None and ev.signals is not None:
            ev.signals["cross_field"] = RULE_BROKEN
            ev.confidence = score(ev.signals)


def threshold(contract: Contract, field: str) -> float | None:
    """The minimum confidence the contract asks of ``field`` (the field's own, else the contract's)."""
    try:
        spec = contract.field(field)
    except KeyError:
        return contract.min_confidence
    return spec.min_confidence if spec.min_confidence is not None else contract.min_confidence


def below_threshold(evidence: Iterable[EvidenceRow], contract: Contract) -> list[EvidenceRow]:
    """The evidence of non-null values whose confidence is under the contract's policy."""
    out = []
    for ev in evidence:
        limit = threshold(contract, ev.field)
        if limit is not None and ev.value is not None and ev.confidence is not None and ev.confidence < limit:
            out.append(ev)
    return out


def policy_failures(row: RowOutcome, contract: Contract) -> list[Failure]:
    """One ``min_confidence`` failure per value under the contract's minimum confidence."""
    return [Failure(field=ev.field, check="min_confidence", value=ev.value,
                    message=f"{ev.field} = {ev.value!r}: confidence {ev.confidence:.2f} is under the "
                            f"minimum {threshold(contract, ev.field):.2f} ({ev.source}, {ev.method}, "
                            f"{ev.grounding})")
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
