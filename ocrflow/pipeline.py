"""The Prefect-free pipeline: discover -> pages -> text/OCR -> extract -> coerce -> validate -> load.

Each stage is a plain function so that the Prefect tasks in ``tasks/`` wrap them
thinly and the CLI can run the same code without an orchestrator.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ocrflow.contracts import Contract, load_contracts, pick_contract
from ocrflow.discover import Rejected, discover
from ocrflow.engines.base import (
    Engine,
    EngineError,
    EngineRequest,
    EngineResult,
    Task,
    TransientEngineError,
)
from ocrflow.models import DocState, DocumentRef, DocumentText, PagePath, PageText, RowOutcome
from ocrflow.render import RenderError, RenderOptions, SourcePage, TooManyPagesError, make_renderer, timed_render
from ocrflow.settings import Settings
from ocrflow.store.base import Batch, DocumentUpdate, RunRecord, StoreError

log = logging.getLogger("ocrflow")


@dataclass(slots=True)
class DocResult:
    """What processing one document produced (nothing is written yet)."""

    doc: DocumentRef
    state: DocState
    pages: list[PageText] = field(default_factory=list)
    row: RowOutcome | None = None
    contract: str | None = None
    error: str | None = None
    seconds: float = 0.0
    page_count: int = 0
    """The document's page count when it is known without its pages (a document over the page limit)."""


@dataclass(slots=True)
class RunSummary:
    run_id: str
    flow_run_id: str
    counts: dict[str, int]
    seconds: float
    status: str
    failed: list[tuple[str, str]]
    quarantined: list[tuple[str, str]]
    pending: list[tuple[str, str]]
    latencies: dict[str, list[float]]
    data_docs: str = ""
    message: str = ""


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


# --------------------------------------------------------------------------- discover
@dataclass(slots=True)
class Plan:
    todo: list[DocumentRef]
    skipped: list[DocumentRef]
    rejected: list[Rejected]


def plan(inputs: Iterable[str], store: Any, *, glob: str = "**/*", force: bool = False) -> Plan:
    """Discover inputs and drop documents whose hash already reached a final state (unless forced)."""
    found = list(discover(inputs, glob))
    docs = [d for d in found if isinstance(d, DocumentRef)]
    rejected = [d for d in found if isinstance(d, Rejected)]
    done = set() if force else store.final_hashes([d.sha256 for d in docs])
    todo = [d for d in docs if d.sha256 not in done]
    skipped = [d for d in docs if d.sha256 in done]
    if rejected and not force:
        final = store.final_hashes([r.sha256 for r in rejected])
        rejected = [r for r in rejected if r.sha256 not in final]
    return Plan(todo=todo, skipped=skipped, rejected=rejected)


def pending_updates(todo: list[DocumentRef]) -> list[DocumentUpdate]:
    return [DocumentUpdate(d.sha256, d.path, d.mime, d.size_bytes, DocState.PENDING) for d in todo]


def rejected_updates(rejected: list[Rejected]) -> list[DocumentUpdate]:
    return [DocumentUpdate(r.sha256, r.path, "application/octet-stream", r.size_bytes, DocState.FAILED,
                           error=r.reason) for r in rejected]


# --------------------------------------------------------------------------- pages
class Processor:
    """Turns one document into pages and a coerced row. Thread-safe if the engine is."""

    def __init__(self, settings: Settings, engine: Engine, contracts: dict[str, Contract] | None = None,
                 *, flow_run_id: str = "") -> None:
        self.settings = settings
        self.engine = engine
        self.contracts = contracts if contracts is not None else load_contracts(settings.contracts_dir)
        self.flow_run_id = flow_run_id
        self.renderer = make_renderer(settings.renderer, RenderOptions(
            dpi=settings.dpi, max_long_side=settings.max_long_side, use_text_layer=settings.use_text_layer))

    def process(self, doc: DocumentRef, *, raise_transient: bool = False) -> DocResult:
        """Process one document; errors become a state. ``raise_transient`` lets a caller retry."""
        t0 = time.perf_counter()
        try:
            result = self._process(doc)
        except TooManyPagesError as exc:
            result = DocResult(doc, DocState.FAILED, error=f"render: {exc}", page_count=exc.page_count)
        except RenderError as exc:
            result = DocResult(doc, DocState.FAILED, error=f"render: {exc}")
        except TransientEngineError as exc:
            if raise_transient:
                raise
            result = pending_result(doc, exc)
        except EngineError as exc:
            result = DocResult(doc, DocState.FAILED, error=f"engine: {exc}")
        except Exception as exc:
            log.exception("unexpected error on %s", doc.path)
            result = DocResult(doc, DocState.FAILED, error=f"{type(exc).__name__}: {exc}")
        result.seconds = time.perf_counter() - t0
        return result

    def _process(self, doc: DocumentRef) -> DocResult:
        embedded = self._embedded_invoice(doc)
        pages, first_image = self._read_pages(doc)
        text = DocumentText(doc=doc, pages=tuple(pages),
                            embedded_fields=embedded[0] if embedded else None,
                            embedded_source=embedded[1] if embedded else "")
        contract = self._choose_contract(text, embedded is not None)
        if contract is None:
            names = ", ".join(sorted(self.contracts))
            return DocResult(doc, DocState.FAILED, pages=pages,
                             error=f"no data contract matched the document text (known: {names}); "
                                   "pass --contract NAME")
        row = self._extract(text, contract, first_image)
        return DocResult(doc, DocState.PENDING, pages=pages, row=row, contract=contract.name)

    def _embedded_invoice(self, doc: DocumentRef) -> tuple[dict[str, Any], str] | None:
        if doc.mime != "application/pdf" or not self.settings.use_embedded_xml:
            return None
        if "invoice" not in self.contracts:
            return None
        import pypdfium2 as pdfium

        from ocrflow.einvoice import EInvoiceError, read_embedded_invoice

        try:
            found = read_embedded_invoice(doc.open_path)
        except EInvoiceError as exc:
            log.warning("%s: embedded e-invoice XML ignored: %s", doc.path, exc)
            return None
        except pdfium.PdfiumError:
            return None  # the renderer reports why the PDF cannot be opened
        return (found.fields, found.source) if found else None

    def _read_pages(self, doc: DocumentRef) -> tuple[list[PageText], Any]:
        """Text-layer pages directly; the others through the engine, many in flight."""
        pages: dict[int, PageText] = {}
        ocr_meta: list[tuple[int, int, int, float]] = []
        first_image: list[Any] = []

        def requests() -> Iterator[EngineRequest]:
            for sp in self.renderer.pages(doc, max_pages=self.settings.max_pages):
                if sp.text_lines is not None:
                    pages[sp.page_no] = _text_layer_page(sp)
                    continue
                image, render_s = timed_render(sp)
                if not first_image:
                    first_image.append(image)
                ocr_meta.append((sp.page_no, image.width, image.height, render_s))
                yield EngineRequest(image=image, task=Task.SPOT)

        outcomes = list(self.engine.run_many(requests()))
        for (page_no, w, h, render_s), outcome in zip(ocr_meta, outcomes, strict=True):
            if isinstance(outcome, EngineError):
                raise outcome
            pages[page_no] = _ocr_page(page_no, w, h, render_s, outcome)
        if not pages:
            raise RenderError("document has no pages")
        return [pages[k] for k in sorted(pages)], (first_image[0] if first_image else None)

    def _choose_contract(self, text: DocumentText, has_einvoice: bool) -> Contract | None:
        wanted = self.settings.contract
        if wanted != "auto":
            if wanted not in self.contracts:
                raise EngineError(f"unknown contract {wanted!r}; known: {', '.join(sorted(self.contracts))}")
            return self.contracts[wanted]
        if has_einvoice:
            return self.contracts["invoice"]
        return pick_contract(text.text, self.contracts)

    def _extract(self, text: DocumentText, contract: Contract, first_image: Any) -> RowOutcome:
        from ocrflow.coerce import coerce_row
        from ocrflow.extract.rules import extract_fields

        raw: dict[str, Any] = {}
        model = text.pages[0].model if text.pages else ""
        engine = text.pages[0].engine if text.pages else ""
        prompt_version = ""
        if text.embedded_fields and contract.name == "invoice":
            raw.update({k: v for k, v in text.embedded_fields.items() if v not in (None, "")})
            engine, model = "einvoice", text.embedded_source
        elif self.engine.supports_extraction and first_image is not None:
            result = self.engine.run(EngineRequest(
                image=first_image, task=Task.EXTRACT, fields=tuple(contract.field_names),
                json_schema=contract.json_schema(), language=_language(text.text)))
            raw.update({k: v for k, v in (result.fields or {}).items() if v not in (None, "", [])})
            engine, model, prompt_version = result.engine, result.model, result.prompt_version
        rules = extract_fields(text, contract, day_first=self.settings.day_first)
        for name, value in rules.items():
            if raw.get(name) in (None, "", []) and value not in (None, "", []):
                raw[name] = value
        values, failures = coerce_row(contract, raw, day_first=self.settings.day_first)
        lineage = {
            "page_numbers": [p.page_no for p in text.pages], "engine": engine, "model": model,
            "prompt_version": prompt_version or _prompt_versions(text.pages), "flow_run_id": self.flow_run_id,
            "extracted_at": datetime.now(UTC).replace(tzinfo=None),
        }
        return RowOutcome(doc=text.doc, contract=contract.name, contract_version=contract.version,
                          values=values, raw=raw, lineage=lineage, failures=list(failures))


def pending_result(doc: DocumentRef, exc: Exception) -> DocResult:
    return DocResult(doc, DocState.PENDING, error=f"engine unavailable, left pending for the next run: {exc}")


def _language(text: str) -> str:
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    return "zh" if cjk > max(10, len(text) * 0.1) else "en"


def _prompt_versions(pages: Iterable[PageText]) -> str:
    return ",".join(sorted({p.prompt_version for p in pages if p.prompt_version}))


def _text_layer_page(sp: SourcePage) -> PageText:
    return PageText(page_no=sp.page_no, width=sp.width, height=sp.height, lines=tuple(sp.text_lines or ()),
                    path=PagePath.TEXT_LAYER, engine="pdfium", model="text-layer")


def _ocr_page(page_no: int, w: int, h: int, render_s: float, r: EngineResult) -> PageText:
    return PageText(page_no=page_no, width=w, height=h, lines=r.lines, path=PagePath.OCR, engine=r.engine,
                    model=r.model, prompt_version=r.prompt_version, latency_s=r.latency_s, render_s=render_s,
                    prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens,
                    is_fallback=r.is_fallback, note=",".join(r.flags))


# --------------------------------------------------------------------------- validate + load
def validate_and_build_batch(results: list[DocResult], contracts: dict[str, Contract], run_id: str,
                             reports: list[Any] | None = None) -> Batch:
    """Validate the rows of a batch with the contracts' expectation suites; decide each document's state.

    ``reports`` collects the validation reports (for the run's Data Docs).
    """
    from ocrflow.validate import validate_rows

    by_contract: dict[str, list[RowOutcome]] = {}
    for r in results:
        if r.row is not None:
            by_contract.setdefault(r.row.contract, []).append(r.row)
    for name, rows in by_contract.items():
        report = validate_rows(contracts[name], [{**o.values, "doc_sha256": o.doc.sha256} for o in rows])
        if reports is not None:
            reports.append(report)
        for o in rows:
            o.failures.extend(report.failures.get(o.doc.sha256, []))
    batch = Batch(run_id=run_id)
    for r in results:
        if r.row is not None:
            r.state = DocState.LOADED if r.row.clean else DocState.QUARANTINED
            batch.rows.append(r.row)
            if not r.row.clean:
                r.error = "; ".join(f.message for f in r.row.failures)
        batch.pages.extend((r.doc.sha256, p) for p in r.pages)
        batch.documents.append(DocumentUpdate(r.doc.sha256, r.doc.path, r.doc.mime, r.doc.size_bytes, r.state,
                                              pages=r.page_count or len(r.pages), contract=r.contract,
                                              error=r.error))
    return batch


# --------------------------------------------------------------------------- whole run
ProgressFn = Callable[[DocResult], None]


def summarize(run: RunRecord, results: list[DocResult], plan_: Plan, started: float) -> RunSummary:
    counts = {
        "documents": len(plan_.todo) + len(plan_.skipped) + len(plan_.rejected),
        "pages": sum(len(r.pages) for r in results),
        "loaded": sum(r.state == DocState.LOADED for r in results),
        "quarantined": sum(r.state == DocState.QUARANTINED for r in results),
        "failed": sum(r.state == DocState.FAILED for r in results) + len(plan_.rejected),
        "pending": sum(r.state == DocState.PENDING for r in results),
        "skipped": len(plan_.skipped),
    }
    latencies: dict[str, list[float]] = {}
    for r in results:
        for p in r.pages:
            latencies.setdefault(p.engine if p.path == PagePath.OCR else p.path.value, []).append(
                p.latency_s + p.render_s)
    failed = [(r.doc.path, r.error or "") for r in results if r.state == DocState.FAILED]
    failed += [(r.path, r.reason) for r in plan_.rejected]
    status = "COMPLETED" if not counts["failed"] and not counts["pending"] else "FAILED"
    message = "" if status == "COMPLETED" else (
        f"{counts['failed']} failed, {counts['pending']} pending: "
        + "; ".join(f"{Path(p).name}: {e}" for p, e in failed[:5]))
    return RunSummary(
        run_id=run.run_id, flow_run_id=run.flow_run_id, counts=counts, seconds=time.perf_counter() - started,
        status=status, failed=failed,
        quarantined=[(r.doc.path, r.error or "") for r in results if r.state == DocState.QUARANTINED],
        pending=[(r.doc.path, r.error or "") for r in results if r.state == DocState.PENDING],
        latencies=latencies, message=message)


def run_pipeline(inputs: list[str], settings: Settings, store: Any, engine: Engine, *,
                 flow_run_id: str = "", batch_size: int | None = None, progress: ProgressFn | None = None,
                 on_plan: Callable[[Plan], None] | None = None, claim_ttl_s: float = 900.0) -> RunSummary:
    """Run the whole pipeline in this process (the CLI path; the Prefect flow uses the same stages)."""
    from ocrflow.batches import run_batches  # it builds on this module

    started = time.perf_counter()
    contracts = load_contracts(settings.contracts_dir)
    store.init_schema(list(contracts.values()))
    engine = prepare_engine(engine, store, settings)
    run_id = new_run_id()
    run = RunRecord(run_id=run_id, flow_run_id=flow_run_id or run_id, started_at=datetime.now(UTC),
                    engine=engine.name, contract=settings.contract, inputs=list(inputs))
    store.start_run(run)
    plan_ = plan(inputs, store, glob=settings.glob, force=settings.force)
    register_plan(store, plan_, run_id, force=settings.force)
    if on_plan:
        on_plan(plan_)
    processor = Processor(settings, engine, contracts, flow_run_id=run.flow_run_id)
    reports: list[Any] = []

    in_flight = settings.resolved_documents_in_flight()
    pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="ocrflow-doc") if in_flight > 1 else None

    def one(doc: DocumentRef) -> DocResult:
        result = processor.process(doc)
        if progress:
            progress(result)
        return result

    def start(docs: list[DocumentRef]) -> Callable[[], list[DocResult]]:
        if pool is None:  # one at a time: process when awaited
            return lambda: [one(d) for d in docs]
        futures = [pool.submit(one, d) for d in docs]
        return lambda: [f.result() for f in futures]

    def load(done: list[DocResult]) -> list[DocResult]:
        store.write_batch(validate_and_build_batch(done, contracts, run_id, reports), contracts)
        return done

    try:
        loop = run_batches(store, plan_.todo, start=start, load=load, worker=worker_id(run.flow_run_id),
                           ttl_s=claim_ttl_s, batch_size=settings.resolved_batch_size(batch_size),
                           store_name=settings.store)
    except StoreError as exc:
        abandon(store, run, str(exc))
        raise
    finally:
        if pool:
            pool.shutdown()
    results = loop.results
    plan_ = Plan(todo=loop.mine, skipped=[*plan_.skipped, *loop.elsewhere], rejected=plan_.rejected)
    summary = summarize(run, results, plan_, started)
    summary.data_docs = build_run_data_docs(reports, settings.store, run_id)
    finish(store, run, summary)
    return summary


def observe_results(results: list[DocResult]) -> None:
    """Prometheus metrics for processed documents (pages, latency, states, errors)."""
    from ocrflow.metrics import observe_result

    for r in results:
        observe_result(r)


def prepare_engine(engine: Engine, store: Any, settings: Settings) -> Engine:
    """Preflight the engine (before any document is touched), then put the store's result cache in front."""
    from ocrflow.engines.cache import with_cache

    preflight = getattr(engine, "preflight", None)
    if callable(preflight):
        preflight()
    return with_cache(engine, store if settings.vllm_cache else None)


def build_run_data_docs(reports: list[Any], store_url: str, run_id: str) -> str:
    """Great Expectations Data Docs for a run's validations; never fails the run."""
    from ocrflow.datadocs import data_docs_for_run

    try:
        index = data_docs_for_run(reports, store_url, run_id)
    except (OSError, ValueError, RuntimeError) as exc:
        log.warning("data docs for run %s not built: %s", run_id, exc)
        return ""
    return str(index or "")


def abandon(store: Any, run: RunRecord, message: str) -> None:
    """Mark a run that stopped early FAILED in the ledger, if the store still takes that write."""
    run.finished_at, run.status, run.message = datetime.now(UTC), "FAILED", message
    try:
        store.finish_run(run)
    except Exception as exc:  # the store is what failed: say so, keep the original error
        log.warning("run %s could not be marked FAILED in the store: %s", run.run_id, exc, exc_info=True)


def finish(store: Any, run: RunRecord, summary: RunSummary) -> None:
    """Check the stored keys, then close the run in the ledger with the summary's status and counts.

    A key stored twice (possible only where the store keeps keys unique itself, DuckDB) fails the
    run with the tables named: the rows stay, for a person to look at."""
    problems = store.key_problems()
    if problems:
        summary.status = "FAILED"
        note = "key check failed: " + "; ".join(problems)
        summary.message = f"{summary.message}; {note}" if summary.message else note
    run.finished_at, run.status, run.counts = datetime.now(UTC), summary.status, summary.counts
    run.seconds, run.message, run.data_docs = summary.seconds, summary.message, summary.data_docs
    store.finish_run(run)


def shares_writes(store: Any) -> bool:
    """Whether other processes can write this store at the same time (PostgreSQL yes; DuckDB no).

    A DuckDB file has one writer, enforced by its lock: holding it, any claim in the file belongs to a
    dead run, and honouring it would only leave those documents pending until the TTL runs out.
    """
    return getattr(store, "dialect", "") != "duckdb"


def claim_docs(store: Any, docs: list[DocumentRef] | tuple[DocumentRef, ...], worker: str,
               ttl_s: float) -> list[DocumentRef]:
    """The documents of ``docs`` this worker now owns (all of them for a single-writer store).

    A claim only succeeds on a document that is not final and not claimed by a live worker, so two
    runs on the same inbox split the work and a document finished elsewhere is never redone.
    """
    claim_fn = getattr(store, "claim", None)
    if claim_fn is None or not docs or not shares_writes(store):
        return list(docs)
    got = set(claim_fn([d.sha256 for d in docs], worker, ttl_s))
    return [d for d in docs if d.sha256 in got]


def release_docs(store: Any, docs: list[DocumentRef] | tuple[DocumentRef, ...], worker: str) -> None:
    """Give back claims (documents left pending become claimable at once instead of after the TTL)."""
    release_fn = getattr(store, "release", None)
    if release_fn is not None and docs and shares_writes(store):
        release_fn([d.sha256 for d in docs], worker)


def worker_id(run_id: str = "") -> str:
    """Who holds a document claim: host, process and run (unique per run, readable in the table)."""
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}:{(run_id or 'local')[:8]}"


def register_plan(store: Any, plan_: Plan, run_id: str, *, force: bool) -> None:
    """Record every discovered document: to-do ones pending, rejected ones failed with the reason.

    A finished document is never turned back into pending by a late worker, except when the run was
    forced (then it must become claimable again to be re-processed).
    """
    store.register(pending_updates(plan_.todo) + rejected_updates(plan_.rejected), run_id, keep_final=not force)
