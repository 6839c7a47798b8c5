"""Pure functions of the vLLM engine: output parsing, loops, prompts, profiles, images, backoff."""

from __future__ import annotations

import base64
import io
import random

import pytest
from PIL import Image

from ocrflow.engines.base import Task, TerminalEngineError, TransientEngineError
from ocrflow.engines.vllm.errors import CircuitOpenError, VllmTransientError, parse_retry_after, server_message
from ocrflow.engines.vllm.image import encode_image
from ocrflow.engines.vllm.output import (
    detect_loop,
    markdown_lines,
    parse_json_object,
    parse_spotting,
    schema_violations,
)
from ocrflow.engines.vllm.profiles import profile_for
from ocrflow.engines.vllm.prompts import format_fields, load_prompt_library
from ocrflow.engines.vllm.replicas import normalize_base_url, split_urls
from ocrflow.engines.vllm.resilience import CircuitBreaker, RetryPolicy

SPOT_EN = "Detect and recognize text in the image, and output the text coordinates in a formatted manner."


def test_spotting_grid_maps_to_pixels_of_the_image() -> None:
    text = "Invoice No. 42(100,50),(500,80)Total 9.99(600,900),(1000,950)"
    lines = parse_spotting(text, width=2000, height=1000)
    assert [ln.text for ln in lines] == ["Invoice No. 42", "Total 9.99"]
    assert lines[0].bbox == (200.0, 50.0, 1000.0, 80.0)
    assert lines[1].bbox == (1200.0, 900.0, 2000.0, 950.0)


def test_spotting_handles_newlines_swapped_corners_and_out_of_grid_values() -> None:
    text = "b(10,500),(20,520)\n  a(900,10),(100,40)\nc(0,990),(1200,1010)\n(1,1),(2,2)"
    lines = parse_spotting(text, width=1000, height=1000)
    assert [ln.text for ln in lines] == ["a", "b", "c"]  # reading order, empty label dropped
    assert lines[0].bbox == (100.0, 10.0, 900.0, 40.0)
    assert lines[2].bbox == (0.0, 990.0, 1000.0, 1000.0)


def test_markdown_lines_have_no_boxes() -> None:
    lines = markdown_lines("# Title\n\n| a | b |\n")
    assert [ln.text for ln in lines] == ["# Title", "| a | b |"]
    assert all(ln.bbox == (0.0, 0.0, 0.0, 0.0) for ln in lines)


@pytest.mark.parametrize("reply", [
    '{"total": "9.99"}',
    '```json\n{"total": "9.99"}\n```',
    'Here you go:\n```\n{"total": "9.99"}\n```\nDone.',
    'The fields are {"total": "9.99"} as requested.',
])
def test_json_object_found_bare_in_fences_or_in_prose(reply: str) -> None:
    assert parse_json_object(reply) == {"total": "9.99"}


@pytest.mark.parametrize("reply", ['{"total": ', "[1, 2]", "no json here"])
def test_malformed_json_is_terminal(reply: str) -> None:
    with pytest.raises(TerminalEngineError, match="not a JSON object"):
        parse_json_object(reply)


def test_schema_violations_name_the_field() -> None:
    schema = {"type": "object", "properties": {"total": {"type": "number"}}, "required": ["total", "date"]}
    problems = schema_violations({"total": "abc"}, schema)
    assert any(p.startswith("total:") for p in problems)
    assert any("'date' is a required property" in p for p in problems)
    assert schema_violations({"total": 1, "date": None}, schema) == []
    assert schema_violations({"anything": 1}, None) == []


def test_loop_detected_and_trimmed_to_one_copy() -> None:
    text = "Invoice 42\nTotal 9.99" + "\n<td>0</td>" * 60 + "\n<td"  # partial last copy
    loop = detect_loop(text)
    assert loop is not None
    assert loop.unit.strip() == "<td>0</td>"
    assert loop.repeats >= 50
    assert loop.trimmed(text) == "Invoice 42\nTotal 9.99\n<td>0</td>"


def test_single_character_loop() -> None:
    loop = detect_loop("hello " + "=" * 500)
    assert loop is not None
    assert loop.unit == "="
    assert loop.trimmed("hello " + "=" * 500) == "hello ="


@pytest.mark.parametrize("text", [
    "An ordinary page of text.\nWith two lines.",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "-" * 40,  # a short rule is not a loop
    "",
])
def test_no_loop_in_ordinary_text(text: str) -> None:
    assert detect_loop(text) is None


def test_prompts_are_official_verbatim_and_versioned() -> None:
    lib = load_prompt_library()
    spot = lib.render("hunyuanocr", Task.SPOT, "en")
    assert spot.text == SPOT_EN
    assert spot.version.startswith("hunyuanocr-v1+") and len(spot.version.split("+")[1]) == 12
    extract = lib.render("hunyuanocr", Task.EXTRACT, "en", ("invoice_number", "total"))
    assert extract.text == ("Extract the content of the fields: ['invoice_number','total'] "
                            "from the image and return it in JSON format.")
    assert lib.render("hunyuanocr", Task.SPOT, "zh").text == "检测并识别图片中的文字，将文本坐标格式化输出。"
    assert lib.render("hunyuanocr", Task.EXTRACT, "zh-CN", ("a",)).text == \
        "提取图片中的: ['a'] 的字段内容，并按照JSON格式返回。"
    parse = lib.render("hunyuanocr", Task.PARSE, "en").text
    assert parse.startswith("Extract all information from the main body")
    assert lib.render("hunyuanocr", Task.OCR, "en").text == SPOT_EN
    assert lib.render("instruct", Task.SPOT, "en").text != SPOT_EN
    assert format_fields(["a", "b"]) == "['a','b']"


def test_extract_prompt_needs_fields() -> None:
    with pytest.raises(TerminalEngineError, match="field list"):
        load_prompt_library().render("hunyuanocr", Task.EXTRACT, "en")


def test_profiles_derived_from_model_name() -> None:
    assert profile_for("tencent/HunyuanOCR").name == "hunyuanocr"
    v15 = profile_for("tencent/HunyuanOCR-1.5")
    assert v15.name == "hunyuanocr-1.5"
    assert dict(v15.extra_body) == {"top_k": -1, "repetition_penalty": 1.08}
    assert profile_for("Qwen/Qwen2.5-VL-7B-Instruct").prompt_set == "instruct"
    assert profile_for("anything", "hunyuanocr-1.5").name == "hunyuanocr-1.5"
    assert v15.retry_tokens_for(Task.EXTRACT) == 2 * v15.tokens_for(Task.EXTRACT)
    with pytest.raises(TerminalEngineError, match="unknown vLLM profile"):
        profile_for("x", "nope")


def test_urls_normalised_and_split() -> None:
    assert normalize_base_url("http://h:8000/") == "http://h:8000/v1"
    assert normalize_base_url("https://h/v1") == "https://h/v1"
    assert split_urls(" http://a:1 , http://b:2/v1,,http://a:1/") == ["http://a:1/v1", "http://b:2/v1"]


def _decoded(url: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


def test_image_downscaled_to_long_side_and_kept_under_size_cap() -> None:
    big = Image.new("RGB", (5000, 3000), "white")
    enc = encode_image(big, max_long_side=2048)
    assert (enc.width, enc.height) == (2048, 1229)
    assert enc.downscaled
    assert enc.data_url.startswith("data:image/jpeg;base64,")
    assert _decoded(enc.data_url).size == (2048, 1229)
    noise = Image.effect_noise((1500, 1500), 120).convert("RGB")
    small = encode_image(noise, max_long_side=2048, max_bytes=60_000)
    assert small.size_bytes <= 60_000
    assert _decoded(small.data_url).format == "JPEG"


def test_retry_after_parsing() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.25") == 0.25
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)


def test_backoff_is_exponential_with_jitter_and_honours_retry_after() -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=8.0, max_retry_after_s=5.0)
    rng = random.Random(1)
    delays = [policy.delay(a, rng=rng) for a in (1, 2, 3, 4, 5)]
    assert 0.5 <= delays[0] <= 1.0 and 1.0 <= delays[1] <= 2.0 and 4.0 <= delays[4] <= 8.0
    assert policy.delay(1, retry_after=2.0) == 2.0
    assert policy.delay(1, retry_after=100.0) == 5.0


def test_server_message_shapes() -> None:
    assert server_message({"message": "bad image"}, "x") == "bad image"
    assert server_message({"error": {"message": "nested"}}, "x") == "nested"
    assert server_message({"error": "Unauthorized"}, "x") == "Unauthorized"
    assert server_message(None, "fallback") == "fallback"


def test_circuit_breaker_opens_fails_fast_and_half_opens() -> None:
    breaker = CircuitBreaker(threshold=2, cooldown_s=0.05, target="http://gpu:8000")
    breaker.record_failure(VllmTransientError("refused"))
    breaker.check()
    breaker.record_failure(VllmTransientError("refused"))
    with pytest.raises(CircuitOpenError, match="looks down") as info:
        breaker.check()
    assert isinstance(info.value, TransientEngineError)
    assert "http://gpu:8000" in str(info.value) and "left pending" in str(info.value)
    import time

    time.sleep(0.06)
    breaker.check()  # the one probe
    with pytest.raises(CircuitOpenError):
        breaker.check()  # others still fail fast while the probe is out
    breaker.record_success()
    breaker.check()
    assert not breaker.is_open
