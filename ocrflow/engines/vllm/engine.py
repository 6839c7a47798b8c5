"""VllmEngine: OCR / extraction against an OpenAI-compatible vLLM deployment.

One asyncio loop in a background thread drives one HTTP client per replica (``transport.ChatClient``:
aiohttp, the OpenAI chat-completions protocol). A request is prepared (prompt, page JPEG, body) in the calling
thread and sent from the loop. ``run_many`` pulls requests lazily from its input, keeps up to ``max_in_flight``
requests on the wire and yields outcomes in input order.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from ocrflow.core.settings import redact_url
from ocrflow.engines.base import EngineError, EngineRequest, EngineResult, TerminalEngineError, TransientEngineError
from ocrflow.engines.limits import Limiter
from ocrflow.engines.vllm.errors import VllmTransientError, server_message, status_error
from ocrflow.engines.vllm.image import EncodedImages
from ocrflow.engines.vllm.loop import LoopThread
from ocrflow.engines.vllm.options import VllmOptions
from ocrflow.engines.vllm.profiles import profile_for
from ocrflow.engines.vllm.prompts import PromptLibrary, RenderedPrompt, load_prompt_library
from ocrflow.engines.vllm.replicas import Replica, ReplicaPool, tls_context
from ocrflow.engines.vllm.request import (
    ENGINE_NAME,
    FLAG_RETRIED,
    IMAGE_SLOT,
    SPECIAL_TOKENS_TAG,
    Completion,
    PreparedRequest,
    ResultMeta,
    build_messages,
    build_result,
    completion_from,
    decoding_for,
    encode_body,
    output_problem,
    response_format_for,
)
from ocrflow.engines.vllm.resilience import CircuitBreaker, call_with_retries
from ocrflow.engines.vllm.transport import ChatClient, HttpStatusError, TransportError
from ocrflow.metrics import in_flight, observe_error

if TYPE_CHECKING:
    from ocrflow.core.settings import Settings


class VllmEngine:
    """The Engine protocol over one or more vLLM replicas (see module docstring).

    ``breaker`` is shared state (pass one to watch or tune it); ``prompts`` replaces the prompt files;
    ``limiter`` bounds requests fleet-wide (the flows pass a Prefect global concurrency limit; none: off).
    """

    name = ENGINE_NAME
    supports_extraction = True

    def __init__(self, options: VllmOptions, *, breaker: CircuitBreaker | None = None,
                 prompts: PromptLibrary | None = None, limiter: Limiter | None = None) -> None:
        self.options = options
        self.urls = list(options.urls)
        self.model = options.model
        self.profile = profile_for(options.model, options.profile)
        self.max_in_flight = options.max_in_flight
        self.retry = options.retry
        self.breaker = breaker or CircuitBreaker()
        self.breaker.target = self.breaker.target or ", ".join(redact_url(u.removesuffix("/v1")) for u in self.urls)
        self.peak_in_flight = 0
        self.served_models: dict[str, list[str]] = {}
        self._fleet = limiter
        self._prompts = prompts
        self._loop = LoopThread()
        self._pool: ReplicaPool | None = None
        self._slots: asyncio.Semaphore | None = None
        self._in_flight = 0
        self._images = EncodedImages(max_long_side=options.max_long_side, max_bytes=options.max_image_bytes,
                                     quality=options.jpeg_quality)

    # ----------------------------------------------------------------- set-up (loop thread)
    def _library(self) -> PromptLibrary:
        if self._prompts is None:
            self._prompts = load_prompt_library(self.options.prompts_dir)
        return self._prompts

    async def _ready(self) -> tuple[ReplicaPool, asyncio.Semaphore]:
        if self._pool is None or self._slots is None:
            # one for every client (loading the trust store costs ~0.1 s); none to load without an https replica
            tls = tls_context(self.options.verify_tls and any(u.startswith("https:") for u in self.urls))
            replicas = [Replica(url, self._client(url, tls)) for url in self.urls]
            self._pool, self._slots = ReplicaPool(replicas), asyncio.Semaphore(self.max_in_flight)
        return self._pool, self._slots

    def _client(self, url: str, tls: ssl.SSLContext) -> ChatClient:
        opts = self.options
        # retries are the engine's (call_with_retries); TLS from the context all the engine's clients share
        return ChatClient(url, api_key=opts.api_key_value, timeout_s=opts.timeout_s, tls=tls,
                          max_connections=self.max_in_flight + 8)

    # ----------------------------------------------------------------- preflight
    def preflight(self) -> None:
        """GET /v1/models on every replica; each must serve ``self.model`` (``served_models``: url -> models)."""
        self.served_models = self._loop.run(self._preflight())

    async def _preflight(self) -> dict[str, list[str]]:
        pool, _ = await self._ready()
        served: dict[str, list[str]] = {}
        for replica in pool.replicas:
            served[replica.root] = await self._list_models(replica)
            if self.model not in served[replica.root]:
                raise TerminalEngineError(
                    f"vLLM replica {replica.root} does not serve model {self.model!r}; it serves "
                    f"{served[replica.root]}. Set OCRFLOW_VLLM_MODEL to one of those "
                    "or fix OCRFLOW_VLLM_URL.")
        return served

    async def _list_models(self, replica: Replica) -> list[str]:
        try:
            page = await replica.client.get_json("/models")
        except HttpStatusError as exc:
            raise TerminalEngineError(
                f"vLLM replica {replica.root}: GET /v1/models answered HTTP {exc.status_code}: "
                f"{server_message(exc.body, exc.message)}"
                + (" (check OCRFLOW_VLLM_API_KEY)" if exc.status_code == 401 else "")) from exc
        except TransportError as exc:
            raise TransientEngineError(
                f"vLLM replica {replica.root} is unreachable ({exc}); is the server up? "
                "The run stopped before registering any document: the next run takes them all.") from exc
        try:
            return [str(m["id"]) for m in page["data"]]
        except (KeyError, TypeError) as exc:
            raise TerminalEngineError(f"vLLM replica {replica.root}: GET /v1/models answered no model list: "
                                      f"{str(page)[:200]!r}") from exc

    def prompt_version(self, request: EngineRequest) -> str:
        """The version tag of the prompt this request would be sent with, and of how its answer is decoded
        (``+special-tokens``): what a cached answer must match."""
        return self._render(request).version

    def _render(self, request: EngineRequest) -> RenderedPrompt:
        prompt = self._library().render(self.profile.prompt_set, request.task, request.language, request.fields)
        if decoding_for(request, self.profile).get("skip_special_tokens") is False:
            return RenderedPrompt(prompt.text, prompt.version + SPECIAL_TOKENS_TAG)
        return prompt

    # ----------------------------------------------------------------- one request
    def _prepare(self, request: EngineRequest) -> PreparedRequest:
        """The prompt, the page encoded (once per page image: ``EncodedImages``), the messages with a slot
        where the image's data URL goes (``encode_body``)."""
        prompt = self._render(request)
        image = self._images.encode(request.image)
        messages = build_messages(self.profile.system_prompt, IMAGE_SLOT, prompt.text)
        return PreparedRequest(request, prompt, image, messages, response_format_for(request, self.profile),
                               decoding_for(request, self.profile))

    def _gcl(self) -> AbstractAsyncContextManager[Any]:
        """A slot of the fleet-wide limiter handed in (ocrflow.engines.limits); none: no fleet-wide bound."""
        return contextlib.nullcontext() if self._fleet is None else self._fleet.slot()

    def _body(self, prep: PreparedRequest, max_tokens: int) -> bytes:
        """The chat-completions body as JSON bytes; the profile's extras and the request's decoding go top
        level, as ``extra_body`` would put them."""
        body: dict[str, Any] = {"model": self.model, "messages": prep.messages, "temperature": 0.0,
                                "max_tokens": max_tokens, **self.profile.extra_body, **prep.decoding}
        if prep.response_format:
            body["response_format"] = prep.response_format
        return encode_body(body, prep.image.data_url)

    async def _call(self, prep: PreparedRequest, max_tokens: int) -> Completion:
        pool, slots = await self._ready()
        body = self._body(prep, max_tokens)
        async with slots, self._gcl():
            replica = pool.acquire()
            root = replica.root
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            try:
                with in_flight(self.name):
                    response = await replica.client.post_json("/chat/completions", body)
            except HttpStatusError as exc:
                observe_error(f"http_{exc.status_code}")
                raise status_error(exc, root) from exc
            except TransportError as exc:
                observe_error("APITimeoutError" if exc.timed_out else "APIConnectionError")
                why = f"vLLM {root}: {exc}" if exc.timed_out else f"vLLM {root} unreachable: {exc}"
                raise VllmTransientError(why, replica=root) from exc
            finally:
                self._in_flight -= 1
                pool.release(replica)
        return completion_from(response, root)

    async def _call_with_retries(self, prep: PreparedRequest, max_tokens: int) -> Completion:
        return await call_with_retries(self.retry, self.breaker, lambda: self._call(prep, max_tokens))

    async def _run_one(self, prep: PreparedRequest, t0: float) -> EngineResult:
        request = prep.request
        completion = await self._call_with_retries(prep, self.profile.tokens_for(request.task))
        flags: tuple[str, ...] = ()
        problem = output_problem(completion)
        if problem:
            flags = (f"{FLAG_RETRIED}:{problem}",)
            completion = await self._call_with_retries(prep, self.profile.retry_tokens_for(request.task))
            problem = output_problem(completion)
        meta = ResultMeta(model=self.model, latency_s=time.perf_counter() - t0, flags=flags, problem=problem)
        return build_result(prep, completion, meta)

    def _start(self, request: EngineRequest) -> Future[EngineResult]:
        """The request prepared in the calling thread (a document's own: it would only wait), then sent from
        the loop; a request that cannot be prepared is a future holding its EngineError."""
        t0 = time.perf_counter()
        try:
            prep = self._prepare(request)
        except EngineError as exc:
            failed: Future[EngineResult] = Future()
            failed.set_exception(exc)
            return failed
        return self._loop.submit(self._run_one(prep, t0))

    # ----------------------------------------------------------------- Engine protocol
    def run(self, request: EngineRequest) -> EngineResult:
        return self._start(request).result()

    def run_many(self, requests: Iterable[EngineRequest]) -> Iterator[EngineResult | EngineError]:
        """Outcomes in input order; inputs are pulled lazily, at most ``2 * max_in_flight`` buffered."""
        window = 2 * self.max_in_flight
        source = iter(requests)
        pending: deque[Future[EngineResult]] = deque()
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < window and _busy(pending) < self.max_in_flight:
                    request = next(source, None)
                    if request is None:
                        exhausted = True
                    else:
                        pending.append(self._start(request))
                if not pending:
                    return
                if pending[0].done():
                    yield _outcome(pending.popleft())
                    continue
                wait([f for f in pending if not f.done()], return_when=FIRST_COMPLETED)
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        if self._loop.running and self._fleet is not None:
            fleet, self._fleet = self._fleet, None
            with contextlib.suppress(RuntimeError, OSError):
                self._loop.run(fleet.aclose())
        if self._loop.running and self._pool is not None:
            pool, self._pool, self._slots = self._pool, None, None
            with contextlib.suppress(RuntimeError, OSError):
                self._loop.run(pool.aclose())
        self._loop.stop()

    def __enter__(self) -> VllmEngine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _busy(pending: Iterable[Future[EngineResult]]) -> int:
    return sum(1 for f in pending if not f.done())


def _outcome(future: Future[EngineResult]) -> EngineResult | EngineError:
    try:
        return future.result()
    except EngineError as exc:
        return exc


def make_vllm_engine(settings: Settings, *, breaker: CircuitBreaker | None = None, limiter: Limiter | None = None,
                     **overrides: object) -> VllmEngine:
    """The engine the pipeline uses, configured from settings (``overrides``: VllmOptions fields that win)."""
    return VllmEngine(VllmOptions.from_settings(settings, **overrides), breaker=breaker, limiter=limiter)
