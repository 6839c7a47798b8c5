"""A fake vLLM OpenAI-compatible server on 127.0.0.1, strict like the real one.

Modes:
  * ``ocr``   — answers from the image it received: the embedded CPU OCR reads it, and the
                reply is written in HunyuanOCR's formats (spotting ``<ref>text</ref><quad>(x1,y1),(x2,y2)</quad>``
                on a 0-1000 grid, markdown, JSON from the project's rule extractor). It never sees the
                expected answer. ``answerer=`` replaces it (e.g. ``tests.fakes.model_fake.TruthModel``).
  * ``sleep`` — capacity C concurrent requests of L seconds each, extra ones queue (like
                continuous batching with a full batch); canned minimal output, no OCR. The image is
                still decoded whole and checked, at an eighth of its size (``parse_chat``'s ``scale``).

Answers are decoded as vLLM decodes them: the spotting markup is special tokens, dropped with the
coordinates unless the request says ``skip_special_tokens: false`` (``decode_special_tokens``).

The request checks live in ``fake_vllm_protocol``, the faults in ``fake_vllm_faults``: inject them per
chat request with ``inject(kind, times=...)`` (``503`` with optional Retry-After, ``429``, ``500``,
``slow``, ``no_choices``, ``malformed_json``, ``truncated``, ``loop``, ``no_coords``, ``schema``,
``extra_fields``). ``stop()`` closes the port (connection refused). Run as
``python -m tests.fakes.fake_vllm --mode sleep`` to serve from a separate process (prints ``URL <base url>``
on stdout, and ``STATS <json>`` for each line ``stats`` read on stdin: requests, busy span, CPU);
``--crash-on-request N`` makes that process die (``os._exit``) when the N-th chat request arrives, as a
crashed server does: every connection reset, the port closed (``fake_vllm_process``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from tests.fakes.fake_vllm_faults import (
    HTTP_FAULTS,
    LOOP_UNIT,
    Fault,
    apply_output_fault,
    clip,
    task_of,
    tokens,
)
from tests.fakes.fake_vllm_protocol import (
    DEFAULT_MODEL,
    Captured,
    ChatCall,
    Counters,
    HttpError,
    decode_special_tokens,
    error_body,
    parse_chat,
)
from tests.fakes.model_fake import spotting_form_for

__all__ = ["DEFAULT_MODEL", "LOOP_UNIT", "Captured", "ChatCall", "Counters", "FakeVllm", "Fault", "HttpError",
           "OcrAnswerer", "canned", "closed_port_url", "parse_chat", "task_of"]


# ----------------------------------------------------------------------------- answers
class OcrAnswerer:
    """Reads the received image with the embedded engine and answers like HunyuanOCR."""

    def __init__(self) -> None:
        self._engine: Any = None
        self._lock = threading.Lock()

    def _lines(self, image: Image.Image) -> list[Any]:
        from ocrflow.engines.base import EngineRequest
        from ocrflow.engines.embedded import EmbeddedEngine

        with self._lock:
            if self._engine is None:
                self._engine = EmbeddedEngine()
            engine = self._engine
        return list(engine.run(EngineRequest(image=image)).lines)

    def answer(self, call: ChatCall) -> str:
        lines = self._lines(call.image)
        task = task_of(call.prompt)
        if task == "spot":
            w, h = call.image.size
            items = [(ln.text, f"({round(ln.x0 * 1000 / w)},{round(ln.y0 * 1000 / h)}),"
                               f"({round(ln.x1 * 1000 / w)},{round(ln.y1 * 1000 / h)})") for ln in lines]
            return spotting_items(items, call.model)
        if task == "parse":
            return "\n\n".join(ln.text for ln in lines)
        return json.dumps(_rule_fields(lines, call), ensure_ascii=False)


def _rule_fields(lines: list[Any], call: ChatCall) -> dict[str, Any]:
    """The project's rule extractor on the OCR lines; nulls when it (or the contract) is missing."""
    empty: dict[str, Any] = dict.fromkeys(call.fields)
    schema = ((call.response_format or {}).get("json_schema") or {}).get("schema") or {}
    try:
        from ocrflow.contracts import load_contracts
        from ocrflow.core.models import DocumentRef, DocumentText, PagePath, PageText
        from ocrflow.pipeline.extract.rules import extract_fields

        contract = load_contracts().get(str(schema.get("title", "")))
        if contract is None:
            return empty
        w, h = call.image.size
        page = PageText(1, w, h, tuple(lines), PagePath.OCR, "fake", "fake")
        doc = DocumentText(DocumentRef("fake.png", "0" * 64, "image/png", 0), (page,))
        found = extract_fields(doc, contract)
    except (ImportError, KeyError, TypeError, ValueError, OSError):
        return empty
    return {name: found.get(name) for name in call.fields}


def spotting_items(items: list[tuple[str, str]], model: str) -> str:
    """(text, coordinates) items one per line, in the token form for a HunyuanOCR model (``spotting_form_for``)."""
    if spotting_form_for(model) == "tokens":
        return "\n".join(f"<ref>{text}</ref><quad>{coords}</quad>" for text, coords in items)
    return "\n".join(f"{text}{coords}" for text, coords in items)


def canned(prompt: str, fields: list[str], model: str = DEFAULT_MODEL) -> str:
    task = task_of(prompt)
    if task == "spot":
        return spotting_items([("ok", "(100,100),(900,900)")], model)
    if task == "parse":
        return "ok"
    return json.dumps(dict.fromkeys(fields))


# ----------------------------------------------------------------------------- server
class FakeVllm:
    """Real HTTP on 127.0.0.1 in a background thread. Use as a context manager."""

    def __init__(self, *, models: Sequence[str] = (DEFAULT_MODEL,), api_key: str | None = None,
                 mode: str = "ocr", capacity: int = 32, latency_s: float = 0.0,
                 max_image_bytes: int = 6 * 1024 * 1024, capture: bool = True, port: int = 0,
                 answerer: Any = None) -> None:
        self.models = list(models)
        self.api_key = api_key
        self.mode = mode
        self.capacity = capacity
        self.latency_s = latency_s
        self.max_image_bytes = max_image_bytes
        self.capture = capture
        self.healthy = True
        self.requests: list[Captured] = []
        self.counters = Counters()
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        # answerer: anything with answer(call) -> str, e.g. tests.fakes.model_fake.TruthModel (knows no ocrflow)
        self._answerer = answerer if answerer is not None else OcrAnswerer()
        self._port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._sem: asyncio.Semaphore | None = None
        self.on_chat: Callable[[int], None] | None = None
        """Called with each chat request's number as it arrives (the process mode's crash hook)."""

    # -- control
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def inject(self, kind: str, times: int | None = 1, *, retry_after: str | None = None,
               delay_s: float = 0.0) -> None:
        with self._lock:
            self._faults.append(Fault(kind, times, retry_after, delay_s))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _next_fault(self) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times is None:
                    return fault
                if fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def stats(self) -> dict[str, float]:
        """What a benchmark reads: chat requests, completions, the busy span (first request to last
        completion, wall clock) and this process's CPU seconds so far."""
        c = self.counters
        return {"chat_requests": c.chat_requests, "completed": c.completed, "peak_running": c.peak_running,
                "first_request_at": c.first_request_at, "last_completed_at": c.last_completed_at,
                "cpu_s": time.process_time()}

    def take_stats(self) -> dict[str, float]:
        """``stats()``, then the counters start again (requests in flight stay counted)."""
        out, old = self.stats(), self.counters
        self.counters = Counters(running=old.running, waiting=old.waiting)
        return out

    # -- lifecycle
    def start(self) -> FakeVllm:
        import uvicorn

        # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only for such sockets;
        # without it, each kept-alive response waits ~40 ms for the client's delayed ACK (Nagle)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(self._app(), log_level="warning", lifespan="off", access_log=False,
                                backlog=4096, timeout_keep_alive=60)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="fake-vllm", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake vLLM server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> FakeVllm:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- HTTP
    def _app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.routing import Route

        return Starlette(routes=[
            Route("/v1/models", self._models, methods=["GET"]),
            Route("/health", self._health, methods=["GET"]),
            Route("/metrics", self._metrics, methods=["GET"]),
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
        ])

    def _authorized(self, request: Any) -> bool:
        return self.api_key is None or request.headers.get("authorization") == f"Bearer {self.api_key}"

    async def _models(self, request: Any) -> Any:
        from starlette.responses import JSONResponse

        if not self._authorized(request):
            return JSONResponse({"error": "Unauthorized"}, status_code=401)
        now = int(time.time())
        data = [{"id": m, "object": "model", "created": now, "owned_by": "vllm", "root": m,
                 "max_model_len": 32768} for m in self.models]
        return JSONResponse({"object": "list", "data": data})

    async def _health(self, _request: Any) -> Any:
        from starlette.responses import Response

        return Response(status_code=200 if self.healthy else 503)

    async def _metrics(self, _request: Any) -> Any:
        from starlette.responses import PlainTextResponse

        label = f'{{model_name="{self.models[0]}"}}'
        c = self.counters
        text = (
            "# HELP vllm:num_requests_running Number of requests in model execution batches.\n"
            "# TYPE vllm:num_requests_running gauge\n"
            f"vllm:num_requests_running{label} {float(c.running)}\n"
            "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n"
            "# TYPE vllm:num_requests_waiting gauge\n"
            f"vllm:num_requests_waiting{label} {float(c.waiting)}\n")
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    async def _chat(self, request: Any) -> Any:
        from starlette.responses import JSONResponse

        if not self._authorized(request):
            return JSONResponse({"error": "Unauthorized"}, status_code=401)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse(error_body(400, "request body is not valid JSON"), status_code=400)
        self.counters.chat_requests += 1
        self.counters.first_request_at = self.counters.first_request_at or time.time()
        if self.on_chat is not None:
            self.on_chat(self.counters.chat_requests)
        if self.capture:
            self.requests.append(Captured(dict(request.headers), body))
        try:
            payload = await self._complete(body)
        except HttpError as exc:
            return JSONResponse(error_body(exc.status, exc.message), status_code=exc.status,
                                headers=exc.headers)
        return JSONResponse(payload)

    async def _complete(self, body: Any) -> dict[str, Any]:
        call = parse_chat(body, self.models, self.max_image_bytes, scale=8 if self.mode == "sleep" else 1)
        fault = self._next_fault()
        if fault is not None and fault.kind in HTTP_FAULTS:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            raise HttpError(int(fault.kind), HTTP_FAULTS[fault.kind], headers)
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay_s)
        if fault is not None and fault.kind == "no_choices":
            return {"id": "chatcmpl-empty", "object": "chat.completion", "created": int(time.time()),
                    "model": call.model, "choices": []}
        content = decode_special_tokens(await self._generate(call), skip=call.skip_special_tokens,
                                        spaces=call.spaces_between_special_tokens)
        content, finish = clip(*apply_output_fault(content, fault, call), call.max_tokens)
        self.counters.completed += 1
        self.counters.last_completed_at = time.time()
        w, h = call.image_size
        prompt_tokens = max(1, (w * h) // (28 * 28)) + tokens(call.prompt)
        return {
            "id": f"chatcmpl-{self.counters.chat_requests}", "object": "chat.completion",
            "created": int(time.time()), "model": call.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": tokens(content),
                      "total_tokens": prompt_tokens + tokens(content)},
        }

    async def _generate(self, call: ChatCall) -> str:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.capacity)
        c = self.counters
        c.waiting += 1
        async with self._sem:
            c.waiting -= 1
            c.running += 1
            c.peak_running = max(c.peak_running, c.running)
            try:
                if self.latency_s:
                    await asyncio.sleep(self.latency_s)
                if self.mode == "sleep":
                    return canned(call.prompt, call.fields, call.model)
                return await asyncio.to_thread(self._answerer.answer, call)
            finally:
                c.running -= 1


def closed_port_url() -> str:
    """A loopback URL nobody listens on (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _crash_on(number: int) -> Callable[[int], None]:
    def hook(n: int) -> None:
        if n >= number:
            os._exit(3)  # a crash, not a shutdown: no response, every connection reset, the port closed
    return hook


def _answerer(truth_demo: str | None) -> Any:
    if not truth_demo:
        return None
    from tests.fakes.model_fake import TruthModel

    model = TruthModel()
    model.add_demo(Path(truth_demo))
    return model


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mode", choices=("ocr", "sleep"), default="ocr")
    parser.add_argument("--capacity", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--crash-on-request", type=int, default=0,
                        help="die (os._exit) when the N-th chat request arrives; 0: never")
    parser.add_argument("--truth-demo", default=None,
                        help="answer from the model fake with this demo folder's truth (instead of the OCR)")
    args = parser.parse_args(argv)
    fake = FakeVllm(models=[args.model], api_key=args.api_key, mode=args.mode, capacity=args.capacity,
                    latency_s=args.latency, capture=False, port=args.port, answerer=_answerer(args.truth_demo))
    if args.crash_on_request:
        fake.on_chat = _crash_on(args.crash_on_request)
    with fake:
        print(f"URL {fake.url}", flush=True)
        for line in sys.stdin:  # serve until stdin closes; a line "stats" prints and restarts the counters
            if line.strip() == "stats":
                print("STATS " + json.dumps(fake.take_stats()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
