"""HTTP to one vLLM base URL: POST a chat-completions body (JSON bytes built by the engine), GET the models.

aiohttp, whose HTTP parser is C: the request path is what bounds one client process at high concurrency. At 64
requests in flight against the fake on 2 cores (benchmarks/bench_vllm_client.py), the openai SDK (over httpx,
whose HTTP/1.1 is pure Python) cost 2.1-2.3 ms of CPU per request and plain httpx the same; aiohttp 0.7-0.9 ms.
A page sends two requests, so that is ~3 ms of the GIL per page, a quarter of what a page cost the engine.

The protocol stays the OpenAI one, and so do the errors the engine classifies: an HTTP error answer is
``HttpStatusError`` (status, the server's JSON or text body, its headers: ``errors.status_error`` reads them
as it read the SDK's), a connection failure or a timeout is ``TransportError``. Retries are the engine's.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp
import yarl

NO_KEY = "EMPTY"  # vLLM without --api-key accepts any bearer token
JSON = "application/json"
_POST_HEADERS = {"Content-Type": JSON}


class HttpStatusError(Exception):
    """An HTTP error answer: ``status_code``, ``body`` (the parsed JSON, else the text), ``headers``."""

    def __init__(self, status_code: int, body: object, headers: Mapping[str, str]) -> None:
        self.status_code = status_code
        self.body = body
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.message = f"Error code: {status_code}"
        super().__init__(f"{self.message} - {body}" if body else self.message)


class TransportError(Exception):
    """No answer: the connection failed or broke, or the answer took longer than the timeout (``timed_out``)."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class ChatClient:
    """One base URL (``.../v1``) over one aiohttp session, opened on the engine's event loop at first use."""

    def __init__(self, base_url: str, *, api_key: str | None, timeout_s: float, tls: ssl.SSLContext | bool,
                 max_connections: int) -> None:
        url = yarl.URL(base_url.rstrip("/"))
        self.timeout_s = timeout_s
        self._tls = tls
        self._max_connections = max_connections
        self._headers = {"Accept": JSON}
        self._auth: aiohttp.BasicAuth | None = None
        if url.user is not None:  # credentials in the URL (a proxy's): Basic auth, as httpx did, instead of the key
            self._auth = aiohttp.BasicAuth(url.user, url.password or "")
            url = url.with_user(None)
        else:
            self._headers["Authorization"] = f"Bearer {api_key or NO_KEY}"
        self.base_url = str(url)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._max_connections, ssl=self._tls)
            # like httpx: the connect phase bounded apart, then each read waits at most the timeout
            timeout = aiohttp.ClientTimeout(total=None, connect=min(self.timeout_s, 10.0), sock_read=self.timeout_s)
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout, headers=self._headers,
                                                  auth=self._auth, trust_env=True)
        return self._session

    async def post_json(self, path: str, body: bytes) -> Any:
        """POST ``body`` (JSON bytes) to ``path``; the answer's JSON (a body that is not JSON comes back as
        its text, for the caller to refuse)."""
        return await self._request("POST", path, body)

    async def get_json(self, path: str) -> Any:
        return await self._request("GET", path, None)

    async def _request(self, method: str, path: str, body: bytes | None) -> Any:
        headers = _POST_HEADERS if body is not None else None
        try:
            async with self._open().request(method, self.base_url + path, data=body, headers=headers) as response:
                raw = await response.read()
                status, answer_headers = response.status, response.headers
        except TimeoutError as exc:
            raise TransportError(f"request timed out after {self.timeout_s:g} s", timed_out=True) from exc
        except aiohttp.ClientError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        parsed = _parsed(raw)
        if status >= 400:
            raise HttpStatusError(status, parsed, answer_headers)
        return parsed

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


def _parsed(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:  # not JSON (UnicodeDecodeError included): the text, for the caller to refuse or show
        return raw.decode("utf-8", errors="replace").strip()
