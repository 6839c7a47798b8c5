"""VllmEngine against the fake vLLM server (sleep mode: canned output, no OCR, fast)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from ocrflow.engines.base import EngineRequest, EngineResult, Task, TerminalEngineError, TransientEngineError
from ocrflow.engines.vllm import CircuitBreaker, CircuitOpenError, RetryPolicy, VllmEngine, VllmOptions
from tests.fakes.fake_vllm import FakeVllm, closed_port_url
from tests.support.vllm import fake_fixture

FAST = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02)
SCHEMA = {"type": "object", "title": "invoice",
          "properties": {"invoice_number": {"type": ["string", "null"]},
                         "total": {"type": ["number", "null"]}},
          "required": ["invoice_number", "total"], "additionalProperties": False}


def img(width: int = 200, height: int = 100) -> Image.Image:
    return Image.new("RGB", (width, height), "white")


fake = fake_fixture(mode="sleep", capacity=64, api_key="secret",
                    models=["tencent/HunyuanOCR", "tencent/HunyuanOCR-1.5", "Qwen/Qwen2.5-VL-7B-Instruct"])


def vllm(urls: str | list[str], breaker: CircuitBreaker | None = None, **options: Any) -> VllmEngine:
    return VllmEngine(VllmOptions(urls=urls, **options), breaker=breaker)


def engine(fake: FakeVllm, model: str = "tencent/HunyuanOCR", breaker: CircuitBreaker | None = None,
           **kw: Any) -> VllmEngine:
    opts: dict[str, Any] = {"api_key": "secret", "retry": FAST, **kw}
    return vllm(fake.url, breaker, model=model, **opts)


def test_request_shape_hunyuanocr_1_5_extraction(fake: FakeVllm) -> None:
    with engine(fake, model="tencent/HunyuanOCR-1.5") as eng:
        result = eng.run(EngineRequest(image=img(), task=Task.EXTRACT, fields=("invoice_number", "total"),
                                       json_schema=SCHEMA))
    sent = fake.requests[-1]
    body = sent.body
    assert sent.headers["authorization"] == "Bearer secret"
    assert body["model"] == "tencent/HunyuanOCR-1.5"
    assert body["messages"][0] == {"role": "system", "content": ""}
    user = body["messages"][1]
    assert user["role"] == "user"
    assert [p["type"] for p in user["content"]] == ["image_url", "text"]
    assert user["content"][0]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert user["content"][1]["text"] == ("Extract the content of the fields: ['invoice_number','total'] "
                                          "from the image and return it in JSON format.")
    assert body["temperature"] == 0
    assert body["top_k"] == -1 and body["repetition_penalty"] == 1.08
    assert body["max_tokens"] == 2048
    assert body["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "invoice", "schema": SCHEMA}}
    assert result.fields == {"invoice_number": None, "total": None}
    assert result.engine == "vllm" and result.model == "tencent/HunyuanOCR-1.5"
    assert result.prompt_version.startswith("hunyuanocr-v1+")
    assert result.replica == fake.url
    assert result.prompt_tokens > 0 and result.completion_tokens > 0 and result.latency_s > 0


def test_plain_hunyuanocr_sends_no_sampling_extras_and_chinese_prompt(fake: FakeVllm) -> None:
    with engine(fake) as eng:
        eng.run(EngineRequest(image=img(), task=Task.SPOT, language="zh"))
    body = fake.requests[-1].body
    assert "top_k" not in body and "repetition_penalty" not in body and "response_format" not in body
    assert body["messages"][1]["content"][1]["text"] == "检测并识别图片中的文字，将文本坐标格式化输出。"


def test_qwen_profile_uses_free_instruction_prompt(fake: FakeVllm) -> None:
    with engine(fake, model="Qwen/Qwen2.5-VL-7B-Instruct") as eng:
        result = eng.run(EngineRequest(image=img(400, 200), task=Task.SPOT))
    text = fake.requests[-1].body["messages"][1]["content"][1]["text"]
    assert text.startswith("Read every line of text") and "0-1000" in text
    assert result.prompt_version.startswith("instruct-v1+")
    assert result.lines[0].bbox == (40.0, 20.0, 360.0, 180.0)  # canned ok(100,100),(900,900)


def test_parse_task_returns_markdown_lines(fake: FakeVllm) -> None:
    with engine(fake) as eng:
        result = eng.run(EngineRequest(image=img(), task=Task.PARSE))
    assert result.text == "ok" and [ln.text for ln in result.lines] == ["ok"]
    assert fake.requests[-1].body["messages"][1]["content"][1]["text"].startswith("Extract all information")


def test_retry_on_503_honours_retry_after(fake: FakeVllm) -> None:
    fake.inject("503", times=1, retry_after="1")
    with engine(fake) as eng:
        t0 = time.perf_counter()
        result = eng.run(EngineRequest(image=img()))
        elapsed = time.perf_counter() - t0
    assert result.text == "ok"
    assert fake.counters.chat_requests == 2
    assert elapsed >= 1.0  # backoff alone would be ~0.01 s


def test_retry_on_429_and_503_without_retry_after(fake: FakeVllm) -> None:
    fake.inject("429", times=1, retry_after="0.3")
    fake.inject("503", times=1)
    with engine(fake) as eng:
        t0 = time.perf_counter()
        assert eng.run(EngineRequest(image=img())).text == "ok"
        assert time.perf_counter() - t0 >= 0.3
    assert fake.counters.chat_requests == 3


def test_transient_errors_bounded_then_transient_engine_error(fake: FakeVllm) -> None:
    fake.inject("503", times=None)
    with engine(fake, breaker=CircuitBreaker(threshold=100)) as eng, \
            pytest.raises(TransientEngineError, match=r"HTTP 503.*waiting queue is full.*3 attempts"):
        eng.run(EngineRequest(image=img()))
    assert fake.counters.chat_requests == 3


def test_no_retry_on_400_and_server_message_kept(fake: FakeVllm) -> None:
    bad_schema = {"type": "not-a-type"}
    with engine(fake) as eng, pytest.raises(TerminalEngineError) as info:
        eng.run(EngineRequest(image=img(), task=Task.EXTRACT, fields=("a",), json_schema=bad_schema))
    assert "HTTP 400" in str(info.value) and "invalid JSON schema" in str(info.value)
    assert getattr(info.value, "status", None) == 400
    assert fake.counters.chat_requests == 1


def test_image_over_server_cap_is_terminal_400() -> None:
    with FakeVllm(mode="sleep", max_image_bytes=500) as f, vllm(f.url, retry=FAST) as eng, \
            pytest.raises(TerminalEngineError, match="over the 500-byte limit"):
        eng.run(EngineRequest(image=Image.effect_noise((300, 300), 100).convert("RGB")))


def test_wrong_api_key_leaves_documents_pending_at_preflight_terminal(fake: FakeVllm) -> None:
    from ocrflow.core.errors import AuthEngineError

    with engine(fake, api_key="wrong") as eng:
        with pytest.raises(AuthEngineError, match=r"HTTP 401.*Unauthorized"):  # transient: documents stay pending
            eng.run(EngineRequest(image=img()))
        with pytest.raises(TerminalEngineError, match="OCRFLOW_VLLM_API_KEY"):
            eng.preflight()


def test_malformed_json_is_terminal_and_not_retried(fake: FakeVllm) -> None:
    fake.inject("malformed_json")
    with engine(fake) as eng, pytest.raises(TerminalEngineError, match="not a JSON object"):
        eng.run(EngineRequest(image=img(), task=Task.EXTRACT, fields=("invoice_number",), json_schema=SCHEMA))
    assert fake.counters.chat_requests == 1


def test_reply_without_choices_is_terminal(fake: FakeVllm) -> None:
    fake.inject("no_choices")
    with engine(fake) as eng, pytest.raises(TerminalEngineError, match="no usable chat completion"):
        eng.run(EngineRequest(image=img()))


def test_loop_retried_once_with_larger_max_tokens_then_trimmed_and_marked(fake: FakeVllm) -> None:
    fake.inject("loop", times=2)
    with engine(fake) as eng:
        result = eng.run(EngineRequest(image=img()))
    budgets = [r.body["max_tokens"] for r in fake.requests]
    assert budgets == [6144, 12288]
    assert result.is_fallback
    assert "looping_output" in result.flags and "retried_larger_max_tokens:looping_output" in result.flags
    assert [ln.text for ln in result.lines] == ["ok"]


def test_loop_that_clears_on_retry_is_not_a_fallback(fake: FakeVllm) -> None:
    fake.inject("loop", times=1)
    with engine(fake) as eng:
        result = eng.run(EngineRequest(image=img()))
    assert not result.is_fallback
    assert result.flags == ("retried_larger_max_tokens:looping_output",)


def test_truncated_output_marked(fake: FakeVllm) -> None:
    fake.inject("truncated", times=2)
    with engine(fake) as eng:
        result = eng.run(EngineRequest(image=img(), task=Task.PARSE))
    assert result.is_fallback and "truncated_output" in result.flags


def test_circuit_breaker_opens_on_down_server() -> None:
    breaker = CircuitBreaker(threshold=3, cooldown_s=60)
    down = closed_port_url()
    with vllm(down, breaker, retry=RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.01),
              max_in_flight=1) as eng:
        outcomes = list(eng.run_many(EngineRequest(image=img()) for _ in range(5)))
    assert all(isinstance(o, TransientEngineError) for o in outcomes)
    assert "unreachable" in str(outcomes[0])
    opened = [o for o in outcomes if isinstance(o, CircuitOpenError)]
    assert opened, outcomes
    assert down in str(opened[-1]) and "looks down" in str(opened[-1]) and "left pending" in str(opened[-1])


def test_circuit_breaker_closes_again_when_the_deployment_comes_back() -> None:
    url = closed_port_url()
    port = int(url.rsplit(":", 1)[1])
    breaker = CircuitBreaker(threshold=2, cooldown_s=0.2)
    with vllm(url, breaker, retry=RetryPolicy(max_attempts=1), max_in_flight=1) as eng:
        first = list(eng.run_many(EngineRequest(image=img()) for _ in range(3)))
        assert isinstance(first[-1], CircuitOpenError)
        with FakeVllm(mode="sleep", port=port):
            time.sleep(0.25)
            assert eng.run(EngineRequest(image=img())).text == "ok"  # the half-open probe
            assert not breaker.is_open
            assert eng.run(EngineRequest(image=img())).text == "ok"


def test_preflight_lists_models_and_fails_clearly_for_unknown_model(fake: FakeVllm) -> None:
    with engine(fake) as eng:
        eng.preflight()
        assert "tencent/HunyuanOCR" in eng.served_models[fake.url]
    with FakeVllm(mode="sleep", models=["other/model"]) as other, \
            vllm([fake.url, other.url], api_key="secret") as eng2, \
            pytest.raises(TerminalEngineError) as info:
        eng2.preflight()
    assert other.url in str(info.value) and "other/model" in str(info.value)
    assert "tencent/HunyuanOCR" in str(info.value)
    assert other.counters.chat_requests == 0


def test_preflight_unreachable_is_transient() -> None:
    url = closed_port_url()
    with vllm(url) as eng, pytest.raises(TransientEngineError, match="unreachable"):
        eng.preflight()


def test_replica_balancing_spreads_requests() -> None:
    with FakeVllm(mode="sleep", latency_s=0.05) as a, FakeVllm(mode="sleep", latency_s=0.05) as b, \
            vllm(f"{a.url},{b.url}", max_in_flight=8, retry=FAST) as eng:
        results = list(eng.run_many(EngineRequest(image=img()) for _ in range(20)))
    assert all(isinstance(r, EngineResult) for r in results)
    assert a.counters.completed + b.counters.completed == 20
    assert min(a.counters.completed, b.counters.completed) >= 8
    assert {r.replica for r in results if isinstance(r, EngineResult)} == {a.url, b.url}


def test_run_many_preserves_order_bounds_in_flight_and_pulls_lazily() -> None:
    pulled: list[int] = []

    def requests(n: int) -> Iterator[EngineRequest]:
        for i in range(n):
            pulled.append(i)
            yield EngineRequest(image=img(100 + 10 * i, 100))

    with FakeVllm(mode="sleep", capacity=100, latency_s=0.05) as f, \
            vllm(f.url, max_in_flight=4, retry=FAST) as eng:
        f.inject("slow", times=1, delay_s=0.3)  # the head is slowest: later ones finish first
        outcomes = list(eng.run_many(requests(24)))
        assert f.counters.peak_running <= 4 and eng.peak_in_flight <= 4
        assert eng.peak_in_flight == 4
        widths = [round(o.lines[0].bbox[0] * 10) for o in outcomes if isinstance(o, EngineResult)]
        assert widths == [100 + 10 * i for i in range(24)]
        pulled.clear()
        stream = eng.run_many(requests(1000))
        first = [next(stream) for _ in range(3)]
        stream.close()
        assert len(first) == 3 and len(pulled) <= 2 * 4 + 3


def test_run_many_yields_errors_in_place(fake: FakeVllm) -> None:
    bad = EngineRequest(image=img(), task=Task.EXTRACT, fields=("a",), json_schema={"type": "bogus"})
    reqs = [EngineRequest(image=img()), bad, EngineRequest(image=img())]
    with engine(fake) as eng:
        outcomes = list(eng.run_many(reqs))
    assert isinstance(outcomes[0], EngineResult) and isinstance(outcomes[2], EngineResult)
    assert isinstance(outcomes[1], TerminalEngineError)


def _chat(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"model": "tencent/HunyuanOCR",
            "messages": [{"role": "system", "content": ""}, {"role": "user", "content": list(parts)}]}


@pytest.mark.parametrize(("body", "message"), [
    ({"model": "tencent/HunyuanOCR", "messages": [{"role": "user", "content": "hi"}]}, "system message"),
    (_chat({"type": "input_audio", "input_audio": {}}), "Unknown part type"),
    (_chat({"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}},
           {"type": "text", "text": "x"}), "Failed to load image"),
    (_chat({"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}), "data:image"),
])
def test_fake_is_strict_like_vllm(fake: FakeVllm, body: dict[str, Any], message: str) -> None:
    headers = {"Authorization": "Bearer secret"}
    r = httpx.post(f"{fake.url}/v1/chat/completions", json=body, headers=headers, timeout=10)
    assert r.status_code == 400 and message in r.json()["error"]["message"]
    r = httpx.post(f"{fake.url}/v1/chat/completions", json={**body, "model": "nope"}, headers=headers,
                   timeout=10)
    assert r.status_code == 404
    assert httpx.get(f"{fake.url}/v1/models", timeout=10).status_code == 401
