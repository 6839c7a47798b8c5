"""Embedded CPU OCR: RapidOCR (PP-OCR ONNX models shipped inside the wheel)."""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ocrflow.core.models import Line, reading_order
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


class EmbeddedOptions(BaseModel):
    """RapidOCR's own parameters (e.g. ``{"Det.model_path": ...}``); empty: the models shipped in the wheel."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    params: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedOptions:
        """No setting configures RapidOCR yet: the shipped models, RapidOCR's defaults."""
        del settings
        return cls()


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
    """RapidOCR over one page image; thread-safe (one inference at a time per instance)."""

    name = ENGINE_NAME
    supports_extraction = False

    def __init__(self, options: EmbeddedOptions | None = None) -> None:
        self.options = options or EmbeddedOptions()
        self._params = dict(self.options.params)
        self._ocr: Any = None
        self._lock = threading.Lock()
        self.model = "rapidocr-ppocr"

    def _engine(self) -> Any:
        if self._ocr is None:
            check_models_present(self._params)
            from rapidocr import RapidOCR

            _quiet_rapidocr()
            self._ocr = RapidOCR(params=self._params or None)
            self.model = self._model_name()
        return self._ocr

    def _model_name(self) -> str:
        names = sorted(p.stem for p in _models_dir().glob("*.onnx"))
        det = next((n for n in names if "_det" in n), "det")
        rec = next((n for n in names if "_rec" in n), "rec")
        return f"rapidocr:{det}+{rec}"

    def preflight(self) -> None:
        """The configured model files are on disk (a glob, no model is loaded); TerminalEngineError if not."""
        check_models_present(self._params)

    def run(self, request: EngineRequest) -> EngineResult:
        arr = np.asarray(request.image.convert("RGB"))
        t0 = time.perf_counter()
        with self._lock:
            out = self._engine()(arr)
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
        self._ocr = None
