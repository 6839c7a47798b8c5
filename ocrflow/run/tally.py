"""What a run keeps of its written documents: counts, bounded lists, a bounded latency sample.

A run used to keep every processed document's result (its pages with their lines and text, its row and
evidence) until the summary at its end: 55-70 KB per document, 1.35 GB at 16k documents (issue 21). The
store holds each document once its batch is written, with its state and reason (``documents``), so a run
now keeps only what its summary shows:

- counts by state and the pages read;
- the first :data:`LISTED_MAX` documents of each problem state (failed, unmatched, quarantined, pending)
  with their reasons; the rest are counted, and the summary says where to list them all;
- a uniform sample of at most :data:`LATENCY_SAMPLES` page latencies per path or engine (reservoir
  sampling, seeded: the same run gives the same sample) and the number of pages behind it;
- the results themselves only when the caller asks (``keep_results``: eval and reprocessing score or
  show every document; ``ocrflow run`` and the flows do not).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ocrflow.core.models import DocState, PagePath
from ocrflow.core.results import DocResult

LISTED_MAX = 1000
"""Documents named per problem state in a run's summary; past it they are counted (all are in the store)."""
LATENCY_SAMPLES = 4096
"""Page latencies kept per path or engine (p50 / p95 within about 1 % of the exact ones past it)."""
LISTED_STATES = (DocState.FAILED, DocState.UNMATCHED, DocState.QUARANTINED, DocState.PENDING)


@dataclass(slots=True)
class Tally:
    """Counts, bounded lists and a latency sample of the documents a run has written (module docstring)."""

    keep_results: bool = True
    states: Counter[str] = field(default_factory=Counter)
    pages: int = 0
    listed: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    latency_pages: dict[str, int] = field(default_factory=dict)
    results: list[DocResult] = field(default_factory=list)
    _rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    def add(self, results: Iterable[DocResult]) -> None:
        for r in results:
            self.states[r.state.value] += 1
            self.pages += len(r.pages)
            if r.state in LISTED_STATES:
                self.name(r.state.value, r.doc.path, r.error or "")
            for p in r.pages:
                self._latency(p.engine if p.path == PagePath.OCR else p.path.value, p.latency_s + p.render_s)
            if self.keep_results:
                self.results.append(r)

    def name(self, state: str, path: str, reason: str) -> None:
        """List one problem document (up to LISTED_MAX per state)."""
        items = self.listed.setdefault(state, [])
        if len(items) < LISTED_MAX:
            items.append((path, reason))

    def named(self, state: DocState) -> list[tuple[str, str]]:
        return list(self.listed.get(state.value, []))

    def count(self, state: DocState) -> int:
        return self.states[state.value]

    def _latency(self, key: str, seconds: float) -> None:
        seen = self.latency_pages.get(key, 0) + 1
        self.latency_pages[key] = seen
        sample = self.latencies.setdefault(key, [])
        if len(sample) < LATENCY_SAMPLES:
            sample.append(seconds)
            return
        slot = self._rng.randrange(seen)  # reservoir sampling (Algorithm R): every page equally likely kept
        if slot < LATENCY_SAMPLES:
            sample[slot] = seconds
