"""A run's validation: the suites built once per run, each batch checked at once, GX over large frames aside.

Per batch (on the write's path) :meth:`RunValidation.validate` checks the rows with the contract's suite compiled
once from its plain specs (``ocrflow.validate.checks.compile_specs``: GX's pandas conditions without its ~0.3 s per
call, and without importing GX), so the documents' states are known before the batch is written, as before. The
framed rows are also kept, up to ``frame_rows`` per contract, and each full frame goes to one worker thread (or, for
a run that planned at least ``MIN_DOCUMENTS``, to one child process: ``ocrflow.validate.gx_process``) where Great
Expectations itself validates it (one ``ValidationDefinition.run`` per frame, SUMMARY results): those results are
the run's Data Docs, and GX's count of unexpected rows per expectation is compared with the batch checks' (a
difference is logged as an error and listed in the Data Docs index). Memory stays bounded: at most one frame per
contract waits, and a frame's result keeps counts and partial lists only.

A suite the checks cannot evaluate (an expectation type or option they do not know) is validated by GX per
batch, as before (``validate_rows``), and its results go to the Data Docs as they are.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from concurrent.futures import BrokenExecutor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocrflow.contracts import Contract
from ocrflow.validate.checks import Check, compile_specs
from ocrflow.validate.frame import COERCE_CHECK, rows_frame
from ocrflow.validate.gx_process import MIN_DOCUMENTS, GxProcess
from ocrflow.validate.report import ValidationReport
from ocrflow.validate.run import check_frame, check_keys, gx_summary, validate_rows
from ocrflow.validate.suite import META_FIELD, suite_name, suite_spec

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("ocrflow")

FRAME_ROWS = 4096
"""Rows per GX validation (a GX call costs about the same for 16 rows and for 4,096)."""
BATCH_SCOPED = frozenset({"expect_column_values_to_be_unique"})
"""Expectations whose meaning is per batch ("unique in the batch"): not compared over a frame of batches."""
MAX_NOTES = 20


@dataclass(slots=True)
class FrameResult:
    """GX's validation of one frame of a run's rows (a Data Docs page)."""

    contract: str
    suite: str
    rows: int
    failing: int
    """Rows of the frame with at least one failure (typing or expectation), as the batch checks found them."""
    raw: dict[str, Any] = field(repr=False)
    disagreements: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return bool(self.raw.get("success")) and not self.failing


@dataclass(slots=True)
class _Frame:
    frames: list[pd.DataFrame] = field(default_factory=list)
    rows: int = 0
    failing: int = 0
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class _Sent:
    """A frame handed to GX (its batches' frames no longer held here) and GX's result to come."""

    contract: Contract
    frame: _Frame
    raw: Future[dict[str, Any]]


def _joined(frames: list[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


class RunValidation:
    """Validation of one run (see the module docstring); ``finish()`` once at the end, ``close()`` always."""

    def __init__(self, contracts: dict[str, Contract], *, today: dt.date | None = None, gx_frames: bool = True,
                 frame_rows: int = FRAME_ROWS) -> None:
        self.contracts = contracts
        self.today = today or dt.date.today()
        self.gx_frames = gx_frames
        self.frame_rows = frame_rows
        self.rows = 0
        self.failing = 0
        self._checks: dict[str, list[Check] | None] = {}
        self._waiting: dict[str, _Frame] = {}
        self._done: list[FrameResult] = []
        self._sent: list[_Sent] = []
        self._pool: ThreadPoolExecutor | None = None
        self._process: GxProcess | None = None

    def plan(self, documents: int) -> None:
        """The run will read ``documents``: from ``MIN_DOCUMENTS`` on, GX works in a child process started now
        (ocrflow.validate.gx_process), importing GX while the documents are read."""
        if self.gx_frames and documents >= MIN_DOCUMENTS and self._process is None:
            self._process = GxProcess()

    def checks(self, contract: Contract) -> list[Check] | None:
        """The contract's suite compiled once per run (None: GX validates it per batch)."""
        if contract.name not in self._checks:
            self._checks[contract.name] = compile_specs(suite_spec(contract, today=self.today))
        return self._checks[contract.name]

    def validate(self, contract: Contract, rows: list[dict[str, Any]], *, key: str = "doc_sha256") \
            -> ValidationReport:
        """The rows' failures, as ``validate_rows`` finds them."""
        checks = self.checks(contract)
        if checks is None:
            report = validate_rows(contract, rows, key=key, today=self.today)
            self._count(report)
            if self.gx_frames and report.raw.get("results"):
                self._done.append(FrameResult(contract.name, report.suite_name, report.row_count,
                                              len(report.failures), report.raw))
            return report
        check_keys(rows, key)
        frame, failures = rows_frame(contract, rows, key)
        report = check_frame(contract, rows, frame, failures, checks, key=key)
        self._count(report)
        if self.gx_frames and rows:
            self._keep(contract, frame, report)
        return report

    def _count(self, report: ValidationReport) -> None:
        self.rows += report.row_count
        self.failing += len(report.failures)

    def _keep(self, contract: Contract, frame: pd.DataFrame, report: ValidationReport) -> None:
        waiting = self._waiting.setdefault(contract.name, _Frame())
        waiting.frames.append(frame)
        waiting.rows += len(frame)
        waiting.failing += len(report.failures)
        waiting.counts.update((f.check, f.field) for fs in report.failures.values() for f in fs
                              if f.check != COERCE_CHECK)
        if waiting.rows >= self.frame_rows:
            self._submit(contract)

    def _submit(self, contract: Contract) -> None:
        waiting = self._waiting.pop(contract.name, None)
        if waiting is None or not waiting.rows:
            return
        raw = self._gx_summary(contract, waiting.frames)
        waiting.frames = []  # GX's worker holds them until it has validated them
        self._sent.append(_Sent(contract, waiting, raw))

    def _gx_summary(self, contract: Contract, frames: list[pd.DataFrame]) -> Future[dict[str, Any]]:
        """GX's summary of the frames to come: in the child process, or in the thread (also where the child
        died: the Data Docs are a report, and the batch checks already decided the documents' states)."""
        if self._process is not None:
            try:
                return self._process.summary(contract, _joined(frames), self.today)
            except BrokenExecutor as exc:
                log.warning("validation: the GX process stopped (%s); GX validates in a thread", exc)
                self._process.close()
                self._process = None
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocrflow-gx")
        return self._pool.submit(self._summary, contract, frames)

    def _summary(self, contract: Contract, frames: list[pd.DataFrame]) -> dict[str, Any]:
        return gx_summary(contract, _joined(frames), self.today)

    def finish(self) -> list[FrameResult]:
        """Validate the frames still waiting, wait for all; GX's results of the run, in order."""
        for name in list(self._waiting):
            self._submit(self.contracts[name])
        done = list(self._done)
        for sent in self._sent:
            raw = sent.raw.result()
            done.append(FrameResult(sent.contract.name, suite_name(sent.contract), sent.frame.rows,
                                    sent.frame.failing, raw, disagreements(raw, sent.frame.counts)))
        self._sent.clear()
        self._stop_thread()
        for result in done:
            for note in result.disagreements:
                log.error("validation: GX and the batch checks disagree on %s (%s): %s", result.suite,
                          f"{result.rows} rows", note)
        return done

    def render_pages(self, raws: list[dict[str, Any]], site: Path, run_id: str, when: dt.datetime) -> list[Path]:
        """``ocrflow.validate.docs.render_pages``, where the run's GX works (its child process, if any)."""
        if self._process is not None:
            try:
                return self._process.render(raws, site, run_id, when)
            except BrokenExecutor as exc:
                log.warning("data docs: the GX process stopped (%s); rendered in this process", exc)
        from ocrflow.validate.docs import render_pages

        return render_pages(raws, site, run_id, when)

    def close(self) -> None:
        """Stop the GX workers (frames not yet validated are dropped: a stopped run builds no Data Docs)."""
        self._waiting.clear()
        self._stop_thread()
        if self._process is not None:
            self._process.close()
            self._process = None

    def _stop_thread(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def disagreements(raw: dict[str, Any], counts: Counter[tuple[str, str]]) -> list[str]:
    """Where GX's unexpected row count of an expectation differs from the batch checks' (at most MAX_NOTES)."""
    notes = []
    for res in raw.get("results") or []:
        config = res.get("expectation_config") or {}
        kind, meta = str(config.get("type")), config.get("meta") or {}
        if kind in BATCH_SCOPED:
            continue
        if (res.get("exception_info") or {}).get("raised_exception"):
            notes.append(f"{kind} on {meta.get(META_FIELD)}: GX raised "
                         f"{(res.get('exception_info') or {}).get('exception_message')}")
            continue
        gx_count = int((res.get("result") or {}).get("unexpected_count") or 0)
        ours = counts.get((kind, str(meta.get(META_FIELD, ""))), 0)
        if gx_count != ours:
            notes.append(f"{kind} on {meta.get(META_FIELD)}: GX {gx_count} unexpected rows, batch checks {ours}")
    return notes[:MAX_NOTES]
