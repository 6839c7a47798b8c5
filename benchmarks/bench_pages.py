"""Seconds per page on this machine: text-layer (digital) pages vs OCRed (scanned) pages.

Usage: python -m benchmarks.bench_pages [FOLDER ...]
Without folders it generates the demo set. Prints one line per path and the ratio, measured in one run.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from ocrflow.core.models import DocumentRef, PagePath
from ocrflow.core.settings import load_settings
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.pipeline.processor import Processor
from ocrflow.run.discover import discover


def measure(folders: list[str]) -> dict[str, list[float]]:
    settings = load_settings(use_embedded_xml=False)
    engine = EmbeddedEngine()
    proc = Processor(settings, engine)
    per_page: dict[str, list[float]] = {}
    for doc in discover(folders):
        if not isinstance(doc, DocumentRef):
            continue
        t0 = time.perf_counter()
        res = proc.process(doc)
        elapsed = time.perf_counter() - t0
        if not res.pages:
            continue
        kinds = {p.path for p in res.pages}
        key = PagePath.OCR.value if PagePath.OCR in kinds else PagePath.TEXT_LAYER.value
        per_page.setdefault(key, []).append(elapsed / len(res.pages))
    engine.close()
    return per_page


def main(argv: list[str]) -> None:
    folders = argv
    tmp = None
    if not folders:
        from ocrflow.demo import generate_demo

        tmp = tempfile.TemporaryDirectory()
        generate_demo(Path(tmp.name))
        folders = [tmp.name]
    # warm-up: model load and imports are not per-page costs
    Processor(load_settings(), EmbeddedEngine())
    stats = measure(folders)
    for path, values in sorted(stats.items()):
        print(f"{path:11s} documents={len(values):3d}  median s/page={statistics.median(values):.3f}  "
              f"mean s/page={statistics.fmean(values):.3f}")
    if "ocr" in stats and "text_layer" in stats:
        ratio = statistics.median(stats["ocr"]) / statistics.median(stats["text_layer"])
        print(f"scanned/digital per-page cost ratio (median): {ratio:.1f}x")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main(sys.argv[1:])
