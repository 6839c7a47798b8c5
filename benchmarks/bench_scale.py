"""Cost per document as a run grows: ``ocrflow run`` on 1k, 4k, 16k ... one-page digital invoices, end to end.

Each run is the CLI in a new process (process start, imports, discovery, processing, validation, writes,
Data Docs, the key check and the close: everything), on a fresh DuckDB file, embedded engine, the default
batch size. Then the same command again on the same file (the re-run: every document already final).
Per run it records the wall time, the CPU seconds of that process (user + system, ``os.wait4``), its peak
resident memory (``ru_maxrss``) and its resident memory sampled every 0.5 s (``/proc/PID/status``), the
size of the Data Docs folder beside the file, and the ``seconds`` the CLI printed.

The invoices come from ocrflow.demo's generator (bench_flow_overhead.make_invoices: distinct numbers, 97
sellers, so business keys share seller ids), made once into ``--cache`` and hard-linked into one inbox
per size.

    .venv/bin/python -m benchmarks.bench_scale [--docs 1000 4000 16000] [--tree DIR] [--no-rerun] [--json F]
                                               [--small 24]

``--small N`` first makes two runs of N documents each (two distinct sets, one store) and prints the size of
the Data Docs folder after each: the issue's "<= 8 MB after two runs of 24 documents" (0: skip).

``--tree DIR`` runs the CLI from another checkout with this venv (``git worktree add /tmp/before COMMIT``):
the "before" of a change, measured on the same box.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).parent / "ocrflow"


def inbox(cache: Path, folder: Path, n: int) -> Path:
    """A folder with the first ``n`` cached invoices (hard links), generating the missing ones."""
    from benchmarks.bench_flow_overhead import make_invoices

    cache.mkdir(parents=True, exist_ok=True)
    have = len(list(cache.glob("inv*.pdf")))
    if have < n:
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            made = make_invoices(Path(tmp), n)
            for p in made[have:]:
                os.replace(p, cache / p.name)
        print(f"generated {n - have} invoices in {time.perf_counter() - t0:.0f} s", flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        name = f"inv{i:05d}.pdf"
        if not (folder / name).exists():
            os.link(cache / name, folder / name)
    return folder


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def folder_mb(path: Path) -> float:
    if not path.exists():
        return 0.0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def run_cli(folder: Path, db: Path, tree: Path, env: dict[str, str]) -> dict[str, Any]:
    """One ``ocrflow run`` process: wall, CPU, peak and sampled RSS, its JSON summary."""
    args = [str(CLI), "run", str(folder), "--db", str(db), "--engine", "embedded", "--json", "--max-failed", "100%"]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, cwd=tree, env=env, stdout=out, stderr=err, text=True)
        samples: list[tuple[float, float]] = []
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.5):
                mb = rss_mb(proc.pid)
                if mb is not None:
                    samples.append((time.perf_counter() - t0, mb))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errors = out.read(), err.read()
    try:
        summary: dict[str, Any] = json.loads(text[text.index("{"):])
    except ValueError:
        raise RuntimeError(f"exit {proc.returncode}: {text[-2000:]}\n{errors[-3000:]}") from None
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024,
            "rss": samples, "summary": summary, "exit": proc.returncode,
            "data_docs_mb": folder_mb(db.parent / "data_docs")}


def small_runs(tree: Path, n: int, cache: Path, work: Path) -> dict[str, Any]:
    """Two runs of ``n`` documents (invoices 0..n-1, then n..2n-1) into one store: Data Docs MB after each."""
    inbox(cache, work / "small-all", 2 * n)
    db_dir = work / f"{tree.name}-small-{n}"
    db_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tree), "OCRFLOW_STORE": str(db_dir / "store.duckdb")}
    env.pop("OCRFLOW_METRICS_PORT", None)
    sizes, walls = [], []
    for part in range(2):
        folder = work / f"small-{tree.name}-{part}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(part * n, (part + 1) * n):
            os.link(cache / f"inv{i:05d}.pdf", folder / f"inv{i:05d}.pdf")
        got = run_cli(folder, db_dir / "store.duckdb", tree, env)
        sizes.append(got["data_docs_mb"])
        walls.append(got["wall_s"])
    print(f"{tree.name}: Data Docs after two runs of {n} documents: {sizes[1]:.2f} MB (after the first: "
          f"{sizes[0]:.2f} MB; wall {walls[0]:.1f} s, {walls[1]:.1f} s)", flush=True)
    return {"tree": str(tree), "small": n, "data_docs_mb": sizes, "wall_s": walls}


def rss_at(samples: list[tuple[float, float]], share: float, wall: float) -> float:
    """Resident MB at ``share`` of the run's wall time (the last sample before it)."""
    before = [mb for t, mb in samples if t <= share * wall]
    return before[-1] if before else 0.0


def measure(tree: Path, n: int, cache: Path, work: Path, rerun: bool) -> dict[str, Any]:
    folder = inbox(cache, work / f"inbox-{n}", n)
    db_dir = work / f"{tree.name}-{n}"
    db_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tree), "OCRFLOW_STORE": str(db_dir / "store.duckdb")}
    env.pop("OCRFLOW_METRICS_PORT", None)
    load = os.getloadavg()[0]
    first = run_cli(folder, db_dir / "store.duckdb", tree, env)
    again = run_cli(folder, db_dir / "store.duckdb", tree, env) if rerun else None
    row = {"tree": str(tree), "docs": n, "load_before": load, "load_after": os.getloadavg()[0], "first": first,
           "rerun": again}
    print(line(row), flush=True)
    return row


def line(row: dict[str, Any]) -> str:
    n, f, s = row["docs"], row["first"], row["first"]["summary"]
    w = f["wall_s"]
    quarters = " / ".join(f"{rss_at(f['rss'], q, w):.0f}" for q in (0.25, 0.5, 0.75))
    again = row["rerun"]
    rerun = (f"{again['wall_s']:.1f} s wall, {again['cpu_s']:.1f} s CPU, {again['peak_mb']:.0f} MB"
             if again else "-")
    return (f"| {Path(row['tree']).name} | {n:,} | {w:.1f} | {s.get('seconds', 0):.1f} | "
            f"{n / w:.1f} | {1000 * f['cpu_s'] / n:.1f} | {f['cpu_s'] / w:.2f} | {f['peak_mb']:.0f} | {quarters} | "
            f"{f['data_docs_mb']:.1f} | {s.get('loaded', 0)}/{s.get('quarantined', 0)}/{s.get('failed', 0)} | "
            f"{rerun} | {row['load_before']:.1f}-{row['load_after']:.1f} |")


HEADER = ("| tree | documents | wall s | printed s | documents/s | CPU ms / doc | CPU / wall | peak MB | "
          "RSS MB at 1/4, 1/2, 3/4 | Data Docs MB | loaded/quarantined/failed | re-run | load |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|---|")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, nargs="+", default=[1000, 4000, 16000])
    ap.add_argument("--tree", type=Path, action="append", help="checkout whose CLI runs (default: this one)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "ocrflow-bench-scale")
    ap.add_argument("--no-rerun", action="store_true")
    ap.add_argument("--json", type=Path, help="append the measured rows to this JSON-lines file")
    ap.add_argument("--small", type=int, default=24, help="two runs of this many documents first (0: skip)")
    args = ap.parse_args()
    trees = [t.resolve() for t in (args.tree or [REPO])]
    print(f"{os.cpu_count()} CPU cores; CLI from {', '.join(map(str, trees))}", flush=True)
    with tempfile.TemporaryDirectory(dir=args.cache.parent) as tmp:
        for tree in trees if args.small else []:
            small = small_runs(tree, args.small, args.cache / "invoices", Path(tmp))
            if args.json:
                with args.json.open("a") as fh:
                    fh.write(json.dumps(small) + "\n")
        print(f"\n{HEADER}", flush=True)
        for n in args.docs:
            for tree in trees:
                row = measure(tree, n, args.cache / "invoices", Path(tmp), not args.no_rerun)
                if args.json:
                    with args.json.open("a") as fh:
                        fh.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
