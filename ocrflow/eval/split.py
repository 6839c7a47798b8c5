"""The fixed split of a gold file into a FIT part and a CHECK part (docs/evaluation.md).

A record is in the CHECK part when ``int(sha256(path)[:8], 16) % 100 < 40``, with ``path`` exactly as the
gold record writes it; every other record is in the FIT part. The split depends on nothing but the path, so
it never changes when records are added, removed or reordered, and documents of one issuer may fall on both
sides. Anything fitted (priors, thresholds, weights, learned lists) is fitted on the FIT part only; the
figures that are reported as the pipeline's are the CHECK part's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any, Literal

Part = Literal["fit", "check"]
SPLITS = ("fit", "check", "all")
CHECK_PERCENT = 40
"""Share of records (in percent of the hash space) that fall in the CHECK part."""


def part_of(path: str) -> Part:
    """``check`` or ``fit`` for a gold record's ``path`` (as written in the gold file)."""
    bucket = int(hashlib.sha256(path.encode()).hexdigest()[:8], 16) % 100
    return "check" if bucket < CHECK_PERCENT else "fit"


def in_split(record: Mapping[str, Any], split: str) -> bool:
    """Whether a gold record belongs to ``split`` (``fit``, ``check`` or ``all``)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    return split == "all" or part_of(str(record["path"])) == split


def select(records: Iterable[Mapping[str, Any]], split: str) -> list[Any]:
    """The records of one part, in their order."""
    return [r for r in records if in_split(r, split)]
