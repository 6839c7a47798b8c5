"""The Prefect flow's GPU path: documents/s through ``process-documents`` against a vLLM of fixed capacity,
by how requests occupy the fleet-wide Prefect global concurrency limit ``vllm``.

bench_pipeline_vllm measures the in-process path. The flow adds Prefect task runs per document and,
for vLLM, the fleet-wide limit. This script starts a real Prefect server on loopback (SQLite, as
``prefect server start``), creates the limit ``vllm`` with 64 slots, and runs the flow over the same
scanned receipts three ways:
  * ``per request``: one slot occupied and given back around every request (what the engine did
    before ocrflow.engines.vllm.gcl: that code, patched in),
  * ``chunked``: the engine's ChunkedLimit (chunks of 8 held while busy),
  * ``no limit``: no fleet-wide limit at all (the ceiling).

    .venv/bin/python -m benchmarks.bench_flow_vllm [--docs 96] [--in-flight 32] [--capacity 32] [--latency 0.4]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_pipeline_vllm import REQUESTS_PER_DOC, make_receipts
from benchmarks.bench_vllm_throughput import start_fake

MODES = ("per request", "chunked", "no limit", "per request", "chunked", "no limit")


def _per_request_gcl(self: Any) -> Any:
    """What VllmEngine._gcl did before ChunkedLimit: occupy one slot around every request."""
    from prefect.concurrency.asyncio import concurrency

    return concurrency("vllm", occupy=1)


def _engine_factory(mode: str, chunked_gcl: Any) -> Any:
    from flows.runtime import flow_engine
    from ocrflow.engines import vllm

    vllm.VllmEngine._gcl = _per_request_gcl if mode == "per request" else chunked_gcl  # type: ignore[method-assign]
    if mode == "no limit":
        return lambda settings: vllm.make_vllm_engine(settings)  # no limiter handed in
    return flow_engine


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=96)
    ap.add_argument("--in-flight", type=int, default=32)
    ap.add_argument("--capacity", type=int, default=32)
    ap.add_argument("--latency", type=float, default=0.4)
    args = ap.parse_args()
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.settings import PREFECT_API_URL, temporary_settings

    import flows.process_documents as fp
    from ocrflow.engines.vllm import VllmEngine
    from ocrflow.run.params import RunParams
    from tests.integration.prefect_server import start_server

    chunked_gcl = VllmEngine._gcl

    before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = start_server(work / "prefect-home")
        proc, url = start_fake(args.capacity, args.latency)
        inbox = work / "inbox"
        inbox.mkdir()
        make_receipts(inbox, args.docs)
        os.environ.update(OCRFLOW_VLLM_URL=url, OCRFLOW_DOCUMENTS_IN_FLIGHT=str(args.in_flight),
                          OCRFLOW_VLLM_CACHE="false")
        try:
            with temporary_settings(updates={PREFECT_API_URL: server.url}):
                with get_client(sync_client=True) as client:
                    client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name="vllm", limit=64))
                for i, mode in enumerate(("warm-up", *MODES)):
                    fp.flow_engine = _engine_factory("chunked" if mode == "warm-up" else mode, chunked_gcl)
                    t0 = time.perf_counter()
                    options = RunParams(store=str(work / f"r{i}.duckdb"), engine="vllm", contract="receipt")
                    state: Any = fp.process_documents(paths=[str(inbox)], options=options, return_state=True)
                    wall = time.perf_counter() - t0
                    out = state.result(raise_on_failure=False)
                    if mode != "warm-up":
                        rows.append((mode, out["documents"], wall, out["loaded"] + out["quarantined"]))
        finally:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=15)
            server.close()
    ideal = args.capacity / args.latency / REQUESTS_PER_DOC
    print(f"process-documents flow, Prefect server on loopback (SQLite), limit 'vllm' = 64 slots; fake vLLM "
          f"C={args.capacity}, L={args.latency} s (ideal {ideal:.0f} documents/s); {args.docs} one-page receipts, "
          f"{args.in_flight} documents in flight; {os.cpu_count()} CPU cores\n")
    print("| fleet limit | documents | wall s (whole flow run) | documents/s | finished |")
    print("|---|---:|---:|---:|---:|")
    for mode, docs, wall, finished in rows:
        print(f"| {mode} | {docs} | {wall:.1f} | {docs / wall:.1f} | {finished}/{docs} |")
    print(f"\nload average (1 min) before {before:.1f}, after {os.getloadavg()[0]:.1f}")
    return 0 if all(f == d for _, d, _, f in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
