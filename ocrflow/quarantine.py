"""The quarantine workflow: list, inspect and reprocess documents whose rows failed validation.

Reprocessing does not OCR again: it rebuilds each document's text from the stored page lines
(``pages.lines``), re-runs the contract-driven extraction, coercion and validation with the
CURRENT contracts, and writes through the store's ``write_batch``. A row therefore leaves the
quarantine only by passing validation (it moves to the contract's clean table); otherwise it stays
with updated reasons. Only the store's public methods are used (``query``, ``init_schema``,
``start_run``, ``write_batch``, ``finish_run``), so this works on every store.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ocrflow.contracts import Contract, load_contracts, pick_contract
from ocrflow.models import DocState, DocumentRef, DocumentText, Line, PagePath, PageText, RowOutcome
from ocrflow.settings import Settings
from ocrflow.store.base import RunRecord

if TYPE_CHECKING:
    from ocrflow.pipeline import DocResult

SHORT_ID = 12
"""Characters of the document hash shown as its id (and the shortest prefix ``show`` accepts: 4)."""
MIN_PREFIX = 4
RULE_ONLY_ENGINES = frozenset({"embedded", "pdfium", ""})
"""Engines whose raw values came from the rule extractor alone: reprocessing recomputes them all.
Raw values from a model (vLLM) or embedded e-invoice XML cannot be recomputed from page lines, so
they are kept and the rule extractor only fills the gaps, as in the pipeline."""
REPROCESS_ENGINE = "reprocess"

_QUARANTINE_COLUMNS = ('doc_sha256, contract, contract_version, source_path, reasons, "values", raw_values, '
                       "engine, model, prompt_version, flow_run_id, quarantined_at")
_PAGE_COLUMNS = ("page_no, path_taken, engine, model, prompt_version, width, height, lines, render_s, ocr_s, "
                 "prompt_tokens, completion_tokens, is_fallback, note")


class QuarantineError(LookupError):
    """A quarantine id matches no document, or more than one."""


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """One quarantined document as the store holds it."""

    sha256: str
    contract: str
    contract_version: str
    path: str
    reasons: list[dict[str, Any]]
    values: dict[str, Any]
    raw_values: dict[str, Any]
    engine: str
    model: str
    prompt_version: str
    flow_run_id: str
    quarantined_at: datetime | None

    @property
    def short_id(self) -> str:
        return self.sha256[:SHORT_ID]

    def first_reasons(self, n: int = 2) -> str:
        """The first ``n`` reason messages joined, with a count of the rest."""
        messages = [str(r.get("message") or r.get("check") or r) for r in self.reasons]
        more = f" (+{len(messages) - n} more)" if len(messages) > n else ""
        return "; ".join(messages[:n]) + more

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.short_id, "doc_sha256": self.sha256, "contract": self.contract,
                "contract_version": self.contract_version, "path": self.path, "reasons": self.reasons,
                "values": self.values, "raw_values": self.raw_values, "engine": self.engine, "model": self.model,
                "prompt_version": self.prompt_version, "flow_run_id": self.flow_run_id,
                "quarantined_at": self.quarantined_at.isoformat() if self.quarantined_at else None}


@dataclass(slots=True)
class ReprocessOutcome:
    """What happened to one quarantined document."""

    sha256: str
    path: str
    contract: str
    state: DocState
    reasons: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ReprocessSummary:
    run_id: str
    outcomes: list[ReprocessOutcome]
    seconds: float = 0.0
    key_problems: list[str] = field(default_factory=list)

    @property
    def released(self) -> list[ReprocessOutcome]:
        return [o for o in self.outcomes if o.state == DocState.LOADED]

    @property
    def still_quarantined(self) -> list[ReprocessOutcome]:
        return [o for o in self.outcomes if o.state == DocState.QUARANTINED]

    @property
    def failed(self) -> list[ReprocessOutcome]:
        return [o for o in self.outcomes if o.state == DocState.FAILED]

    @property
    def counts(self) -> dict[str, int]:
        return {"documents": len(self.outcomes), "pages": 0, "loaded": len(self.released),
                "quarantined": len(self.still_quarantined), "failed": len(self.failed), "pending": 0,
                "skipped": 0}

    @property
    def status(self) -> str:
        return "FAILED" if self.failed or self.key_problems else "COMPLETED"


# --------------------------------------------------------------------------- reading


def _mark(store: Any) -> str:
    """The query placeholder of the store's driver (DuckDB ``?``, psycopg ``%s``)."""
    return "%s" if getattr(store, "dialect", "duckdb") == "postgres" else "?"


def _json(value: Any, default: Any) -> Any:
    """A JSON column as Python: DuckDB returns text, PostgreSQL JSONB returns parsed values."""
    if value is None:
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return default
    return value


def _entry(row: dict[str, Any]) -> QuarantineEntry:
    reasons = _json(row["reasons"], [])
    return QuarantineEntry(
        sha256=str(row["doc_sha256"]), contract=str(row["contract"] or ""),
        contract_version=str(row["contract_version"] or ""), path=str(row["source_path"] or ""),
        reasons=[r if isinstance(r, dict) else {"message": str(r)} for r in reasons],
        values=_json(row["values"], {}), raw_values=_json(row["raw_values"], {}),
        engine=str(row["engine"] or ""), model=str(row["model"] or ""),
        prompt_version=str(row["prompt_version"] or ""), flow_run_id=str(row["flow_run_id"] or ""),
        quarantined_at=row["quarantined_at"])


def _select(store: Any, where: str, params: list[Any]) -> list[QuarantineEntry]:
    cols, rows = store.query(f"SELECT {_QUARANTINE_COLUMNS} FROM quarantine {where} "
                             "ORDER BY quarantined_at DESC, doc_sha256", params)
    return [_entry(dict(zip(cols, r, strict=True))) for r in rows]


def list_quarantine(store: Any, contract: str | None = None) -> list[QuarantineEntry]:
    """Quarantined documents, newest first; only one contract's when ``contract`` is given."""
    if contract:
        return _select(store, f"WHERE contract = {_mark(store)}", [contract])
    return _select(store, "", [])


def find_entry(store: Any, id_or_prefix: str) -> QuarantineEntry:
    """The quarantined document whose hash starts with ``id_or_prefix`` (at least 4 hex digits)."""
    prefix = id_or_prefix.strip().lower()
    if len(prefix) < MIN_PREFIX or any(ch not in "0123456789abcdef" for ch in prefix):
        raise QuarantineError(f"{id_or_prefix!r} is not a document id: give at least {MIN_PREFIX} hex digits "
                              "of its sha256 (the id column of `ocrflow quarantine list`)")
    found = _select(store, f"WHERE doc_sha256 LIKE {_mark(store)}", [prefix + "%"])
    if not found:
        raise QuarantineError(f"no quarantined document has an id starting with {prefix!r}")
    if len(found) > 1:
        ids = ", ".join(e.short_id for e in found[:5])
        raise QuarantineError(f"{prefix!r} matches {len(found)} quarantined documents ({ids}); give more digits")
    return found[0]


def _page(row: dict[str, Any]) -> PageText:
    lines = tuple(Line(text=str(item[0]), bbox=(float(item[1]), float(item[2]), float(item[3]), float(item[4])),
                       score=float(item[5]) if len(item) > 5 else 1.0)
                  for item in _json(row["lines"], []))
    return PageText(
        page_no=int(row["page_no"]), width=int(row["width"] or 0), height=int(row["height"] or 0), lines=lines,
        path=PagePath(str(row["path_taken"])), engine=str(row["engine"] or ""), model=str(row["model"] or ""),
        prompt_version=str(row["prompt_version"] or ""), latency_s=float(row["ocr_s"] or 0.0),
        render_s=float(row["render_s"] or 0.0), prompt_tokens=int(row["prompt_tokens"] or 0),
        completion_tokens=int(row["completion_tokens"] or 0), is_fallback=bool(row["is_fallback"]),
        note=str(row["note"] or ""))


def stored_pages(store: Any, sha256: str) -> list[PageText]:
    """A document's pages as the pipeline stored them (text lines with boxes), in page order."""
    cols, rows = store.query(f"SELECT {_PAGE_COLUMNS} FROM pages WHERE doc_sha256 = {_mark(store)} "
                             "ORDER BY page_no", [sha256])
    return [_page(dict(zip(cols, r, strict=True))) for r in rows]


def stored_document(store: Any, entry: QuarantineEntry) -> DocumentRef:
    cols, rows = store.query(f"SELECT path, mime, size_bytes FROM documents WHERE sha256 = {_mark(store)}",
                             [entry.sha256])
    if not rows:
        return DocumentRef(path=entry.path, sha256=entry.sha256, mime="", size_bytes=0)
    row = dict(zip(cols, rows[0], strict=True))
    return DocumentRef(path=str(row["path"] or entry.path), sha256=entry.sha256, mime=str(row["mime"] or ""),
                       size_bytes=int(row["size_bytes"] or 0))


def document_text(store: Any, entry: QuarantineEntry) -> DocumentText:
    """The document's text rebuilt from the stored pages (no rendering, no OCR)."""
    return DocumentText(doc=stored_document(store, entry), pages=tuple(stored_pages(store, entry.sha256)))


# --------------------------------------------------------------------------- reprocessing


def choose_contract(entry: QuarantineEntry, text: DocumentText, contracts: dict[str, Contract]) -> Contract | None:
    """The entry's contract as it is now; auto selection when that contract no longer exists."""
    if entry.contract in contracts:
        return contracts[entry.contract]
    return pick_contract(text.text, contracts)


def kept_raw(entry: QuarantineEntry, contract: Contract) -> dict[str, Any]:
    """Raw values that page lines cannot reproduce (from a model or e-invoice XML), for current fields."""
    if entry.engine in RULE_ONLY_ENGINES:
        return {}
    names = set(contract.field_names)
    return {k: v for k, v in entry.raw_values.items() if k in names and v not in (None, "", [])}


def rebuild_row(entry: QuarantineEntry, text: DocumentText, contract: Contract, settings: Settings,
                flow_run_id: str) -> RowOutcome:
    """Extraction + coercion with the current contract, from the stored text."""
    from ocrflow.coerce import coerce_row
    from ocrflow.extract.rules import extract_fields

    raw = kept_raw(entry, contract)
    for name, value in extract_fields(text, contract, day_first=settings.day_first).items():
        if raw.get(name) in (None, "", []) and value not in (None, "", []):
            raw[name] = value
    values, failures = coerce_row(contract, raw, day_first=settings.day_first)
    lineage = {"page_numbers": [p.page_no for p in text.pages], "engine": entry.engine or REPROCESS_ENGINE,
               "model": entry.model, "prompt_version": entry.prompt_version, "flow_run_id": flow_run_id,
               "extracted_at": datetime.now(UTC).replace(tzinfo=None)}
    return RowOutcome(doc=text.doc, contract=contract.name, contract_version=contract.version, values=values,
                      raw=raw, lineage=lineage, failures=list(failures))


def _doc_result(store: Any, entry: QuarantineEntry, contracts: dict[str, Contract], settings: Settings,
                flow_run_id: str) -> DocResult:
    from ocrflow.pipeline import DocResult

    text = document_text(store, entry)
    if not text.pages:
        return DocResult(text.doc, DocState.FAILED, contract=entry.contract,
                         error="reprocess: no stored pages for this document; run it again with --force")
    contract = choose_contract(entry, text, contracts)
    if contract is None:
        return DocResult(text.doc, DocState.FAILED, pages=list(text.pages),
                         error=f"reprocess: contract {entry.contract!r} no longer exists and no other matched")
    row = rebuild_row(entry, text, contract, settings, flow_run_id)
    return DocResult(text.doc, DocState.PENDING, pages=list(text.pages), row=row, contract=contract.name)


def reprocess_quarantined(store: Any, settings: Settings, *, contract: str | None = None,
                          run_id: str | None = None) -> ReprocessSummary:
    """Re-extract, re-coerce and re-validate quarantined documents with the current contracts.

    Documents that cannot be rebuilt (no stored pages, no contract) are reported as failed and left
    in the quarantine untouched.
    """
    from ocrflow.pipeline import new_run_id, validate_and_build_batch

    started = time.perf_counter()
    contracts = load_contracts(settings.contracts_dir)
    store.init_schema(list(contracts.values()))
    entries = list_quarantine(store, contract)
    run = RunRecord(run_id=run_id or new_run_id(), flow_run_id="", started_at=datetime.now(UTC),
                    engine=REPROCESS_ENGINE, contract=contract or "quarantined",
                    inputs=[f"quarantine:{e.short_id}" for e in entries])
    run.flow_run_id = run.run_id
    store.start_run(run)
    results = [_doc_result(store, e, contracts, settings, run.flow_run_id) for e in entries]
    rebuilt = [r for r in results if r.row is not None]
    if rebuilt:
        batch = validate_and_build_batch(rebuilt, contracts, run.run_id)
        batch.pages.clear()  # the stored pages are the input: leave them (and their run id) as they are
        store.write_batch(batch, contracts)
    summary = ReprocessSummary(run_id=run.run_id, outcomes=[_outcome(r) for r in results],
                               key_problems=store.key_problems())
    summary.seconds = time.perf_counter() - started
    run.finished_at, run.status, run.counts = datetime.now(UTC), summary.status, summary.counts
    run.seconds = summary.seconds
    run.message = f"reprocessed {len(results)} quarantined: {len(summary.released)} released, " \
                  f"{len(summary.still_quarantined)} still quarantined, {len(summary.failed)} failed" \
                  + "".join(f"; key check failed: {p}" for p in summary.key_problems)
    store.finish_run(run)
    return summary


def _outcome(result: DocResult) -> ReprocessOutcome:
    reasons = [f.message for f in result.row.failures] if result.row is not None else []
    if result.state == DocState.FAILED and result.error:
        reasons = [result.error]
    return ReprocessOutcome(sha256=result.doc.sha256, path=result.doc.path, contract=result.contract or "",
                            state=result.state, reasons=reasons)
