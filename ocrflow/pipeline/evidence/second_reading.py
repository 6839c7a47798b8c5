"""A second, independent reading of the page regions values were read from: Tesseract 5 (Debian's
``tesseract-ocr`` with its eng, msa, deu and chi_sim data), called through pytesseract.

The first reading is the embedded engine (RapidOCR, PP-OCR models); Tesseract is another recogniser with
other models and other failure modes, so when both read the same thing in the value's box the value is more
likely right, and when they differ it is more likely a misread (docs/confidence.md, signal
``second_reading``). Only values read from an OCR page, with a box on the page image at hand, are read
again; a region Tesseract cannot read adds no signal. ``agreement`` compares under the field's kind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable
from typing import Any, Protocol

from PIL import Image
from rapidfuzz import fuzz

from ocrflow.core.evidence import EvidenceRow
from ocrflow.pipeline.coerce import CoercionError, parse_date, parse_money
from ocrflow.pipeline.evidence.grounding import compact
from ocrflow.pipeline.extract.candidates import DATE_RE, MONEY_RE

log = logging.getLogger("ocrflow")
MARGIN = 0.25
"""Margin around the value's box, as a share of the box height, so that glyph edges are not cut."""
PSM = "6"
"""Tesseract page segmentation: a uniform block of text (one line or a few)."""
MIN_HEIGHT = 32
"""Crops lower than this are scaled up (Tesseract reads x-heights of 20-30 px best)."""
LANGS = {"zh": "chi_sim+eng", "de": "deu+eng", "en": "eng+msa"}


class CacheBackend(Protocol):
    def cache_get(self, key: str) -> dict[str, Any] | None: ...

    def cache_put(self, key: str, result: dict[str, Any]) -> None: ...


_cache: CacheBackend | None = None


def use_cache(backend: CacheBackend | None) -> None:
    """Keep Tesseract's answers in ``backend``, which serialises its own calls (``ocrflow eval --ocr-cache``
    does; None: no cache)."""
    global _cache
    _cache = backend


def _tesseract(crop: Image.Image, lang: str) -> str:
    import pytesseract

    # one small crop: Tesseract's OpenMP threads would only fight the engine and the other documents for cores
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")

    return str(pytesseract.image_to_string(crop, lang=lang, config=f"--psm {PSM}"))


def read_region(image: Image.Image, bbox: tuple[float, float, float, float], lang: str = LANGS["en"], *,
                margin: float = MARGIN) -> str | None:
    """Tesseract's text in ``bbox`` (pixels of ``image``) with a margin (a share of its height); None when it
    cannot run."""
    x0, y0, x1, y1 = bbox
    pad = max(2.0, (y1 - y0) * margin) if margin > 0 else 0.0
    box = (max(0, int(x0 - pad)), max(0, int(y0 - pad)), min(image.width, int(x1 + pad + 1)),
           min(image.height, int(y1 + pad + 1)))
    if box[2] - box[0] < 4 or box[3] - box[1] < 4:
        return None
    crop = image.crop(box).convert("L")
    if crop.height < MIN_HEIGHT:
        scale = MIN_HEIGHT / crop.height
        crop = crop.resize((max(1, int(crop.width * scale)), MIN_HEIGHT), Image.Resampling.LANCZOS)
    key = hashlib.sha256(f"tesseract:{lang}:{PSM}:{crop.width}x{crop.height}:".encode() + crop.tobytes()).hexdigest()
    backend = _cache
    if backend is not None:
        hit = backend.cache_get(key)  # the backend serialises its own calls
        if hit is not None:
            return str(hit.get("text", ""))
    try:
        text = _tesseract(crop, lang)
    except (OSError, RuntimeError) as exc:  # no tesseract binary or language data: no second reading
        log.warning("second reading (tesseract) not available: %s", exc)
        return None
    if backend is not None:
        backend.cache_put(key, {"text": text})
    return text


def _amounts(text: str) -> list[float]:
    out = []
    for m in MONEY_RE.finditer(text):
        try:
            out.append(float(parse_money(m.group(0))))
        except CoercionError:
            continue
    return out


def _dates(text: str, day_first: bool) -> list[str]:
    out = []
    for m in DATE_RE.finditer(text):
        try:
            out.append(parse_date(m.group(0), day_first=day_first).isoformat())
        except CoercionError:
            continue
    return out


def agreement(kind: str, value: str, second: str, *, day_first: bool = True) -> float | None:
    """How far the second reading agrees with ``value`` (1 the same; 0 different; None: it read nothing of
    that kind, so it says nothing)."""
    if not second.strip():
        return None
    if kind in ("money", "number"):
        amounts = _amounts(second)
        if not amounts:
            return None
        return 1.0 if any(abs(a - float(value)) < 0.005 for a in amounts) else 0.0
    if kind == "date":
        dates = _dates(second, day_first)
        if not dates:
            return None
        return 1.0 if value[:10] in dates else 0.0
    a, b = compact(value), compact(second)
    if not a or not b:
        return None
    return round(fuzz.partial_ratio(a, b) / 100.0 if len(a) <= len(b) else fuzz.ratio(a, b) / 100.0, 4)


def language(text: str) -> str:
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    if cjk > max(10, len(text) * 0.1):
        return "zh"
    return "de" if re.search(r"[äöüß]", text) else "en"


def on_image(ev: EvidenceRow, image: Image.Image,
             box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """``box``, in the page coordinates of ``ev``'s evidence, in pixels of ``image`` (the page rendered again)."""
    scale_x = image.width / ev.page_width if ev.page_width else 1.0
    scale_y = image.height / ev.page_height if ev.page_height else 1.0
    x0, y0, x1, y1 = box
    return x0 * scale_x, y0 * scale_y, x1 * scale_x, y1 * scale_y


def second_texts(evidence: Iterable[EvidenceRow], image: Image.Image, page_no: int, kinds: dict[str, str], *,
                 lang: str = "en") -> dict[str, str]:
    """Tesseract's text in the box of every header value read from OCR on ``page_no``, by field."""
    out: dict[str, str] = {}
    for ev in evidence:
        if (ev.line_no or ev.value is None or ev.source != "ocr" or ev.bbox is None or ev.page_no != page_no
                or ev.field not in kinds):
            continue
        text = read_region(image, on_image(ev, image, ev.bbox), LANGS.get(lang, "eng"))
        if text is not None:
            out[ev.field] = text
    return out
