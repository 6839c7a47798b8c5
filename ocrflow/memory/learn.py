"""One approval -> a lesson for the document's issuer: constants, positions, wrong readings, keys.

Every approved header value teaches, changed or not (an approval without changes confirms what the machine
read):

- a field of a constant kind (``CONSTANT_KINDS``: names, addresses, tax ids) becomes a CONSTANT fact, or
  confirms the one with the same letters and digits (its spellings counted: the commonest is the value); where
  the page prints it (``confirm``) its rows become ``name`` keys; any other constant of the field that the
  page prints counts a miss (it would have given the wrong value here); each row of a value printed over
  several rows becomes a SEGMENT (``ocrflow.memory.segments``);
- a field of a changing kind (amounts, dates, numbers) becomes POSITION facts: the spots on the page that print
  the approved value, each with its label, place, index and height (at most ``MAX_NEW_POSITIONS`` new ones,
  each checked to read the value back); a known position counts a hit where it reads the approved value and a
  miss where it reads another;
- a field the reviewer changed keeps the machine's value and method as a WRONG fact;
- the MACHINE fact of every field counts how often the machine's own reading was kept or corrected (a value
  memory gave is memory's record, not the machine's).

Each fact names its sources: ``e:<correction id>`` for an edit, ``a:<correction id>`` for the approval.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ocrflow.contracts import Contract, FieldSpec
from ocrflow.memory.confirm import confirm
from ocrflow.memory.fingerprint import line_key
from ocrflow.memory.segments import row_parts, segment_rows
from ocrflow.memory.spots import POSITION_KINDS, Spot, read_spot, same_value, spots
from ocrflow.memory.text import key_of, label_of
from ocrflow.pipeline.extract.layout import PageLine
from ocrflow.store.memory_records import (
    CONSTANT,
    MACHINE,
    NAME_KEY,
    POSITION,
    SEGMENT,
    WRONG,
    Fact,
    IssuerKey,
    Lesson,
)

CONSTANT_KINDS = frozenset({"text", "tax_id"})
"""Field kinds whose value an issuer prints the same on every document (or on every document of a branch)."""
MAX_NEW_POSITIONS = 3
MAX_SOURCES = 50
MAX_KEY = 200
PLACE_ORDER = {"same_line": 0, "right": 1, "below": 2}


@dataclass(frozen=True, slots=True)
class Approval:
    """What one approval says about a document: the approved values and what the machine had read."""

    doc_sha256: str
    contract: Contract
    values: Mapping[str, Any]
    """The approved header values, coerced (Decimal, date, str)."""
    machine: Mapping[str, str]
    """The values before the approval, as the form showed them."""
    machine_methods: Mapping[str, str]
    edits: Mapping[str, str]
    """Field -> id of its ``edit`` correction, for the fields the reviewer changed."""
    approval_id: str
    day_first: bool = True


@dataclass(frozen=True, slots=True)
class Page:
    """A document's lines in reading order and its page heights (``spots.page_heights``)."""

    lines: Sequence[PageLine]
    heights: Mapping[int, float]


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _source(approval: Approval, name: str) -> str:
    return f"e:{approval.edits[name]}" if name in approval.edits else f"a:{approval.approval_id}"


def _with(fact: Fact, *, hit: bool, source: str, **changes: Any) -> Fact:
    sources = (*fact.sources, source)[-MAX_SOURCES:] if hit else fact.sources
    return dataclasses.replace(fact, hits=fact.hits + hit, misses=fact.misses + (not hit), sources=sources, **changes)


def constant_facts(approval: Approval, spec: FieldSpec, value: str, known: Sequence[Fact], page: Page,
                   issuer_id: str) -> tuple[list[Fact], list[IssuerKey]]:
    """The field's constants after this approval, and the name keys of the lines that print the value."""
    key, source = key_of(value)[:MAX_KEY], _source(approval, spec.name)
    out: list[Fact] = []
    for fact in known:
        if fact.kind == CONSTANT and fact.fact_key != key and confirm(fact.value, page.lines) is not None:
            out.append(_with(fact, hit=False, source=source))  # it would have given another value here
    hit = confirm(value, page.lines)  # None: the page prints it too badly; a later page may print it cleanly
    mine = next((f for f in known if f.kind == CONSTANT and f.fact_key == key), None)
    y = _height(hit.lines[0], page) if hit is not None else (mine.y if mine is not None else None)
    variants = dict(mine.variants) if mine is not None else {}
    variants[value] = variants.get(value, 0) + 1
    canonical = max(variants, key=lambda v: (variants[v], v == value))  # the commonest spelling, else this one
    if mine is not None:
        out.append(_with(mine, hit=True, source=source, value=canonical, y=y, variants=tuple(variants.items())))
    else:
        out.append(Fact(issuer_id, approval.contract.name, spec.name, CONSTANT, key, value=value, y=y, hits=1,
                        sources=(source,), variants=((value, 1),)))
    if hit is None:
        return out, []
    out += segment_facts(approval, spec, value, segment_rows(hit.lines), known, issuer_id, source)
    return out, [IssuerKey(NAME_KEY, k) for k in (line_key(pl.text) for pl in hit.lines) if k]


def segment_facts(approval: Approval, spec: FieldSpec, value: str, rows: Sequence[str], known: Sequence[Fact],
                  issuer_id: str, source: str) -> list[Fact]:
    """The rows of a value printed over two rows or more, each a SEGMENT (its spellings counted)."""
    if len(rows) < 2:
        return []
    out = []
    for part in row_parts(value, rows):
        key = key_of(part)[:MAX_KEY]
        mine = next((f for f in known if f.kind == SEGMENT and f.fact_key == key), None)
        variants = dict(mine.variants) if mine is not None else {}
        variants[part] = variants.get(part, 0) + 1
        spelled = max(variants, key=lambda v: (variants[v], v == part))
        if mine is not None:
            out.append(_with(mine, hit=True, source=source, value=spelled, variants=tuple(variants.items())))
        elif not any(f.fact_key == key for f in out):
            out.append(Fact(issuer_id, approval.contract.name, spec.name, SEGMENT, key, value=part, hits=1,
                            sources=(source,), variants=((part, 1),)))
    return out


def _height(pl: PageLine, page: Page) -> float:
    height = page.heights.get(pl.page) or 0.0
    return round(pl.line.cy / height, 4) if height else 0.0


def position_facts(approval: Approval, spec: FieldSpec, value: Any, known: Sequence[Fact], page: Page,
                   issuer_id: str) -> list[Fact]:
    """The field's positions after this approval: known ones counted, new ones where the value is printed."""
    found = spots(page.lines, spec.kind, page.heights, day_first=approval.day_first)
    source = _source(approval, spec.name)
    out: list[Fact] = []
    for fact in (f for f in known if f.kind == POSITION):
        spot = read_spot(fact, found)
        if spot is not None:
            out.append(_with(fact, hit=same_value(spec.kind, spot.value, value), source=source))
    have = {f.fact_key for f in known if f.kind == POSITION}
    words = contract_words(spec)
    fresh = sorted((s for s in found if s.label and same_value(spec.kind, s.value, value)),
                   key=lambda s: (not set(s.label.split()) & words, PLACE_ORDER.get(s.place, 9), s.y))
    for spot in fresh:
        if len([f for f in out if f.fact_key not in have]) >= MAX_NEW_POSITIONS:
            break
        fact = _position(approval, spec, spot, issuer_id, source)
        if fact.fact_key in have or any(f.fact_key == fact.fact_key for f in out):
            continue
        back = read_spot(fact, found)
        if back is not None and same_value(spec.kind, back.value, value):
            out.append(fact)
    return out


def contract_words(spec: FieldSpec) -> set[str]:
    """The words of the field's labels in the contract (any language), upper case: a spot labelled with one
    of them is a better position than one beside an item's name."""
    return {w for labels in spec.labels.values() for lab in labels for w in label_of(lab).split() if len(w) > 2}


def _position(approval: Approval, spec: FieldSpec, spot: Spot, issuer_id: str, source: str) -> Fact:
    key = f"{spot.place}|{spot.label}|{spot.nth}"[:MAX_KEY]
    return Fact(issuer_id, approval.contract.name, spec.name, POSITION, key, label=spot.label, place=spot.place,
                nth=spot.nth, y=spot.y, shape=spot.shape, hits=1, sources=(source,))


def wrong_fact(approval: Approval, spec: FieldSpec, known: Sequence[Fact], issuer_id: str) -> Fact | None:
    """The machine's reading of a field the reviewer changed, as a WRONG fact (counted when seen before)."""
    old = approval.machine.get(spec.name) or ""
    if spec.name not in approval.edits or not old.strip():
        return None
    key = key_of(old)[:MAX_KEY] or old[:MAX_KEY]
    source = _source(approval, spec.name)
    mine = next((f for f in known if f.kind == WRONG and f.fact_key == key), None)
    if mine is not None:
        return _with(mine, hit=True, source=source)
    return Fact(issuer_id, approval.contract.name, spec.name, WRONG, key, value=old,
                label=approval.machine_methods.get(spec.name, ""), hits=1, sources=(source,))


def machine_fact(approval: Approval, spec: FieldSpec, known: Sequence[Fact], issuer_id: str) -> Fact | None:
    """The machine's record on the field, counted for this approval (None when memory gave the value, or the
    field had and has no value)."""
    method = approval.machine_methods.get(spec.name, "")
    if method.startswith("memory:"):
        return None
    if not (approval.machine.get(spec.name) or "").strip() and _empty(approval.values.get(spec.name)):
        return None
    kept = spec.name not in approval.edits
    mine = next((f for f in known if f.kind == MACHINE), None)
    if mine is None:
        mine = Fact(issuer_id, approval.contract.name, spec.name, MACHINE, "", label=method)
    return _with(mine, hit=kept, source=_source(approval, spec.name), label=method)


def lesson(approval: Approval, page: Page, issuer_id: str, known: Sequence[Fact], keys: Sequence[IssuerKey], *,
           new_issuer: bool) -> Lesson:
    """What the approval teaches ``issuer_id`` (``known``: its facts so far under this contract)."""
    out = Lesson(issuer_id, approval.contract.name, approval.doc_sha256, name="", new_issuer=new_issuer,
                 keys=list(keys), corrections=len(approval.edits))
    for spec in approval.contract.fields:
        value = approval.values.get(spec.name)
        mine = [f for f in known if f.field == spec.name]
        if not _empty(value) and spec.kind in CONSTANT_KINDS and isinstance(value, str):
            facts, names = constant_facts(approval, spec, value, mine, page, issuer_id)
            out.facts += facts
            out.keys += [k for k in names if k not in out.keys]
            out.name = out.name or value
        elif not _empty(value) and spec.kind in POSITION_KINDS:
            out.facts += position_facts(approval, spec, value, mine, page, issuer_id)
        for extra in (wrong_fact(approval, spec, mine, issuer_id), machine_fact(approval, spec, mine, issuer_id)):
            if extra is not None:
                out.facts.append(extra)
    return out
