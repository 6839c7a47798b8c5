"""The vLLM engine against a deployment of fixed capacity: requests/s over the busy span as a share of C/L, and
the client's CPU per page.

The fake vLLM runs in its own process in sleep mode: capacity C concurrent requests, each takes L seconds, extra
ones queue (``tests.fakes.fake_vllm``); it reports the busy span (its first request to its last completion) and
its own CPU. The client is the engine as the pipeline drives it: ``documents`` threads (by default what the
settings derive from the capacity: 1.25 x C + 2), each taking a page (a demo receipt, 782 x 1096, decoded from
its JPEG with its page number drawn on it: distinct pixels per page), sending its spotting request, then its
extraction request with the same image. Client CPU is this process's CPU over the busy span (sampled every
50 ms), per page, less what making the test pages cost (measured alone first).

    .venv/bin/python -m benchmarks.bench_vllm_throughput [--pages 256] [--at 16:1.0 --at 64:0.4]
        [--documents N]
    .venv/bin/python -m benchmarks.bench_vllm_throughput --url http://gpu-host:8000 --at 64:0 --pages 512
        (a real deployment: pages/s per deployment, the p of docs/scaling.md's capacity model)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ocrflow.engines.base import EngineError, EngineRequest, Task  # noqa: E402
from ocrflow.engines.vllm import RetryPolicy, VllmEngine, VllmOptions  # noqa: E402

SCHEMA = {"type": "object", "title": "receipt",
          "properties": {"merchant_name": {"type": ["string", "null"]}, "total_amount": {"type": ["number", "null"]}}}
FIELDS = ("merchant_name", "total_amount")


# ----------------------------------------------------------------------------- the fake, in its own process
def start_fake(capacity: int, latency: float) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "tests.fakes.fake_vllm", "--mode", "sleep", "--capacity", str(capacity),
           "--latency", str(latency)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("URL "):
        proc.kill()
        raise RuntimeError(f"fake vLLM did not start: {line!r}")
    return proc, line.split()[1]


def fake_stats(proc: subprocess.Popen[str]) -> dict[str, float]:
    """The fake's counters since the last call (requests, busy span, its CPU seconds so far); they restart."""
    if proc.stdin is None or proc.stdout is None:
        raise RuntimeError("the fake's stdin/stdout are not pipes")
    proc.stdin.write("stats\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line.startswith("STATS "):
        raise RuntimeError(f"fake vLLM answered {line!r} to 'stats'")
    return dict(json.loads(line[6:]))


def stop_fake(proc: subprocess.Popen[str]) -> None:
    if proc.stdin:
        proc.stdin.close()
    proc.wait(timeout=15)


class CpuSampler:
    """This process's CPU time every ``step_s`` (wall clock, CPU seconds), to read the CPU of a span afterwards."""

    def __init__(self, step_s: float = 0.05) -> None:
        self.step_s, self.samples = step_s, [(time.time(), time.process_time())]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.step_s):
            self.samples.append((time.time(), time.process_time()))

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.time(), time.process_time()))

    def cpu_between(self, start: float, end: float) -> float:
        def at(t: float) -> float:
            before = [s for s in self.samples if s[0] <= t] or self.samples[:1]
            after = [s for s in self.samples if s[0] >= t] or self.samples[-1:]
            (t0, c0), (t1, c1) = before[-1], after[0]
            return c0 if t1 <= t0 else c0 + (c1 - c0) * (t - t0) / (t1 - t0)
        return at(end) - at(start)


@dataclass(frozen=True)
class Span:
    """What one measured run did: its requests over the fake's busy span, and the CPU of both sides."""

    label: str
    capacity: int
    latency: float
    pages: int
    requests: int
    busy_s: float
    wall_s: float
    client_cpu_s: float
    server_cpu_s: float
    errors: int = 0

    @property
    def ideal(self) -> float:
        return self.capacity / self.latency

    @property
    def ratio(self) -> float:
        """Requests/s over the busy span, as a share of C/L."""
        return self.requests / self.busy_s / self.ideal

    @property
    def client_ms_per_page(self) -> float:
        return 1000 * self.client_cpu_s / self.pages

    @property
    def server_ms_per_request(self) -> float:
        return 1000 * self.server_cpu_s / self.requests


def measure_span(label: str, capacity: int, latency: float, pages: int, proc: subprocess.Popen[str],
                 work: Callable[[], int], overhead_s: float = 0.0, *, busy_cpu: bool = False) -> Span:
    """Run ``work`` (returns its errors) against the fake ``proc`` and read the span off the fake's counters.

    Client CPU: of the whole ``work``, less ``overhead_s``; ``busy_cpu``: of the busy span only (a run's
    start-up and closing work, Data Docs included, left out)."""
    server0 = fake_stats(proc)["cpu_s"]  # also restarts the counters
    t0, cpu0 = time.perf_counter(), time.process_time()
    with CpuSampler() as sampler:
        errors = work()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    stats = fake_stats(proc)
    start, end = stats["first_request_at"], stats["last_completed_at"]
    client = sampler.cpu_between(start, end) if busy_cpu else cpu - overhead_s
    return Span(label, capacity, latency, pages, int(stats["completed"]), end - start, wall, client,
                stats["cpu_s"] - server0, errors)


# ----------------------------------------------------------------------------- pages and the engine's work
def receipt_jpegs(n: int) -> list[bytes]:
    from ocrflow.demo import receipt_spec, save_receipt

    out = []
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            spec = receipt_spec(rng, f"SHOP {i} SDN BHD", f"CO. REG {100000 + i}-X", (f"{i} JALAN MAJU",), "dmy", 3)
            path = Path(tmp) / f"r{i}.jpg"
            save_receipt(spec, path, seed=i)
            out.append(path.read_bytes())
    return out


def make_page(jpegs: list[bytes], i: int) -> Image.Image:
    image = Image.open(io.BytesIO(jpegs[i % len(jpegs)]))
    image.load()
    ImageDraw.Draw(image).text((8, 8), f"page {i}", fill="black")
    return image


def engine_work(engine: VllmEngine, jpegs: list[bytes], pages: int, documents: int) -> Callable[[], int]:
    def one(i: int) -> int:
        image = make_page(jpegs, i)
        try:
            engine.run(EngineRequest(image=image, task=Task.SPOT))
            engine.run(EngineRequest(image=image, task=Task.EXTRACT, fields=FIELDS, json_schema=SCHEMA))
        except EngineError:
            return 1
        return 0

    def work() -> int:
        with ThreadPoolExecutor(max_workers=documents) as pool:
            return sum(pool.map(one, range(pages)))
    return work


def page_making_cpu(jpegs: list[bytes], pages: int) -> float:
    cpu0 = time.process_time()
    for i in range(pages):
        make_page(jpegs, i)
    return time.process_time() - cpu0


def run_at(capacity: int, latency: float, pages: int, documents: int, jpegs: list[bytes],
           making_s: float) -> Span:
    proc, url = start_fake(capacity, latency)
    try:
        options = VllmOptions(urls=(url,), max_in_flight=capacity, retry=RetryPolicy(max_attempts=2))
        with VllmEngine(options) as engine:
            engine.preflight()
            engine_work(engine, jpegs, 2 * capacity, documents)()  # warm-up: connections, prompt files
            return measure_span(f"engine, {documents} documents", capacity, latency, pages, proc,
                                engine_work(engine, jpegs, pages, documents), overhead_s=making_s)
    finally:
        stop_fake(proc)


def against_deployment(url: str, model: str, capacity: int, pages: int, documents: int, jpegs: list[bytes],
                       making_s: float) -> str:
    """``--url``: the same work against a real deployment (``capacity`` = OCRFLOW_VLLM_MAX_IN_FLIGHT); pages/s
    over the run is the ``p`` of docs/scaling.md's capacity model."""
    key = os.environ.get("OCRFLOW_VLLM_API_KEY")
    options = VllmOptions.model_validate({"urls": url, "model": model, "max_in_flight": capacity, "api_key": key})
    with VllmEngine(options) as engine:
        engine.preflight()
        engine_work(engine, jpegs, 2 * capacity, documents)()  # warm-up
        cpu0, t0 = time.process_time(), time.perf_counter()
        errors = engine_work(engine, jpegs, pages, documents)()
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return (f"{url} ({model}), {capacity} requests in flight, {documents} documents: {pages} pages in {wall:.1f} s = "
            f"{pages / wall:.2f} pages/s, {2 * pages / wall:.2f} requests/s, client CPU "
            f"{1000 * (cpu - making_s) / pages:.1f} ms/page, {errors} errors")


def table(spans: list[Span]) -> str:
    rows = [f"| {s.capacity} | {s.latency} | {s.ideal:.0f} | {s.label} | {s.pages} | {s.requests} | {s.busy_s:.2f} "
            f"| {s.requests / s.busy_s:.1f} | **{s.ratio:.3f}** | {s.client_ms_per_page:.1f} "
            f"| {s.server_ms_per_request:.1f} | {s.errors} |" for s in spans]
    return "\n".join([
        "| C | L s | C/L req/s | client | pages | requests | busy s | req/s | x C/L | client CPU ms/page "
        "| fake CPU ms/req | errors |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows])


def parse_at(value: str) -> tuple[int, float]:
    capacity, _, latency = value.partition(":")
    return int(capacity), float(latency)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=256)
    parser.add_argument("--at", type=parse_at, action="append", help="C:L (repeatable; default 16:1.0 and 64:0.4)")
    parser.add_argument("--documents", type=int, default=0, help="threads; 0 = 1.25 x C + 2, as the settings derive")
    parser.add_argument("--url", default="", help="a real deployment instead of the fake (the first --at's C)")
    parser.add_argument("--model", default="tencent/HunyuanOCR")
    args = parser.parse_args()
    jpegs = receipt_jpegs(48)
    making = page_making_cpu(jpegs, args.pages)
    if args.url:
        capacity = (args.at or [(64, 0.0)])[0][0]
        print(against_deployment(args.url, args.model, capacity, args.pages,
                                 args.documents or -(-capacity * 5 // 4) + 2, jpegs, making))
        return 0
    spans = []
    for capacity, latency in args.at or [(16, 1.0), (64, 0.4)]:
        documents = args.documents or -(-capacity * 5 // 4) + 2
        spans.append(run_at(capacity, latency, args.pages, documents, jpegs, making))
    load = os.getloadavg()[0]
    body = "\n".join([table(spans), "", f"{os.cpu_count()} CPU cores, load average {load:.1f} at the end; making "
                      f"the test pages cost {1000 * making / args.pages:.1f} ms of CPU per page (left out)."])
    print(body)
    for s in spans:
        print(f"C={s.capacity}, L={s.latency}: {s.ratio:.3f} of C/L "
              f"({'meets' if s.ratio >= 0.95 else 'misses'} the 0.95 goal), "
              f"client CPU {s.client_ms_per_page:.1f} ms/page")
    return 0 if all(s.errors == 0 for s in spans) else 1


if __name__ == "__main__":
    raise SystemExit(main())

