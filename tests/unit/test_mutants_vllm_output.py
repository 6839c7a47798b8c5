"""Reading the model's reply and building the chat request (ocrflow/engines/vllm/output.py, request.py),
pinned where mutation testing found them unpinned: loop detection's thresholds, the JSON candidates, the
grid clamp, the completion's fields and defaults, the message layout, structured output, the result's flags."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image

from ocrflow.engines.base import EngineRequest, Task, TerminalEngineError
from ocrflow.engines.vllm.image import EncodedImage
from ocrflow.engines.vllm.output import (
    NO_BOX,
    detect_loop,
    markdown_lines,
    parse_json_object,
    parse_spotting,
    schema_violations,
)
from ocrflow.engines.vllm.profiles import ModelProfile
from ocrflow.engines.vllm.prompts import RenderedPrompt
from ocrflow.engines.vllm.request import (
    FLAG_DOWNSCALED,
    FLAG_LOOP,
    FLAG_SCHEMA,
    FLAG_TRUNCATED,
    Completion,
    PreparedRequest,
    ResultMeta,
    build_messages,
    build_result,
    completion_from,
    output_problem,
    response_format_for,
)

# ------------------------------------------------------------------------------------------- loops


def test_a_loop_needs_ten_repeats_and_120_characters() -> None:
    unit = "abcdefghijkl"  # 12 characters: 10 copies are exactly 120
    assert detect_loop("start " + unit * 10) is not None
    assert detect_loop("start " + unit * 9) is None  # 108 characters, 9 repeats
    assert detect_loop("x" * 119) is None and detect_loop("x" * 120) is not None  # many repeats, short span
    info = detect_loop("head:" + unit * 10)
    assert info is not None and (info.unit, info.repeats, info.start) == (unit, 10.0, 5)


def test_a_loop_unit_may_be_200_characters_but_not_more() -> None:
    def unit_of(n: int) -> str:
        return "".join(chr(65 + (i * 7) % 26) + str(i % 10) for i in range(n))[:n]

    found = detect_loop("p" + unit_of(200) * 10)  # the unit has no shorter period of its own
    assert found is not None and len(found.unit) == 200 and found.start == 1
    assert detect_loop("p" + unit_of(201) * 10) is None


def test_the_loop_is_found_at_the_end_after_trailing_space() -> None:
    text = "Total 9.99\n" + "ab" * 80 + "   \n"
    info = detect_loop(text)
    assert info is not None and info.unit in ("ab", "ba") and info.repeats == 80.0
    assert info.trimmed(text) == "Total 9.99\nab"


def test_no_loop_when_the_text_ends_outside_the_repeated_unit() -> None:
    assert detect_loop("ab" * 100 + "c") is None  # the repeat must reach the very last character


def test_trimmed_strips_the_end() -> None:
    info = detect_loop("x " * 100)
    assert info is not None and info.trimmed("x " * 100) == "x"


# -------------------------------------------------------------------------------------------- JSON


def test_the_first_fenced_object_wins_over_the_prose_around_it() -> None:
    assert parse_json_object('note {"a": 0}\n```json\n{"a": 1}\n```\n```JSON\n{"a": 2}\n```') == {"a": 1}
    assert parse_json_object('```JSON\n{"a": 2}\n```') == {"a": 2}
    assert parse_json_object('  {"a": 3}  ') == {"a": 3}
    assert parse_json_object('sure: {"a": {"b": 4}} ok') == {"a": {"b": 4}}
    assert parse_json_object('```json\n[1]\n```\n{"a": 5}') == {"a": 5}  # a fenced array is no object
    assert parse_json_object('{"a": 6} and that is all') == {"a": 6}  # the object at the very start
    assert parse_json_object('x {"a": 7}y') == {"a": 7}  # up to the last closing brace, not a character more


def test_a_reply_that_is_no_object_is_terminal_and_quotes_the_start() -> None:
    with pytest.raises(TerminalEngineError) as info:
        parse_json_object("  " + "z" * 300 + "  ")
    assert str(info.value) == f"model output is not a JSON object: {'z' * 200!r}"
    with pytest.raises(TerminalEngineError):
        parse_json_object("} then {")  # a closing brace before the opening one


def test_schema_violations_are_path_and_message_sorted_by_path() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "number"},
                                               "b": {"type": "array", "items": {"type": "string"}}},
              "required": ["a"]}
    assert schema_violations({"a": "x", "b": ["ok", 3]}, schema) == [
        "a: 'x' is not of type 'number'", "b/1: 3 is not of type 'string'"]
    assert schema_violations({}, schema) == ["<root>: 'a' is a required property"]
    assert schema_violations({"a": 1}, {}) == []


# ---------------------------------------------------------------------------------------- spotting


def test_grid_values_are_clamped_to_the_page() -> None:
    lines = parse_spotting("a(0,0),(1500,2000)", width=500, height=200)
    assert lines[0].bbox == (0.0, 0.0, 500.0, 200.0)
    half = parse_spotting("b(500.5,250),(750,1000)", width=1000, height=400)
    assert half[0].bbox == (500.5, 100.0, 750.0, 400.0)


def test_markdown_lines_are_stripped() -> None:
    lines = markdown_lines("  one  \n\t\n two")
    assert [(ln.text, ln.bbox, ln.score) for ln in lines] == [("one", NO_BOX, 1.0), ("two", NO_BOX, 1.0)]
    assert NO_BOX == (0.0, 0.0, 0.0, 0.0)


# ------------------------------------------------------------------------------------------ request


def _choice(content: Any, finish: Any = "stop", usage: Any = None) -> Any:
    return {"choices": [{"message": {"content": content}, "finish_reason": finish}], "usage": usage}


def test_completion_reads_text_finish_reason_and_usage() -> None:
    c = completion_from(_choice("hi", "length", {"prompt_tokens": 11, "completion_tokens": 5}), "gpu-1")
    assert c == Completion(text="hi", finish_reason="length", prompt_tokens=11, completion_tokens=5, replica="gpu-1")
    bare = completion_from(_choice(None, None, None), "gpu-2")
    assert bare == Completion(text="", finish_reason="", prompt_tokens=0, completion_tokens=0, replica="gpu-2")
    partial = completion_from(_choice("x", "stop", {"prompt_tokens": None}), "r")
    assert (partial.prompt_tokens, partial.completion_tokens) == (0, 0)


@pytest.mark.parametrize("response", ["<html>proxy error</html>", {"choices": [], "usage": None},
                                      {"choices": None, "usage": None}, {"usage": {}}, [],
                                      _choice("x", "stop", {"prompt_tokens": "many"})])
def test_no_usable_completion_is_terminal_naming_the_replica(response: Any) -> None:
    with pytest.raises(TerminalEngineError) as info:
        completion_from(response, "gpu-9")
    assert str(info.value).startswith("vLLM gpu-9 returned no usable chat completion: ")
    assert getattr(info.value, "replica", None) == "gpu-9"


def test_messages_are_system_then_image_then_text() -> None:
    assert build_messages("sys", "data:image/jpeg;base64,AA", "read it") == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AA"}},
                                     {"type": "text", "text": "read it"}]},
    ]


def _request(task: Task = Task.EXTRACT, schema: dict[str, Any] | None = None) -> EngineRequest:
    return EngineRequest(image=Image.new("RGB", (1000, 500)), task=task, fields=("total",), json_schema=schema)


def test_structured_output_only_for_extraction_with_a_schema_on_a_capable_model() -> None:
    schema = {"title": "my invoice/v1 ü", "type": "object"}
    on, off = ModelProfile(name="m", prompt_set="hunyuan"), ModelProfile(name="m", prompt_set="hunyuan",
                                                                         structured_output=False)
    assert response_format_for(_request(schema=schema), on) == {
        "type": "json_schema", "json_schema": {"name": "my_invoice_v1_ü", "schema": schema}}
    name = response_format_for(_request(schema={"title": "a-b_c" * 20}), on)
    assert name is not None and name["json_schema"]["name"] == ("a-b_c" * 20)[:64]
    assert response_format_for(_request(schema={"type": "object"}), on)["json_schema"]["name"] == "extraction"  # type: ignore[index]
    assert response_format_for(_request(schema={"title": ""}), on)["json_schema"]["name"] == "extraction"  # type: ignore[index]
    assert response_format_for(_request(schema=schema), off) is None
    assert response_format_for(_request(schema=None), on) is None
    assert response_format_for(_request(task=Task.SPOT, schema=schema), on) is None


def test_output_problem_loop_before_truncation() -> None:
    def c(text: str, finish: str) -> Completion:
        return Completion(text=text, finish_reason=finish, prompt_tokens=0, completion_tokens=0, replica="r")

    assert output_problem(c("fine", "stop")) is None
    assert output_problem(c("fine", "length")) == FLAG_TRUNCATED
    assert output_problem(c("y" * 300, "length")) == FLAG_LOOP
    assert output_problem(c("y" * 300, "stop")) == FLAG_LOOP


def _prep(task: Task, schema: dict[str, Any] | None = None, *, downscaled: bool = False) -> PreparedRequest:
    image = EncodedImage(data_url="data:", width=1000, height=500, quality=90, downscaled=downscaled)
    return PreparedRequest(request=_request(task, schema), prompt=RenderedPrompt(text="p", version="pv7"),
                           image=image, messages=[], response_format=None)


def test_the_result_carries_model_prompt_version_usage_and_flags() -> None:
    completion = Completion(text='{"total": "x"}', finish_reason="stop", prompt_tokens=30, completion_tokens=4,
                            replica="gpu-1")
    schema = {"type": "object", "properties": {"total": {"type": "number"}}}
    r = build_result(_prep(Task.EXTRACT, schema, downscaled=True), completion,
                     ResultMeta(model="m1", latency_s=0.7, flags=("retried",), problem=None))
    assert (r.engine, r.model, r.prompt_version, r.latency_s) == ("vllm", "m1", "pv7", 0.7)
    assert (r.prompt_tokens, r.completion_tokens, r.replica, r.is_fallback) == (30, 4, "gpu-1", False)
    assert r.fields == {"total": "x"} and r.lines == ()
    assert r.flags == ("retried", FLAG_DOWNSCALED, f"{FLAG_SCHEMA}:total: 'x' is not of type 'number'")


def test_a_truncated_or_looping_reply_is_a_trimmed_fallback() -> None:
    looping = "Total 9.99(0,0),(500,100)" + "ab" * 100
    r = build_result(_prep(Task.PARSE), Completion(looping, "length", 1, 2, "r"),
                     ResultMeta(model="m", latency_s=0.0, flags=(), problem=FLAG_LOOP))
    assert r.is_fallback and r.flags == (FLAG_LOOP,)
    assert [ln.text for ln in r.lines] == ["Total 9.99(0,0),(500,100)ab"]
    plain = build_result(_prep(Task.PARSE), Completion("a\nb", "stop", 1, 2, "r"),
                         ResultMeta(model="m", latency_s=0.0, flags=(), problem=None))
    assert not plain.is_fallback and plain.flags == () and [ln.text for ln in plain.lines] == ["a", "b"]
    assert plain.text == "a\nb" and plain.fields is None


@pytest.mark.parametrize("task", [Task.SPOT, Task.OCR])
def test_spotting_text_is_the_lines_in_reading_order(task: Task) -> None:
    r = build_result(_prep(task), Completion("b(0,600),(100,700)a(0,100),(100,200)", "stop", 1, 1, "r"),
                     ResultMeta(model="m", latency_s=0.0, flags=(), problem=None))
    assert [ln.text for ln in r.lines] == ["a", "b"] and r.text == "a\nb"
    assert r.lines[0].bbox == (0.0, 50.0, 100.0, 100.0)


def test_an_item_without_text_is_skipped_and_the_items_after_it_still_parse() -> None:
    from ocrflow.engines.vllm.output import spotting_lines

    got = spotting_lines("A(1,2),(3,4)(5,6),(7,8)B(9,9),(10,10)", 1000, 1000)
    assert [(ln.text, ln.bbox) for ln in got.lines] == [("A", (1.0, 2.0, 3.0, 4.0)), ("B", (9.0, 9.0, 10.0, 10.0))]
    assert got.unboxed == 0


def test_a_schema_with_empty_properties_falls_back_to_the_requested_fields() -> None:
    from ocrflow.engines.vllm.output import drop_unknown

    assert drop_unknown({"a": 1, "b": 2}, {"properties": {}}, ("a",)) == ({"a": 1}, ["b"])


def test_properties_that_are_not_a_mapping_do_not_break_the_filter() -> None:
    from ocrflow.engines.vllm.output import drop_unknown

    assert drop_unknown({"a": 1, "z": 0}, {"properties": ["a"]}, ("a",)) == ({"a": 1}, ["z"])


def test_a_scalar_where_an_array_of_objects_was_asked_is_kept_as_it_came() -> None:
    from ocrflow.engines.vllm.output import drop_unknown

    schema = {"properties": {"line_items": {"type": "array", "items": {"properties": {"amount": {}}}}}}
    assert drop_unknown({"line_items": "oops"}, schema) == ({"line_items": "oops"}, [])
