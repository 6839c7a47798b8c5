"""The cost of one pipeline-sized batch write as the store grows: ``write_batch`` of 16 documents at 0 / 100k / 1M.

The store is filled in bulk (10,000-document batches: ``documents``, the invoice rows, one page each, two
evidence rows each, their paths), sellers drawn from a small pool so that many rows share a VAT id (the
duplicate check's worst case before it looked up keys). At each size the timed batch is what a run
writes: documents registered pending first (as the run's plan does), then ``write_batch`` of 16 new
documents with a page, an invoice row, 12 evidence rows and a path each. Printed per size: write_batch
ms (median, p95), its CPU ms (this process, DuckDB's threads included: steadier than the wall on a shared
box) and the duplicate check's share (``mark_duplicates``, timed inside the transaction).

    .venv/bin/python -m benchmarks.bench_store_writes [--sizes 0,100000,1000000] [--repeat 15] [--pg URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.bench_load import synthetic_rows
from ocrflow.contracts import Contract, load_contracts
from ocrflow.core.evidence import EvidenceRow
from ocrflow.core.models import DocState, Line, PagePath, PageText, RowOutcome
from ocrflow.store import writer
from ocrflow.store.base import Batch, DocumentUpdate, Store

SELLERS = 40
FILL_BATCH = 10_000
TIMED_DOCS = 16


def _page(i: int) -> PageText:
    lines = tuple(Line(f"line {k} of document {i}", (10.0, 20.0 * k, 400.0, 20.0 * k + 14)) for k in range(8))
    return PageText(page_no=1, width=1240, height=1754, lines=lines, path=PagePath.TEXT_LAYER, engine="bench",
                    model="synthetic")


def _evidence(o: RowOutcome, fields: list[str]) -> list[EvidenceRow]:
    return [EvidenceRow(o.doc.sha256, o.contract, f, str(o.values.get(f)), None, "text_layer", "label", 0.9,
                        "exact", page_no=1, bbox=(1.0, 2.0, 3.0, 4.0), page_width=1240, page_height=1754)
            for f in fields]


def make_batch(contract: Contract, start: int, size: int, salt: str, evidence_fields: list[str]) -> Batch:
    """``size`` clean invoices from ``start``: each with its page, evidence and path; sellers share VAT ids."""
    rows = synthetic_rows(contract, size, salt, start)
    for o in rows:
        n = int(o.doc.path.split("/")[-1].split(".")[0])
        o.values["seller_tax_id"] = f"DE{100000000 + n % SELLERS}"
        o.values["invoice_number"] = f"INV-{salt}-{n}"
    docs = [DocumentUpdate(o.doc.sha256, o.doc.path, o.doc.mime, o.doc.size_bytes, DocState.LOADED, pages=1,
                           contract=o.contract) for o in rows]
    return Batch(run_id=salt, documents=docs, rows=rows, pages=[(o.doc.sha256, _page(i)) for i, o in enumerate(rows)],
                 paths=[(o.doc.sha256, o.doc.path, None) for o in rows],
                 evidence=[e for o in rows for e in _evidence(o, evidence_fields)])


def pending(batch: Batch) -> list[DocumentUpdate]:
    return [DocumentUpdate(d.sha256, d.path, d.mime, d.size_bytes, DocState.PENDING) for d in batch.documents]


@contextmanager
def timed_duplicate_check(spent: list[float]) -> Iterator[None]:
    """Time ``mark_duplicates`` as the batch writer calls it (inside the write transaction)."""
    inner = writer.mark_duplicates

    def timed(*args: Any) -> int:
        t0 = time.perf_counter()
        try:
            return inner(*args)
        finally:
            spent.append(time.perf_counter() - t0)

    writer.mark_duplicates = timed  # type: ignore[assignment]
    try:
        yield
    finally:
        writer.mark_duplicates = inner  # type: ignore[assignment]


def fill(store: Store, contracts: dict[str, Contract], start: int, stop: int) -> float:
    t0 = time.perf_counter()
    inv = contracts["invoice"]
    for at in range(start, stop, FILL_BATCH):
        batch = make_batch(inv, at, min(FILL_BATCH, stop - at), "fill", ["invoice_number", "total_amount"])
        store.write_batch(batch, contracts)
    return time.perf_counter() - t0


def time_writes(store: Store, contracts: dict[str, Contract], size: int, repeat: int) -> dict[str, float]:
    inv = contracts["invoice"]
    fields = [f.name for f in inv.fields][:12]
    walls: list[float] = []
    cpus: list[float] = []
    dup: list[float] = []
    with timed_duplicate_check(dup):
        for r in range(repeat + 2):  # two warm-up batches
            batch = make_batch(inv, size * 10 + r * TIMED_DOCS, TIMED_DOCS, f"t{size}", fields)
            store.register(pending(batch), batch.run_id)
            t0, c0 = time.perf_counter(), time.process_time()
            store.write_batch(batch, contracts)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
    walls, cpus, dup = walls[2:], cpus[2:], dup[2:]
    q = statistics.quantiles(walls, n=20) if len(walls) > 1 else walls * 19
    return {"p50": statistics.median(walls) * 1e3, "p95": q[18] * 1e3, "dup": statistics.median(dup) * 1e3,
            "cpu": statistics.median(cpus) * 1e3}


def run(name: str, open_store: Callable[[], Store], sizes: list[int], repeat: int) -> list[str]:
    import pandas  # noqa: F401  (as in the pipeline: pyarrow's first conversion would import it inside a timing)

    contracts = load_contracts()
    store = open_store()
    out = []
    try:
        store.init_schema(list(contracts.values()))
        have = 0
        for size in sizes:
            took = fill(store, contracts, have, size)
            have = size
            t = time_writes(store, contracts, size, repeat)
            out.append(f"| {name} | {size:>9,} | {t['p50']:.1f} | {t['p95']:.1f} | {t['cpu']:.1f} | {t['dup']:.2f} | "
                       f"{took:.0f} |")
            print(out[-1], flush=True)
    finally:
        store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="0,100000,1000000", help="stored invoices at which to time (ascending)")
    ap.add_argument("--repeat", type=int, default=15, help="timed batches per size")
    ap.add_argument("--pg", default="", help="also PostgreSQL at this URL (a throw-away schema)")
    ap.add_argument("--skip-duckdb", action="store_true")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    before = os.getloadavg()[0]
    print(f"write_batch({TIMED_DOCS}) as the store grows; {datetime.now():%Y-%m-%d %H:%M}")
    print("| store | stored invoices | write_batch ms p50 | p95 | CPU ms p50 | duplicate check ms p50 | fill s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_duckdb:
            from ocrflow.store.duckdb_store import DuckDBStore

            run("duckdb", lambda: DuckDBStore(str(Path(tmp) / "writes.duckdb")), sizes, args.repeat)
    if args.pg:
        _postgres(args.pg, sizes, args.repeat)
    print(f"load average (1 min) before {before:.1f}, after {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def _postgres(url: str, sizes: list[int], repeat: int) -> None:
    import psycopg
    from psycopg import sql

    from ocrflow.store.postgres_store import PostgresStore

    schema = f"ocrflow_bench_{uuid.uuid4().hex[:8]}"
    try:
        run("postgres", lambda: PostgresStore(url, schema=schema), sizes, repeat)
    finally:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


if __name__ == "__main__":
    main()
