"""Load throughput: synthetic invoice rows into DuckDB and PostgreSQL, bulk vs row by row.

Each row is a clean invoice ``RowOutcome`` plus its ``documents`` upsert, written with
``Store.write_batch`` (one transaction per batch), so the numbers include everything a real
batch writes except pages. The row-by-row path (executemany) runs on a smaller sample and is
extrapolated; the output says so.

"rows/s" times ``write_batch`` only (the store); "end-to-end rows/s" adds the time this script
spends building the synthetic ``RowOutcome``/``Batch`` objects, which the pipeline builds anyway
(coercion/validation) but which is not store work.

    .venv/bin/python -m benchmarks.bench_load [--rows 100000] [--batch 10000] [--pg URL]

Goals: >= 100k rows/s into DuckDB, >= 20k rows/s into PostgreSQL (bulk path).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ocrflow.contracts import Contract, load_contracts
from ocrflow.core.models import DocState, DocumentRef, RowOutcome
from ocrflow.store.base import Batch, DocumentUpdate

GOALS = {"duckdb": 100_000.0, "postgres": 20_000.0}


@dataclass(frozen=True, slots=True)
class Result:
    store: str
    path: str
    rows: int
    seconds: float
    cpu_seconds: float
    build_seconds: float = 0.0
    """Building the synthetic RowOutcome and Batch objects for these rows (not timed in ``seconds``)."""
    checkpoint_seconds: float = 0.0
    """DuckDB: the explicit CHECKPOINT after the load (what ``close`` does; the store defers automatic
    checkpoints, so this is where folding the WAL into the file is paid). Not in ``seconds``."""

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")

    @property
    def rate_with_checkpoint(self) -> float:
        total = self.seconds + self.checkpoint_seconds
        return self.rows / total if total else float("inf")

    @property
    def end_to_end_rate(self) -> float:
        total = self.seconds + self.build_seconds
        return self.rows / total if total else float("inf")


def _value(kind: str, i: int) -> Any:
    if kind == "money":
        return Decimal(f"{i % 100000}.{i % 100:02d}")
    if kind == "date":
        return date(2020 + i % 5, 1 + i % 12, 1 + i % 28)
    if kind == "list":
        return [f"item {i}"]
    if kind in ("integer", "number"):
        return i
    if kind == "currency":
        return "EUR"
    return f"v{i}"


def synthetic_rows(contract: Contract, n: int, salt: str, start: int = 0) -> list[RowOutcome]:
    extracted = datetime(2024, 5, 1, 12, 0, 0)
    out = []
    for i in range(start, start + n):
        h = hashlib.sha256(f"{salt}:{i}".encode()).hexdigest()
        values = {f.name: _value(f.kind, i) for f in contract.fields}
        doc = DocumentRef(path=f"/in/{i}.pdf", sha256=h, mime="application/pdf", size_bytes=1000 + i)
        out.append(RowOutcome(doc=doc, contract=contract.name, contract_version=contract.version, values=values,
                              raw={"invoice_number": values.get("invoice_number")},
                              lineage={"page_numbers": [1], "engine": "bench", "model": "synthetic",
                                       "prompt_version": "p", "flow_run_id": "bench", "extracted_at": extracted}))
    return out


def make_batch(contract: Contract, start: int, size: int, salt: str) -> Batch:
    """Rows ``start .. start+size`` (deterministic: the same arguments give the same rows) as one Batch."""
    chunk = synthetic_rows(contract, size, salt, start)
    docs = [DocumentUpdate(o.doc.sha256, o.doc.path, o.doc.mime, o.doc.size_bytes, DocState.LOADED, pages=1,
                           contract=o.contract) for o in chunk]
    return Batch(run_id="bench", documents=docs, rows=chunk)


@dataclass(slots=True)
class Timing:
    seconds: float = 0.0
    cpu: float = 0.0
    build: float = 0.0


def timed_load(store: Any, contracts: dict[str, Contract], n: int, batch: int, salt: str, *, bulk: bool) -> Timing:
    """Build each batch (untimed), then time its ``write_batch``; only one batch is alive at a time.

    As in the pipeline, which hands the store one batch and drops it: holding all 100k synthetic
    rows at once made Python's full garbage collections walk millions of objects, which landed
    inside a timed write (0.3 s per gen-2 pass) and measured the benchmark's heap, not the store.
    CPU seconds are this process's (DuckDB's threads count, the PostgreSQL server not)."""
    store.bulk_threshold = 1 if bulk else 10**12
    inv = contracts["invoice"]
    t = Timing()
    for start in range(0, n, batch):
        t0 = time.perf_counter()
        work = make_batch(inv, start, min(batch, n - start), salt)
        t1, c1 = time.perf_counter(), time.process_time()
        store.write_batch(work, contracts)
        t.seconds += time.perf_counter() - t1
        t.cpu += time.process_time() - c1
        t.build += t1 - t0
        del work
    _, got = store.query("SELECT count(*) FROM invoice")
    if int(got[0][0]) < n:
        raise RuntimeError(f"expected at least {n} rows, found {got[0][0]}")
    return t


def bench_store(name: str, open_fresh: Any, contracts: dict[str, Contract], n: int, sample: int,
                batch: int) -> list[Result]:
    results = []
    for bulk, count in ((True, n), (False, sample)):
        store = open_fresh()
        try:
            store.init_schema(list(contracts.values()))
            salt = f"{name}-{bulk}"
            t = timed_load(store, contracts, count, min(batch, count), salt, bulk=bulk)
            ckpt = 0.0
            if bulk and hasattr(store, "checkpoint"):
                t0 = time.perf_counter()
                store.checkpoint()
                ckpt = time.perf_counter() - t0
            results.append(Result(name, "bulk" if bulk else "row-by-row", count, t.seconds, t.cpu, t.build, ckpt))
            if bulk:  # re-processing: the first batch again, every row and document already stored
                size = min(batch, count)
                again = timed_load(store, contracts, size, size, salt, bulk=True)
                results.append(Result(name, "bulk re-load (rows exist)", size, again.seconds, again.cpu))
        finally:
            store.close()
    return results


def run(n: int, batch: int, pg_url: str | None, duck_sample: int, pg_sample: int) -> list[Result]:
    import pandas  # noqa: F401  (imported once here, as in the pipeline, so that the first timed batch does not
    import pyarrow  # noqa: F401  pay for it: pyarrow's first conversion imports pandas, ~0.2 s once per process)

    from ocrflow.store.duckdb_store import DuckDBStore

    contracts = load_contracts()
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        files = iter(range(10))
        results += bench_store("duckdb", lambda: DuckDBStore(str(Path(tmp) / f"b{next(files)}.duckdb")), contracts,
                               n, duck_sample, batch)
    if pg_url:
        results += _bench_postgres(pg_url, contracts, n, batch, pg_sample)
    return results


def _bench_postgres(url: str, contracts: dict[str, Contract], n: int, batch: int, sample: int) -> list[Result]:
    import psycopg
    from psycopg import sql

    from ocrflow.store.postgres_store import PostgresStore

    schemas: list[str] = []

    def fresh() -> PostgresStore:
        schemas.append(f"ocrflow_bench_{uuid.uuid4().hex[:8]}")
        return PostgresStore(url, schema=schemas[-1])

    try:
        return bench_store("postgres", fresh, contracts, n, sample, batch)
    finally:
        with psycopg.connect(url, autocommit=True) as con:
            for s in schemas:
                con.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(s)))


def table(results: list[Result], n: int) -> str:
    lines = ["| store | path | rows timed | seconds | rows/s | rows per client CPU-s | time for 100k rows | "
             "build s | end-to-end rows/s | checkpoint s | rows/s incl. checkpoint | goal (rows/s) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        note = f" (sample of {r.rows:,}, extrapolated)" if r.rows < n and r.path == "row-by-row" else ""
        goal = GOALS[r.store]
        verdict = (f">= {goal:,.0f}/s: {'met' if r.rate >= goal else 'NOT met'}" if r.path == "bulk" else "")
        build = f"{r.build_seconds:.2f} | {r.end_to_end_rate:,.0f}" if r.build_seconds else "– | –"
        ckpt = f"{r.checkpoint_seconds:.2f} | {r.rate_with_checkpoint:,.0f}" if r.checkpoint_seconds else "– | –"
        lines.append(f"| {r.store} | {r.path} | {r.rows:,} | {r.seconds:.2f} | {r.rate:,.0f} | "
                     f"{r.rows / max(r.cpu_seconds, 1e-9):,.0f} | {100_000 / r.rate:.1f} s{note} | "
                     f"{build} | {ckpt} | {verdict} |")
    for store in dict.fromkeys(r.store for r in results):
        by = {r.path: r for r in results if r.store == store}
        if {"bulk", "row-by-row"} <= set(by):
            lines.append(f"\n{store}: bulk / row-by-row = {by['bulk'].rate / by['row-by-row'].rate:.0f}x")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=10_000, help="rows per write_batch (one transaction each)")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test",
                    help="PostgreSQL URL ('' to skip PostgreSQL)")
    ap.add_argument("--duck-sample", type=int, default=500, help="rows for the row-by-row DuckDB run")
    ap.add_argument("--pg-sample", type=int, default=10_000, help="rows for the row-by-row PostgreSQL run")
    args = ap.parse_args()
    before = os.getloadavg()[0]
    results = run(args.rows, args.batch, args.pg or None, args.duck_sample, args.pg_sample)
    print(table(results, args.rows))
    print(f"\nload average (1 min) before {before:.1f}, after {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
