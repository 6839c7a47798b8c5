"""DuckDB load rate as the file grows: 1M synthetic invoice rows into one file, 10,000-row batches.

Prints rows/s per 100k-row segment (``write_batch`` only, as bench_load), then, on the full file:
a re-load of 10,000 stored rows, ``key_problems()`` (the end-of-run key check) and the CHECKPOINT.
``--keyed`` creates ``documents`` and the clean tables with PRIMARY KEYs (the layout before
KEYS_BY_CONSTRAINT) for an A/B on the same code.

    .venv/bin/python -m benchmarks.bench_load_growth [--rows 1000000] [--batch 10000] [--keyed]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from benchmarks.bench_load import make_batch
from ocrflow.contracts import load_contracts
from ocrflow.store import schema
from ocrflow.store.duckdb_store import DuckDBStore

SEGMENT = 100_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--keyed", action="store_true", help="PRIMARY KEYs on documents and clean tables (A/B)")
    args = ap.parse_args()
    import pandas  # noqa: F401  (as in the pipeline; pyarrow's first conversion would import it)

    schema.KEYS_BY_CONSTRAINT["duckdb"] = args.keyed
    contracts = load_contracts()
    inv = contracts["invoice"]
    before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(str(Path(tmp) / "grow.duckdb"))
        store.init_schema(list(contracts.values()))
        store.bulk_threshold = 1
        total = segment = 0.0
        for start in range(0, args.rows, args.batch):
            work = make_batch(inv, start, min(args.batch, args.rows - start), "grow")
            t0 = time.perf_counter()
            store.write_batch(work, contracts)
            took = time.perf_counter() - t0
            total, segment = total + took, segment + took
            done = start + len(work.rows)
            if done % SEGMENT == 0 or done == args.rows:
                print(f"rows {done - SEGMENT + 1:>9,} - {done:>9,}: {SEGMENT / segment:>9,.0f} rows/s")
                segment = 0.0
        print(f"all {args.rows:,} rows: {args.rows / total:,.0f} rows/s ({'keyed' if args.keyed else 'no keys'})")
        again = make_batch(inv, 0, args.batch, "grow")
        t0 = time.perf_counter()
        store.write_batch(again, contracts)
        print(f"re-load of {args.batch:,} stored rows: {time.perf_counter() - t0:.3f} s")
        t0 = time.perf_counter()
        problems = store.key_problems()
        print(f"key_problems(): {problems or 'none'} in {time.perf_counter() - t0:.3f} s")
        t0 = time.perf_counter()
        store.checkpoint()
        print(f"CHECKPOINT: {time.perf_counter() - t0:.2f} s")
        store.close()
    print(f"load average (1 min) before {before:.1f}, after {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
