"""``ocrflow eval --simulate-review``: the learning curve of issuer memory (../shared/samples/EVAL.md "Issuer
series").

The gold records that carry an ``issuer`` key are taken in gold order. Each document goes through the real
run lifecycle (``run_files``) into one scratch store, is scored, and is then approved through the review
page's own code (``ocrflow.review.actions.approve``) with every labelled field that was wrong or missing set
to its gold value, as a reviewer would type it: each change is a real review correction, and the approval
teaches the store's issuer memory before the next document. A document is scored before its own corrections.

The same documents also run once into a second scratch store whose memory nothing teaches: the figures
"without memory". The ``issuer`` key only orders and groups the series for scoring (positions, the harm check,
leaks); the pipeline never reads it. Figures: ``ocrflow.eval.simulate_figures``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from ocrflow.contracts import Contract, load_contracts
from ocrflow.core.results import DocResult
from ocrflow.core.settings import Settings, load_settings
from ocrflow.engines.base import Engine
from ocrflow.engines.factory import make_engine
from ocrflow.eval.ocr_cache import OcrCacheFile, cached_engine
from ocrflow.eval.scoring import score_document
from ocrflow.eval.simulate_figures import Step, simulation_report
from ocrflow.eval.split import part_of, select
from ocrflow.pipeline.evidence import second_reading
from ocrflow.review.actions import approve
from ocrflow.run.files_work import run_files
from ocrflow.run.lifecycle import RunOptions
from ocrflow.store.duckdb_store import DuckDBStore

REVIEWER = "simulated-review"
Progress = Callable[[str], None]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def typed(value: Any) -> str:
    """A gold value as a reviewer types it into the form (dates ISO, lists joined by ``; ``)."""
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    if isinstance(value, float):
        return format(Decimal(str(value)), "f")
    return str(value)


@dataclass(slots=True)
class Series:
    """The records of the simulation, in gold order, with their resolved paths and positions."""

    records: list[dict[str, Any]]
    paths: list[str]
    positions: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, records: list[dict[str, Any]], base: Path) -> Series:
        kept = [r for r in records if r.get("issuer")]
        seen: dict[str, int] = {}
        positions = []
        for rec in kept:
            seen[str(rec["issuer"])] = seen.get(str(rec["issuer"]), 0) + 1
            positions.append(seen[str(rec["issuer"])])
        return cls(kept, [str((base / r["path"]).resolve()) for r in kept], positions)


def _kinds(contracts: dict[str, Contract], doc_type: Any) -> dict[str, str]:
    return {f.name: f.kind for f in contracts[doc_type].fields} if doc_type in contracts else {}


def _run(paths: list[str], settings: Settings, contract: str, store: DuckDBStore, eng: Engine) -> dict[str, DocResult]:
    group = settings.model_copy(update={"contract": contract, "store": store.path, "force": True})
    summary = run_files(paths, group, store, eng, options=RunOptions(data_docs=False))
    return {r.doc.path: r for r in summary.results}


def _predicted(result: DocResult | None) -> dict[str, Any]:
    if result is None or result.row is None:
        return {}
    return {k: _plain(v) for k, v in result.row.values.items()}


def _memory_notes(result: DocResult | None) -> dict[str, dict[str, Any]]:
    """Field -> the memory note of each value memory replaced (``field_evidence.memory``, applied)."""
    if result is None or result.row is None:
        return {}
    notes = {}
    for ev in result.row.evidence:
        if ev.line_no == 0 and ev.memory:
            note = json.loads(ev.memory)
            if note.get("applied"):
                notes[ev.field] = {**note, "method": ev.method}
    return notes


def baseline(series: Series, settings: Settings, contracts: dict[str, Contract], eng: Engine,
             tmp: Path) -> list[dict[str, Any]]:
    """Each record's score without memory: all documents in one scratch store that nothing teaches."""
    store = DuckDBStore(str(tmp / "without-memory.duckdb"))
    found: dict[str, DocResult] = {}
    try:
        for doc_type in dict.fromkeys(str(r.get("doc_type") or "auto") for r in series.records):
            idx = [i for i, r in enumerate(series.records) if str(r.get("doc_type") or "auto") == doc_type]
            found.update(_run([series.paths[i] for i in idx], settings,
                              doc_type if doc_type in contracts else "auto", store, eng))
    finally:
        store.close()
    return [score_document(rec, _predicted(found.get(path)), _kinds(contracts, rec.get("doc_type")))
            for rec, path in zip(series.records, series.paths, strict=True)]


def review_step(i: int, series: Series, settings: Settings, contracts: dict[str, Contract], store: DuckDBStore,
                eng: Engine) -> Step:
    """Process one document with the memory taught so far, score it, then correct it as a reviewer would."""
    rec, path = series.records[i], series.paths[i]
    doc_type = str(rec.get("doc_type") or "auto")
    result = _run([path], settings, doc_type if doc_type in contracts else "auto", store, eng).get(path)
    scored = score_document(rec, _predicted(result), _kinds(contracts, rec.get("doc_type")))
    edits = {name: typed(rec["fields"][name]) for name, res in scored["fields"].items() if not res["correct"]}
    step = Step(str(rec["path"]), str(rec["issuer"]), series.positions[i], part_of(str(rec["path"])), scored,
                len(edits), result.state.value if result else "failed", _memory_notes(result))
    if result is not None and result.row is not None:
        decision = approve(store, contracts, result.doc.sha256, edits, REVIEWER, day_first=settings.day_first)
        step.approval, step.taught = decision.state, decision.issuer_id
    return step


def simulate_review(gold: Path, records: list[dict[str, Any]], *, split: str = "all", engine: str | None = None,
                    ocr_cache: Path | None = None, use_embedded_xml: bool = True,
                    progress: Progress | None = None) -> dict[str, Any]:
    """The ``review_simulation`` section of an eval report (``records``: the gold file's records)."""
    settings = load_settings(use_embedded_xml=use_embedded_xml, engine=engine)
    contracts = load_contracts(settings.contracts_dir)
    series = Series.of(select(records, split), gold.parent)
    steps: list[Step] = []
    with tempfile.TemporaryDirectory(prefix="ocrflow-simulate-") as tmp:
        # the engine's answers are shared by both scratch stores (a developer's cache file, else one of its own)
        cache = OcrCacheFile(ocr_cache if ocr_cache is not None else Path(tmp) / "ocr.duckdb")
        eng: Engine = cached_engine(make_engine(settings), cache)
        second_reading.use_cache(cache)
        try:
            without = baseline(series, settings, contracts, eng, Path(tmp))
            store = DuckDBStore(str(Path(tmp) / "with-memory.duckdb"))
            try:
                for i in range(len(series.records)):
                    steps.append(review_step(i, series, settings, contracts, store, eng))
                    steps[-1].without = without[i]
                    if progress is not None:
                        progress(steps[-1].line())
            finally:
                store.close()
        finally:
            eng.close()
            second_reading.use_cache(None)
            cache.close()
    return simulation_report(steps)
