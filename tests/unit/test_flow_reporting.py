"""What the flow shows of a run that kept no results (issue 21, memory flat): latency rows from a bounded sample
count every page, the batch log counts states across batches without holding the documents, the nightly's
failure names count the ones past the listed first."""

from __future__ import annotations

import logging

import pytest

from flows.hooks import FlowHooks
from flows.reporting import failed_names, latency_rows
from ocrflow.core.models import DocState, DocumentRef
from ocrflow.core.results import DocResult
from ocrflow.run.batches import BatchReport
from ocrflow.run.summary import RunSummary


def _result(i: int, state: DocState) -> DocResult:
    doc = DocumentRef(path=f"/in/{i}.pdf", sha256=f"{i:064x}", mime="application/pdf", size_bytes=1)
    return DocResult(doc, state, error=f"reason {i}")


def test_latency_rows_count_the_pages_behind_a_sample() -> None:
    rows = latency_rows({"text_layer": [0.01, 0.02, 0.03, 0.04]}, {"text_layer": 9000})
    assert rows == [{"engine": "text_layer", "pages": 9000, "p50_s": 0.02, "p95_s": 0.04}]
    assert latency_rows({"ocr": [1.0, 2.0]})[0]["pages"] == 2  # no count given: the values themselves


def test_the_batch_log_counts_states_across_batches_without_keeping_documents(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    hooks = FlowHooks(logging.getLogger("flow-test"))
    hooks.on_batch(BatchReport(1, 2, 3, [_result(i, DocState.LOADED) for i in range(3)], 0))
    hooks.on_batch(BatchReport(2, 2, 2, [_result(3, DocState.LOADED), _result(4, DocState.FAILED)], 0))
    assert hooks.counts == {"loaded": 4, "failed": 1} and hooks.written == 5
    last = caplog.records[-1].getMessage()
    assert "batch 2/2 written: 5/5 documents" in last and "failed 1" in last and "4.pdf: reason 4" in last


def test_the_nightly_failure_names_count_those_past_the_listed_ones() -> None:
    summary = RunSummary(run_id="r9", flow_run_id="r9", counts={"failed": 1500, "unmatched": 0}, seconds=1.0,
                         status="FAILED", failed=[(f"/in/{i}.pdf", "bad") for i in range(3)], quarantined=[],
                         pending=[], latencies={})
    text = failed_names(summary)
    assert text.startswith("0.pdf: bad; 1.pdf: bad; 2.pdf: bad; and 1497 more")
    assert "run_id = 'r9'" in text
