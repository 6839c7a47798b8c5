"""Where the vLLM client's CPU goes at C = 64: the HTTP request path alone, and the page's JPEG encoder.

1. The request path: ``N`` chat requests with one prebuilt body (a 782 x 1096 JPEG page) against the fake vLLM in
   its own process (sleep mode, C requests of L seconds at once), ``C`` at a time from one asyncio loop, through
   the openai SDK's ``client.post`` as the engine sent them until 2026-12-08 (response parsed into
   ``ChatCompletion``), the same with the raw response, plain ``httpx``, and the engine's own client
   (``ocrflow.engines.vllm.transport.ChatClient``, aiohttp). It prints the client CPU per request and
   requests/s as a share of C/L: what the HTTP layer alone allows on this box, with no page work around it.
2. The encoder: Pillow's JPEG encoder on an A4 page at 200 DPI, one thread vs two threads at once (wall per
   encode): whether it lets go of the GIL (two threads on two cores halve the wall per encode if it does).

    .venv/bin/python -m benchmarks.bench_vllm_client [--requests 1500] [--at 64:0.4]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import random
import threading
import time
from collections.abc import Awaitable, Callable

import httpx
import openai
from openai.types.chat import ChatCompletion
from PIL import Image, ImageDraw

from benchmarks.bench_vllm_throughput import parse_at, start_fake, stop_fake
from ocrflow.engines.vllm.transport import ChatClient

HEADERS = {"Content-Type": "application/json"}


def page(size: tuple[int, int], seed: int = 1) -> Image.Image:
    """A white page of printed numbers (text-like JPEG content)."""
    im = Image.new("RGB", size, "white")
    draw, rng = ImageDraw.Draw(im), random.Random(seed)
    for y in range(20, size[1] - 30, 20):
        draw.text((24, y), " ".join(str(rng.randint(0, 10**6)) for _ in range(size[0] // 110)), fill="black")
    return im


def body_for(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    url = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
    return json.dumps({"model": "tencent/HunyuanOCR", "temperature": 0.0, "max_tokens": 64, "messages": [
        {"role": "system", "content": "You are an OCR model."},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}},
                                     {"type": "text", "text": "Read the text."}]}]}).encode()


Sender = tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]
"""One request's send, and the close of its client."""


def sender(kind: str, url: str, body: bytes, capacity: int) -> Sender:
    limits = httpx.Limits(max_connections=capacity + 8)
    if kind == "aiohttp":
        client = ChatClient(url, api_key="k", timeout_s=60.0, tls=False, max_connections=capacity + 8)

        async def send_engine() -> None:
            await client.post_json("/chat/completions", body)

        return send_engine, client.close
    if kind == "httpx":
        plain = httpx.AsyncClient(base_url=url, limits=limits, headers={"Authorization": "Bearer k"})

        async def send_plain() -> None:
            r = await plain.post("/chat/completions", content=body, headers=HEADERS)
            r.raise_for_status()
            json.loads(r.content)

        return send_plain, plain.aclose
    sdk = openai.AsyncOpenAI(base_url=url, api_key="k", max_retries=0,
                             http_client=openai.DefaultAsyncHttpxClient(limits=limits))

    async def send_sdk() -> None:
        if kind == "sdk":
            await sdk.post("/chat/completions", cast_to=ChatCompletion, content=body, options={"headers": HEADERS})
        else:
            raw = await sdk.post("/chat/completions", cast_to=httpx.Response, content=body,
                                 options={"headers": HEADERS})
            json.loads(raw.content)

    return send_sdk, sdk.close


async def measure(kind: str, url: str, body: bytes, capacity: int, n: int) -> tuple[float, float]:
    """(client CPU ms per request, requests/s) over ``n`` requests, ``capacity`` at a time."""
    send, close = sender(kind, url, body, capacity)
    try:
        return await _timed(send, asyncio.Semaphore(capacity), capacity, n)
    finally:
        await close()


async def _timed(send: Callable[[], Awaitable[None]], slots: asyncio.Semaphore, capacity: int,
                 n: int) -> tuple[float, float]:
    async def one() -> None:
        async with slots:
            await send()

    await asyncio.gather(*(one() for _ in range(capacity)))  # connections open, imports done
    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return (time.process_time() - cpu0) / n * 1000, n / (time.perf_counter() - t0)


def encoder_threads(im: Image.Image, rounds: int = 20) -> tuple[float, float]:
    """Wall ms per encode: one thread, then two threads at once."""
    def encode() -> None:
        for _ in range(rounds):
            im.save(io.BytesIO(), "JPEG", quality=85)

    t0 = time.perf_counter()
    encode()
    one = (time.perf_counter() - t0) / rounds * 1000
    threads = [threading.Thread(target=encode) for _ in range(2)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return one, (time.perf_counter() - t0) / (2 * rounds) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1500)
    ap.add_argument("--at", type=parse_at, default=(64, 0.4), help="C:L of the fake")
    args = ap.parse_args()
    capacity, latency = args.at
    body = body_for(page((782, 1096)))
    proc, url = start_fake(capacity, latency)
    url = url.rstrip("/") if url.rstrip("/").endswith("/v1") else url.rstrip("/") + "/v1"
    print(f"| client | requests | client CPU ms/request | requests/s | x C/L (C={capacity}, L={latency}) |")
    print("|---|---:|---:|---:|---:|")
    try:
        for kind in ("sdk", "sdk-raw", "httpx", "aiohttp") * 2:
            cpu, rate = asyncio.run(measure(kind, url, body, capacity, args.requests))
            print(f"| {kind} | {args.requests} | {cpu:.2f} | {rate:.0f} | {rate / (capacity / latency):.3f} |",
                  flush=True)
    finally:
        stop_fake(proc)
    one, two = encoder_threads(page((1654, 2339)))
    print(f"\nPillow JPEG encode of an A4 page at 200 DPI: {one:.1f} ms alone, {two:.1f} ms wall per encode with two "
          f"threads at once ({'lets go of' if two < 0.75 * one else 'holds'} the GIL)")


if __name__ == "__main__":
    main()
