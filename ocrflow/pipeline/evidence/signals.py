"""The signals of a row's values that need the document's pages: arithmetic that must close and the distance
of a value from its label (from the page text), and a second, independent reading of the value's region (from
the page image).

``add_page_signals`` runs where the evidence is built (every path that builds it: a run, reprocessing from
stored pages); ``add_second_reading`` where the page image is at hand (the processor, while the document is
read). Each adds its signal to the value's evidence and scores the value again
(``ocrflow.pipeline.evidence.confidence``); docs/confidence.md lists the signals and their measured lift.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from PIL import Image

from ocrflow.contracts import Contract
from ocrflow.core.evidence import EvidenceRow
from ocrflow.core.models import DocumentText, Failure, PagePath, RowOutcome
from ocrflow.pipeline.evidence.arithmetic import invoice_signal, misread_total, total_signal
from ocrflow.pipeline.evidence.confidence import score
from ocrflow.pipeline.evidence.gap import unread_above
from ocrflow.pipeline.evidence.mend import mend, plain_page
from ocrflow.pipeline.evidence.second_reading import LANGS, agreement, language, second_texts
from ocrflow.pipeline.extract.layout import PageLine

PARTS = ("subtotal_amount", "tax_amount")


def _scored(row: RowOutcome) -> list[EvidenceRow]:
    return [ev for ev in row.evidence if not ev.line_no and ev.signals is not None and ev.confidence is not None
            and not ev.signals.get("xml")]


def add_page_signals(row: RowOutcome, lines: Sequence[PageLine], contract: Contract) -> None:
    """``arithmetic`` on the total (and on an invoice's subtotal and tax): 1 when the sums close, 0 when the
    page's sums contradict it; ``label_distance`` of a value read beside a label (in line heights). A receipt
    total whose items make it less a misread leading digit holds the row (check ``items_sum``)."""
    has_total = "total_amount" in set(contract.field_names)
    on_row = invoice_signal(row.values) if has_total else None
    on_page = total_signal(row.values.get("total_amount"), lines) if has_total and on_row is None else None
    misread = misread_total(row.values.get("total_amount"), lines) if has_total and on_row is None else None
    if misread is not None:
        row.failures.append(Failure(
            field="total_amount", check="items_sum", value=row.values.get("total_amount"),
            message=(f"total_amount = {row.values.get('total_amount')}: the items and tax on the page make "
                     f"{misread:.2f}, the total without its first digit (a mark before the amount read as one?)")))
    for ev in _scored(row):
        if ev.signals is None:
            continue
        signal = (on_row if on_row is not None else on_page) if ev.field == "total_amount" else (
            on_row if ev.field in PARTS else None)
        if signal is not None:
            ev.signals["arithmetic"] = signal
        distance = label_distance(ev.method, ev.bbox, lines)
        if distance is not None:
            ev.signals["label_distance"] = distance
        ev.confidence = score(ev.signals)


def add_second_reading(row: RowOutcome, text: DocumentText, image: Image.Image | None, contract: Contract, *,
                       day_first: bool = True, spelled: Collection[str] = ()) -> None:
    """``second_reading``: Tesseract's agreement (0..1) with each value read by OCR on the document's first OCR
    page, whose image is ``image``, in the value's box. The agreement is the first reading's: a text value is
    mended only after it (``ocrflow.pipeline.evidence.mend``: word breaks the first reading lost, accents it put
    on a plain page), since a value mended from the second reading would agree with it by construction. The
    fields in ``spelled`` are not mended: the issuer's memory spoke for their spelling (gave the value, or
    found the machine's reading the one review approved). The evidence's ``raw`` keeps the first reading."""
    page_no = next((p.page_no for p in text.pages if p.path == PagePath.OCR), None)
    if image is None or page_no is None:
        return
    kinds = {f.name: f.kind for f in contract.fields}
    lang = language(text.text)
    texts = second_texts(row.evidence, image, page_no, kinds, lang=lang)
    plain = lang == "en" and plain_page(text.text)
    for ev in _scored(row):
        second = texts.get(ev.field)
        if second is None or ev.value is None or ev.signals is None:
            continue
        agree = agreement(kinds[ev.field], ev.value, second, day_first=day_first)
        if agree is not None:
            ev.signals["second_reading"] = agree
            ev.confidence = score(ev.signals)
        mended = mend(ev.value, second, plain=plain) if kinds[ev.field] == "text" and ev.field not in spelled else None
        if mended is not None and isinstance(row.values.get(ev.field), str):
            row.values[ev.field] = ev.value = mended
    _missed_lines(row, text, image, page_no, lang)


def _missed_lines(row: RowOutcome, text: DocumentText, image: Image.Image, page_no: int, lang: str) -> None:
    """Hold a row whose address block may have lost its first line (``gap.unread_above``)."""
    page = next(p for p in text.pages if p.page_no == page_no)
    for ev in _scored(row):
        if ev.method != "heuristic:address_block" or ev.page_no != page_no or ev.value is None:
            continue
        seen = unread_above(ev, page.lines, image, lang=LANGS.get(lang, "eng"))
        if seen is not None:
            row.failures.append(Failure(
                field=ev.field, check="unread_line", value=ev.value,
                message=(f"{ev.field} = {ev.value!r}: the page prints a line above it that the OCR did not read "
                         f"(a second reading sees {seen[:60]!r}); the value may be missing it")))


MAX_LABEL_DISTANCE = 10.0


def label_distance(method: str, bbox: tuple[float, float, float, float] | None,
                   lines: Sequence[PageLine]) -> float | None:
    """How far a value read beside a label is from it, in line heights (0 on the label's own line; capped at
    10), None for a value not read beside a label or without a box."""
    if not method.startswith("label:") or bbox is None:
        return None
    label = method.split(":")[1].casefold()
    x0, y0, x1, y1 = bbox
    height = max(1.0, y1 - y0)
    best: float | None = None
    for pl in lines:
        if label not in pl.text.casefold():
            continue
        ln = pl.line
        dx = max(0.0, x0 - ln.x1, ln.x0 - x1)
        dy = max(0.0, y0 - ln.y1, ln.y0 - y1)
        gap = (dx + dy) / height
        best = gap if best is None else min(best, gap)
    return None if best is None else round(min(best, MAX_LABEL_DISTANCE), 3)
