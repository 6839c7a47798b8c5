"""What the Prefect flow costs on top of a plain run: ``ocrflow run`` vs ``ocrflow run --prefect``.

N generated one-page digital invoices (ocrflow.demo's generator, distinct numbers and parties), the
embedded engine, a fresh DuckDB file per run. Both paths run as the CLI in a new process (process start,
imports, discovery, Data Docs: everything), interleaved plain / flow, against one real Prefect server on
loopback (``prefect server start``, SQLite, as tests/integration/prefect_server.py). Per flow run it reads
from the server the task runs and events the run created (deltas of the server's totals: the server serves
nothing else) and the server's CPU seconds (/proc, the server's process group).

    .venv/bin/python -m benchmarks.bench_flow_overhead [--docs 1000] [--rounds 2] [--tree DIR]

``--tree DIR`` runs the CLI from another checkout of the repository (``git archive COMMIT | tar -x -C DIR``),
e.g. the commit before a change, with this venv: an A/B of two commits on the same box.

Prints one row per run, then the overhead of the flow (median wall of the flow runs / median of the plain
runs - 1), task runs and events per 1,000 documents and server CPU per document.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).parent / "ocrflow"


def make_invoices(folder: Path, n: int, seed: int = 1) -> list[Path]:
    """``n`` distinct one-page digital invoices (4 items each) from the demo generator."""
    from ocrflow.demo.invoice_pdf import render_invoice_pdf
    from ocrflow.demo.invoice_spec import english_invoice

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    out = []
    for i in range(n):
        spec = english_invoice(rng, n_items=4, currency="GBP", country="GB", seller=f"Seller {i % 97} Ltd",
                               buyer=f"Buyer {i % 89} LLP", prefix=f"B{i:05d}")
        out.append(folder / f"inv{i:05d}.pdf")
        render_invoice_pdf(spec, out[-1])
    return out


def _post(url: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def server_totals(api: str) -> tuple[int, int]:
    """(task runs, events) the server holds now."""
    task_runs = int(_post(f"{api}/task_runs/count", {}))
    events = int(_post(f"{api}/events/filter", {"filter": {"occurred": {"since": "2000-01-01T00:00:00Z"}},
                                                 "limit": 1})["total"])
    return task_runs, events


def settled_totals(api: str, quiet_s: float = 3.0, timeout_s: float = 60.0) -> tuple[int, int]:
    """The server's totals once they stop moving (events are persisted in the background)."""
    last, deadline = server_totals(api), time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = server_totals(api)
        if now == last:
            return now
        last = now
    return last


def group_cpu_s(pgid: int) -> float:
    """User + system CPU seconds of every live process in process group ``pgid`` (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after "(comm)": state ppid pgrp ...; utime, stime are 14, 15
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def run_cli(inbox: Path, db: Path, env: dict[str, str], prefect: bool, tree: Path) -> tuple[float, dict[str, Any]]:
    args = [str(CLI), "run", str(inbox), "--db", str(db), "--engine", "embedded", "--json", "--max-failed", "100%"]
    t0 = time.perf_counter()
    proc = subprocess.run([*args, "--prefect"] if prefect else args, cwd=tree, env=env, text=True,
                          capture_output=True, timeout=3600, check=False)
    wall = time.perf_counter() - t0
    try:
        start = proc.stdout.index("{")
        out: dict[str, Any] = json.loads(proc.stdout[start:])
    except ValueError:
        raise RuntimeError(f"exit {proc.returncode}: {proc.stdout[-2000:]}\n{proc.stderr[-3000:]}") from None
    return wall, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--tree", type=Path, default=REPO, help="checkout whose CLI runs (default: this one)")
    args = ap.parse_args()
    tree = args.tree.resolve()
    from tests.integration.prefect_server import start_server

    before = os.getloadavg()[0]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        make_invoices(work / "inbox", args.docs)
        print(f"{args.docs} invoices generated in {time.perf_counter() - t0:.0f} s; CLI from {tree}", flush=True)
        server = start_server(work / "prefect-home")
        env = {**server.env, "PYTHONPATH": str(tree)}  # PREFECT_LOGGING_LEVEL=INFO, as a deployment logs
        try:
            for r in range(args.rounds):
                for prefect in (False, True):
                    kind = "flow" if prefect else "plain"
                    runs0, events0 = settled_totals(server.url)
                    cpu0 = group_cpu_s(server.proc.pid)
                    wall, out = run_cli(work / "inbox", work / f"{kind}{r}.duckdb", env, prefect, tree)
                    cpu1 = group_cpu_s(server.proc.pid)
                    runs1, events1 = settled_totals(server.url)
                    rows.append({"kind": kind, "wall": wall, "out": out, "task_runs": runs1 - runs0,
                                 "events": events1 - events0, "server_cpu": cpu1 - cpu0})
                    done = out.get("loaded", 0) + out.get("quarantined", 0)
                    print(f"round {r + 1} {kind:5s}: {wall:6.1f} s, {done}/{out.get('documents')} final, "
                          f"{runs1 - runs0} task runs, {events1 - events0} events, "
                          f"server CPU {cpu1 - cpu0:.1f} s", flush=True)
        finally:
            server.close()
    report(rows, args.docs, before)
    return 0


def report(rows: list[dict[str, Any]], docs: int, load_before: float) -> None:
    plain = [r["wall"] for r in rows if r["kind"] == "plain"]
    flow = [r for r in rows if r["kind"] == "flow"]
    base, with_flow = statistics.median(plain), statistics.median(r["wall"] for r in flow)
    per_k = 1000 / docs
    print(f"\n{docs} one-page digital invoices, embedded engine, {os.cpu_count()} CPU cores; "
          f"load average (1 min) before {load_before:.1f}, after {os.getloadavg()[0]:.1f}\n")
    print("| path | wall s (runs) | median | overhead | task runs / 1k docs | events / 1k docs | "
          "server CPU ms / doc |")
    print("|---|---|---:|---:|---:|---:|---:|")
    print(f"| `ocrflow run` | {' / '.join(f'{w:.1f}' for w in plain)} | {base:.1f} | | | | |")
    flow_walls = " / ".join(f"{r['wall']:.1f}" for r in flow)
    print(f"| `ocrflow run --prefect` | {flow_walls} | {with_flow:.1f} | "
          f"{100 * (with_flow / base - 1):+.0f}% | {statistics.median(r['task_runs'] for r in flow) * per_k:.0f} | "
          f"{statistics.median(r['events'] for r in flow) * per_k:.0f} | "
          f"{1000 * statistics.median(r['server_cpu'] for r in flow) / docs:.1f} |")


if __name__ == "__main__":
    raise SystemExit(main())
