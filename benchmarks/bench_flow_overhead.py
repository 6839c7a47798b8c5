"""What the Prefect flow costs on top of a plain run: ``ocrflow run`` vs ``ocrflow run --prefect``.

N generated one-page digital invoices (ocrflow.demo's generator, distinct numbers and parties), the
embedded engine, a fresh DuckDB file per run. Both paths run as the CLI in a new process (process start,
imports, discovery, Data Docs: everything), interleaved plain / flow, against one real Prefect server on
loopback (``prefect server start``, SQLite, as tests/support/prefect_server.py). Per flow run it reads
from the server the task runs and events the run created (deltas of the server's totals: the server serves
nothing else) and the server's CPU seconds (/proc, the server's process group).

    .venv/bin/python -m benchmarks.bench_flow_overhead [--docs 1000] [--rounds 2] [--tree DIR ...]

``--tree DIR`` runs the CLI from another checkout of the repository (``git archive COMMIT | tar -x -C DIR``),
e.g. the commit before a change, with this venv; given twice, each round runs plain and flow of both trees
in turn (an interleaved A/B of two commits on the same box).

Besides wall time it records CPU seconds: the CLI process's own (user + system, from getrusage of the
waited-for child) and the server's. On a shared box wall time moves with the other jobs; CPU seconds much
less, so the CPU overhead ((flow CPU + server CPU) / plain CPU - 1) is the steadier figure.

Prints one row per run, then the overhead of the flow (median wall of the flow runs / median of the plain
runs - 1), task runs and events per 1,000 documents and server CPU per document.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
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


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_cli(inbox: Path, db: Path, env: dict[str, str], prefect: bool,
            tree: Path) -> tuple[float, float, dict[str, Any]]:
    """(wall s, CPU s of the CLI process, its JSON summary)."""
    args = [str(CLI), "run", str(inbox), "--db", str(db), "--engine", "embedded", "--json", "--max-failed", "100%"]
    t0, cpu0 = time.perf_counter(), _children_cpu_s()
    proc = subprocess.run([*args, "--prefect"] if prefect else args, cwd=tree, env=env, text=True,
                          capture_output=True, timeout=3600, check=False)
    wall, cpu = time.perf_counter() - t0, _children_cpu_s() - cpu0
    try:
        start = proc.stdout.index("{")
        out: dict[str, Any] = json.loads(proc.stdout[start:])
    except ValueError:
        raise RuntimeError(f"exit {proc.returncode}: {proc.stdout[-2000:]}\n{proc.stderr[-3000:]}") from None
    return wall, cpu, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--tree", type=Path, action="append", help="checkout whose CLI runs (default: this one); "
                                                               "twice: an interleaved A/B")
    args = ap.parse_args()
    trees = [t.resolve() for t in (args.tree or [REPO])]
    from tests.support.prefect_server import start_server

    before = os.getloadavg()[0]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        make_invoices(work / "inbox", args.docs)
        print(f"{args.docs} invoices generated in {time.perf_counter() - t0:.0f} s; CLI from "
              f"{', '.join(map(str, trees))}", flush=True)
        server = start_server(work / "prefect-home")
        try:
            for r in range(args.rounds):
                for tree in trees:
                    env = {**server.env, "PYTHONPATH": str(tree)}  # PREFECT_LOGGING_LEVEL=INFO, as deployed
                    for prefect in (False, True):
                        rows.append(one_run(server, work, env, tree, prefect, r))
        finally:
            server.close()
    for tree in trees:
        report([row for row in rows if row["tree"] == tree], args.docs, before, tree)
    return 0


def one_run(server: Any, work: Path, env: dict[str, str], tree: Path, prefect: bool, r: int) -> dict[str, Any]:
    kind = "flow" if prefect else "plain"
    runs0, events0 = settled_totals(server.url)
    cpu0 = group_cpu_s(server.proc.pid)
    wall, cpu, out = run_cli(work / "inbox", work / f"{tree.name}-{kind}{r}.duckdb", env, prefect, tree)
    cpu1 = group_cpu_s(server.proc.pid)
    runs1, events1 = settled_totals(server.url)
    done = out.get("loaded", 0) + out.get("quarantined", 0)
    print(f"round {r + 1} {tree.name} {kind:5s}: {wall:6.1f} s wall, {cpu:6.1f} s CPU, {done}/{out.get('documents')}"
          f" final, {runs1 - runs0} task runs, {events1 - events0} events, server CPU {cpu1 - cpu0:.1f} s",
          flush=True)
    return {"tree": tree, "kind": kind, "wall": wall, "cpu": cpu, "out": out, "task_runs": runs1 - runs0,
            "events": events1 - events0, "server_cpu": cpu1 - cpu0}


def report(rows: list[dict[str, Any]], docs: int, load_before: float, tree: Path) -> None:
    plain = [r for r in rows if r["kind"] == "plain"]
    flow = [r for r in rows if r["kind"] == "flow"]

    def med(items: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(r[key] for r in items))

    per_k = 1000 / docs
    flow_cpu = med(flow, "cpu") + med(flow, "server_cpu") - med(plain, "server_cpu")  # the server idles too
    print(f"\n{tree}: {docs} one-page digital invoices, embedded engine, {os.cpu_count()} CPU cores; "
          f"load average (1 min) before {load_before:.1f}, after {os.getloadavg()[0]:.1f}\n")
    print("| path | wall s (runs) | median wall | wall overhead | CPU s (client + server) | CPU overhead | "
          "task runs / 1k docs | events / 1k docs | server CPU ms / doc |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    walls = {kind: " / ".join(f"{r['wall']:.1f}" for r in items) for kind, items in (("plain", plain), ("flow", flow))}
    print(f"| `ocrflow run` | {walls['plain']} | {med(plain, 'wall'):.1f} | | "
          f"{med(plain, 'cpu'):.1f} | | | | |")
    print(f"| `ocrflow run --prefect` | {walls['flow']} | {med(flow, 'wall'):.1f} | "
          f"{100 * (med(flow, 'wall') / med(plain, 'wall') - 1):+.0f}% | {flow_cpu:.1f} | "
          f"{100 * (flow_cpu / med(plain, 'cpu') - 1):+.0f}% | {med(flow, 'task_runs') * per_k:.0f} | "
          f"{med(flow, 'events') * per_k:.0f} | "
          f"{1000 * (med(flow, 'server_cpu') - med(plain, 'server_cpu')) / docs:.1f} |")


if __name__ == "__main__":
    raise SystemExit(main())
