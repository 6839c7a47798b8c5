"""Line items read from scans: invoices in unseen generated layouts (ocrflow.demo.layouts), rendered to page
images with a little noise, go the scanned route (the embedded OCR engine's boxes instead of a text layer)
through the same table reader. Seeds as in test_lines_layouts: never looked at while writing the reader (seed
95,000 was: its first layout's header cell 'VAT %' read by OCR as '7%' led to the rule of one misread header
cell, ocrflow.pipeline.extract.table_header; the seeds moved on to unseen ones after it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ocrflow.core.settings import load_settings
from ocrflow.demo.layout_set import make_layout_doc, scan_pages
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.eval.lines import score_line_items
from ocrflow.pipeline.processor import Processor
from ocrflow.run.discover import describe

OCR_SEED = 97_000
DOCS = 3
MIN_F1 = 0.8


def _one_page_docs(out: Path) -> list[Any]:
    docs = []
    seed = OCR_SEED
    while len(docs) < DOCS:
        doc = make_layout_doc(out, seed)
        if "multipage" not in doc.features:
            docs.append(doc)
        seed += 1
    return docs


def test_line_items_of_scanned_invoices_are_read_from_ocr_boxes(tmp_path: Path) -> None:
    processor = Processor(load_settings(contract="invoice"), EmbeddedEngine())
    items = []
    for doc in _one_page_docs(tmp_path):
        (scan,) = scan_pages(doc.path, dpi=150, seed=7)
        image = tmp_path / f"{doc.path.stem}.png"
        scan.save(image)
        result = processor.process(describe(image))
        assert result.row is not None, result.error
        assert {p.path.value for p in result.pages} == {"ocr"}  # no text layer: the OCR boxes were read
        lines = [{k: (float(v) if hasattr(v, "as_tuple") else v) for k, v in ln.items() if k != "raw"}
                 for ln in result.row.lines]
        items.append(({"lines": doc.invoice.gold_lines(), "source": "layouts"}, lines))
    score = score_line_items(items)
    assert score["f1"] >= MIN_F1, score
