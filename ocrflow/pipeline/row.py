"""The one row assembly: raw values -> coerced header -> allowance signs -> lines -> lineage -> row -> evidence.

Every path that makes a row goes through ``assemble_row``: the processor (pages, embedded XML, vLLM), a
standalone e-invoice XML (``ocrflow.pipeline.xmldoc``), reprocessing a quarantined document from its stored
pages (``ocrflow.run.quarantine_work``) and a reviewer's approval (``ocrflow.review.actions``). What differs
between them is what they read (the raw values, the line items, the lineage, the readings behind the
evidence); the steps and their order are the same:

1. coerce the header (``coerce_row``): an unreadable value becomes None and a ``coerce`` failure;
2. the document's allowance / charge totals become positive sums (``unsigned_adjustments``, EN 16931
   BT-107/108: a page printing ``-14,73`` means 14.73, which the line checks subtract);
3. the lines travel with their header: ``lines`` is a list of raw lines, or a ``LinePick`` called with the
   coerced header (the vLLM route's line checks compare the lines with the header's totals); the chosen raw
   lines are kept in ``raw["line_items"]`` and coerced (``line_items[n].x`` failures);
4. the row with its lineage (``row_lineage``);
5. its evidence (``attach_evidence``) when the caller has the readings behind it (``EvidenceBasis``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocrflow.contracts import Contract
from ocrflow.contracts.model import LINES_KEY
from ocrflow.core.models import DocumentRef, DocumentText, RowOutcome
from ocrflow.pipeline.coerce import coerce_row
from ocrflow.pipeline.evidence.collect import Reading, attach_evidence
from ocrflow.pipeline.extract.lines import coerce_lines, unsigned_adjustments
from ocrflow.pipeline.extract.rules import Found

RawLines = list[dict[str, Any]]
LinePick = Callable[[Mapping[str, Any]], RawLines | None]
"""Chooses a document's raw line items once its header is coerced (called with the header values)."""


@dataclass(frozen=True, slots=True)
class EvidenceBasis:
    """What the evidence of a row is built from: the document's pages (no pages for an XML file), the rule
    extractor's finds, and the reading that was preferred to the rules (e-invoice XML or a VLM), if any."""

    text: DocumentText
    found: Mapping[str, Found] = field(default_factory=dict)
    primary: Reading | None = None


def row_lineage(page_numbers: Sequence[int], engine: str, model: str, prompt_version: str,
                flow_run_id: str) -> dict[str, Any]:
    """The lineage columns of a row read now (``extracted_at`` in UTC, without a time zone)."""
    return {"page_numbers": list(page_numbers), "engine": engine, "model": model, "prompt_version": prompt_version,
            "flow_run_id": flow_run_id, "extracted_at": datetime.now(UTC).replace(tzinfo=None)}


def assemble_row(doc: DocumentRef, contract: Contract, raw: Mapping[str, Any], *,
                 lines: Sequence[Mapping[str, Any]] | LinePick | None, lineage: Mapping[str, Any], day_first: bool,
                 evidence: EvidenceBasis | None = None) -> RowOutcome:
    """The coerced row of ``doc`` under ``contract`` (see the module doc for the steps).

    ``raw``: the header values as read (not changed; the row keeps a copy). ``lines``: the raw line items or
    the pick that chooses them; only asked when the contract has line columns. ``evidence``: None leaves the
    row without evidence (a review approval marks the reviewed fields itself)."""
    row_raw = dict(raw)
    values, failures = coerce_row(contract, row_raw, day_first=day_first)
    values = unsigned_adjustments(values)
    coerced_lines: list[dict[str, Any]] = []
    if contract.lines:
        row_raw[LINES_KEY] = choose_lines(lines, values)
        coerced_lines, line_failures = coerce_lines(contract, row_raw[LINES_KEY], day_first=day_first)
        failures = [*failures, *line_failures]
    row = RowOutcome(doc=doc, contract=contract.name, contract_version=contract.version, values=values,
                     raw=row_raw, lineage=dict(lineage), failures=failures, lines=coerced_lines)
    if evidence is None:
        return row
    return attach_evidence(row, evidence.text, contract, evidence.found, evidence.primary, day_first=day_first)


def choose_lines(lines: Sequence[Mapping[str, Any]] | LinePick | None, values: Mapping[str, Any]) -> Any:
    """The raw lines that travel with the header ``values``: a pick is asked with them, a list is kept."""
    return lines(values) if callable(lines) else lines

