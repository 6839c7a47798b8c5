"""The pipeline's use of issuer memory, between extraction and the row assembly (stage ``recall_issuer``).

The document's keys (``fingerprint``) are looked up in the store; an issuer is recognized or not
(``recognize``). Not recognized, the extraction is left exactly as it was. Recognized, the issuer's facts (and
only its facts) give values (``recall``). A value that differs from the machine's reading replaces it when the
machine read nothing, read a value review corrected before (a WRONG fact), or when the fact's record on this
issuer beats the machine's own (``prefer_memory``: each counted over the same approvals, Laplace-smoothed; a
constant the page confirms wins a tie, a position does not). It replaces it as the rules' find with method
``memory:constant`` or ``memory:position`` (on the lines that print it, so its evidence has a page and a box),
and a VLM's value for that field steps aside. Where memory has no whole value for a name or address, the rows
of the machine's reading that memory knows (a chain's address rows: ``segments``) are respelled as memory
spells them (``memory:segment``). E-invoice XML is never overridden. The document's ``issuer_id`` and, per
field memory spoke about, which facts and corrections it came from travel to the row's evidence
(``MemoryUse.annotate``, column ``field_evidence.memory``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ocrflow.contracts import Contract, FieldSpec
from ocrflow.core.models import DocumentText, RowOutcome
from ocrflow.memory.fingerprint import fingerprint
from ocrflow.memory.learn import CONSTANT_KINDS
from ocrflow.memory.recall import Recalled, recall
from ocrflow.memory.recognize import recognize
from ocrflow.memory.segments import repair
from ocrflow.memory.spots import DATE_KINDS, MONEY_KINDS, page_heights, same_value
from ocrflow.memory.text import key_of
from ocrflow.pipeline.coerce import CoercionError, parse_date, parse_money
from ocrflow.pipeline.extract.layout import PageLine, document_lines
from ocrflow.pipeline.extract.rules import Found
from ocrflow.pipeline.extraction import Extraction
from ocrflow.store.base import Store
from ocrflow.store.memory_records import CONSTANT, MACHINE, SEGMENT, WRONG, Fact, IssuerKey

METHOD = "memory"


class MemorySource(Protocol):
    """Where the stage reads memory from (the run's store: :class:`StoreMemory`)."""

    def recognize(self, contract: str, keys: Sequence[IssuerKey]) -> str | None: ...

    def facts(self, issuer_id: str, contract: str) -> list[Fact]: ...


@dataclass(frozen=True, slots=True)
class StoreMemory:
    """Memory as a store holds it: every worker on the same store reads the same memory."""

    store: Store

    def recognize(self, contract: str, keys: Sequence[IssuerKey]) -> str | None:
        return recognize(self.store.issuer_matches(contract, [k.key for k in keys]))

    def facts(self, issuer_id: str, contract: str) -> list[Fact]:
        return self.store.issuer_facts(issuer_id, contract)


def note_of(issuer_id: str, r: Recalled, *, applied: bool) -> dict[str, Any]:
    """What ``field_evidence.memory`` says about one value: the issuer, the fact and the corrections behind it."""
    f = r.fact
    return {"issuer": issuer_id, "kind": r.kind, "fact": f.fact_key[:80], "applied": applied,
            "corrections": [s[2:] for s in f.sources if s.startswith("e:")],
            "approvals": sum(1 for s in f.sources if s.startswith("a:")), "hits": f.hits, "misses": f.misses}


@dataclass(slots=True)
class MemoryUse:
    """What memory did on one document: its issuer, and per field the note of the fact it used."""

    issuer_id: str
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    agreed: set[str] = field(default_factory=set)
    """Fields whose machine reading is the value memory holds (review approved that spelling before)."""

    @property
    def applied(self) -> list[str]:
        return [name for name, note in self.notes.items() if note.get("applied")]

    @property
    def spelled(self) -> set[str]:
        """Fields whose spelling memory settled: it gave the value, or the machine read the value it holds."""
        return set(self.applied) | self.agreed

    def annotate(self, row: RowOutcome) -> None:
        """Write the notes into the row's header evidence (``EvidenceRow.memory``)."""
        for ev in row.evidence:
            if ev.line_no == 0 and ev.field in self.notes:
                ev.memory = json.dumps(self.notes[ev.field], ensure_ascii=False)


def _machine_value(spec: FieldSpec, raw: Any, *, day_first: bool) -> Any:
    try:
        if spec.kind in MONEY_KINDS:
            return parse_money(str(raw))
        if spec.kind in DATE_KINDS:
            return parse_date(str(raw), day_first=day_first)
    except CoercionError:
        return None
    return raw


def agrees(spec: FieldSpec, raw: Any, r: Recalled, *, day_first: bool) -> bool:
    """Whether the machine already read what memory gives (a constant: the same text, case and spacing aside)."""
    if raw is None or raw == "":
        return False
    if r.kind == CONSTANT:
        return " ".join(str(raw).split()).casefold() == " ".join(r.text.split()).casefold()
    mine = _machine_value(spec, raw, day_first=day_first)
    other = _machine_value(spec, r.text, day_first=day_first)
    if spec.kind in MONEY_KINDS | DATE_KINDS:
        return same_value(spec.kind, mine, other)
    return key_of(str(raw)) == key_of(r.text)


def rate(hits: int, misses: int) -> float:
    """How often right, Laplace-smoothed: (hits + 1) / (hits + misses + 2)."""
    return (hits + 1) / (hits + misses + 2)


def prefer_memory(r: Recalled, facts: Sequence[Fact], raw: Any) -> bool:
    """Whether memory's value should replace the machine's different reading ``raw`` of the field."""
    if raw is None or raw == "" or raw == []:
        return True
    mine = [f for f in facts if f.field == r.field]
    if any(f.kind == WRONG and f.fact_key == key_of(str(raw)) for f in mine):
        return True  # the machine read what review already corrected once
    machine = next((f for f in mine if f.kind == MACHINE), None)
    ours = rate(machine.hits, machine.misses) if machine is not None else 0.5
    theirs = rate(r.fact.hits, r.fact.misses)
    return theirs >= ours if r.kind == CONSTANT else theirs > ours


def apply(ex: Extraction, r: Recalled) -> None:
    """Memory's value becomes the field's reading, found on the lines that print it."""
    ex.raw[r.field] = r.text
    ex.found[r.field] = Found(r.text, r.lines, f"{METHOD}:{r.kind}")
    if ex.primary is not None and r.field in ex.primary.values:
        ex.primary = dataclasses.replace(ex.primary, values={k: v for k, v in ex.primary.values.items()
                                                             if k != r.field})


def use_memory(source: MemorySource | None, text: DocumentText, contract: Contract, ex: Extraction, *,
               day_first: bool) -> MemoryUse | None:
    """Recognize the issuer and apply its memory to ``ex`` (in place); None when memory has nothing to say."""
    if source is None or not text.pages or (ex.primary is not None and ex.primary.source == "einvoice_xml"):
        return None
    lines = document_lines(text)
    issuer = source.recognize(contract.name, fingerprint(lines))
    if issuer is None:
        return None
    use = MemoryUse(issuer)
    heights = page_heights(lines, {p.page_no: p.height for p in text.pages})
    facts = source.facts(issuer, contract.name)
    recalled = recall(facts, contract, lines, heights, day_first=day_first)
    for spec in contract.fields:
        r = recalled.get(spec.name) or respelled(spec, ex, facts, lines)
        if r is None:
            continue
        raw = ex.raw.get(spec.name)
        agreed = agrees(spec, raw, r, day_first=day_first)
        applied = not agreed and (r.kind == SEGMENT or prefer_memory(r, facts, raw))
        if applied:
            apply(ex, r)
        if agreed and r.kind == CONSTANT:  # the same words, spaced alike (a segment agrees by its letters only)
            use.agreed.add(spec.name)
        use.notes[spec.name] = note_of(issuer, r, applied=applied)
    return use


def respelled(spec: FieldSpec, ex: Extraction, facts: Sequence[Fact],
              lines: Sequence[PageLine]) -> Recalled | None:
    """The machine's reading of a constant-kind field with its known rows spelled as memory spells them
    (``segments.repair``), where memory has no whole value for it. A reading without lines of its own (a
    heuristic's address block) is repaired by the page's rows that it holds."""
    found, raw = ex.found.get(spec.name), ex.raw.get(spec.name)
    if spec.kind not in CONSTANT_KINDS or found is None or not isinstance(raw, str):
        return None
    fixed = repair(raw, found.lines or lines, [f for f in facts if f.field == spec.name])
    if fixed is None:
        return None
    corrections = tuple(dict.fromkeys(s for f in fixed.facts for s in f.sources))
    fact = dataclasses.replace(fixed.facts[0], sources=corrections)
    return Recalled(spec.name, SEGMENT, fixed.text, found.lines, fact)
