"""An issuer's facts -> values for a document of that issuer, each with the lines that hold it.

- A CONSTANT is recalled only where the page confirms it (``confirm``): the best-confirmed constant of the
  field among those that were right more often than wrong; where that one is confirmed only with characters
  read differently and the page prints another value review approved for the field exactly, that one (a
  branch's own spelling, or a spelling the reviewers disagree on, is not replaced by a near one).
- A POSITION is recalled where the document prints a value of the field's kind with the remembered label, place
  and index (``spots.read_spot``), from the fact that was right most often (at least once, more often than
  wrong).

Nothing here reads another issuer's facts: the caller passes one issuer's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ocrflow.contracts import Contract, FieldSpec
from ocrflow.memory.confirm import confirm
from ocrflow.memory.learn import CONSTANT_KINDS
from ocrflow.memory.spots import POSITION_KINDS, read_spot, spots
from ocrflow.pipeline.extract.layout import PageLine
from ocrflow.store.memory_records import CONSTANT, POSITION, Fact


@dataclass(frozen=True, slots=True)
class Recalled:
    """A value memory gives one field of a document, printed on ``lines``."""

    field: str
    kind: str
    text: str
    """The value as the field's raw reading (the canonical constant, or the printed amount / date / number)."""
    lines: tuple[PageLine, ...]
    fact: Fact
    score: float = 1.0
    """How well the page prints it (1 exact; a constant confirmed with a few characters read differently: less)."""


def _trusted(facts: Sequence[Fact], kind: str) -> list[Fact]:
    """Facts right more often than wrong; a position needs two hits, or one from a correction (a position that
    only agreed once with a machine that was right tells little: an item that cost the total)."""
    usable = [f for f in facts if f.kind == kind and f.hits >= 1 and f.hits > f.misses
              and (kind != POSITION or f.hits >= 2 or f.edits >= 1)]
    return sorted(usable, key=lambda f: (-(f.hits - f.misses), -f.hits, f.fact_key))


def recall_constant(facts: Sequence[Fact], lines: Sequence[PageLine]) -> Recalled | None:
    best: Recalled | None = None
    for fact in _trusted(facts, CONSTANT):
        hit = confirm(fact.value, lines)
        if hit is not None and (best is None or hit.score > best.score):
            best = Recalled(fact.field, CONSTANT, fact.value, hit.lines, fact, hit.score)
    if best is None or best.score >= 1.0:
        return best
    printed = [f for f in facts if f.kind == CONSTANT and f.hits >= 1]
    for fact in sorted(printed, key=lambda f: (-(f.hits - f.misses), -f.hits, f.fact_key)):
        hit = confirm(fact.value, lines)
        if hit is not None and hit.exact:
            return Recalled(fact.field, CONSTANT, fact.value, hit.lines, fact, 1.0)
    return best


def recall_position(spec: FieldSpec, facts: Sequence[Fact], lines: Sequence[PageLine],
                    heights: Mapping[int, float], *, day_first: bool) -> Recalled | None:
    trusted = _trusted(facts, POSITION)
    if not trusted:
        return None
    found = spots(lines, spec.kind, heights, day_first=day_first)
    for fact in trusted:
        spot = read_spot(fact, found)
        if spot is not None:
            return Recalled(spec.name, POSITION, spot.text, (spot.line,), fact)
    return None


def recall(facts: Sequence[Fact], contract: Contract, lines: Sequence[PageLine], heights: Mapping[int, float], *,
           day_first: bool) -> dict[str, Recalled]:
    """Field -> the value memory gives it on this document (fields memory says nothing about are absent)."""
    out: dict[str, Recalled] = {}
    for spec in contract.fields:
        mine = [f for f in facts if f.field == spec.name]
        if not mine:
            continue
        found: Recalled | None = None
        if spec.kind in CONSTANT_KINDS:
            found = recall_constant(mine, lines)
        elif spec.kind in POSITION_KINDS:
            found = recall_position(spec, mine, lines, heights, day_first=day_first)
        if found is not None:
            out[spec.name] = found
    return out
