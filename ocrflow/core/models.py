"""Frozen, typed values that travel between the pipeline stages.

Nothing here does I/O; every stage takes and returns these values so that the
seams (Renderer, Engine, Store) stay swappable and testable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ocrflow.core.evidence import EvidenceRow

BBox = tuple[float, float, float, float]
"""(x0, y0, x1, y1) in pixels of the page image, origin top-left."""


class DocState(StrEnum):
    PENDING = "pending"
    LOADED = "loaded"
    QUARANTINED = "quarantined"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNMATCHED = "unmatched"
    """No contract matched: skipped by ordinary runs, taken by ``ocrflow reprocess --unmatched``."""


class PagePath(StrEnum):
    """Which path a page's text took."""

    TEXT_LAYER = "text_layer"
    OCR = "ocr"
    EINVOICE = "einvoice_xml"


SOURCE_JPEG = "ocrflow_source_jpeg"
"""Key in a page image's ``info``: the bytes of the JPEG file the image was decoded from, where the page is
that file's own picture (upright, RGB, not resized). An engine that sends pages as JPEG sends these bytes as
they are (no second lossy encoding, no encoder CPU); the image must not be changed in place after that."""


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """A discovered input file.

    ``path`` is what is shown and stored: always valid UTF-8 (see ``display_path``). ``fs_path`` is the
    name the operating system knows when it differs (a name that is not valid UTF-8 carries surrogate
    escapes, which no store or JSON encoder accepts); open files through ``open_path``.
    """

    path: str
    sha256: str
    mime: str
    size_bytes: int
    fs_path: str = ""
    mtime_ns: int = 0
    """The file's modification time when it was discovered (0: not from a file); the processor re-checks
    size and mtime to tell a file that changed or vanished during the run."""

    @property
    def open_path(self) -> str:
        return self.fs_path or self.path


def display_path(os_path: str) -> str:
    """A file name as valid UTF-8 text: bytes that are not UTF-8 are shown as ``\\xNN`` escapes.

    ``os.fsdecode`` keeps undecodable bytes as lone surrogates (``latin1_\\udce9t\\udce9.pdf``); they crash
    every encoder that writes UTF-8 (Arrow, psycopg, json with ensure_ascii=False)."""
    try:
        os_path.encode("utf-8")
    except UnicodeEncodeError:
        return os_path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return os_path


@dataclass(frozen=True, slots=True)
class Line:
    """One line of text with its box (page pixels) and recognition score."""

    text: str
    bbox: BBox
    score: float = 1.0

    @property
    def x0(self) -> float:
        return self.bbox[0]

    @property
    def y0(self) -> float:
        return self.bbox[1]

    @property
    def x1(self) -> float:
        return self.bbox[2]

    @property
    def y1(self) -> float:
        return self.bbox[3]

    @property
    def height(self) -> float:
        return self.bbox[3] - self.bbox[1]

    @property
    def cy(self) -> float:
        return (self.bbox[1] + self.bbox[3]) / 2


@dataclass(frozen=True, slots=True)
class PageText:
    """The text of one page, whichever path produced it."""

    page_no: int
    width: int
    height: int
    lines: tuple[Line, ...]
    path: PagePath
    engine: str
    model: str
    prompt_version: str = ""
    latency_s: float = 0.0
    render_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    is_fallback: bool = False
    note: str = ""

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass(frozen=True, slots=True)
class DocumentText:
    """All pages of a document plus any structured data found inside it."""

    doc: DocumentRef
    pages: tuple[PageText, ...]
    embedded_fields: dict[str, Any] | None = None
    embedded_source: str = ""

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.pages)


@dataclass(frozen=True, slots=True)
class Failure:
    """One reason a row failed coercion or validation."""

    field: str
    check: str
    value: Any
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "check": self.check, "value": _jsonable(self.value),
                "message": self.message}


@dataclass(slots=True)
class RowOutcome:
    """A coerced row and what went wrong with it (empty failures = clean)."""

    doc: DocumentRef
    contract: str
    contract_version: str
    values: dict[str, Any]
    raw: dict[str, Any]
    lineage: dict[str, Any]
    failures: list[Failure] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    """Coerced line items (the contract's line columns, ``line_no`` first; optional ``page_no``/``box``)."""
    evidence: list[EvidenceRow] = field(default_factory=list)
    """One row per contract field: where the value came from and its confidence (``ocrflow.core.evidence``)."""

    @property
    def clean(self) -> bool:
        return not self.failures


def reading_order(lines: list[Line]) -> list[Line]:
    """Sort lines top to bottom, grouping lines whose vertical centres overlap into one row."""
    rows: list[list[Line]] = []
    for ln in sorted(lines, key=lambda ln: ln.cy):
        if rows:
            ref = rows[-1][0]
            if abs(ln.cy - ref.cy) < 0.5 * min(max(ln.height, 1.0), max(ref.height, 1.0)):
                rows[-1].append(ln)
                continue
        rows.append([ln])
    return [ln for row in rows for ln in sorted(row, key=lambda ln: ln.x0)]


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
