"""End-to-end GPU-path throughput: documents through ``run_files`` against a vLLM of fixed capacity.

bench_vllm_throughput measures the engine on one stream of pages. A real run is documents: each
scanned receipt is one spotting request, then one extraction request (sequential within the
document), then coercion, validation and the store write. With one document in flight the server
sees one request at a time, whatever its capacity; this script measures how the setting
``documents_in_flight`` changes that.

The fake vLLM runs in its own process in sleep-only mode (capacity C concurrent requests of L
seconds each, extra ones queue; it answers spotting with one line and extraction with nulls, so
every receipt ends quarantined: the documents still go through every stage and the store). The
documents are distinct scanned receipts (JPEG) made by the demo generator; each run uses a fresh
DuckDB file and no result cache.

    .venv/bin/python -m benchmarks.bench_pipeline_vllm [--docs 128] [--capacity 32] [--latency 0.4]
        [--in-flight 1 --in-flight 8 --in-flight 32 --in-flight 64]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_vllm_throughput import start_fake
from ocrflow.core.settings import load_settings
from ocrflow.demo import receipt_spec, save_receipt
from ocrflow.engines.vllm import make_vllm_engine
from ocrflow.run.files_work import run_files
from ocrflow.store.duckdb_store import DuckDBStore

REQUESTS_PER_DOC = 2  # spotting, then extraction


@dataclass(frozen=True)
class Row:
    in_flight: int
    batch: int
    docs: int
    wall_s: float
    cpu_s: float
    finished: int

    @property
    def docs_per_s(self) -> float:
        return self.docs / self.wall_s


def make_receipts(folder: Path, n: int) -> None:
    rng = random.Random(7)
    for i in range(n):
        address = (f"{i} JALAN MAJU", "KUALA LUMPUR")
        spec = receipt_spec(rng, f"SHOP {i} SDN BHD", f"CO. REG {100000 + i}-X", address, "dmy", n_items=3)
        save_receipt(spec, folder / f"receipt_{i:04d}.jpg", seed=i)


def measure(inbox: Path, url: str, in_flight: int, workdir: Path, label: str) -> Row:
    db = workdir / f"run_{label}_{in_flight}.duckdb"  # a fresh file: nothing already loaded
    settings = load_settings(store=str(db), engine="vllm", vllm_url=url, contract="receipt",
                             documents_in_flight=in_flight, vllm_cache=False)
    store = DuckDBStore(str(db))
    engine = make_vllm_engine(settings)
    try:
        cpu0, t0 = time.process_time(), time.perf_counter()
        summary = run_files([str(inbox)], settings, store, engine)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        engine.close()
        store.close()
    c = summary.counts
    return Row(in_flight, settings.resolved_batch_size(), c["documents"], wall, cpu,
               c["loaded"] + c["quarantined"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=128)
    ap.add_argument("--capacity", type=int, default=32)
    ap.add_argument("--latency", type=float, default=0.4)
    ap.add_argument("--in-flight", type=int, action="append", help="documents_in_flight values (repeatable)")
    args = ap.parse_args()
    ideal = args.capacity / args.latency / REQUESTS_PER_DOC
    before = os.getloadavg()[0]
    proc, url = start_fake(args.capacity, args.latency)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            inbox = Path(tmp) / "inbox"
            inbox.mkdir()
            make_receipts(inbox, args.docs)
            measure(inbox, url, 2, Path(tmp), "warmup")  # warm-up: imports, GX, first connections
            for k in args.in_flight or [1, 8, 32, 64]:
                rows.append(measure(inbox, url, k, Path(tmp), "run"))
    finally:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(timeout=15)
    print(f"Fake vLLM: capacity C={args.capacity}, latency L={args.latency} s, {REQUESTS_PER_DOC} requests per "
          f"document -> ideal {ideal:.1f} documents/s; {args.docs} one-page scanned receipts; "
          f"{os.cpu_count()} CPU cores\n")
    print("| documents_in_flight | batch size | documents | wall s | documents/s | x ideal | vs 1 in flight | "
          "client CPU ms/doc | finished |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    base = rows[0].docs_per_s
    for r in rows:
        print(f"| {r.in_flight} | {r.batch} | {r.docs} | {r.wall_s:.2f} | {r.docs_per_s:.1f} | "
              f"{r.docs_per_s / ideal:.2f} | {r.docs_per_s / base:.1f}x | {1000 * r.cpu_s / r.docs:.1f} | "
              f"{r.finished}/{r.docs} |")
    print(f"\nload average (1 min) before {before:.1f}, after {os.getloadavg()[0]:.1f}")
    return 0 if all(r.finished == r.docs for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
