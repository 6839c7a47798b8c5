"""Time per document of the trust signals of issue 19, on the demo's scanned receipts (made by the project's
own generator, read once by the embedded OCR before timing):

- page signals (arithmetic of the total, distance of each value from its label): ``add_page_signals``;
- shape per field and the field priors, at validation: ``apply_row_rules``;
- the second reading (Tesseract on each OCR value's box): ``add_second_reading``, without a cache;
- for scale, the embedded OCR of the same page (RapidOCR).

    .venv/bin/python -m benchmarks.bench_signals [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from ocrflow.contracts import load_contracts
from ocrflow.core.models import DocumentText
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


def _ms(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    settings = load_settings(engine="embedded")
    contract = load_contracts(settings.contracts_dir)["receipt"]
    engine = EmbeddedEngine()
    reader = PageReader.from_settings(settings, engine)
    with tempfile.TemporaryDirectory() as tmp:
        docs = [d for d in generate_demo(Path(tmp)) if d.doc_type == "receipt"]
        print(f"{'document':<22} {'OCR ms':>8} {'page signals ms':>16} {'shape+priors ms':>16} "
              f"{'second reading ms':>18} {'values re-read':>15}")
        totals = [0.0, 0.0, 0.0, 0.0]
        for demo in docs:
            doc = describe(Path(tmp) / demo.path)
            t0 = time.perf_counter()
            read = reader.read(doc)
            ocr_ms = (time.perf_counter() - t0) * 1000
            text = DocumentText(doc=doc, pages=tuple(read.pages))
            found = extract_fields_with_evidence(text, contract)
            row = assemble_row(doc, contract, {k: f.value for k, f in found.items() if f.value is not None},
                               lines=[], lineage=row_lineage([1], "embedded", "", "", ""), day_first=True,
                               evidence=EvidenceBasis(text, found))
            lines = document_lines(text)
            page_ms = _ms(partial(add_page_signals, row, lines, contract), repeat)
            rules_ms = _ms(partial(apply_row_rules, row, contract), repeat)
            second_ms = _ms(partial(add_second_reading, row, text, read.first_image, contract), repeat)
            reread = sum(1 for ev in row.evidence if ev.signals and "second_reading" in ev.signals)
            for i, v in enumerate((ocr_ms, page_ms, rules_ms, second_ms)):
                totals[i] += v
            print(f"{Path(demo.path).name:<22} {ocr_ms:>8.0f} {page_ms:>16.2f} {rules_ms:>16.2f} {second_ms:>18.0f} "
                  f"{reread:>15}")
        n = len(docs)
        print(f"{'mean per document':<22} {totals[0] / n:>8.0f} {totals[1] / n:>16.2f} {totals[2] / n:>16.2f} "
              f"{totals[3] / n:>18.0f}")
        print(f"second reading / OCR: {totals[3] / totals[0]:.2f}; page signals / OCR: {totals[1] / totals[0]:.4f}")


if __name__ == "__main__":
    main()
