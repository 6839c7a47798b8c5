"""Readers during a DuckDB run: how often the review page and ``ocrflow query`` get an answer, and how long they wait.

A real ``ocrflow run`` (a new process, embedded engine, ``--batch-size``) loads one-page digital invoices from the
demo generator (``bench_scale.inbox``) into a DuckDB file that a short first run created. Meanwhile the review
page (``ocrflow review``, its own process) is polled with ``GET /`` every ``--every`` seconds, and ``ocrflow
query "SELECT state, count(*) FROM documents GROUP BY 1"`` runs back to back in new processes, until the run
ends (polling starts at the run's first line: before it, a reader holding the file would keep the run from
opening it). Printed: for each reader the polls made, the share answered (HTTP 200 / exit 0), and the wait of the
answered ones (p50, p95: the request's or the query process's wall minus the same on the idle file before the
run); the run's wall.

    .venv/bin/python -m benchmarks.bench_readers [--docs 300] [--batch-size 16] [--tree DIR]

``--tree DIR`` runs every CLI from another checkout with this venv (``git worktree add DIR COMMIT``): the
"before" of a change, on the same box.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.bench_scale import inbox

REPO = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).parent / "ocrflow"
QUERY = "SELECT state, count(*) FROM documents GROUP BY 1"


@dataclass
class Polls:
    name: str
    answered: list[float] = field(default_factory=list)
    refused: list[float] = field(default_factory=list)

    def line(self, base: float = 0.0) -> str:
        n = len(self.answered) + len(self.refused)
        waits = sorted(max(0.0, w - base) * 1e3 for w in self.answered)
        if not waits:
            return f"| {self.name} | {n} | 0 (0%) | - | - |"
        p95 = waits[min(len(waits) - 1, round(0.95 * (len(waits) - 1)))]
        return (f"| {self.name} | {n} | {len(self.answered)} ({len(self.answered) / max(n, 1):.0%}) | "
                f"{statistics.median(waits):.0f} | {p95:.0f} |")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(tree: Path, env: dict[str, str], *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *args], cwd=tree, env=env, capture_output=True, text=True, check=False,
                          **kw)  # type: ignore[call-overload]


def _one_get(url: str, polls: Polls) -> None:
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            ok = resp.status == 200
    except (urllib.error.URLError, OSError):
        ok = False
    (polls.answered if ok else polls.refused).append(time.perf_counter() - t0)


def poll_review(url: str, polls: Polls, stop: threading.Event, every: float) -> None:
    while not stop.is_set():
        _one_get(url, polls)
        stop.wait(every)


def poll_query(tree: Path, env: dict[str, str], db: Path, polls: Polls, stop: threading.Event) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        done = cli(tree, env, "query", QUERY, "--db", str(db), "--json")
        (polls.answered if done.returncode == 0 else polls.refused).append(time.perf_counter() - t0)


def wait_for(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise RuntimeError(f"review page at {url} did not answer in {timeout:.0f} s")


def measure(tree: Path, docs: int, batch: int, every: float, cache: Path, work: Path, *, readers: bool = True) -> None:
    folder = inbox(cache, work / "inbox", docs)
    seed = work / "seed"
    seed.mkdir()
    for p in sorted(folder.iterdir())[:2]:
        os.link(p, seed / p.name)
    db = work / f"{tree.name}.duckdb"
    env = {**os.environ, "PYTHONPATH": str(tree), "OCRFLOW_STORE": str(db)}
    env.pop("OCRFLOW_METRICS_PORT", None)
    first = cli(tree, env, "run", str(seed), "--db", str(db), "--engine", "embedded")
    if first.returncode != 0:
        raise RuntimeError(f"seed run: {first.stdout[-2000:]}{first.stderr[-2000:]}")
    t_idle = []
    for _ in range(3):
        t0 = time.perf_counter()
        cli(tree, env, "query", QUERY, "--db", str(db), "--json")
        t_idle.append(time.perf_counter() - t0)
    base = statistics.median(t_idle)
    port = free_port()
    review = subprocess.Popen([str(CLI), "review", "--db", str(db), "--port", str(port)], cwd=tree, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(url)
        idle_page = Polls("idle")
        for _ in range(5):
            _one_get(url, idle_page)
        page_base = statistics.median(idle_page.answered) if idle_page.answered else 0.0
        page, query = Polls("review page GET /"), Polls("ocrflow query")
        stop = threading.Event()
        t0 = time.perf_counter()
        run = subprocess.Popen([str(CLI), "run", str(folder), "--db", str(db), "--engine", "embedded",
                                "--batch-size", str(batch), "--max-failed", "100%"], cwd=tree, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threads = [threading.Thread(target=poll_review, args=(url, page, stop, every), daemon=True),
                   threading.Thread(target=poll_query, args=(tree, env, db, query, stop), daemon=True)]
        if run.stdout is None:
            raise RuntimeError("no pipe to the run")
        lines = [run.stdout.readline()]  # the plan line: the run has the file (a reader before it would stop it)
        for t in threads if readers else []:
            t.start()
        lines += run.stdout.readlines()
        run.wait()
        out = "".join(lines)
        wall = time.perf_counter() - t0
        stop.set()
        for t in threads if readers else []:
            t.join(timeout=120)
    finally:
        review.terminate()
        review.wait(timeout=30)
    print(f"\ntree {tree}: {docs} documents, batches of {batch}, run exit {run.returncode}, wall {wall:.1f} s; "
          f"on the idle file a review GET takes {page_base * 1e3:.0f} ms and `ocrflow query` {base * 1e3:.0f} ms "
          "(subtracted from their waits)")
    if run.returncode not in (0, 1):
        print(out[-3000:])
    print("| reader | polls | answered | wait p50 ms | wait p95 ms |\n|---|---:|---:|---:|---:|")
    print(page.line(page_base))
    print(query.line(base))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--every", type=float, default=0.25, help="seconds between two review-page polls")
    ap.add_argument("--tree", type=Path, action="append", help="checkout whose CLI runs (default: this one)")
    ap.add_argument("--no-readers", action="store_true", help="the run alone (its wall without readers)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "ocrflow-bench-scale")
    args = ap.parse_args()
    trees = [t.resolve() for t in (args.tree or [REPO])]
    print(f"{os.cpu_count()} CPU cores, load {os.getloadavg()[0]:.1f}")
    for tree in trees:
        with tempfile.TemporaryDirectory() as tmp:
            measure(tree, args.docs, args.batch_size, args.every, args.cache / "invoices", Path(tmp),
                    readers=not args.no_readers)
    print(f"load after {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
