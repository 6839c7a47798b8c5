"""What a run keeps of its documents (ocrflow.run.tally): counts of all of them, bounded lists of the problem
documents, a bounded uniform latency sample; the results only when asked; the summary built from it names
the first documents and counts the rest."""

from __future__ import annotations

import statistics

from ocrflow.core.models import DocState, DocumentRef, PagePath, PageText
from ocrflow.core.results import DocResult
from ocrflow.run.batches import run_batches
from ocrflow.run.planning import Plan
from ocrflow.run.summary import summarize
from ocrflow.run.tally import LATENCY_SAMPLES, LISTED_MAX, Tally


def _doc(i: int) -> DocumentRef:
    return DocumentRef(path=f"/in/{i}.pdf", sha256=f"{i:064x}", mime="application/pdf", size_bytes=10)


def _page(latency: float) -> PageText:
    return PageText(page_no=1, width=10, height=10, lines=(), path=PagePath.TEXT_LAYER, engine="pdfium",
                    model="", latency_s=latency)


def _result(i: int, state: DocState) -> DocResult:
    return DocResult(_doc(i), state, pages=[_page(i / 1000)], error=f"reason {i}")


def test_counts_every_document_but_lists_only_the_first_of_each_problem_state() -> None:
    tally = Tally(keep_results=False)
    n = LISTED_MAX + 250
    tally.add(_result(i, DocState.FAILED if i % 2 else DocState.QUARANTINED) for i in range(2 * n))
    tally.add(_result(i, DocState.LOADED) for i in range(2 * n, 2 * n + 7))
    assert tally.count(DocState.FAILED) == n and tally.count(DocState.QUARANTINED) == n
    assert tally.count(DocState.LOADED) == 7 and tally.pages == 2 * n + 7
    assert len(tally.named(DocState.FAILED)) == LISTED_MAX
    assert tally.named(DocState.FAILED)[0] == ("/in/1.pdf", "reason 1")  # the first ones, in order
    assert tally.named(DocState.LOADED) == [] and tally.results == []


def test_the_latency_sample_is_bounded_uniform_and_counts_every_page() -> None:
    tally = Tally(keep_results=False)
    n = 5 * LATENCY_SAMPLES
    tally.add(DocResult(_doc(i), DocState.LOADED, pages=[_page(i / n)]) for i in range(n))
    sample = tally.latencies[PagePath.TEXT_LAYER.value]
    assert len(sample) == LATENCY_SAMPLES and tally.latency_pages[PagePath.TEXT_LAYER.value] == n
    assert abs(statistics.median(sample) - 0.5) < 0.03  # uniform over the run, not its first pages
    assert max(sample) > 0.95


def test_results_are_kept_only_when_asked() -> None:
    kept = Tally(keep_results=True)
    kept.add([_result(1, DocState.LOADED)])
    assert [r.doc.path for r in kept.results] == ["/in/1.pdf"]


class _Store:
    dialect = "duckdb"

    def shares_writes(self) -> bool:
        return False

    def claim(self, hashes: list[str], worker: str, ttl_s: float) -> set[str]:
        return set(hashes)

    def release(self, hashes: list[str], worker: str) -> None:
        pass


def test_a_run_without_kept_results_summarizes_all_documents_and_names_where_to_find_the_rest() -> None:
    docs = [_doc(i) for i in range(LISTED_MAX + 40)]
    out = run_batches(_Store(), docs,  # type: ignore[arg-type]
                      start=lambda owned: lambda: [_result(int(d.path[4:-4]), DocState.FAILED) for d in owned],
                      load=lambda done: done, worker="w", ttl_s=60, batch_size=64, store_name="s",
                      tally=Tally(keep_results=False))
    assert out.results == []
    summary = summarize("r1", "r1", out.tally, Plan(todo=docs, skipped=[], rejected=[]), 0.0, "0")
    assert summary.counts["failed"] == LISTED_MAX + 40 and len(summary.failed) == LISTED_MAX
    assert summary.status == "FAILED" and summary.results == []
    assert f"{LISTED_MAX + 40} failed" in summary.message
    assert "more (all of them: ocrflow query" in summary.message and "run_id = 'r1'" in summary.message
