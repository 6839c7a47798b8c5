"""`ocrflow eval`: run a gold.jsonl's files through the real run lifecycle into a scratch store, and score them.

Each document goes through the same stages as ``ocrflow run`` (render, text layer / OCR, extraction,
coercion, validation and the load into a temporary DuckDB file), so the score also knows which
documents would have loaded and which would have been quarantined.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ocrflow.contracts import Contract, load_contracts
from ocrflow.core.results import DocResult
from ocrflow.core.settings import Settings, load_settings
from ocrflow.engines.base import Engine
from ocrflow.engines.factory import make_engine
from ocrflow.eval.lines_run import PredictedLines, line_items_report, predicted_lines
from ocrflow.eval.ocr_cache import OcrCacheFile, cached_engine
from ocrflow.eval.scoring import score_documents
from ocrflow.eval.split import part_of, select
from ocrflow.eval.trust import Evidence, annotate, predicted_evidence, trust_report
from ocrflow.pipeline.evidence import second_reading
from ocrflow.run.files_work import run_files
from ocrflow.run.lifecycle import RunHooks, RunOptions
from ocrflow.store.duckdb_store import DuckDBStore


def read_gold(path: Path) -> list[dict[str, Any]]:
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: not JSON: {exc}") from exc
        if "path" not in rec or "fields" not in rec:
            raise ValueError(f"{path}:{n}: a gold record needs 'path' and 'fields'")
        records.append(rec)
    return records


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


class _Printer(RunHooks):
    def __init__(self, progress: Any) -> None:
        self.progress = progress

    def on_document(self, result: DocResult) -> None:
        if self.progress is not None:
            self.progress.print(f"  {Path(result.doc.path).name}: {result.state.value} {(result.error or '')[:80]}")


def _groups(records: list[dict[str, Any]], contracts: dict[str, Contract], mode: str) -> dict[str, list[int]]:
    """Record indices per contract setting: each record's doc_type ('gold'), or one auto group."""
    groups: dict[str, list[int]] = {}
    for i, rec in enumerate(records):
        doc_type = rec.get("doc_type")
        name = doc_type if mode == "gold" and doc_type in contracts else "auto"
        groups.setdefault(str(name), []).append(i)
    return groups


Found = dict[str, tuple[str, str, dict[str, Any]]]


def _run_group(paths: list[str], settings: Settings, store: DuckDBStore, engine: Engine,
               progress: Any, lines: dict[str, PredictedLines], evidence: Evidence | None = None,
               checks: dict[str, list[str]] | None = None) -> Found:
    """path -> (state, error, predicted values) for one contract setting; ``lines`` gets each document's
    lines, ``evidence`` its evidence, ``checks`` the checks its row failed and the contract it was read with."""
    summary = run_files(paths, settings, store, engine, hooks=_Printer(progress),
                        options=RunOptions(data_docs=False))
    out = {r.doc.path: (r.state.value, r.error or "",
                        {k: plain(v) for k, v in r.row.values.items()} if r.row is not None else {})
           for r in summary.results}
    lines.update(predicted_lines(summary.results))
    if evidence is not None:
        evidence.update(predicted_evidence(summary.results))
    if checks is not None:
        checks.update({r.doc.path: sorted({f.check for f in r.row.failures}) for r in summary.results
                       if r.row is not None})
    for path, reason in summary.failed:
        out.setdefault(path, ("failed", reason, {}))
    return out


def run_eval(gold: Path, *, use_embedded_xml: bool = True, contract_mode: str = "gold",
             engine: str | None = None, progress: Any = None, split: str = "all",
             ocr_cache: Path | None = None, as_scans: bool = False) -> dict[str, Any]:
    """Run and score the records of ``split`` (``fit``, ``check`` or ``all``; ocrflow.eval.split); the report
    has the figures of all of them and, under ``parts``, of each part on its own. ``ocr_cache`` keeps every
    engine answer in that DuckDB file across runs (ocrflow.eval.ocr_cache). ``as_scans``: every PDF page is
    rendered and read by the engine, its text layer ignored, as a scan of the same page would be."""
    settings = load_settings(use_embedded_xml=use_embedded_xml, engine=engine,
                             use_text_layer=False if as_scans else None)
    contracts = load_contracts(settings.contracts_dir)
    records = select(read_gold(gold), split)
    paths = [str((gold.parent / rec["path"]).resolve()) for rec in records]
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    cache = OcrCacheFile(ocr_cache) if ocr_cache is not None else None
    eng: Engine = make_engine(settings)
    if cache is not None:
        eng = cached_engine(eng, cache)
    second_reading.use_cache(cache)  # Tesseract's answers too (None: not kept)
    out = Outcomes()
    with tempfile.TemporaryDirectory(prefix="ocrflow-eval-") as tmp:
        store = DuckDBStore(str(Path(tmp) / "eval.duckdb"))
        try:
            for name, idx in _groups(records, contracts, contract_mode).items():
                group = settings.model_copy(update={"contract": name, "store": store.path, "force": True})
                out.found.update(_run_group([paths[i] for i in idx], group, store, eng, progress, out.lines,
                                            out.evidence, out.checks))
        finally:
            store.close()
            eng.close()
            second_reading.use_cache(None)
            if cache is not None:
                cache.close()
    report = score_run(records, paths, contracts, out, use_embedded_xml=use_embedded_xml)
    report["split"] = split
    report["parts"] = {part: part_figures(records, paths, contracts, out, part, use_embedded_xml=use_embedded_xml)
                       for part in ("fit", "check") if any(part_of(str(r["path"])) == part for r in records)}
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["use_embedded_xml"] = use_embedded_xml
    report["as_scans"] = as_scans
    report["run"] = run_meta(gold, contracts, contract_mode, eng, out.evidence, started_at)
    if cache is not None:
        report["run"]["ocr_cache"] = {"path": str(ocr_cache), "hits": cache.hits, "misses": cache.misses}
    return report


@dataclass
class Outcomes:
    """What the runs of one eval produced, by document path."""

    found: Found = field(default_factory=dict)
    lines: dict[str, PredictedLines] = field(default_factory=dict)
    evidence: Evidence = field(default_factory=dict)
    checks: dict[str, list[str]] = field(default_factory=dict)


def score_run(records: list[dict[str, Any]], paths: list[str], contracts: dict[str, Contract], out: Outcomes, *,
              use_embedded_xml: bool) -> dict[str, Any]:
    """Field scores, trust figures and line items of ``records`` (``paths``: their resolved files)."""
    items = []
    for rec, path in zip(records, paths, strict=True):
        state, error, predicted = out.found.get(path, ("failed", "not found by discovery", {}))
        doc_type = rec.get("doc_type")
        kinds = {f.name: f.kind for f in contracts[doc_type].fields} if doc_type in contracts else {}
        items.append(({**rec, "state": state, "error": error}, predicted, kinds))
    report = score_documents(items)
    annotate(report["documents"], {i: out.found.get(p, ("failed", ""))[:2] for i, p in enumerate(paths)},
             {i: out.evidence.get(p, {}) for i, p in enumerate(paths)})
    for i, doc in enumerate(report["documents"]):
        doc["checks"] = out.checks.get(paths[i], [])
        doc["part"] = part_of(str(records[i]["path"]))
    report["trust"] = trust_report(report["documents"])
    report["line_items"] = line_items_report(records, paths, out.lines, use_embedded_xml=use_embedded_xml)
    return report


def part_figures(records: list[dict[str, Any]], paths: list[str], contracts: dict[str, Contract], out: Outcomes,
                 part: str, *, use_embedded_xml: bool) -> dict[str, Any]:
    """The figures of one part (without its per-document detail, which the whole report holds)."""
    keep = [i for i, r in enumerate(records) if part_of(str(r["path"])) == part]
    scored = score_run([records[i] for i in keep], [paths[i] for i in keep], contracts, out,
                       use_embedded_xml=use_embedded_xml)
    scored.pop("documents")
    scored["document_count"] = len(keep)
    return scored


def run_meta(gold: Path, contracts: dict[str, Contract], contract_mode: str, eng: Engine, evidence: Evidence,
             started_at: datetime) -> dict[str, Any]:
    """What ran (for ``eval --compare``): engine, model, prompt versions seen, contract versions."""
    prompts = sorted({str(ev.get("prompt_version") or "") for fields in evidence.values()
                      for ev in fields.values()} - {""})
    models = sorted({str(ev.get("model") or "") for fields in evidence.values() for ev in fields.values()
                     if ev.get("source") in ("ocr", "vlm")} - {""})  # XML and text layers name no model
    return {"gold": str(gold), "engine": eng.name, "model": ", ".join(models) or eng.model,
            "prompt_version": ", ".join(prompts), "contract_mode": contract_mode,
            "contracts": {name: c.version for name, c in sorted(contracts.items())},
            "started_at": started_at.isoformat(timespec="seconds")}
