"""The parsing side of the engine faults, without a server: spotting lines without coordinates, keys nobody
asked for, a loop of table cells in spotting output, and the error code of an unusable answer."""

from __future__ import annotations

from PIL import Image

from ocrflow.core.errors import ErrorCode
from ocrflow.core.models import DocState, DocumentRef
from ocrflow.engines.base import EngineRequest, Task
from ocrflow.engines.vllm.errors import ModelOutputError
from ocrflow.engines.vllm.image import encode_image
from ocrflow.engines.vllm.output import NO_BOX, drop_unknown, parse_json_object, spotting_lines
from ocrflow.engines.vllm.prompts import RenderedPrompt
from ocrflow.engines.vllm.request import Completion, PreparedRequest, ResultMeta, build_result
from ocrflow.pipeline.failures import failure_result

SCHEMA = {"type": "object", "properties": {
    "total": {"type": ["number", "null"]},
    "line_items": {"type": "array", "items": {"type": "object", "properties": {"description": {"type": "string"}}}},
}}


def test_plain_lines_are_kept_unboxed_in_the_order_written() -> None:
    read = spotting_lines("TOTAL RM 38.72\n\n  DATE: 26 FEB 2018  \n", 1000, 1000)
    assert [ln.text for ln in read.lines] == ["TOTAL RM 38.72", "DATE: 26 FEB 2018"]
    assert all(ln.bbox == NO_BOX for ln in read.lines) and read.unboxed == 2


def test_lines_without_coordinates_among_boxed_ones_are_kept_after_them() -> None:
    read = spotting_lines("header\nb(10,500),(20,520)\na(900,10),(100,40)\ntrailing words", 1000, 1000)
    assert [ln.text for ln in read.lines] == ["a", "b", "header", "trailing words"]
    assert read.unboxed == 2 and read.lines[0].bbox == (100.0, 10.0, 900.0, 40.0)
    assert spotting_lines("x(1,1),(2,2)", 1000, 1000).unboxed == 0


def _prep(task: Task, schema: dict | None = None, fields: tuple[str, ...] = ()) -> PreparedRequest:
    image = Image.new("RGB", (100, 100), "white")
    request = EngineRequest(image=image, task=task, fields=fields, json_schema=schema)
    return PreparedRequest(request, RenderedPrompt("p", "v1"), encode_image(image), [], None)


def _result(prep: PreparedRequest, text: str, problem: str | None = None) -> tuple:
    completion = Completion(text, "stop", 1, 1, "r")
    result = build_result(prep, completion, ResultMeta("m", 0.0, (), problem))
    return result.lines, result.fields, result.flags


def test_spotting_without_coordinates_is_flagged_with_the_count() -> None:
    lines, _, flags = _result(_prep(Task.SPOT), "one\ntwo\nthree(1,1),(5,5)")
    assert [ln.text for ln in lines] == ["three", "one", "two"]
    assert flags == ("spotting_without_boxes:2/3",)


def test_a_loop_of_unboxed_table_cells_is_cut_whole() -> None:
    text = "TOTAL 9.99(10,10),(900,40)" + "\n<td>0.00</td><td>0.00</td>" * 50
    lines, _, flags = _result(_prep(Task.SPOT), text, problem="looping_output")
    assert [ln.text for ln in lines] == ["TOTAL 9.99"] and flags == ("looping_output",)


def test_keys_nobody_asked_for_are_dropped_at_every_level_and_named() -> None:
    value = {"total": 9.99, "iban": "XX", "line_items": [{"description": "tea", "secret": 1}, "odd"]}
    kept, dropped = drop_unknown(value, SCHEMA)
    assert kept == {"total": 9.99, "line_items": [{"description": "tea"}, "odd"]}
    assert dropped == ["iban", "line_items/0/secret"]
    assert drop_unknown({"a": 1, "b": 2}, None, ("a",)) == ({"a": 1}, ["b"])
    assert drop_unknown({"a": 1}, None) == ({"a": 1}, [])  # nothing to check against: kept as is


def test_extraction_drops_and_flags_extra_keys_before_the_schema_check() -> None:
    _, fields, flags = _result(_prep(Task.EXTRACT, SCHEMA, ("total",)), '{"total": 1.5, "approved": true}')
    assert fields == {"total": 1.5} and flags == ("extra_fields_dropped:approved",)


def test_an_unusable_answer_fails_the_document_with_model_output() -> None:
    try:
        parse_json_object("no json here")
    except ModelOutputError as exc:
        result = failure_result(DocumentRef("a.png", "0" * 64, "image/png", 1), exc)
    else:
        raise AssertionError("ModelOutputError not raised")
    assert result.state == DocState.FAILED and result.error_code == ErrorCode.MODEL_OUTPUT.value == "model_output"
