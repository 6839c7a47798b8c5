"""Build a row's field evidence: for every contract field, the reading that was kept, where it is printed
on the page, and its confidence (``ocrflow.pipeline.evidence.confidence``).

Readings: embedded e-invoice XML (``einvoice_xml``), the vLLM extraction (``vlm``) and the rule
extractor on the page lines (``text_layer`` or ``ocr``, by the page the line is on). Values not read
from a line are grounded by searching them in the page text (``ocrflow.pipeline.evidence.grounding``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ocrflow.contracts import Contract, FieldSpec
from ocrflow.core.evidence import EvidenceRow
from ocrflow.core.models import DocumentText, Failure, PagePath, PageText, RowOutcome
from ocrflow.eval.scoring import score_field
from ocrflow.pipeline.coerce import coerce_value
from ocrflow.pipeline.evidence.confidence import INVALID, grounding_factor, prior, score
from ocrflow.pipeline.evidence.grounding import ABSENT, Grounder, Hit, compact
from ocrflow.pipeline.evidence.lines import LineEvidence
from ocrflow.pipeline.evidence.signals import add_page_signals
from ocrflow.pipeline.extract.layout import document_lines
from ocrflow.pipeline.extract.rules import Found

PRIMARY_SOURCES = ("einvoice_xml", "vlm")


@dataclass(frozen=True, slots=True)
class Reading:
    """Values from a reading of the whole document that is not the rule extractor (XML or a VLM)."""

    source: str
    values: Mapping[str, Any]
    engine: str = ""
    model: str = ""
    prompt_version: str = ""


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    return str(value)


class Collector:
    """Evidence for the rows of one document (its pages prepared once)."""

    def __init__(self, text: DocumentText, contract: Contract, *, day_first: bool = True, run_id: str = "") -> None:
        self.text = text
        self.contract = contract
        self.day_first = day_first
        self.run_id = run_id
        self.pages: dict[int, PageText] = {p.page_no: p for p in text.pages}
        self.page_lines = document_lines(text)
        self.grounder = Grounder(self.page_lines)

    def rows(self, values: Mapping[str, Any], rules: Mapping[str, Found], primary: Reading | None,
             failures: list[Failure], lineage: Mapping[str, Any]) -> list[EvidenceRow]:
        """One evidence row per contract field, null values included."""
        bad = {f.field for f in failures if f.check == "coerce"}
        return [self._field(spec, values.get(spec.name), rules.get(spec.name), primary, spec.name in bad, lineage)
                for spec in self.contract.fields]

    def _field(self, spec: FieldSpec, value: Any, found: Found | None, primary: Reading | None, invalid: bool,
               lineage: Mapping[str, Any]) -> EvidenceRow:
        p_raw = primary.values.get(spec.name) if primary is not None else None
        r_raw = found.value if found is not None else None
        use_primary = primary is not None and not _empty(p_raw)
        raw = p_raw if use_primary else r_raw
        if use_primary and primary is not None:
            source, method = primary.source, f"{'xml' if primary.source == 'einvoice_xml' else 'vlm'}:{spec.name}"
            hit = self.grounder.locate(value if value is not None else raw, raw)
            engine, model, pv = primary.engine, primary.model, primary.prompt_version
        else:
            method = found.method if found is not None else "not_found"
            hit = self._rule_hit(found, value) if not _empty(r_raw) else ABSENT
            source = self._page_source(hit)
            engine, model, pv = self._page_engine(hit, lineage)
        ev = EvidenceRow(doc_sha256=self.text.doc.sha256, contract=self.contract.name, field=spec.name,
                         value=_text(value), raw=_text(raw), source=source, method=method, confidence=None,
                         grounding=hit.grounding if not _empty(raw) else "absent", page_no=hit.page_no,
                         bbox=hit.bbox, engine=engine, model=model, prompt_version=pv, run_id=self.run_id)
        if ev.page_no is not None and ev.page_no in self.pages:
            ev.page_width, ev.page_height = self.pages[ev.page_no].width, self.pages[ev.page_no].height
        if not _empty(raw):
            ev.signals = self._signals(spec, method, hit, invalid, value, p_raw if use_primary else None, r_raw)
            ev.confidence = score(ev.signals)
        return ev

    def _rule_hit(self, found: Found | None, value: Any) -> Hit:
        """The lines the rule read (checked to hold the value), else a search of the page text."""
        if found is not None and found.lines:
            text = "".join(compact(pl.text) for pl in found.lines)
            raw = compact(_text(found.value) or "")
            if raw and raw in text:
                return Hit("exact", 1.0, found.lines)
            located = Grounder(found.lines).locate(value, found.value)
            if located.grounding != "absent":
                return located
            return Hit("fuzzy", 0.85, found.lines)
        return self.grounder.locate(value, found.value if found is not None else None)

    def _page_source(self, hit: Hit) -> str:
        page = self.pages.get(hit.page_no) if hit.page_no is not None else None
        page = page or (self.text.pages[0] if self.text.pages else None)
        if page is None:
            return "einvoice_xml"
        return "text_layer" if page.path == PagePath.TEXT_LAYER else "ocr"

    def _page_engine(self, hit: Hit, lineage: Mapping[str, Any]) -> tuple[str, str, str]:
        page = self.pages.get(hit.page_no) if hit.page_no is not None else None
        if page is None:
            return str(lineage.get("engine") or ""), str(lineage.get("model") or ""), ""
        return page.engine, page.model, page.prompt_version

    def _signals(self, spec: FieldSpec, method: str, hit: Hit, invalid: bool, value: Any, p_raw: Any,
                 r_raw: Any) -> dict[str, float]:
        if method.startswith("xml"):
            return {"xml": 1.0, "grounding": grounding_factor(hit.grounding, hit.score)}
        signals = {"prior": prior(method), "recognition": hit.recognition,
                   "grounding": grounding_factor(hit.grounding, hit.score),
                   "validity": INVALID if invalid or value is None else 1.0}
        if p_raw is not None and not _empty(r_raw):
            signals["agreement"] = 1.0 if self._agree(spec, value, r_raw) else 0.0
        return signals

    def _agree(self, spec: FieldSpec, value: Any, other_raw: Any) -> bool:
        """Whether a second, independent reading (the rules beside a VLM) gives the same value."""
        try:
            other = coerce_value(spec, other_raw, day_first=self.day_first)
        except (ValueError, TypeError, ArithmeticError):
            return False
        return value is not None and score_field(spec.kind, other, value)


def attach_evidence(row: RowOutcome, text: DocumentText, contract: Contract, found: Mapping[str, Found],
                    primary: Reading | None, *, day_first: bool = True) -> RowOutcome:
    """``row`` with its evidence: one row per contract field, then one per line column of every line
    (``line_no`` > 0, ``ocrflow.pipeline.evidence.lines``); the processor's and reprocess's last step."""
    collector = Collector(text, contract, day_first=day_first)
    row.evidence = collector.rows(row.values, found, primary, row.failures, row.lineage)
    add_page_signals(row, collector.page_lines, contract)  # arithmetic (ocrflow.pipeline.evidence.signals)
    if row.lines:
        lines = LineEvidence(text, contract, collector.page_lines, collector.grounder)
        row.evidence.extend(lines.rows(row.lines, row.failures, xml=primary is not None and primary.source ==
                                       "einvoice_xml", engine=str(row.lineage.get("engine") or ""),
                                       model=str(row.lineage.get("model") or ""),
                                       prompt_version=str(row.lineage.get("prompt_version") or "")))
    return row


def kept_reading(raw: Mapping[str, Any], engine: str, model: str, prompt_version: str) -> Reading | None:
    """The reading behind the raw values a reprocess keeps (e-invoice XML or a VLM), None when none were kept."""
    if not raw:
        return None
    source = "einvoice_xml" if engine == "einvoice" else "vlm"
    return Reading(source, dict(raw), engine, model, prompt_version)
