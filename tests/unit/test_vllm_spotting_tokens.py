"""HunyuanOCR spotting through vLLM: the coordinates come as special tokens that vLLM drops by default.

The engine asks for them (``skip_special_tokens: false`` on spotting requests of a HunyuanOCR profile) and reads
both forms of the answer; the fake server decodes the model's output as vLLM does, so a client that forgets the
flag gets the text without boxes (HunyuanOCR issue 63), never boxes it did not ask for."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from ocrflow.engines.base import EngineRequest, Task
from ocrflow.engines.vllm import VllmEngine, VllmOptions
from ocrflow.engines.vllm.output import plain_spotting, spotting_lines
from ocrflow.engines.vllm.request import FLAG_NO_BOXES, SPECIAL_TOKENS_TAG
from tests.fakes.fake_vllm import FakeVllm
from tests.fakes.fake_vllm_protocol import decode_special_tokens
from tests.fakes.model_fake import DrawnLine, PageTruth, TruthModel

PLAIN = "Invoice No. 42(100,50),(500,80)\nTotal 9.99(600,900),(1000,950)"
TOKENS = ("<ref>Invoice No. 42</ref><quad>(100,50),(500,80)</quad>\n"
          "<ref>Total 9.99</ref><quad>(600,900),(1000,950)</quad>")
EXPECTED = [("Invoice No. 42", (200.0, 50.0, 1000.0, 80.0)), ("Total 9.99", (1200.0, 900.0, 2000.0, 950.0))]
SCHEMA = {"type": "object", "title": "invoice", "properties": {"total": {"type": ["number", "null"]}}}


def _read(text: str) -> tuple[list[tuple[str, tuple[float, ...]]], int]:
    found = spotting_lines(text, 2000, 1000)
    return [(ln.text, ln.bbox) for ln in found.lines], found.unboxed


@pytest.mark.parametrize("text", [
    PLAIN,
    TOKENS,
    TOKENS.replace("\n", ""),  # items back to back
    decode_special_tokens(TOKENS, skip=False, spaces=True),  # vLLM's spaces_between_special_tokens
    TOKENS.replace("<ref>", "<hy_place_holder_no_112>").replace("</ref>", "<hy_place_holder_no_113>")
          .replace("<quad>", "<hy_place_holder_no_110>").replace("</quad>", "<hy_place_holder_no_111>"),
])
def test_both_forms_give_the_same_boxed_lines(text: str) -> None:
    assert _read(text) == (EXPECTED, 0)


def test_the_token_form_with_its_tokens_dropped_is_text_without_boxes() -> None:
    stripped = decode_special_tokens(TOKENS)  # what vLLM returns without skip_special_tokens: false
    assert stripped == "Invoice No. 42\nTotal 9.99"
    lines, unboxed = _read(stripped)
    assert [t for t, _ in lines] == ["Invoice No. 42", "Total 9.99"] and unboxed == 2


def test_a_token_cut_in_half_at_the_end_is_dropped_not_read_as_text() -> None:
    assert plain_spotting("<ref>ok</ref><quad>(1,2),(3,4)</qua") == "\nok(1,2),(3,4)"
    assert _read("<ref>ok</ref><quad>(100,100),(900,900)</qua")[0] == [("ok", (200.0, 100.0, 1800.0, 900.0))]
    assert plain_spotting("a < b") == "a < b"  # text that merely holds a '<' is left alone


def test_parentheses_inside_a_ref_stay_in_the_text() -> None:
    assert _read("<ref>Total (incl. VAT)</ref><quad>(0,0),(500,100)</quad>")[0] == [
        ("Total (incl. VAT)", (0.0, 0.0, 1000.0, 100.0))]


# ----------------------------------------------------------------------------- against the fake server
@pytest.fixture
def truth_fake() -> Iterator[tuple[FakeVllm, Image.Image]]:
    page = Image.new("RGB", (400, 200), "white")
    for x in range(20, 380, 7):  # something for the fingerprint to hold on to
        page.paste((0, 0, 0), (x, 40, x + 3, 60))
    model = TruthModel()
    model.add(page, PageTruth(400, 200, (DrawnLine("Invoice 42", (20, 40, 200, 60)),
                                         DrawnLine("Total 9.99", (20, 120, 220, 140)))))
    models = ["tencent/HunyuanOCR", "Qwen/Qwen2.5-VL-7B-Instruct"]
    with FakeVllm(answerer=model, models=models) as fake:
        yield fake, page


def _engine(fake: FakeVllm, model: str = "tencent/HunyuanOCR") -> VllmEngine:
    return VllmEngine(VllmOptions(urls=fake.url, model=model))


@pytest.mark.parametrize("task", [Task.SPOT, Task.OCR])
def test_spotting_keeps_special_tokens_and_gets_its_boxes(truth_fake: tuple[FakeVllm, Image.Image],
                                                          task: Task) -> None:
    fake, page = truth_fake
    with _engine(fake) as eng:
        result = eng.run(EngineRequest(image=page, task=task))
    assert fake.requests[-1].body["skip_special_tokens"] is False
    assert [(ln.text, ln.bbox) for ln in result.lines] == [("Invoice 42", (20.0, 40.0, 200.0, 60.0)),
                                                           ("Total 9.99", (20.0, 120.0, 220.0, 140.0))]
    assert not any(f.startswith(FLAG_NO_BOXES) for f in result.flags)
    assert result.prompt_version.endswith(SPECIAL_TOKENS_TAG)


def test_other_requests_leave_special_tokens_to_vllms_default(truth_fake: tuple[FakeVllm, Image.Image]) -> None:
    fake, page = truth_fake
    with _engine(fake) as eng:
        eng.run(EngineRequest(image=page, task=Task.PARSE))
        extracted = eng.run(EngineRequest(image=page, task=Task.EXTRACT, fields=("total",), json_schema=SCHEMA))
    assert ["skip_special_tokens" in r.body for r in fake.requests] == [False, False]
    assert not extracted.prompt_version.endswith(SPECIAL_TOKENS_TAG)


def test_a_model_without_token_markup_is_not_asked_to_keep_tokens(truth_fake: tuple[FakeVllm, Image.Image]) -> None:
    fake, page = truth_fake
    with _engine(fake, model="Qwen/Qwen2.5-VL-7B-Instruct") as eng:
        result = eng.run(EngineRequest(image=page, task=Task.SPOT))
    assert "skip_special_tokens" not in fake.requests[-1].body
    assert [ln.text for ln in result.lines] == ["Invoice 42", "Total 9.99"]  # plain form: boxes as written
    assert all(ln.bbox != (0.0, 0.0, 0.0, 0.0) for ln in result.lines)


def test_a_client_that_forgets_the_flag_gets_no_boxes(truth_fake: tuple[FakeVllm, Image.Image]) -> None:
    """The engine's own profile with the flag turned off: the answer comes back as vLLM decodes it by default."""
    fake, page = truth_fake
    with _engine(fake) as eng:
        eng.profile = dataclasses.replace(eng.profile, spotting_special_tokens=False)
        result = eng.run(EngineRequest(image=page, task=Task.SPOT))
    assert "skip_special_tokens" not in fake.requests[-1].body
    assert [ln.text for ln in result.lines] == ["Invoice 42", "Total 9.99"]
    assert all(ln.bbox == (0.0, 0.0, 0.0, 0.0) for ln in result.lines)
    assert f"{FLAG_NO_BOXES}:2/2" in result.flags


@pytest.mark.parametrize(("extra", "status"), [({"skip_special_tokens": "false"}, 400),
                                               ({"spaces_between_special_tokens": 0}, 400),
                                               ({"skip_special_tokens": False}, 200)])
def test_the_fake_takes_only_booleans_for_the_decoding_flags(truth_fake: tuple[FakeVllm, Image.Image],
                                                             extra: dict[str, Any], status: int) -> None:
    fake, page = truth_fake
    with _engine(fake) as eng:
        prep = eng._prepare(EngineRequest(image=page, task=Task.SPOT))
        body = eng._body(prep, 64)
    sent = {**json.loads(body), **extra}
    reply = httpx.post(f"{fake.url}/v1/chat/completions", json=sent, timeout=30)
    assert reply.status_code == status, reply.text
    if status == 200:
        assert "<ref> Invoice 42 </ref> <quad>" in reply.json()["choices"][0]["message"]["content"]
