"""The run lifecycle, one driver for ``ocrflow run``, the Prefect flows, reprocessing and eval.

``DocumentRun.execute`` owns the stage order (as docling's ``BasePipeline.execute`` does):

    open      load the contracts, create the tables, open the run's ledger row, check the run's
              configuration and preflight the engine (if either fails no document is registered and
              the ledger row is closed FAILED with the reason), put the result cache in front of it
    plan      what the work covers (files discovered and hashed, or quarantined records), minus what
              already reached a final state
    register  every document of the plan in ``documents`` (pending, or failed for rejected inputs)
    batches   claim, process, validate and write, release, batch by batch (ocrflow.run.batches)
    summarize counts, problems, latencies, the run's Data Docs
    close     check the stored keys and close the ledger row; a run that stops early (a store that
              died, a missing input) closes it FAILED with the reason instead

A stop (SIGINT / SIGTERM through ``RunOptions.stop``, ocrflow.run.stopping) ends the batches early: what is
finished is written, the rest stays pending, the ledger row is closed CANCELLED with the counts (a second
signal: at once, still CANCELLED), no Data Docs are built.

What differs between callers comes in through two narrow objects. ``Work`` says what is processed
(files, or quarantined records rebuilt from their stored pages). ``RunHooks`` says what the caller
adds: how a stage is called (the flow wraps it in a Prefect task), how documents are submitted (a
thread pool here, task runs through a window in the flow), and how progress is shown.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from ocrflow.contracts import Contract, ContractError, load_contracts
from ocrflow.core.models import DocumentRef
from ocrflow.core.results import DocResult
from ocrflow.core.settings import ConfigError, Settings, redact_url
from ocrflow.engines.base import Engine, TransientEngineError
from ocrflow.engines.cache import cache_backend, with_cache
from ocrflow.memory.use import StoreMemory
from ocrflow.metrics import observe_plan, observe_processed, observe_run_end, publish
from ocrflow.pipeline.processor import Processor
from ocrflow.run.batches import BatchReport, LoopResult, StartFn, run_batches
from ocrflow.run.claims import worker_id
from ocrflow.run.planning import Plan
from ocrflow.run.stopping import STOPPED_CODE, HardStop, StopRequest, stopped_result
from ocrflow.run.summary import RunSummary, effective_plan, new_run_id, summarize
from ocrflow.run.tally import Tally
from ocrflow.store.base import Batch, RunRecord, Store
from ocrflow.store.business_keys import apply_decisions
from ocrflow.validate.session import RunValidation

log = logging.getLogger("ocrflow")
T = TypeVar("T")


class DocumentProcessor(Protocol):
    """Turns one document into a result; never raises for one document, except a transient error
    when ``raise_transient`` asks for it (the caller retries)."""

    def process(self, doc: DocumentRef, *, raise_transient: bool = False) -> DocResult: ...


class Work(Protocol):
    """What a run processes."""

    label: str
    """What the ledger's ``contract`` column says about the run (a contract name, auto, quarantined)."""
    inputs: list[str]
    engine_label: str
    """The ledger's ``engine`` when the run has no engine (reprocessing from stored pages)."""
    claims: bool
    """Claim documents before processing them (a store shared by several workers)."""

    def plan(self, store: Store) -> Plan: ...

    def build_batch(self, done: list[DocResult], contracts: dict[str, Contract], run_id: str,
                    validation: RunValidation) -> Batch:
        """Validate one batch and build its write (ocrflow.run.batch_write.validate_and_build_batch)."""
        ...

    def register(self, store: Store, plan: Plan, run_id: str) -> None: ...

    def processor(self, engine: Engine | None, contracts: dict[str, Contract], flow_run_id: str) \
            -> DocumentProcessor: ...


class RunHooks:
    """What a caller adds around the core run. The defaults run everything in this process."""

    def stage(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        """Call one stage (``discover``, ``load``); the Prefect flow runs it as a task."""
        return fn(*args)

    @contextmanager
    def documents(self, processor: DocumentProcessor, in_flight: int) -> Iterator[StartFn]:
        """How a batch's documents are started: ``in_flight`` at a time on a thread pool."""
        if in_flight <= 1:
            yield lambda docs: (lambda: [self._one(processor, d) for d in docs])
            return
        pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="ocrflow-doc")

        def start(docs: list[DocumentRef]) -> Callable[[], list[DocResult]]:
            futures = [pool.submit(self._one, processor, d) for d in docs]
            return lambda: [f.result() for f in futures]

        try:
            yield start
        except BaseException:  # a stop at once, a dead store: do not wait for the documents in flight
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    def _one(self, processor: DocumentProcessor, doc: DocumentRef) -> DocResult:
        result = processor.process(doc)
        self.on_document(result)
        return result

    def on_already_final(self, counts: dict[str, int]) -> None:
        """Documents of the inputs that an earlier run finished, by final state (called before on_plan)."""

    def on_plan(self, plan: Plan) -> None:
        """The plan is registered; processing starts."""

    def on_document(self, result: DocResult) -> None:
        """One document was processed (not yet written); called from worker threads."""

    def on_batch(self, report: BatchReport) -> None:
        """One batch was written (or failed to be; its documents stay pending)."""


@dataclass(slots=True)
class RunOptions:
    flow_run_id: str = ""
    batch_size: int | None = None
    worker: str = ""
    claim_ttl_s: float = 900.0
    data_docs: bool = True
    stop: StopRequest | None = None
    """Set by a signal handler (ocrflow.run.stopping.stop_on_signals): the run stops early and CANCELLED."""
    fail_on_empty: bool = False
    """Inputs without a single document fail the run (cron: a mount that is missing or empty)."""
    retry_delays: tuple[float, ...] = ()
    """Seconds to wait before re-trying a document whose engine failed transiently (one entry per retry,
    +-50% jitter); after the last it stays pending. The flow retries (2, 10); ``ocrflow run`` does not."""
    keep_results: bool = True
    """Keep every document's result to the end (``RunSummary.results``: eval, reprocessing). False (``ocrflow
    run``, the flows): only counts and bounded lists (ocrflow.run.tally), memory flat across the run."""
    gx_process: bool = False
    """GX in a child process for large runs (ocrflow.validate.gx_process); the CLI and flows (guarded mains) set it."""


class DocumentRun:
    """One run of ``work`` into ``store``: ``execute()`` goes open -> plan -> register -> batches ->
    summarize -> close."""

    def __init__(self, settings: Settings, store: Store, engine: Engine | None, work: Work,
                 hooks: RunHooks | None = None, options: RunOptions | None = None) -> None:
        self.settings, self.store, self.engine, self.work = settings, store, engine, work
        self.hooks = hooks or RunHooks()
        self.options = options or RunOptions()
        self.contracts: dict[str, Contract] = {}
        self.validation = RunValidation({})
        """The run's validation: suites compiled once, GX over large frames for the Data Docs (H5)."""
        self.record: RunRecord | None = None

    def execute(self) -> RunSummary:
        started = time.perf_counter()
        record = self.open()
        stop = self.options.stop
        try:
            plan = self.hooks.stage("discover", self.work.plan, self.store)
            already = final_state_counts(self.store, [d.sha256 for d in plan.skipped])
            self.work.register(self.store, plan, record.run_id)
            self.hooks.on_already_final(already)
            observe_plan(len(plan.todo))
            if self.options.gx_process:
                self.validation.plan(len(plan.todo))
            self.hooks.on_plan(plan)
            loop = self.run_batches(plan, record)
            summary = self.summarize(record, plan, loop, already, started)
            with stop.writing() if stop is not None else nullcontext():
                summary.seconds = time.perf_counter() - started  # Data Docs included
                finish(self.store, record, summary)
        except BaseException as exc:
            if record.status == "RUNNING":  # not closed yet: say why it stopped
                abandon(self.store, record, stop_message(exc), status=_stop_status(exc))
            raise
        finally:
            self.validation.close()
        observe_run_end(summary.status, summary.counts)
        publish(final=True)
        return summary

    def summarize(self, record: RunRecord, plan: Plan, loop: LoopResult, already: dict[str, int],
                  started: float) -> RunSummary:
        """Counts and status; a stopped run is CANCELLED (no Data Docs), any other run gets its Data Docs."""
        stop = self.options.stop
        loop.tally.add(stopped_result(d, stop.reason if stop else "") for d in loop.not_started)
        summary = summarize(record.run_id, record.flow_run_id, loop.tally,
                            effective_plan(plan, loop.mine + loop.not_started, loop.elsewhere), started,
                            self.settings.max_failed)
        summary.already_final = already
        if not summary.counts["documents"]:
            empty(summary, self.work.inputs, self.settings.glob, fail=self.options.fail_on_empty)
        if stop is not None and stop.is_set():
            cancelled(summary, stop)
        elif self.options.data_docs:
            summary.data_docs = build_run_data_docs(self.validation, self.settings, summary.run_id)
        return summary

    def open(self) -> RunRecord:
        """Contracts, tables, the ledger row, then the configuration check and the engine preflight.

        A run stopped by its configuration (an unknown contract) or by the engine preflight registers
        no document; its ledger row is closed FAILED with the one-line reason, so that ``runs`` says why."""
        try:
            self.contracts = load_contracts(self.settings.contracts_dir)
        except ContractError as exc:  # a broken contract file is the configuration's fault: exit 2, one line
            raise ConfigError(f"data contracts in {self.settings.contracts_dir}: {exc}") from exc
        self.store.init_schema(list(self.contracts.values()))
        self.validation = RunValidation(self.contracts, gx_frames=self.options.data_docs)
        run_id = new_run_id()
        self.record = RunRecord(run_id=run_id, flow_run_id=self.options.flow_run_id or run_id,
                                started_at=datetime.now(UTC),
                                engine=self.engine.name if self.engine else self.work.engine_label,
                                contract=self.work.label, inputs=list(self.work.inputs))
        self.store.start_run(self.record)
        try:
            check_contract_setting(self.settings.contract, self.contracts)
            if self.engine is not None:
                self.engine = prepare_engine(self.engine, self.store, self.settings)
        except BaseException as exc:
            abandon(self.store, self.record, stop_message(exc), status=_stop_status(exc))
            raise
        return self.record

    def run_batches(self, plan: Plan, record: RunRecord) -> LoopResult:
        stop = self.options.stop
        inner = self.work.processor(self.engine, self.contracts, record.flow_run_id)
        if isinstance(inner, Processor):
            inner.remember(StoreMemory(self.store))  # issuer memory, read from the run's store (ocrflow.memory)
        processor = RunProcessor(inner, stop, self.options.retry_delays)

        def load(done: list[DocResult]) -> list[DocResult]:
            with stop.writing() if stop is not None else nullcontext():  # a second signal waits for the write
                return self.hooks.stage("load", self.write, done, record.run_id)

        def on_batch(report: BatchReport) -> None:
            self.hooks.on_batch(report)
            publish()

        in_flight = self.settings.resolved_documents_in_flight()
        with self.hooks.documents(processor, in_flight) as start:
            return run_batches(
                self.store, plan.todo, start=start, load=load, claims=self.work.claims,
                worker=self.options.worker or worker_id(record.flow_run_id), ttl_s=self.options.claim_ttl_s,
                batch_size=self.settings.resolved_batch_size(self.options.batch_size),
                store_name=redact_url(self.settings.store), on_batch=on_batch, stop=stop,
                tally=Tally(keep_results=self.options.keep_results))

    def write(self, done: list[DocResult], run_id: str) -> list[DocResult]:
        """Validate one batch and write it in one transaction."""
        batch = self.work.build_batch(done, self.contracts, run_id, self.validation)
        self.store.write_batch(batch, self.contracts)
        apply_decisions(done)  # rows the store quarantined as duplicates of a stored business key
        return done


class RunProcessor:
    """The work's processor as the run hands it to the hooks: after a stop no document is started (each
    comes back pending, not written); a transient engine error is retried after ``retry_delays``; every
    processed document moves the metrics as it finishes."""

    def __init__(self, inner: DocumentProcessor, stop: StopRequest | None = None,
                 retry_delays: tuple[float, ...] = ()) -> None:
        self.inner, self.stop, self.retry_delays = inner, stop or StopRequest(), retry_delays

    def process(self, doc: DocumentRef, *, raise_transient: bool = False) -> DocResult:
        result = self._attempts(doc)
        if self.stop.hard_raised:  # a stop at once that the document's code swallowed (e.g. into an ImportError)
            raise HardStop(self.stop.hard_raised)
        if result.error_code != STOPPED_CODE:
            observe_processed(result)
        return result

    def _attempts(self, doc: DocumentRef) -> DocResult:
        for delay in (*self.retry_delays, None):
            if self.stop.is_set():
                return stopped_result(doc, self.stop.reason)
            try:
                return self.inner.process(doc, raise_transient=delay is not None)
            except TransientEngineError as exc:
                log.warning("%s: %s; retrying in about %.0f s", doc.path, exc, delay)
                self.stop.wait(random.uniform(0.5, 1.5) * (delay or 0.0))
        return stopped_result(doc, self.stop.reason)  # not reached: the last attempt never raises


def cancelled(summary: RunSummary, stop: StopRequest) -> None:
    """A run stopped by a signal: CANCELLED, exit 128 + the signal, the counts and what stays pending."""
    c = summary.counts
    summary.status, summary.code = "CANCELLED", stop.exit_code
    note = (f"{stop.reason}: {c['loaded'] + c['quarantined'] + c['failed'] + c['unmatched']} document(s) finished "
            f"and written, {c['pending']} left pending for the next run")
    summary.message = f"{note}; {summary.message}" if summary.message else note


def empty(summary: RunSummary, inputs: list[str], glob: str, *, fail: bool) -> None:
    """A run whose inputs hold no document at all says so; with ``fail`` (--fail-on-empty) it FAILED, exit 1."""
    where = ", ".join(inputs[:3]) + (f" and {len(inputs) - 3} more" if len(inputs) > 3 else "")
    summary.message = f"no documents found in {where or 'the inputs'} (glob {glob})"
    if fail:
        summary.status, summary.code = "FAILED", 1
        summary.message += "; --fail-on-empty"


def _stop_status(exc: BaseException) -> str:
    return "CANCELLED" if isinstance(exc, HardStop | KeyboardInterrupt) else "FAILED"


def stop_message(exc: BaseException) -> str:
    """One line saying why a run stopped: the error's own text, whitespace folded (a driver's message can
    span lines); the exception's type only where its text says nothing."""
    text = " ".join(str(exc).split())
    return text if text else type(exc).__name__


def final_state_counts(store: Store, hashes: list[str]) -> dict[str, int]:
    """How many of ``hashes`` are in each state of ``documents`` (the documents a run skips as final)."""
    return store.state_counts(hashes)


def check_contract_setting(name: str, contracts: dict[str, Contract]) -> None:
    """A contract named in the settings must exist: a typo stops the run before any document is touched."""
    if name != "auto" and name not in contracts:
        raise ConfigError(f"unknown contract {name!r}; known: {', '.join(sorted(contracts))} (or auto)")


def prepare_engine(engine: Engine, store: Store, settings: Settings) -> Engine:
    """Preflight the engine (before any document is touched), then put the store's result cache in front."""
    engine.preflight()
    return with_cache(engine, cache_backend(settings, store))  # the store, or Redis (OCRFLOW_CACHE_URL)


def build_run_data_docs(validation: RunValidation, settings: Settings, run_id: str) -> str:
    """The run's Great Expectations Data Docs, added to the store's site (ocrflow.run.datadocs); never fails
    the run."""
    from ocrflow.run.datadocs import Retention, data_docs_for_run

    try:
        keep = Retention(settings.data_docs_keep_runs, settings.data_docs_keep_days)
        index = data_docs_for_run(validation.finish(), settings.store, run_id, keep, render=validation.render_pages)
    except (OSError, ValueError, RuntimeError) as exc:
        log.warning("data docs for run %s not built: %s", run_id, exc)
        return ""
    return str(index or "")


def abandon(store: Store, run: RunRecord, message: str, status: str = "FAILED") -> None:
    """Mark a run that stopped early FAILED (or CANCELLED: stopped at once by a signal) in the ledger, if the
    store still takes that write."""
    run.finished_at, run.status, run.message = datetime.now(UTC), status, message
    try:
        store.finish_run(run)
    except Exception as exc:  # noqa: BLE001 - the store is what failed: say so in one line, keep the original error
        log.warning("run %s could not be marked FAILED in the store: %s", run.run_id, stop_message(exc))


def record_stopped_run(store: Store, *, flow_run_id: str, engine: str, contract: str, inputs: list[str],
                       message: str) -> RunRecord:
    """A ``runs`` row for a run that stopped before it could open one itself, closed FAILED at once."""
    run_id = new_run_id()
    record = RunRecord(run_id=run_id, flow_run_id=flow_run_id or run_id, started_at=datetime.now(UTC),
                       engine=engine, contract=contract, inputs=list(inputs))
    try:
        store.start_run(record)
    except Exception as exc:  # noqa: BLE001 - a store without its tables yet: the reason is logged, not lost
        log.warning("run %s could not be recorded in the store (%s): %s", run_id, stop_message(exc), message)
        return record
    abandon(store, record, message)
    return record


def finish(store: Store, run: RunRecord, summary: RunSummary) -> None:
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
