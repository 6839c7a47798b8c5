"""The engine's HTTP client (ocrflow/engines/vllm/transport.py) against the fake vLLM on loopback: what it sends
(the key as a bearer token, or a URL's credentials as Basic auth instead), and how an answer comes back: the
JSON, an HTTP error with the server's body and headers, a connection failure, a timeout."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from typing import Any

import pytest
from PIL import Image

from ocrflow.engines.vllm.transport import ChatClient, HttpStatusError, TransportError
from tests.fakes.fake_vllm import FakeVllm, closed_port_url
from tests.support.vllm import fake_fixture

fake = fake_fixture(mode="sleep", capacity=4)


def _body() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 32), "white").save(buf, "JPEG")
    url = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
    return json.dumps({"model": "tencent/HunyuanOCR", "max_tokens": 8, "messages": [
        {"role": "system", "content": ""},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}},
                                     {"type": "text", "text": "OCR"}]}]}).encode()


def _send(base: str, path: str = "/chat/completions", *, key: str | None = "k", timeout_s: float = 10.0,
          body: bytes | None = None) -> Any:
    async def go() -> Any:
        client = ChatClient(base, api_key=key, timeout_s=timeout_s, tls=False, max_connections=4)
        try:
            if body is None and path == "/models":
                return await client.get_json(path)
            return await client.post_json(path, body if body is not None else _body())
        finally:
            await client.close()

    return asyncio.run(go())


def test_a_chat_answer_comes_back_as_its_json_with_the_key_as_a_bearer_token(fake: FakeVllm) -> None:
    answer = _send(fake.url + "/v1")
    assert answer["object"] == "chat.completion" and answer["choices"][0]["message"]["content"] is not None
    headers = {k.lower(): v for k, v in fake.requests[-1].headers.items()}
    assert headers["authorization"] == "Bearer k" and headers["content-type"] == "application/json"
    assert _send(fake.url + "/v1", "/models")["data"][0]["id"] == "tencent/HunyuanOCR"


def test_credentials_in_the_url_are_sent_as_basic_auth_instead_of_the_key(fake: FakeVllm) -> None:
    _send(fake.url.replace("://", "://ocr:pa%40ss@", 1) + "/v1")
    sent = {k.lower(): v for k, v in fake.requests[-1].headers.items()}["authorization"]
    assert sent == "Basic " + base64.b64encode(b"ocr:pa@ss").decode()


def test_an_error_answer_carries_its_status_the_servers_body_and_headers(fake: FakeVllm) -> None:
    fake.inject("503", retry_after="7")
    with pytest.raises(HttpStatusError) as caught:
        _send(fake.url + "/v1")
    err = caught.value
    assert err.status_code == 503 and err.headers["retry-after"] == "7"
    assert isinstance(err.body, dict) and "waiting queue is full" in json.dumps(err.body)
    with pytest.raises(HttpStatusError) as missing:
        _send(fake.url + "/v1", "/no/such/path")
    assert missing.value.status_code == 404 and missing.value.message == "Error code: 404"


def test_no_server_is_a_transport_error_and_so_is_a_slow_one(fake: FakeVllm) -> None:
    with pytest.raises(TransportError) as down:
        _send(closed_port_url() + "/v1")
    assert not down.value.timed_out and str(down.value).startswith("ClientConnectorError: ")
    fake.inject("slow", delay_s=3.0)
    with pytest.raises(TransportError) as slow:
        _send(fake.url + "/v1", timeout_s=0.3)
    assert slow.value.timed_out and "timed out after 0.3 s" in str(slow.value)


def test_the_connection_limit_bounds_requests_on_the_wire() -> None:
    with FakeVllm(mode="sleep", capacity=16, latency_s=0.2) as slow:
        async def go() -> None:
            client = ChatClient(slow.url + "/v1", api_key="k", timeout_s=10.0, tls=False, max_connections=2)
            try:
                await asyncio.gather(*(client.post_json("/chat/completions", _body()) for _ in range(6)))
            finally:
                await client.close()

        asyncio.run(go())
        assert slow.counters.completed == 6 and slow.counters.peak_running == 2


def test_an_error_names_its_status_and_body_and_a_password_less_url_sends_an_empty_one(fake: FakeVllm) -> None:
    err = HttpStatusError(429, {"message": "busy"}, {"Retry-After": "1"})
    assert str(err) == "Error code: 429 - {'message': 'busy'}"
    assert str(HttpStatusError(500, "", {})) == "Error code: 500"
    _send(fake.url.replace("://", "://ocr@", 1) + "/v1")
    sent = {k.lower(): v for k, v in fake.requests[-1].headers.items()}["authorization"]
    assert sent == "Basic " + base64.b64encode(b"ocr:").decode()


def test_close_lets_the_session_go_and_a_later_request_opens_a_new_one(fake: FakeVllm) -> None:
    async def go() -> tuple[bool, bool]:
        client = ChatClient(fake.url + "/v1", api_key="k", timeout_s=10.0, tls=False, max_connections=2)
        await client.get_json("/models")
        session = client._open()
        await client.close()
        closed = session.closed
        await client.get_json("/models")
        reopened = not client._open().closed
        await client.close()
        return closed, reopened

    assert asyncio.run(go()) == (True, True)


@pytest.mark.parametrize("page", ["<html>proxy login</html>", {"object": "list"}, {"data": [{"name": "m"}]}])
def test_a_models_answer_without_a_model_list_stops_the_preflight_naming_it(fake: FakeVllm, page: Any,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from ocrflow.engines.base import TerminalEngineError
    from ocrflow.engines.vllm import VllmEngine, VllmOptions

    async def answer(self: ChatClient, path: str) -> Any:
        return page

    monkeypatch.setattr(ChatClient, "get_json", answer)
    with VllmEngine(VllmOptions(urls=fake.url)) as eng, pytest.raises(TerminalEngineError) as caught:
        eng.preflight()
    assert "GET /v1/models answered no model list: " in str(caught.value) and str(page)[:10] in str(caught.value)
