"""End-to-end GPU-path throughput: documents through ``run_files`` (the ``ocrflow run`` path) against a vLLM of
fixed capacity, as a share of C/L, and the client's CPU per page.

bench_vllm_throughput measures the engine alone. A real run is documents: each scanned receipt is one spotting
request, then one extraction request (sequential within the document), then rules, coercion, validation and
the store write. The fake vLLM runs in its own process in sleep mode (capacity C concurrent requests of L
seconds each, extra ones queue; it answers spotting with one line and extraction with nulls, so every receipt
ends quarantined: the documents still go through every stage and the store) and reports its busy span (first
request to last completion). The documents are distinct scanned receipts (JPEG, 782 x 1096) made by the demo
generator; each run uses a fresh DuckDB file and no result cache.

Figures: requests/s over the busy span as a share of C/L (the deployment kept busy, the goal is >= 0.95), the
same over the whole run (start-up, discovery and Data Docs included), client CPU per page over the busy span
(this process, sampled every 50 ms) and over the whole run.

    .venv/bin/python -m benchmarks.bench_pipeline_vllm [--docs 256] [--at 16:1.0 --at 64:0.4]
        [--in-flight 0 --in-flight 32]   (0: derived from the capacity, as the settings do)
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_vllm_throughput import CpuSampler, fake_stats, parse_at, start_fake, stop_fake
from ocrflow.core.settings import load_settings
from ocrflow.demo import receipt_spec, save_receipt
from ocrflow.engines.vllm import make_vllm_engine
from ocrflow.run.files_work import run_files
from ocrflow.store.duckdb_store import DuckDBStore

REQUESTS_PER_DOC = 2  # spotting, then extraction


@dataclass(frozen=True)
class Row:
    capacity: int
    latency: float
    in_flight: int
    docs: int
    requests: int
    busy_s: float
    wall_s: float
    busy_cpu_s: float
    run_cpu_s: float
    finished: int

    @property
    def ideal(self) -> float:
        return self.capacity / self.latency

    @property
    def ratio(self) -> float:
        return self.requests / self.busy_s / self.ideal

    @property
    def run_ratio(self) -> float:
        return self.requests / self.wall_s / self.ideal


def make_receipts(folder: Path, n: int) -> None:
    rng = random.Random(7)
    for i in range(n):
        address = (f"{i} JALAN MAJU", "KUALA LUMPUR")
        spec = receipt_spec(rng, f"SHOP {i} SDN BHD", f"CO. REG {100000 + i}-X", address, "dmy", n_items=3)
        save_receipt(spec, folder / f"receipt_{i:04d}.jpg", seed=i)


def measure(inbox: Path, url: str, proc: subprocess.Popen[str], capacity: int, latency: float, in_flight: int,
            db: Path) -> Row:
    settings = load_settings(store=str(db), engine="vllm", vllm_url=url, contract="receipt",
                             documents_in_flight=in_flight, vllm_max_in_flight=capacity, vllm_cache=False)
    store = DuckDBStore(str(db))
    engine = make_vllm_engine(settings)
    fake_stats(proc)  # restart the fake's counters
    try:
        cpu0, t0 = time.process_time(), time.perf_counter()
        with CpuSampler() as sampler:
            summary = run_files([str(inbox)], settings, store, engine)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        engine.close()
        store.close()
    stats = fake_stats(proc)
    start, end = stats["first_request_at"], stats["last_completed_at"]
    c = summary.counts
    return Row(capacity, latency, settings.resolved_documents_in_flight(), c["documents"], int(stats["completed"]),
               end - start, wall, sampler.cpu_between(start, end), cpu, c["loaded"] + c["quarantined"])


def run_at(inbox: Path, work: Path, capacity: int, latency: float, in_flights: list[int]) -> list[Row]:
    proc, url = start_fake(capacity, latency)
    try:
        measure(inbox, url, proc, capacity, latency, 0, work / f"warm-{capacity}.duckdb")  # imports, GX, pools
        return [measure(inbox, url, proc, capacity, latency, k, work / f"run-{capacity}-{k}.duckdb")
                for k in in_flights]
    finally:
        stop_fake(proc)


def table(rows: list[Row]) -> str:
    lines = ["| C | L s | documents in flight | documents | requests | busy s | x C/L (busy span) | wall s "
             "| x C/L (whole run) | client CPU ms/page (busy span) | client CPU ms/page (whole run) | finished |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r.capacity} | {r.latency} | {r.in_flight} | {r.docs} | {r.requests} | {r.busy_s:.2f} "
              f"| **{r.ratio:.3f}** | {r.wall_s:.2f} | {r.run_ratio:.3f} | {1000 * r.busy_cpu_s / r.docs:.1f} "
              f"| {1000 * r.run_cpu_s / r.docs:.1f} | {r.finished}/{r.docs} |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=256)
    ap.add_argument("--at", type=parse_at, action="append", help="C:L (repeatable; default 16:1.0 and 64:0.4)")
    ap.add_argument("--in-flight", type=int, action="append",
                    help="documents_in_flight values (repeatable; 0 = derived from the capacity; default 0)")
    args = ap.parse_args()
    before = os.getloadavg()[0]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        inbox = work / "inbox"
        inbox.mkdir()
        make_receipts(inbox, args.docs)
        for capacity, latency in args.at or [(16, 1.0), (64, 0.4)]:
            rows += run_at(inbox, work, capacity, latency, args.in_flight or [0])
    print(f"{args.docs} one-page scanned receipts, {REQUESTS_PER_DOC} requests each; {os.cpu_count()} CPU cores, "
          f"load average (1 min) {before:.1f} before, {os.getloadavg()[0]:.1f} after\n")
    print(table(rows))
    for r in rows:
        print(f"\nC={r.capacity}, L={r.latency}, {r.in_flight} documents in flight: {r.ratio:.3f} of C/L over the "
              f"busy span ({'meets' if r.ratio >= 0.95 else 'misses'} the 0.95 goal)")
    return 0 if all(r.finished == r.docs for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
