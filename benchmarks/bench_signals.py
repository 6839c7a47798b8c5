"""Time per document of the trust signals of issue 19, on the demo's scanned receipts (made by the project's
own generator), in one run:

- page signals (arithmetic of the total, distance of each value from its label): ``add_page_signals``;
- shape per field and the field priors, at validation: ``apply_row_rules``;
- the second reading (Tesseract on each OCR value's box): ``add_second_reading``, without a cache;
- for scale, the pipeline without them: the embedded OCR of the page (RapidOCR), the rule extraction and the
  row's assembly. Each signal's cost is given as a share of it.

Costs are CPU time (this process's threads and its child processes, Tesseract included), the best of
``--repeat`` tries: on a shared machine wall time measures the neighbours; both are printed.

    .venv/bin/python -m benchmarks.bench_signals [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from ocrflow.contracts import Contract, load_contracts
from ocrflow.core.models import DocumentRef, DocumentText, RowOutcome
from ocrflow.core.settings import load_settings
from ocrflow.demo import generate_demo
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.pipeline.evidence.confidence import apply_row_rules
from ocrflow.pipeline.evidence.signals import add_page_signals, add_second_reading
from ocrflow.pipeline.extract.layout import document_lines
from ocrflow.pipeline.extract.rules import extract_fields_with_evidence
from ocrflow.pipeline.pages import PageReader
from ocrflow.pipeline.row import EvidenceBasis, assemble_row, row_lineage
from ocrflow.run.discover import describe

STAGES = ("OCR", "extraction", "page signals", "shape+priors", "second reading")


def _cpu() -> float:
    """This process's CPU time (every thread; fine-grained) plus its waited-for children's (clock ticks)."""
    t = os.times()
    return time.process_time() + t.children_user + t.children_system


def _cost(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(CPU ms, wall ms) of ``fn``, the best of ``repeat`` calls each."""
    cpu = wall = float("inf")
    for _ in range(repeat):
        c0, w0 = _cpu(), time.perf_counter()
        fn()
        cpu, wall = min(cpu, _cpu() - c0), min(wall, time.perf_counter() - w0)
    return cpu * 1000, wall * 1000


def _extract(doc: DocumentRef, text: DocumentText, contract: Contract) -> RowOutcome:
    """The rule extraction and the row's assembly (what the signals are added to)."""
    found = extract_fields_with_evidence(text, contract)
    return assemble_row(doc, contract, {k: f.value for k, f in found.items() if f.value is not None},
                        lines=[], lineage=row_lineage([1], "embedded", "", "", ""), day_first=True,
                        evidence=EvidenceBasis(text, found))


def _measure(path: Path, reader: PageReader, contract: Contract, repeat: int) -> tuple[list[tuple[float, float]], int]:
    doc = describe(path)
    if not isinstance(doc, DocumentRef):
        raise SystemExit(f"{path}: rejected by discovery ({doc})")
    reader.read(doc)  # models loaded, first-call costs paid before timing
    ocr = _cost(partial(reader.read, doc), repeat)
    read = reader.read(doc)
    text = DocumentText(doc=doc, pages=tuple(read.pages))
    extraction = _cost(partial(_extract, doc, text, contract), repeat)
    row = _extract(doc, text, contract)
    page = _cost(partial(add_page_signals, row, document_lines(text), contract), repeat)
    rules = _cost(partial(apply_row_rules, row, contract), repeat)
    second = _cost(partial(add_second_reading, row, text, read.first_image, contract), repeat)
    reread = sum(1 for ev in row.evidence if ev.signals and "second_reading" in ev.signals)
    return [ocr, extraction, page, rules, second], reread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    settings = load_settings(engine="embedded")
    contract = load_contracts(settings.contracts_dir)["receipt"]
    reader = PageReader.from_settings(settings, EmbeddedEngine())
    with tempfile.TemporaryDirectory() as tmp:
        docs = [d for d in generate_demo(Path(tmp)) if d.doc_type == "receipt"]
        print(f"{'document':<22}" + "".join(f" {s + ' CPU ms':>20}" for s in STAGES) + f" {'values re-read':>15}")
        totals = [[0.0, 0.0] for _ in STAGES]
        for demo in docs:
            costs, reread = _measure(Path(tmp) / demo.path, reader, contract, repeat)
            for total, (cpu, wall) in zip(totals, costs, strict=True):
                total[0] += cpu
                total[1] += wall
            print(f"{Path(demo.path).name:<22}" + "".join(f" {c:>20.2f}" for c, _ in costs) + f" {reread:>15}")
        n = len(docs)
        print(f"{'mean per document':<22}" + "".join(f" {c / n:>20.2f}" for c, _ in totals))
        print(f"{'(wall ms)':<22}" + "".join(f" {w / n:>20.2f}" for _, w in totals))
        base = totals[0][0] + totals[1][0]
        print(f"pipeline without the signals (OCR + extraction): {base / n:.0f} CPU ms per document; each signal "
              f"as a share of it: " + ", ".join(f"{s} {t[0] / base:.2%}" for s, t in zip(STAGES[2:], totals[2:],
                                                                                           strict=True)))


if __name__ == "__main__":
    main()
