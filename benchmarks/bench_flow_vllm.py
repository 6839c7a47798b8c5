"""The GPU path through the Prefect flow: ``process-documents`` against a vLLM of fixed capacity, as a share of C/L.

bench_pipeline_vllm measures the in-process path (``ocrflow run``). This script starts a real Prefect server on
loopback (SQLite, as ``prefect server start``), creates the fleet-wide limit ``vllm`` with C slots (one
deployment of capacity C), and runs the flow in this process over distinct scanned receipts (one spotting and
one extraction request each), documents in flight derived from the capacity (``OCRFLOW_VLLM_MAX_IN_FLIGHT`` =
C), two ways:
  * ``limit``: as deployed, the engine holds slots of ``vllm`` leased in chunks (flows/limiter.py),
  * ``no limit``: no fleet-wide limit handed in (the ceiling).

Figures as bench_pipeline_vllm's: requests/s over the fake's busy span as a share of C/L, the same over the
whole flow run, the client's CPU per page over the busy span (this process: the flow, its task runs and the
engine; the Prefect server is a process of its own).

    .venv/bin/python -m benchmarks.bench_flow_vllm [--docs 256] [--at 16:1.0 --at 64:0.4]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_pipeline_vllm import REQUESTS_PER_DOC, Row, make_receipts
from benchmarks.bench_vllm_throughput import CpuSampler, fake_stats, parse_at, start_fake, stop_fake

MODES = ("limit", "no limit")


def _engine_factory(mode: str) -> Any:
    from flows.runtime import flow_engine
    from ocrflow.engines import vllm

    if mode == "no limit":
        return lambda settings: vllm.make_vllm_engine(settings)  # no limiter handed in
    return flow_engine


def _flow_run(fp: Any, mode: str, inbox: Path, db: Path, proc: subprocess.Popen[str], capacity: int,
              latency: float) -> Row:
    from ocrflow.run.params import RunParams

    fp.flow_engine = _engine_factory(mode)
    fake_stats(proc)  # restart the fake's counters
    cpu0, t0 = time.process_time(), time.perf_counter()
    with CpuSampler() as sampler:
        state: Any = fp.process_documents(paths=[str(inbox)], options=RunParams(store=str(db), engine="vllm",
                                                                                contract="receipt"),
                                          return_state=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    out = state.result(raise_on_failure=False)
    stats = fake_stats(proc)
    start, end = stats["first_request_at"], stats["last_completed_at"]
    from ocrflow.core.settings import load_settings

    in_flight = load_settings().resolved_documents_in_flight()
    return Row(capacity, latency, in_flight, out["documents"], int(stats["completed"]), end - start, wall,
               sampler.cpu_between(start, end), cpu, out["loaded"] + out["quarantined"])


def run_at(fp: Any, server_url: str, work: Path, inbox: Path, capacity: int, latency: float) -> list[tuple[str, Row]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
    from prefect.settings import PREFECT_API_URL, temporary_settings

    proc, url = start_fake(capacity, latency)
    os.environ.update(OCRFLOW_VLLM_URL=url, OCRFLOW_VLLM_MAX_IN_FLIGHT=str(capacity), OCRFLOW_VLLM_CACHE="false")
    os.environ.pop("OCRFLOW_DOCUMENTS_IN_FLIGHT", None)
    rows = []
    try:
        with temporary_settings(updates={PREFECT_API_URL: server_url}):
            with get_client(sync_client=True) as client:
                try:
                    client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name="vllm", limit=capacity))
                except Exception:  # noqa: BLE001 - it exists from the other capacity: resize it
                    client.update_global_concurrency_limit("vllm", GlobalConcurrencyLimitUpdate(limit=capacity))
            _flow_run(fp, "limit", inbox, work / f"warm-{capacity}.duckdb", proc, capacity, latency)  # warm-up
            for mode in MODES:
                rows.append((mode, _flow_run(fp, mode, inbox, work / f"r-{capacity}-{mode}.duckdb", proc,
                                             capacity, latency)))
    finally:
        stop_fake(proc)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=256)
    ap.add_argument("--at", type=parse_at, action="append", help="C:L (repeatable; default 16:1.0 and 64:0.4)")
    args = ap.parse_args()
    import flows.process_documents as fp
    from tests.support.prefect_server import start_server

    before = os.getloadavg()[0]
    rows: list[tuple[str, Row]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = start_server(work / "prefect-home")
        inbox = work / "inbox"
        inbox.mkdir()
        make_receipts(inbox, args.docs)
        try:
            for capacity, latency in args.at or [(16, 1.0), (64, 0.4)]:
                rows += run_at(fp, server.url, work, inbox, capacity, latency)
        finally:
            server.close()
    print(f"process-documents flow in this process, Prefect server on loopback (SQLite), limit 'vllm' = C slots; "
          f"{args.docs} one-page receipts, {REQUESTS_PER_DOC} requests each; {os.cpu_count()} CPU cores, load "
          f"average (1 min) {before:.1f} before, {os.getloadavg()[0]:.1f} after\n")
    print("| C | L s | fleet limit | documents in flight | documents | busy s | x C/L (busy span) | wall s "
          "| x C/L (whole flow run) | client CPU ms/page (busy span) | client CPU ms/page (whole run) | finished |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for mode, r in rows:
        print(f"| {r.capacity} | {r.latency} | {mode} | {r.in_flight} | {r.docs} | {r.busy_s:.2f} | **{r.ratio:.3f}** "
              f"| {r.wall_s:.2f} | {r.run_ratio:.3f} | {1000 * r.busy_cpu_s / r.docs:.1f} "
              f"| {1000 * r.run_cpu_s / r.docs:.1f} | {r.finished}/{r.docs} |")
    return 0 if all(r.finished == r.docs for _, r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
