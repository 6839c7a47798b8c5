"""The Engine seam: page image + task -> typed result.

The engine knows nothing about invoices or receipts: it receives a task (plain
OCR, or extraction with a field list and a JSON Schema) and returns text, boxes
and fields with token usage, latency, model and prompt version.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from PIL import Image

from ocrflow.core.errors import EngineError as EngineError  # re-exported: the engine seam's errors
from ocrflow.core.errors import TerminalEngineError as TerminalEngineError
from ocrflow.core.errors import TransientEngineError as TransientEngineError
from ocrflow.core.models import Line


class Task(StrEnum):
    OCR = "ocr"
    PARSE = "parse"
    SPOT = "spot"
    EXTRACT = "extract"


@dataclass(frozen=True, slots=True)
class EngineRequest:
    image: Image.Image
    task: Task = Task.SPOT
    fields: tuple[str, ...] = ()
    json_schema: dict[str, Any] | None = None
    language: str = "en"
    image_sha256: str = ""


@dataclass(frozen=True, slots=True)
class EngineResult:
    lines: tuple[Line, ...]
    text: str
    engine: str
    model: str
    prompt_version: str = ""
    fields: dict[str, Any] | None = None
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    replica: str = ""
    is_fallback: bool = False
    flags: tuple[str, ...] = field(default_factory=tuple)


class Engine(Protocol):
    """What the pipeline needs from an engine (a new engine implements all of it; docs/engines.md).

    ``preflight`` checks, before any document is touched, that the engine can work at all (the vLLM
    engine: every replica serves the model; the embedded engine: its models are installed) and raises
    an EngineError when not. ``run_many`` yields one outcome per request, in input order, and may keep
    many requests in flight (the vLLM engine does; the embedded engine runs them one by one). An
    outcome is the result or the EngineError that ended that request: one bad page never stops the
    others. ``close`` releases what the engine holds (connections, threads, models); it is idempotent.
    """

    name: str
    model: str
    supports_extraction: bool

    def preflight(self) -> None: ...

    def run(self, request: EngineRequest) -> EngineResult: ...

    def run_many(self, requests: Iterable[EngineRequest]) -> Iterator[EngineResult | EngineError]: ...

    def close(self) -> None: ...


@runtime_checkable
class VersionedEngine(Engine, Protocol):
    """An engine whose answers depend only on the page and a versioned prompt: its results can be cached."""

    def prompt_version(self, request: EngineRequest) -> str: ...


def run_sequential(engine: Engine, requests: Iterable[EngineRequest]) -> Iterator[EngineResult | EngineError]:
    """``run_many`` for engines without concurrency."""
    for req in requests:
        try:
            yield engine.run(req)
        except EngineError as exc:
            yield exc
