"""Embedded OCR on both cores: pages/s and CPU use of the demo documents, one locked RapidOCR vs a pool.

The demo set (ocrflow.demo: digital invoices, e-invoices and scanned receipts) processed as a run processes
it: ``Processor.process`` on a pool of ``documents in flight`` threads (2 with the embedded engine), no result
cache, the documents repeated ``--rounds`` times. Two engines, interleaved, each warmed up first (model load
excluded, as bench_pages):

- ``one locked``: ``EmbeddedOptions(sessions=1, threads=-1)``, the engine as it was before issue 21's change:
  one RapidOCR instance behind a lock, onnxruntime's default thread count (one per physical core);
- ``pool``: ``EmbeddedOptions.from_settings`` (the default now): one instance per document in flight, at most
  the cores, each with cores // instances intra-op threads.

Per engine: pages, wall, pages/s (all pages, and OCR pages only over the same wall), this process's CPU
seconds (all threads, getrusage) and CPU % of the cores. Prints the pool/locked ratio of pages/s.

    .venv/bin/python -m benchmarks.bench_embedded [--rounds 4] [--repeat 3] [--in-flight 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ocrflow.core.models import DocumentRef, PagePath
from ocrflow.core.settings import load_settings
from ocrflow.engines.embedded import EmbeddedEngine, EmbeddedOptions, usable_cores
from ocrflow.pipeline.processor import Processor
from ocrflow.run.discover import discover


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(engine: EmbeddedEngine, docs: list[DocumentRef], in_flight: int) -> dict[str, Any]:
    settings = load_settings(use_embedded_xml=False)
    proc = Processor(settings, engine)
    with ThreadPoolExecutor(in_flight) as pool:  # warm-up: every instance made, imports done
        list(pool.map(proc.process, docs[:in_flight * 2]))
        c0, t0 = cpu_s(), time.perf_counter()
        results = list(pool.map(proc.process, docs))
        wall, cpu = time.perf_counter() - t0, cpu_s() - c0
    pages = sum(len(r.pages) for r in results)
    ocr = sum(1 for r in results for p in r.pages if p.path == PagePath.OCR)
    return {"pages": pages, "ocr_pages": ocr, "wall_s": wall, "cpu_s": cpu, "pages_s": pages / wall,
            "ocr_pages_s": ocr / wall, "cpu_pct": 100 * cpu / wall / usable_cores(),
            "sessions": engine.sessions_made}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=4, help="times the demo set is processed per measurement")
    ap.add_argument("--repeat", type=int, default=3, help="measurements per engine (interleaved)")
    ap.add_argument("--in-flight", type=int, default=0, help="documents at once (0: the settings' default)")
    args = ap.parse_args()
    settings = load_settings(engine="embedded")
    in_flight = args.in_flight or settings.resolved_documents_in_flight()
    engines = {"one locked": EmbeddedOptions(sessions=1, threads=-1),
               "pool": EmbeddedOptions.from_settings(settings.model_copy(update={"documents_in_flight": in_flight}))}
    with tempfile.TemporaryDirectory() as tmp:
        from ocrflow.demo import generate_demo

        generate_demo(Path(tmp))
        found = [d for d in discover([tmp]) if isinstance(d, DocumentRef)]
        docs = found * args.rounds
        print(f"{usable_cores()} cores, load {os.getloadavg()[0]:.1f}; {len(found)} demo documents x {args.rounds}, "
              f"{in_flight} in flight; pool: {engines['pool'].pool_size()} instances x "
              f"{engines['pool'].session_threads()} intra-op threads", flush=True)
        print("| engine | round | pages | OCR pages | wall s | pages/s | OCR pages/s | CPU s | CPU % of cores "
              "| load |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
        rates: dict[str, list[float]] = {k: [] for k in engines}
        cpu: dict[str, list[float]] = {k: [] for k in engines}
        for i in range(args.repeat):
            for name, options in engines.items():
                engine = EmbeddedEngine(options)
                row = measure(engine, docs, in_flight)
                engine.close()
                rates[name].append(row["pages_s"])
                cpu[name].append(row["cpu_pct"])
                print(f"| {name} ({row['sessions']} instance(s)) | {i + 1} | {row['pages']} | {row['ocr_pages']} | "
                      f"{row['wall_s']:.1f} | {row['pages_s']:.2f} | {row['ocr_pages_s']:.2f} | {row['cpu_s']:.1f} | "
                      f"{row['cpu_pct']:.0f} | {os.getloadavg()[0]:.1f} |", flush=True)
    before, after = statistics.median(rates["one locked"]), statistics.median(rates["pool"])
    print(f"\nmedian pages/s: one locked {before:.2f}, pool {after:.2f}: ratio {after / before:.2f}x; "
          f"median CPU % of cores: {statistics.median(cpu['one locked']):.0f} -> {statistics.median(cpu['pool']):.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
