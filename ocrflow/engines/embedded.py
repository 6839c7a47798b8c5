"""Embedded CPU OCR: RapidOCR (PP-OCR ONNX models shipped inside the wheel).

Several pages are read at once: the engine holds a small pool of RapidOCR instances (``sessions``, by default
one per document in flight, at most the cores), each with its own onnxruntime sessions whose intra-op thread
pools share the cores between them (``threads`` per session, by default cores // sessions), so the total of
onnxruntime threads stays at the core count. One locked instance used to read the documents in flight one at
a time while its pre- and post-processing (Python, OpenCV) left the second core idle (issue 21;
BENCHMARKS.md, "Embedded OCR on both cores"). An onnxruntime session is safe to call from several threads,
but RapidOCR's Python objects around it are not documented to be, hence one instance per concurrent page.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ocrflow.core.models import Line, reading_order
from ocrflow.core.settings import DOCUMENTS_IN_FLIGHT
from ocrflow.engines.base import (
    EngineError,
    EngineRequest,
    EngineResult,
    TerminalEngineError,
    run_sequential,
)

if TYPE_CHECKING:
    from ocrflow.core.settings import Settings

ENGINE_NAME = "embedded"
THREADS_PARAM = "EngineConfig.onnxruntime.intra_op_num_threads"
CLS_PARAM = "Global.use_cls"
READING_DEFAULTS: dict[str, Any] = {CLS_PARAM: False}
"""RapidOCR parameters the engine sets unless ``EmbeddedOptions.params`` says otherwise. The text-line direction
classifier is off: on upright pages it turned short lines by 180 degrees and read them upside down ("9,90" as
"06'6", "19%" as "%9%", "-0,00" as "000-", "GST Summary" as "Sr Sr") on 9 of 10 sample invoices and 7 of 25
sample receipts (fit part), and it cannot right a page: lines it turns keep their places, so a page printed upside
down reads in the wrong order either way (docs/engines.md)."""
_MAKING = threading.Lock()
"""One RapidOCR construction at a time in the process, models loaded: RapidOCR loads its models on first use
and reads a class-wide OmegaConf table that is not thread-safe (two instances loading at once in two threads
failed with omegaconf ConfigKeyError '_invalidate_flags_cache')."""


def _load_models(ocr: Any) -> None:
    """Load the instance's models now, under ``_MAKING``, not on its first page in a pool thread."""
    for name in ("_load_det_model", "_load_cls_model", "_load_rec_model"):
        load = getattr(ocr, name, None)
        if callable(load):
            load()


class EmbeddedOptions(BaseModel):
    """RapidOCR's own parameters (e.g. ``{"Det.model_path": ...}``); empty: the models shipped in the wheel."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    params: dict[str, Any] = Field(default_factory=dict)
    sessions: int = Field(default=0, ge=0, le=256)
    """RapidOCR instances reading pages at once; 0: one per document in flight by default (2), at most the
    cores. 1 with ``threads=-1`` is the engine as it was: one instance, one page at a time."""
    threads: int = Field(default=0, ge=-1, le=256)
    """onnxruntime intra-op threads per instance; 0: cores // sessions (at least 1); -1: onnxruntime's own
    default (one per physical core, for each instance)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedOptions:
        """The shipped models; one instance per document in flight (``OCRFLOW_DOCUMENTS_IN_FLIGHT``), at most
        the cores."""
        return cls(sessions=min(usable_cores(), max(1, settings.resolved_documents_in_flight())))

    def pool_size(self) -> int:
        return self.sessions or min(usable_cores(), DOCUMENTS_IN_FLIGHT["embedded"])

    def session_threads(self) -> int | None:
        """intra-op threads for each instance (None: leave onnxruntime's default)."""
        if self.threads == -1:
            return None
        return self.threads or max(1, usable_cores() // self.pool_size())


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. a container's cpuset), else the machine's."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _models_dir() -> Path:
    """The wheel's model folder, found without importing rapidocr (which loads onnxruntime and OpenCV)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or spec.origin is None:
        raise TerminalEngineError("the 'rapidocr' package is not installed: the embedded engine needs it")
    return Path(spec.origin).resolve().parent / "models"


def check_models_present(params: dict[str, Any] | None = None) -> Path:
    """Fail clearly (instead of downloading) when the configured models are not in the wheel."""
    models = _models_dir()
    wanted = [v for k, v in (params or {}).items() if k.endswith("model_path") and v]
    missing = [p for p in wanted if not Path(p).is_file()]
    if missing:
        raise TerminalEngineError(
            f"RapidOCR model file(s) {missing} not found; ocrflow never downloads models at run time. "
            f"Use the models shipped in {models} (the default) or install the files locally first.")
    if not params and not any(models.glob("*det*.onnx")):
        raise TerminalEngineError(
            f"no RapidOCR detection model in {models}: reinstall the 'rapidocr' wheel "
            "(its default models ship inside it); ocrflow never downloads models at run time")
    return models


class _WarningsOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


def _quiet_rapidocr() -> None:
    """RapidOCR logs every model path at INFO and resets its level on each construction."""
    logger = logging.getLogger("RapidOCR")
    if not any(isinstance(f, _WarningsOnly) for f in logger.filters):
        logger.addFilter(_WarningsOnly())


class EmbeddedEngine:
    """RapidOCR over one page image; thread-safe: up to ``options.pool_size()`` pages at once, one RapidOCR
    instance each (made on first need, reused; module docstring)."""

    name = ENGINE_NAME
    supports_extraction = False

    def __init__(self, options: EmbeddedOptions | None = None) -> None:
        self.options = options or EmbeddedOptions()
        self._params = self.reading_params()
        threads = self.options.session_threads()
        if threads is not None:
            self._params.setdefault(THREADS_PARAM, threads)
        self._slots = threading.BoundedSemaphore(self.options.pool_size())
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._made = 0
        self._making = _MAKING
        self.model = "rapidocr-ppocr"

    def reading_params(self) -> dict[str, Any]:
        """The RapidOCR parameters that decide what a page reads as (threads aside): the defaults and the options'."""
        return {**READING_DEFAULTS, **self.options.params}

    @property
    def sessions_made(self) -> int:
        """RapidOCR instances made so far (at most ``options.pool_size()``)."""
        return self._made

    @contextmanager
    def _session(self) -> Iterator[Any]:
        """One RapidOCR instance for this call alone: an idle one, or a new one while the pool has room."""
        with self._slots:
            try:
                ocr = self._idle.get_nowait()
            except queue.Empty:
                ocr = self._new()
            try:
                yield ocr
            finally:
                self._idle.put(ocr)

    def _new(self) -> Any:
        with self._making:  # one construction at a time (model files, RapidOCR's logger set-up)
            check_models_present(self.options.params)
            from rapidocr import RapidOCR

            _quiet_rapidocr()
            ocr = RapidOCR(params=self._params or None)
            _load_models(ocr)
            self.model = self._model_name()
            self._made += 1
            return ocr

    def _model_name(self) -> str:
        names = sorted(p.stem for p in _models_dir().glob("*.onnx"))
        det = next((n for n in names if "_det" in n), "det")
        rec = next((n for n in names if "_rec" in n), "rec")
        # named either way: pages cached under the name without it were read with the classifier on
        cls = "+cls" if self._params.get(CLS_PARAM) else "+no-cls"
        return f"rapidocr:{det}+{rec}{cls}"

    def preflight(self) -> None:
        """The configured model files are on disk (a glob, no model is loaded); TerminalEngineError if not."""
        check_models_present(self.options.params)

    def run(self, request: EngineRequest) -> EngineResult:
        arr = np.asarray(request.image.convert("RGB"))
        t0 = time.perf_counter()
        with self._session() as ocr:
            out = ocr(arr)
        latency = time.perf_counter() - t0
        lines: list[Line] = []
        boxes = out.boxes if out.boxes is not None else []
        for box, text, score in zip(boxes, out.txts or (), out.scores or (), strict=False):
            pts = np.asarray(box, dtype=float)
            bbox = (float(pts[:, 0].min()), float(pts[:, 1].min()),
                    float(pts[:, 0].max()), float(pts[:, 1].max()))
            if str(text).strip():
                lines.append(Line(text=str(text).strip(), bbox=bbox, score=float(score)))
        ordered = tuple(reading_order(lines))
        return EngineResult(lines=ordered, text="\n".join(ln.text for ln in ordered), engine=self.name,
                            model=self.model, latency_s=latency)

    def run_many(self, requests: Iterable[EngineRequest]) -> Iterator[EngineResult | EngineError]:
        return run_sequential(self, requests)

    def close(self) -> None:
        """Drop the idle instances (a page being read keeps its own until it is done)."""
        while True:
            try:
                self._idle.get_nowait()
            except queue.Empty:
                return
