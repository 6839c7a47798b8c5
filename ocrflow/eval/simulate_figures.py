"""The figures of ``ocrflow eval --simulate-review`` (``ocrflow.eval.simulate``) from its steps.

- ``by_position``: per position in an issuer's series (``1``, ``2``, ``3``, ``4+``): documents, labelled fields,
  exact and soft accuracy, corrections per document (and in all); the same ``without_memory``;
- ``parts``: the same per split part (``fit`` / ``check``: positions counted over the whole series), with the
  values memory gave and how many were right (the fit part's calibrate the memory prior);
- ``gain``: on issuers with four or more documents, the accuracy of their first document against that of their
  fourth and later ones;
- ``harm``: the first document of every issuer (memory knew nothing of its issuer, only of others) with and
  without memory, how many of their values memory changed, and ``leaks``: values memory took from an issuer
  that review taught with documents of another gold issuer (the gold ``issuer`` key is used here only).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

POSITIONS = ("1", "2", "3", "4+")


@dataclass(slots=True)
class Step:
    """One document of the simulation: its place in the series, its score before review, what review did."""

    path: str
    issuer: str
    position: int
    part: str
    scored: dict[str, Any]
    corrections: int
    state: str
    memory: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Field -> the note of the value memory gave it (``field_evidence.memory``)."""
    approval: str = ""
    taught: str | None = None
    """The memory issuer the approval taught."""
    without: dict[str, Any] = field(default_factory=dict)
    """The document's score without memory."""

    def fields(self, which: str) -> dict[str, Any]:
        detail = self.scored if which == "with" else self.without
        return dict(detail.get("fields") or {})

    def line(self) -> str:
        right = sum(1 for r in self.scored["fields"].values() if r["correct"])
        mem = f", memory: {', '.join(sorted(self.memory))}" if self.memory else ""
        return (f"  {self.path} #{self.position}: {right}/{len(self.scored['fields'])} right, {self.corrections} "
                f"correction(s), {self.approval or self.state}{mem}")


def bucket(position: int) -> str:
    return str(position) if position < 4 else "4+"


def figures(steps: Iterable[Step], which: str = "with") -> dict[str, Any]:
    docs = labelled = correct = soft = corrections = 0
    for s in steps:
        fields = s.fields(which)
        docs += 1
        labelled += len(fields)
        correct += sum(1 for r in fields.values() if r["correct"])
        soft += sum(1 for r in fields.values() if r["soft"])
        corrections += s.corrections if which == "with" else sum(1 for r in fields.values() if not r["correct"])
    return {"documents": docs, "labelled": labelled, "correct": correct,
            "accuracy": round(correct / labelled, 4) if labelled else None,
            "soft_accuracy": round(soft / labelled, 4) if labelled else None,
            "corrections": round(corrections / docs, 4) if docs else None, "corrections_total": corrections}


def by_position(steps: list[Step], which: str = "with") -> dict[str, Any]:
    return {p: figures([s for s in steps if bucket(s.position) == p], which) for p in POSITIONS}


def memory_values(steps: Iterable[Step]) -> dict[str, dict[str, int]]:
    """Per memory method: labelled values memory gave, and how many were right."""
    out: dict[str, dict[str, int]] = {}
    for s in steps:
        for name, note in s.memory.items():
            res = s.scored["fields"].get(name)
            if res is None:
                continue
            c = out.setdefault(str(note.get("method") or "memory"), {"n": 0, "right": 0})
            c["n"] += 1
            c["right"] += int(bool(res["correct"]))
    return out


def leaks(steps: list[Step]) -> list[dict[str, Any]]:
    """Values memory gave a document from an issuer that documents of another gold issuer taught."""
    taught_by: dict[str, set[str]] = {}
    out = []
    for s in steps:
        for name, note in s.memory.items():
            others = taught_by.get(str(note.get("issuer")), set()) - {s.issuer}
            if others:
                out.append({"path": s.path, "field": name, "memory_issuer": note.get("issuer"),
                            "taught_by": sorted(others)})
        if s.taught:
            taught_by.setdefault(s.taught, set()).add(s.issuer)
    return out


def _changed(s: Step) -> int:
    mine, other = s.fields("with"), s.fields("without")
    return sum(1 for n, r in mine.items() if n in other and r["predicted"] != other[n]["predicted"])


def harm(steps: list[Step]) -> dict[str, Any]:
    """Documents whose issuer memory knew nothing of (each issuer's first), with and without others' memory;
    and issuers no document of which needed a correction."""
    first = [s for s in steps if s.position == 1]
    clean = {s.issuer for s in steps} - {s.issuer for s in steps if s.corrections}
    quiet = [s for s in steps if s.issuer in clean]
    return {"first_documents": {"with_memory": figures(first), "without_memory": figures(first, "without"),
                                "values_changed": sum(_changed(s) for s in first),
                                "memory_values": sum(len(s.memory) for s in first)},
            "issuers_without_corrections": {"issuers": len(clean), "with_memory": figures(quiet),
                                            "without_memory": figures(quiet, "without")},
            "leaks": leaks(steps)}


def gain(steps: list[Step]) -> dict[str, Any]:
    """First against fourth-and-later documents of the issuers with four or more."""
    long = {s.issuer for s in steps if s.position >= 4}
    mine = [s for s in steps if s.issuer in long]
    return {"issuers": len(long), "first": figures(s for s in mine if s.position == 1),
            "fourth_and_later": figures(s for s in mine if s.position >= 4),
            "first_without_memory": figures((s for s in mine if s.position == 1), "without"),
            "fourth_and_later_without_memory": figures((s for s in mine if s.position >= 4), "without")}


def part_report(steps: list[Step]) -> dict[str, Any]:
    return {"by_position": by_position(steps), "without_memory": {"by_position": by_position(steps, "without")},
            "memory_values": memory_values(steps), "documents": len(steps)}


def simulation_report(steps: list[Step]) -> dict[str, Any]:
    """The ``review_simulation`` section (the module docstring lists its parts)."""
    return {
        "by_position": by_position(steps), "issuers": len({s.issuer for s in steps}), "documents": len(steps),
        "without_memory": {"by_position": by_position(steps, "without")},
        "parts": {part: part_report([s for s in steps if s.part == part]) for part in ("fit", "check")
                  if any(s.part == part for s in steps)},
        "gain": gain(steps), "harm": harm(steps), "memory_values": memory_values(steps),
        "series": [series_entry(s) for s in steps],
    }


def series_entry(s: Step) -> dict[str, Any]:
    """One document of the series: its scores with and without memory, field by field, and what review did."""
    other = s.fields("without")
    fields = {name: {"gold": r["gold"], "predicted": r["predicted"], "correct": r["correct"], "soft": r["soft"],
                     "memory": str((s.memory.get(name) or {}).get("method") or ""),
                     "predicted_without_memory": (other.get(name) or {}).get("predicted"),
                     "correct_without_memory": bool((other.get(name) or {}).get("correct"))}
              for name, r in s.fields("with").items()}
    return {"path": s.path, "issuer": s.issuer, "position": s.position, "part": s.part,
            "accuracy": figures([s])["accuracy"], "accuracy_without_memory": figures([s], "without")["accuracy"],
            "corrections": s.corrections, "memory": sorted(s.memory), "approval": s.approval, "fields": fields}
