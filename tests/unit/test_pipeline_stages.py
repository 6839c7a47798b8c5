"""The processor's trip as data (ocrflow.pipeline.stages.STAGES): the order, a stage ending the trip early, a
stage list swapped in, and the trip of a text-layer invoice through the real stages."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ocrflow.core.models import DocState, DocumentRef, PagePath
from ocrflow.core.results import DocResult
from ocrflow.core.settings import load_settings
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.pipeline.extraction import Extraction
from ocrflow.pipeline.processor import Processor
from ocrflow.pipeline.stages import STAGES, Stage, StageContext, Trip
from tests.pdfs import write_lines_pdf


def _doc(path: Path) -> DocumentRef:
    return DocumentRef(path=str(path), sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                       mime="application/pdf", size_bytes=path.stat().st_size)


def test_the_stage_order_is_the_documented_trip() -> None:
    assert [s.__name__ for s in STAGES] == ["standalone_xml", "embedded_einvoice", "read_pages", "choose_contract",
                                            "extract_fields", "recall_issuer", "assemble"]


def test_a_text_layer_invoice_goes_through_every_stage(tmp_path: Path) -> None:
    write_lines_pdf(tmp_path / "inv.pdf", ["Acme Tools GmbH", "Invoice Number: INV-9", "Invoice Date: 2024-03-05",
                                           "Subtotal: 100.00", "Tax: 19.00", "Total: 119.00"])
    seen: list[str] = []
    trips: list[Trip] = []

    def spy(ctx: StageContext, trip: Trip) -> None:
        trips.append(trip)

    def traced(stage: Stage) -> Stage:
        def run(ctx: StageContext, trip: Trip) -> DocResult | None:
            seen.append(stage.__name__)
            return stage(ctx, trip)
        return run

    stages: list[Stage] = []
    for stage in STAGES:
        stages.extend([spy, traced(stage)])
    result = Processor(load_settings(use_embedded_xml=False), EmbeddedEngine(), stages=tuple(stages)).process(
        _doc(tmp_path / "inv.pdf"))
    assert seen == [s.__name__ for s in STAGES]
    assert result.state == DocState.PENDING and result.contract == "invoice" and result.row is not None
    assert result.row.values["invoice_number"] == "INV-9" and result.row.evidence
    trip = trips[-1]  # before the row stage: pages read, contract chosen, fields extracted
    assert [p.path for p in trip.pages] == [PagePath.TEXT_LAYER] and trip.first_image is None
    assert trip.contract is not None and trip.contract.name == "invoice"
    assert isinstance(trip.extraction, Extraction) and trip.extraction.primary is None
    assert trip.extraction.raw["invoice_number"] == "INV-9"  # the rules filled it: no XML, no VLM


def test_no_matching_contract_ends_the_trip_before_extraction(tmp_path: Path) -> None:
    write_lines_pdf(tmp_path / "poem.pdf", ["Roses are red", "violets are blue"])
    after: list[str] = []

    def never(ctx: StageContext, trip: Trip) -> None:
        after.append("ran")

    stages = (*STAGES[:4], never, *STAGES[4:])
    result = Processor(load_settings(use_embedded_xml=False), EmbeddedEngine(), stages=stages).process(
        _doc(tmp_path / "poem.pdf"))
    assert result.state == DocState.UNMATCHED and result.error_code == "no_contract"
    assert after == [] and len(result.pages) == 1


def test_a_stage_that_raises_is_the_documents_failure_not_the_runs(tmp_path: Path) -> None:
    write_lines_pdf(tmp_path / "a.pdf", ["Invoice Number: INV-1"])

    def broken(ctx: StageContext, trip: Trip) -> None:
        raise ValueError("stage bug")

    result = Processor(load_settings(), EmbeddedEngine(), stages=(broken, *STAGES)).process(_doc(tmp_path / "a.pdf"))
    assert result.state == DocState.FAILED and result.error_code == "internal" and "stage bug" in (result.error or "")
